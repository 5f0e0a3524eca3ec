"""Forms of the incubation pages: they parse input; the rules are checked by ``projects.services``."""

from django import forms
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from accounts.models import Organisation
from projects.models import (
    DECISIONS,
    SCORE_MAX,
    SCORE_MIN,
    Application,
    ApplicationStatus,
    ProjectStatus,
    Recommendation,
)


class DateInput(forms.DateInput):
    input_type = "date"

    def __init__(self, attrs=None):
        super().__init__(attrs=attrs, format="%Y-%m-%d")


class OrganisationChoiceField(forms.ModelChoiceField):
    def label_from_instance(self, obj):
        return obj.display_name


class PersonChoiceField(forms.ModelChoiceField):
    def label_from_instance(self, obj):
        return f"{obj.name} <{obj.email}>" if obj.name else obj.email


class ApplicationForm(forms.ModelForm):
    """The standard application form of a call. On a new application the organisation is chosen too."""

    organisation = OrganisationChoiceField(
        label=_("Applying organisation"), queryset=Organisation.objects.none(), empty_label=None
    )

    class Meta:
        model = Application
        fields = list(Application.CONTENT_FIELDS)
        widgets = {
            "summary": forms.Textarea(attrs={"rows": 3}),
            "scenario": forms.Textarea(attrs={"rows": 4}),
            "team": forms.Textarea(attrs={"rows": 4}),
            "technical_approach": forms.Textarea(attrs={"rows": 6}),
            "data": forms.Textarea(attrs={"rows": 4}),
            "expected_outcomes": forms.Textarea(attrs={"rows": 4}),
        }
        help_texts = {
            "summary": _("Two or three sentences: the problem and your solution."),
            "scenario": _("Where and by whom the AI application will be used."),
            "team": _("The people and their roles and experience."),
            "data": _("What data you use, where it comes from and how personal data is protected."),
            "compute_card_hours": _("AI accelerator card-hours you expect to need during incubation."),
        }

    def __init__(self, *args, organisations=None, **kwargs):
        super().__init__(*args, **kwargs)
        if organisations is None:
            del self.fields["organisation"]
        else:
            self.fields["organisation"].queryset = organisations
        for name in Application.CONTENT_FIELDS:
            if name != "title":
                self.fields[name].required = False
        self.fields["compute_card_hours"].widget.attrs.update(min=0, step=1)


class AttachmentForm(forms.Form):
    file = forms.FileField(
        label=_("Attachment (PDF)"),
        help_text=_("A PDF document, at most 10 MB: business plan, letters, papers."),
    )


class CoApplicantForm(forms.Form):
    email = forms.EmailField(
        label=_("Email of the co-applicant"), help_text=_("They need an account on the portal.")
    )


class MessageForm(forms.Form):
    message = forms.CharField(
        label=_("What should the applicant add?"), widget=forms.Textarea(attrs={"rows": 3}), max_length=5000
    )


class ChoosePersonForm(forms.Form):
    """A form with one field, a person chosen from ``people`` (a queryset of users)."""

    def __init__(self, *args, people, **kwargs):
        super().__init__(*args, **kwargs)
        next(iter(self.fields.values())).queryset = people


class AssignForm(ChoosePersonForm):
    reviewer = PersonChoiceField(label=_("Reviewer"), queryset=None, empty_label=_("— choose a reviewer —"))


class AutoAssignForm(forms.Form):
    per_application = forms.IntegerField(
        label=_("Reviewers per application"), min_value=1, max_value=10, initial=2
    )


def letter_field(label, help_text) -> forms.CharField:
    """A long optional text (a message, comments) in a tall box."""
    return forms.CharField(
        label=label,
        widget=forms.Textarea(attrs={"rows": 6}),
        max_length=10000,
        required=False,
        help_text=help_text,
    )


class DecisionForm(forms.Form):
    decision = forms.ChoiceField(
        label=_("Decision"),
        choices=[(s.value, s.label) for s in ApplicationStatus if s in DECISIONS],
        widget=forms.RadioSelect,
    )
    message = letter_field(
        _("Message to the applicant"),
        _("Sent by email and shown on the application. Leave empty to send the standard text."),
    )


SCORE_CHOICES = [("", _("— not scored yet —")), ("na", pgettext_lazy("score", "N/A (not applicable)"))] + [
    (str(n), str(n)) for n in range(SCORE_MIN, SCORE_MAX + 1)
]


class ReviewForm(forms.Form):
    """One select per criterion (0–5 or N/A), a recommendation and comments."""

    recommendation = forms.ChoiceField(
        label=_("Recommendation"),
        choices=[("", _("— not decided yet —"))] + list(Recommendation.choices),
        required=False,
    )
    comments = letter_field(
        _("Comments"), _("The operators read your comments; the applicants never learn who reviewed.")
    )

    def __init__(self, *args, criteria, **kwargs):
        super().__init__(*args, **kwargs)
        self.criteria = list(criteria)
        for criterion in self.criteria:
            self.fields[f"score_{criterion.pk}"] = forms.ChoiceField(
                label=_("%(name)s (weight %(weight)s)")
                % {"name": criterion.name, "weight": criterion.weight},
                choices=SCORE_CHOICES,
                required=False,
                help_text=criterion.guidance,
            )
        self.order_fields([f"score_{c.pk}" for c in self.criteria] + ["recommendation", "comments"])

    def score_fields(self):
        return [self[f"score_{c.pk}"] for c in self.criteria]

    def scores(self) -> dict:
        result = {}
        for criterion in self.criteria:
            value = self.cleaned_data.get(f"score_{criterion.pk}", "")
            if value != "":
                result[str(criterion.pk)] = None if value == "na" else int(value)
        return result


class DeclineForm(forms.Form):
    conflict = forms.CharField(
        label=_("Your conflict of interest"),
        widget=forms.Textarea(attrs={"rows": 3}),
        max_length=2000,
        help_text=_("For example: you advise the team, or you work with a competitor."),
    )


class ProjectStatusForm(forms.Form):
    status = forms.ChoiceField(label=_("New status"), choices=ProjectStatus.choices)
    reason = forms.CharField(
        label=_("Reason"), widget=forms.Textarea(attrs={"rows": 2}), max_length=2000, required=False
    )


class MentorForm(ChoosePersonForm):
    mentor = PersonChoiceField(label=_("Mentor"), queryset=None, empty_label=_("— choose a mentor —"))


class MilestoneForm(forms.Form):
    title = forms.CharField(label=_("Title"), max_length=200)
    due_date = forms.DateField(label=_("Due"), widget=DateInput())
    deliverable = forms.CharField(
        label=_("Deliverable"), widget=forms.Textarea(attrs={"rows": 2}), max_length=2000
    )


class MilestoneSubmitForm(forms.Form):
    evidence = forms.FileField(
        label=_("Evidence (PDF)"), required=False, help_text=_("A PDF, at most 10 MB.")
    )
    note = forms.CharField(
        label=_("Note"), widget=forms.Textarea(attrs={"rows": 2}), max_length=2000, required=False
    )


class MilestoneReviewForm(forms.Form):
    accept = forms.TypedChoiceField(
        label=_("Verdict"),
        choices=[("1", _("Accept")), ("0", _("Request changes"))],
        coerce=lambda v: v == "1",
        widget=forms.RadioSelect,
    )
    feedback = forms.CharField(
        label=_("Feedback"), widget=forms.Textarea(attrs={"rows": 2}), max_length=2000, required=False
    )


class ProgressReportForm(forms.Form):
    period_end = forms.DateField(label=_("Period ending"), widget=DateInput())
    progress = forms.CharField(label=_("Progress"), widget=forms.Textarea(attrs={"rows": 4}), max_length=5000)
    next_steps = forms.CharField(
        label=_("Next steps"), widget=forms.Textarea(attrs={"rows": 3}), max_length=5000, required=False
    )
    risks = forms.CharField(
        label=_("Risks and help needed"),
        widget=forms.Textarea(attrs={"rows": 3}),
        max_length=5000,
        required=False,
    )


class ShowcaseForm(forms.Form):
    consent = forms.BooleanField(
        label=_("Publish the project in the public showcase once it graduates"), required=False
    )
    summary = forms.CharField(
        label=_("Public summary"), widget=forms.Textarea(attrs={"rows": 3}), max_length=2000, required=False
    )
