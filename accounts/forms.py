from django import forms
from django.conf import settings
from django.core.validators import MaxValueValidator
from django.utils.translation import gettext_lazy as _

from accounts.models import ConsentPurpose, MembershipRole, Organisation, OrganisationKind, TokenScope
from accounts.uscc import normalize_uscc


class SignupForm(forms.Form):
    """Extra sign-up fields (allauth calls ``signup`` after creating the user)."""

    name = forms.CharField(
        label=_("Your name"), max_length=150, widget=forms.TextInput(attrs={"autocomplete": "name"})
    )

    def signup(self, request, user):
        user.name = self.cleaned_data["name"].strip()
        user.save(update_fields=["name"])


class OrganisationForm(forms.ModelForm):
    website = forms.URLField(label=_("Website"), required=False, assume_scheme="https", max_length=200)

    class Meta:
        model = Organisation
        fields = list(Organisation.PROFILE_FIELDS)
        widgets = {
            "description": forms.Textarea(attrs={"rows": 5}),
            "logo": forms.ClearableFileInput(attrs={"accept": "image/png,image/jpeg,image/webp"}),
        }

    def clean_uscc(self):
        return normalize_uscc(self.cleaned_data.get("uscc", ""))

    def clean(self):
        cleaned = super().clean()
        if (
            cleaned.get("kind") == OrganisationKind.ENTERPRISE
            and not cleaned.get("uscc")
            and "uscc" not in self.errors
        ):
            self.add_error("uscc", _("Enterprises must give their Unified Social Credit Code."))
        kind, size = cleaned.get("kind"), cleaned.get("size")
        if kind and kind != OrganisationKind.ENTERPRISE and size:
            self.add_error("size", _("Only enterprises have a size: leave it empty."))
        return cleaned


class InvitationForm(forms.Form):
    email = forms.EmailField(label=_("Email address"), widget=forms.EmailInput(attrs={"autocomplete": "off"}))
    role = forms.ChoiceField(label=_("Role"), choices=MembershipRole.choices, initial=MembershipRole.MEMBER)


class RoleForm(forms.Form):
    role = forms.ChoiceField(label=_("Role"), choices=MembershipRole.choices)


class RejectionForm(forms.Form):
    reason = forms.CharField(
        label=_("Reason"),
        widget=forms.Textarea(attrs={"rows": 3}),
        max_length=2000,
        help_text=_("Sent to the organisation: say what they must correct."),
    )


class ConsentForm(forms.Form):
    """One checkbox per purpose; unchecked means not given (or withdrawn)."""

    def __init__(self, *args, active: set[str], **kwargs):
        super().__init__(*args, **kwargs)
        for value, label in ConsentPurpose.choices:
            self.fields[value] = forms.BooleanField(label=label, required=False, initial=value in active)


class AccountDeletionForm(forms.Form):
    password = forms.CharField(
        label=_("Your password"),
        widget=forms.PasswordInput(attrs={"autocomplete": "current-password"}),
        help_text=_("To confirm that it is you."),
    )
    confirm = forms.BooleanField(
        label=_("I understand that my account and personal data will be deleted and this cannot be undone."),
        required=True,
    )

    def __init__(self, *args, user, **kwargs):
        super().__init__(*args, **kwargs)
        self.user = user

    def clean_password(self):
        password = self.cleaned_data["password"]
        if not self.user.check_password(password):
            raise forms.ValidationError(_("The password is not correct."))
        return password


class ApiTokenForm(forms.Form):
    """A new API token: what it is for, what it may do and how long it lives (checked again by the service)."""

    name = forms.CharField(
        label=_("Name"),
        max_length=100,
        help_text=_("What the token is for, for example “nightly usage export”."),
    )
    scope = forms.ChoiceField(
        label=_("Access"),
        choices=TokenScope.choices,
        initial=TokenScope.READ,
        help_text=_(
            "Read only is enough for reports and exports; choose read and write only if the program changes things."
        ),
    )
    days = forms.IntegerField(label=_("Valid for (days)"), min_value=1)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        days = self.fields["days"]
        days.initial = settings.API_TOKEN_DEFAULT_DAYS
        days.max_value = settings.API_TOKEN_MAX_DAYS
        days.validators.append(MaxValueValidator(settings.API_TOKEN_MAX_DAYS))
        days.widget.attrs["max"] = settings.API_TOKEN_MAX_DAYS
        days.help_text = _("At most %(max)d days. Create a new token before this one expires.") % {
            "max": settings.API_TOKEN_MAX_DAYS
        }
