"""Forms of the voucher pages; every rule is checked again by the services (compute/vouchers/services/)."""

from django import forms
from django.utils.translation import gettext_lazy as _

from accounts.models import Organisation, OrganisationKind
from compute.forms import DateInput, OrganisationChoiceField
from compute.models import Partition
from compute.vouchers.models import SCHEME_TERMS, VoucherScheme

MONEY = {"max_digits": 14, "decimal_places": 2}


def _money_widget():
    return forms.NumberInput(attrs={"step": "0.01", "min": "0.01", "inputmode": "decimal"})


class VoucherSchemeForm(forms.ModelForm):
    eligible_kinds = forms.MultipleChoiceField(
        label=_("Eligible organisation types"),
        choices=OrganisationKind.choices,
        required=False,
        widget=forms.CheckboxSelectMultiple,
        help_text=_("None ticked: every type."),
    )
    eligible_partitions = forms.ModelMultipleChoiceField(
        label=_("Eligible partitions"),
        queryset=Partition.objects.order_by("slug"),
        required=False,
        widget=forms.CheckboxSelectMultiple,
        help_text=_("None ticked: every partition."),
    )

    class Meta:
        model = VoucherScheme
        fields = SCHEME_TERMS
        widgets = {"valid_from": DateInput(), "valid_until": DateInput()}

    def clean(self):
        cleaned = super().clean()
        start, end = cleaned.get("valid_from"), cleaned.get("valid_until")
        if start and end and end < start:
            self.add_error("valid_until", _("The end must not be before the start."))
        return cleaned


class VoucherApplicationForm(forms.Form):
    organisation = OrganisationChoiceField(
        label=_("Organisation"), queryset=Organisation.objects.none(), empty_label=None
    )
    amount = forms.DecimalField(label=_("Amount (CNY)"), min_value=0.01, widget=_money_widget(), **MONEY)
    statement = forms.CharField(
        label=_("What the compute is for"),
        max_length=3000,
        widget=forms.Textarea(attrs={"rows": 5}),
        help_text=_("The work the vouchers would pay for, and how much compute it needs."),
    )

    def __init__(self, *args, organisations, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["organisation"].queryset = organisations


class GrantForm(forms.Form):
    scheme = forms.ModelChoiceField(
        label=_("Scheme"), queryset=VoucherScheme.objects.none(), empty_label=None
    )
    organisation = OrganisationChoiceField(
        label=_("Organisation"),
        queryset=Organisation.objects.verified().order_by("name_zh"),
        widget=forms.NumberInput(attrs={"inputmode": "numeric"}),
        help_text=_("The organisation's number, shown on its page and in the organisation list."),
        error_messages={"invalid_choice": _("No verified organisation has this number.")},
    )
    amount = forms.DecimalField(label=_("Amount (CNY)"), min_value=0.01, widget=_money_widget(), **MONEY)

    def __init__(self, *args, today, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["scheme"].queryset = VoucherScheme.objects.open_on(today).order_by("name_en")


class DecideApplicationForm(forms.Form):
    APPROVE, REJECT = "approve", "reject"

    decision = forms.ChoiceField(choices=[(APPROVE, _("Approve")), (REJECT, _("Reject"))])
    amount = forms.DecimalField(
        label=_("Amount to grant (CNY)"), required=False, min_value=0.01, widget=_money_widget(), **MONEY
    )
    reason = forms.CharField(label=_("Reason"), required=False, max_length=2000)

    def clean(self):
        cleaned = super().clean()
        if cleaned.get("decision") == self.REJECT and not (cleaned.get("reason") or "").strip():
            self.add_error(
                "reason", _("Give a reason for the rejection: the organisation needs to know why.")
            )
        return cleaned


class ReverseForm(forms.Form):
    reason = forms.CharField(label=_("Reason"), max_length=300)
