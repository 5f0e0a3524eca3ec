"""Forms of the talent pages: they parse input; the rules are checked by the services and the models."""

from django import forms
from django.utils.translation import gettext_lazy as _

from accounts.models import User
from alliance.models import NeedKind, NeedStatus
from core.roles import SiteRole
from talent.models import Access, Audience, Category, Cohort, Course, Level, Programme, Session


class DateInput(forms.DateInput):
    input_type = "date"

    def __init__(self, attrs=None):
        super().__init__(attrs=attrs, format="%Y-%m-%d")


class DateTimeInput(forms.DateTimeInput):
    input_type = "datetime-local"

    def __init__(self, attrs=None):
        super().__init__(attrs=attrs, format="%Y-%m-%dT%H:%M")


class PersonChoiceField(forms.ModelMultipleChoiceField):
    def label_from_instance(self, obj):
        return f"{obj.name} <{obj.email}>" if obj.name else obj.email


class CatalogueFilterForm(forms.Form):
    q = forms.CharField(label=_("Search"), required=False, max_length=100)
    category = forms.ChoiceField(
        label=_("Category"), required=False, choices=[("", _("Any category")), *Category.choices]
    )
    level = forms.ChoiceField(
        label=_("Level"), required=False, choices=[("", _("Any level")), *Level.choices]
    )
    audience = forms.ChoiceField(
        label=_("Open to"), required=False, choices=[("", _("Anyone")), *Audience.choices]
    )
    starts_after = forms.DateField(label=_("Starts on or after"), required=False, widget=DateInput())
    starts_before = forms.DateField(label=_("Starts on or before"), required=False, widget=DateInput())
    seats = forms.BooleanField(label=_("Only with seats left"), required=False)


class EnrolForm(forms.Form):
    code = forms.CharField(
        label=_("Enrolment code"),
        max_length=32,
        required=False,
        help_text=_("The code you were given by the instructor or your organisation."),
    )


class ReasonForm(forms.Form):
    reason = forms.CharField(label=_("Reason"), max_length=2000, widget=forms.Textarea(attrs={"rows": 2}))


class CheckInForm(forms.Form):
    code = forms.CharField(
        label=_("Check-in code"),
        max_length=8,
        help_text=_("Shown by the instructor during the session."),
        widget=forms.TextInput(attrs={"autocomplete": "off", "autocapitalize": "characters"}),
    )


class BulkForm(forms.Form):
    file = forms.FileField(
        label=_("CSV file"),
        help_text=_(
            "UTF-8 CSV with the columns “email” and “action” (enrol or withdraw), at most 2,000 rows."
        ),
    )


class SeatPoolForm(forms.Form):
    seats = forms.IntegerField(label=_("Seats for your organisation"), min_value=0, max_value=10000)


class AssignSeatForm(forms.Form):
    email = forms.EmailField(label=_("Email of the member"))


def instructors_queryset():
    return User.objects.filter(groups__name=SiteRole.INSTRUCTOR, is_active=True).order_by("email")


def instructors_field(help_text) -> PersonChoiceField:
    """The instructors of a course or cohort: people with the instructor role (each form gets a fresh query)."""
    return PersonChoiceField(
        label=_("Instructors"), queryset=instructors_queryset(), required=False, help_text=help_text
    )


class ProgrammeForm(forms.ModelForm):
    class Meta:
        model = Programme
        fields = ["slug", "title_zh", "title_en", "description_zh", "description_en", "is_published"]


class CourseForm(forms.ModelForm):
    instructors = instructors_field(_("People with the instructor role."))

    class Meta:
        model = Course
        fields = [
            "programme",
            "slug",
            "title_zh",
            "title_en",
            "description_zh",
            "description_en",
            "category",
            "level",
            "prerequisites",
            "syllabus",
            "instructors",
            "answers_needs",
            "cover_image",
            "is_published",
        ]
        widgets = {
            "cover_image": forms.ClearableFileInput(attrs={"accept": "image/png,image/jpeg,image/webp"}),
            "description_zh": forms.Textarea(attrs={"rows": 4}),
            "description_en": forms.Textarea(attrs={"rows": 4}),
            "prerequisites": forms.Textarea(attrs={"rows": 2}),
            "syllabus": forms.Textarea(attrs={"rows": 5}),
        }

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if "answers_needs" in self.fields:
            field = self.fields["answers_needs"]
            field.queryset = field.queryset.model.objects.filter(
                kind=NeedKind.TALENT, status=NeedStatus.OPEN
            ).select_related("organisation")
            field.label_from_instance = lambda need: (
                f"{need.title} · {need.organisation.display_name} · {need.skills}"
            )
            field.widget = forms.CheckboxSelectMultiple(choices=field.choices)


class CohortForm(forms.ModelForm):
    instructors = instructors_field(
        _("They run the cohort (attendance, scores, completion) and never take a seat.")
    )

    class Meta:
        model = Cohort
        fields = [
            "course",
            "name",
            "starts_on",
            "ends_on",
            "capacity",
            "enrolment_opens_at",
            "enrolment_closes_at",
            "audience",
            "allowlist",
            "access",
            "enrolment_code",
            "min_attendance_percent",
            "min_score",
            "instructors",
        ]
        widgets = {
            "starts_on": DateInput(),
            "ends_on": DateInput(),
            "enrolment_opens_at": DateTimeInput(),
            "enrolment_closes_at": DateTimeInput(),
            "allowlist": forms.Textarea(attrs={"rows": 3}),
        }

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["course"].label_from_instance = lambda c: c.title

    def clean(self):
        data = super().clean()
        if data.get("access") == Access.CODE and not data.get("enrolment_code"):
            self.add_error("enrolment_code", _("Give the code people enrol with."))
        if data.get("audience") == Audience.ALLOWLIST and not (data.get("allowlist") or "").strip():
            self.add_error("allowlist", _("List the invited email addresses, one per line."))
        starts, ends = data.get("starts_on"), data.get("ends_on")
        if starts and ends and ends < starts:
            self.add_error("ends_on", _("The last day cannot be before the first day."))
        opens, closes = data.get("enrolment_opens_at"), data.get("enrolment_closes_at")
        if opens and closes and closes <= opens:
            self.add_error("enrolment_closes_at", _("Enrolment must close after it opens."))
        return data


class SessionForm(forms.ModelForm):
    online_url = forms.URLField(label=_("online link"), required=False, assume_scheme="https", max_length=200)

    class Meta:
        model = Session
        fields = ["title", "starts_at", "ends_at", "place", "online_url"]
        widgets = {"starts_at": DateTimeInput(), "ends_at": DateTimeInput()}

    def clean(self):
        data = super().clean()
        starts, ends = data.get("starts_at"), data.get("ends_at")
        if starts and ends and ends <= starts:
            self.add_error("ends_at", _("The session must end after it starts."))
        if not data.get("place") and not data.get("online_url"):
            self.add_error("place", _("Give a place or an online link."))
        return data
