"""Forms of the compute pages: they parse input; every rule about a request is checked by the services."""

from decimal import Decimal

from django import forms
from django.utils.translation import gettext_lazy as _

from accounts.models import Organisation, User
from compute.models import (
    Allocation,
    AllocationStatus,
    Partition,
    RequestKind,
)
from projects.models import INCUBATING_STATUSES, Project

# The fields whose change refreshes the live estimate (see compute/partials/estimate.html).
ESTIMATE_FIELDS = ("partition", "amount", "start_date", "end_date")


def _estimate_attrs(url: str) -> dict[str, str]:
    return {
        "hx-get": url,
        "hx-trigger": "change, keyup delay:300ms",
        "hx-target": "#estimate",
        "hx-include": ", ".join(f"[name='{name}']" for name in ESTIMATE_FIELDS),
    }


class DateInput(forms.DateInput):
    """The browser's date picker; it sends and expects ISO dates whatever the page's language."""

    input_type = "date"

    def __init__(self, attrs=None):
        super().__init__(attrs=attrs, format="%Y-%m-%d")


class OrganisationChoiceField(forms.ModelChoiceField):
    def label_from_instance(self, obj):
        return obj.display_name


class AllocationChoiceField(forms.ModelChoiceField):
    def label_from_instance(self, obj):
        return (
            f"{obj.account_name or obj.pk} · {obj.partition.display_name} · {obj.organisation.display_name}"
        )


class ProjectChoiceField(forms.ModelChoiceField):
    def label_from_instance(self, obj):
        return f"{obj.title} · {obj.organisation.display_name}"


class PersonChoiceField(forms.ModelChoiceField):
    def label_from_instance(self, obj):
        return f"{obj.get_full_name()} <{obj.email}>" if obj.name else obj.email


class QuotaRequestForm(forms.Form):
    """A quota request; with ``editing`` the organisation, kind and allocation are fixed and not shown."""

    organisation = OrganisationChoiceField(
        label=_("Organisation"), queryset=Organisation.objects.none(), empty_label=None
    )
    kind = forms.ChoiceField(
        label=_("What do you ask for?"),
        choices=RequestKind.choices,
        initial=RequestKind.NEW,
        help_text=_("An increase, an extension or an early close changes an allocation you already have."),
    )
    allocation = AllocationChoiceField(
        label=_("Allocation to change"),
        queryset=Allocation.objects.none(),
        required=False,
        empty_label=_("— none (new allocation) —"),
        help_text=_("Only for an increase, an extension or an early close."),
    )
    partition = forms.ModelChoiceField(
        label=_("Partition"),
        queryset=Partition.objects.none(),
        empty_label=None,
        error_messages={"invalid_choice": _("Choose one of the partitions listed.")},
    )
    amount = forms.DecimalField(
        label=_("Amount"),
        required=False,
        max_digits=12,
        decimal_places=2,
        help_text=_(
            "In the partition's unit (card-hours or core-hours). Not needed for an extension or an early close."
        ),
        widget=forms.NumberInput(attrs={"step": "0.01", "min": "0", "inputmode": "decimal"}),
    )
    start_date = forms.DateField(label=_("Start"), widget=DateInput())
    end_date = forms.DateField(
        label=_("End"),
        widget=DateInput(),
        help_text=_("At most one year after the start. For an extension: the new end of the allocation."),
    )
    purpose = forms.CharField(
        label=_("Purpose"),
        max_length=200,
        help_text=_("One line: what the compute is for, e.g. “train a medical imaging model”."),
    )
    justification = forms.CharField(
        label=_("Justification"),
        max_length=5000,
        widget=forms.Textarea(attrs={"rows": 5}),
        help_text=_("Why this amount and period: the workload, its size and the expected results."),
    )
    project = ProjectChoiceField(
        label=_("Incubated project"),
        queryset=None,
        required=False,
        empty_label=_("— none —"),
        help_text=_("If the compute serves one of your organisation's incubated projects, choose it."),
        error_messages={"invalid_choice": _("Choose one of the projects listed.")},
    )

    def __init__(self, *args, user: User, estimate_url: str, editing_kind: str | None = None, **kwargs):
        super().__init__(*args, **kwargs)
        self.editing = editing_kind is not None
        self.editing_kind = editing_kind
        partitions = Partition.objects.filter(is_active=True).order_by("slug")
        if self.editing:
            # Keep a request's own partition choosable even if it has stopped taking requests.
            partitions = Partition.objects.order_by("slug")
            for name in ("organisation", "kind", "allocation"):
                del self.fields[name]
        else:
            organisations = Organisation.objects.managed_by(user).verified().order_by("name_zh")
            self.fields["organisation"].queryset = organisations
            self.fields["allocation"].queryset = (
                Allocation.objects.managed_by(user)
                .exclude(status=AllocationStatus.CLOSED)
                .select_related("partition", "organisation")
                .order_by("-id")
            )
        self.fields["partition"].queryset = partitions
        self.fields["project"].queryset = (
            Project.objects.filter(
                organisation__in=Organisation.objects.managed_by(user), status__in=INCUBATING_STATUSES
            )
            .select_related("organisation")
            .order_by("title")
        )
        for name in ESTIMATE_FIELDS:
            self.fields[name].widget.attrs.update(_estimate_attrs(estimate_url))

    def clean(self):
        cleaned = super().clean()
        kind = self.editing_kind if self.editing else cleaned.get("kind")
        needs_amount = kind in (RequestKind.NEW, RequestKind.INCREASE)
        if needs_amount and cleaned.get("amount") is None and "amount" not in self.errors:
            self.add_error("amount", _("Give the amount in the partition's unit."))
        return cleaned

    def service_amount(self) -> Decimal:
        """The amount to hand to the service: kinds that do not ask for quota carry none."""
        amount = self.cleaned_data.get("amount")
        return amount if amount is not None else Decimal("0")


class MemberForm(forms.Form):
    """One person of the organisation who gets access; the portal gives them their cluster user name."""

    user = PersonChoiceField(
        label=_("Person"),
        queryset=User.objects.none(),
        required=False,
        empty_label=_("— nobody —"),
        error_messages={"invalid_choice": _("Choose one of the organisation's members listed.")},
    )

    def __init__(self, *args, people=None, **kwargs):
        super().__init__(*args, **kwargs)
        # A row left as it was offered (the manager preselected) still names its person.
        self.empty_permitted = False
        if people is not None:
            self.fields["user"].queryset = people


class BaseMemberFormSet(forms.BaseFormSet):
    def members(self) -> list[User]:
        return [form.cleaned_data["user"] for form in self.forms if form.cleaned_data.get("user")]


MemberFormSet = forms.formset_factory(MemberForm, formset=BaseMemberFormSet, extra=0, max_num=50)


class DecisionForm(forms.Form):
    """An operator's decision on a submitted request."""

    APPROVE, CHANGES, REJECT = "approve", "changes", "reject"

    decision = forms.ChoiceField(
        choices=[(APPROVE, _("Approve")), (CHANGES, _("Request changes")), (REJECT, _("Reject"))]
    )
    granted_amount = forms.DecimalField(
        label=_("Amount to grant"), required=False, max_digits=12, decimal_places=2
    )
    reason = forms.CharField(label=_("Reason"), required=False, max_length=2000)

    def clean(self):
        cleaned = super().clean()
        decision = cleaned.get("decision")
        if decision in (self.CHANGES, self.REJECT) and not (cleaned.get("reason") or "").strip():
            if decision == self.REJECT:
                message = _("Give a reason for the rejection: the organisation needs to know what to change.")
            else:
                message = _("Say what should change.")
            self.add_error("reason", message)
        return cleaned


class ReasonForm(forms.Form):
    reason = forms.CharField(label=_("Reason"), required=False, max_length=2000)


class AllocationMemberForm(forms.Form):
    """A person of the organisation to add to an allocation; the rules are the service's."""

    user = PersonChoiceField(
        label=_("Person"),
        queryset=User.objects.none(),
        empty_label=_("— choose a member of the organisation —"),
        error_messages={"invalid_choice": _("Choose one of the organisation's members listed.")},
    )
    limit_amount = forms.CharField(
        label=_("Cap (optional)"),
        required=False,
        help_text=_("The most this person may use, in the allocation's unit. Empty: no cap."),
        widget=forms.TextInput(attrs={"inputmode": "decimal"}),
    )

    def __init__(self, *args, people, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["user"].queryset = people


class AllocationMemberCapForm(forms.Form):
    limit_amount = forms.CharField(
        label=_("Cap"),
        required=False,
        help_text=_("In the allocation's unit. Empty: no cap."),
        widget=forms.TextInput(attrs={"inputmode": "decimal"}),
    )
