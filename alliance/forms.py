"""Forms of the alliance pages: they parse input; the rules are in the services."""

from django import forms
from django.utils.translation import gettext_lazy as _

from accounts.models import Organisation
from alliance.models import (
    DEFAULT_VISIBILITY,
    PROFILE_FIELDS,
    CapabilityTag,
    NeedKind,
    Scenario,
    Solution,
    Tier,
    Visibility,
)

IMAGE_ACCEPT = {"accept": "image/png,image/jpeg,image/webp"}


def text_area(label, *, rows: int, max_length: int, required: bool = True, help_text="") -> forms.CharField:
    """A text of a few lines."""
    return forms.CharField(
        label=label,
        max_length=max_length,
        required=required,
        widget=forms.Textarea(attrs={"rows": rows}),
        help_text=help_text,
    )


class OrganisationChoiceField(forms.ModelChoiceField):
    def label_from_instance(self, obj):
        return obj.display_name


class CapabilityField(forms.ModelMultipleChoiceField):
    def __init__(self, **kwargs):
        kwargs.setdefault("queryset", CapabilityTag.objects.filter(is_active=True))
        kwargs.setdefault("widget", forms.CheckboxSelectMultiple)
        kwargs.setdefault("required", False)
        super().__init__(**kwargs)

    def label_from_instance(self, obj):
        return obj.display_name


class ApplyForm(forms.Form):
    organisation = OrganisationChoiceField(
        label=_("Organisation"), queryset=Organisation.objects.none(), empty_label=None
    )
    tier = forms.ChoiceField(
        label=_("Tier"),
        choices=Tier.choices,
        initial=Tier.MEMBER,
        help_text=_("Council members take part in the alliance's council; observers follow its work."),
    )
    statement = text_area(
        _("Statement"),
        rows=5,
        max_length=5000,
        help_text=_("Why the organisation joins and what it brings to the alliance."),
    )

    def __init__(self, *args, organisations=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["organisation"].queryset = (
            organisations if organisations is not None else Organisation.objects.none()
        )


class ReasonForm(forms.Form):
    reason = text_area(_("Reason"), rows=2, max_length=2000, required=False)


class DecisionForm(forms.Form):
    APPROVE, REJECT = "approve", "reject"
    decision = forms.ChoiceField(
        label=_("Decision"),
        choices=[(APPROVE, _("Approve")), (REJECT, _("Reject"))],
        widget=forms.RadioSelect,
    )
    reason = text_area(
        _("Reason"),
        rows=2,
        max_length=2000,
        required=False,
        help_text=_("Required for a rejection: the organisation reads it."),
    )


class RenewalForm(forms.Form):
    note = text_area(_("Note for the operators"), rows=2, max_length=2000, required=False)


class ProfileForm(forms.Form):
    description = text_area(_("Description"), rows=5, max_length=5000, required=False)
    logo = forms.ImageField(
        label=_("Logo"),
        required=False,
        widget=forms.ClearableFileInput(attrs=IMAGE_ACCEPT),
        help_text=_("PNG, JPEG or WebP, at most 1 MB."),
    )
    website = forms.URLField(label=_("Website"), required=False, assume_scheme="https")
    contact_name = forms.CharField(label=_("Contact person"), max_length=100, required=False)
    contact_email = forms.EmailField(label=_("Contact email"), required=False)
    contact_phone = forms.CharField(label=_("Contact phone"), max_length=40, required=False)
    capabilities = CapabilityField(label=_("Capabilities"))

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        for name in PROFILE_FIELDS:
            self.fields[f"visibility_{name}"] = forms.ChoiceField(
                label=_("Who sees it"),
                choices=Visibility.choices,
                initial=DEFAULT_VISIBILITY[name],
            )

    def visibility(self) -> dict:
        return {name: self.cleaned_data[f"visibility_{name}"] for name in PROFILE_FIELDS}

    def rows(self):
        """Each content field with its own visibility field, for the template."""
        return [(self[name], self[f"visibility_{name}"]) for name in PROFILE_FIELDS]


class SolutionForm(forms.Form):
    title = forms.CharField(label=_("Title"), max_length=200)
    scenario = forms.ChoiceField(label=_("Scenario"), choices=Scenario.choices)
    description = text_area(_("Description"), rows=5, max_length=10000)
    outcome = text_area(
        _("Outcome"),
        rows=3,
        max_length=5000,
        required=False,
        help_text=_("What it achieved, with numbers where you can."),
    )
    capabilities = CapabilityField(label=_("Capabilities"))
    image = forms.ImageField(
        label=_("Image"),
        required=False,
        widget=forms.ClearableFileInput(attrs=IMAGE_ACCEPT),
        help_text=_("PNG, JPEG or WebP, at most 5 MB."),
    )


class NeedForm(forms.Form):
    kind = forms.ChoiceField(
        label=_("Kind of need"),
        choices=NeedKind.choices,
        widget=forms.RadioSelect,
        initial=NeedKind.TECHNOLOGY,
    )
    title = forms.CharField(label=_("Title"), max_length=200)
    description = text_area(_("Description"), rows=4, max_length=5000)
    scenario = forms.ChoiceField(label=_("Scenario"), choices=Scenario.choices)
    capabilities = CapabilityField(label=_("Capabilities wanted"))
    skills = forms.CharField(
        label=_("Skills"),
        max_length=300,
        required=False,
        help_text=_("For a talent need: the skills wanted, separated by commas."),
    )
    people = forms.IntegerField(
        label=_("Number of people"),
        min_value=0,
        max_value=10000,
        required=False,
        help_text=_("For a talent need: how many people."),
    )
    organisation = OrganisationChoiceField(
        label=_("Organisation"), queryset=Organisation.objects.none(), empty_label=None
    )

    def __init__(self, *args, organisations=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["organisation"].queryset = (
            organisations if organisations is not None else Organisation.objects.none()
        )


class SolutionChoiceField(forms.ModelChoiceField):
    def label_from_instance(self, obj):
        return obj.title


class InterestForm(forms.Form):
    organisation = OrganisationChoiceField(
        label=_("On behalf of"), queryset=Organisation.objects.none(), empty_label=None
    )
    solution = SolutionChoiceField(
        label=_("Solution offered"), queryset=Solution.objects.none(), required=False, empty_label=_("(none)")
    )
    message = text_area(_("Message"), rows=2, max_length=2000, required=False)

    def __init__(self, *args, organisations=None, solutions=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["organisation"].queryset = (
            organisations if organisations is not None else Organisation.objects.none()
        )
        self.fields["solution"].queryset = solutions if solutions is not None else Solution.objects.none()
