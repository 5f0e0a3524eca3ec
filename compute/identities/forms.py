"""Forms of "My cluster access": choosing a user name, adding a key, and the operators' reasons."""

from datetime import datetime, time, timedelta

from django import forms
from django.core.exceptions import ValidationError
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from compute.identities import keys

# A .pub file is one line; a bigger upload is not a public key (and is not read whole into memory).
MAX_KEY_FILE = 20_000


class UsernameForm(forms.Form):
    username = forms.CharField(
        label=_("Cluster user name"),
        max_length=32,
        help_text=_(
            "3 to 32 characters: lower-case letters, digits, “_” or “-”, starting with a letter. You choose it "
            "once: it is yours on every node of the cluster and is never given to anyone else."
        ),
        widget=forms.TextInput(
            attrs={"autocomplete": "off", "autocapitalize": "none", "spellcheck": "false"}
        ),
    )

    def clean_username(self):
        return self.cleaned_data["username"].strip()


class SshKeyForm(forms.Form):
    name = forms.CharField(
        label=_("Name"),
        max_length=keys.MAX_NAME,
        required=False,
        help_text=_("Where the key lives, for example “work laptop”. Left empty, the key's comment is used."),
    )
    public_key = forms.CharField(
        label=_("Public key"),
        required=False,
        max_length=keys.MAX_TEXT,
        help_text=_(
            "Paste the contents of your .pub file (for example ~/.ssh/id_ed25519.pub), or choose the file "
            "below. Never paste the private key (the file without .pub)."
        ),
        widget=forms.Textarea(
            attrs={"rows": 4, "spellcheck": "false", "autocomplete": "off", "class": "font-monospace"}
        ),
    )
    public_key_file = forms.FileField(
        label=_("Or upload the .pub file"),
        required=False,
        widget=forms.ClearableFileInput(attrs={"accept": ".pub,text/plain"}),
    )
    expires_on = forms.DateField(
        label=_("Valid until (optional)"),
        required=False,
        help_text=_(
            "The key stops working at the end of this day. Leave empty to keep it until you remove it."
        ),
        widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
    )

    def clean_public_key_file(self):
        upload = self.cleaned_data.get("public_key_file")
        if not upload:
            return ""
        if upload.size > MAX_KEY_FILE:
            raise ValidationError(_("This file is too big to be a public key. Choose the .pub file."))
        try:
            return upload.read(MAX_KEY_FILE).decode("utf-8")
        except UnicodeDecodeError:
            raise ValidationError(_("This file is not a text file. Choose the .pub file.")) from None

    def clean(self):
        data = super().clean()
        pasted = (data.get("public_key") or "").strip()
        uploaded = (data.get("public_key_file") or "").strip()
        if pasted and uploaded and pasted != uploaded:
            self.add_error("public_key", _("Paste a key or upload a file, not both."))
        elif not pasted and not uploaded and not self.has_error("public_key_file"):
            self.add_error("public_key", _("Paste your public key: the contents of your .pub file."))
        data["text"] = pasted or uploaded
        return data

    def expires_at(self) -> datetime | None:
        day = self.cleaned_data.get("expires_on")
        if day is None:
            return None
        return timezone.make_aware(datetime.combine(day + timedelta(days=1), time.min))


class ReasonForm(forms.Form):
    reason = forms.CharField(
        label=_("Reason"),
        max_length=1000,
        help_text=_("The person reads it in their mail."),
        widget=forms.Textarea(attrs={"rows": 2}),
    )
