"""Fields the incubation models share: who did something, a pipeline's status, uploaded PDFs (application
attachments, milestone evidence) with where they are stored and what is accepted."""

import uuid

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.utils.translation import gettext_lazy as _

from core import uploads


def person(verbose_name=None, *, blank: bool = False) -> models.ForeignKey:
    """Who did something (invited, uploaded, reviewed ...); None once their account is gone."""
    named = {"verbose_name": verbose_name} if verbose_name else {}
    return models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=blank, on_delete=models.SET_NULL, related_name="+", **named
    )


def status_field(
    choices: type[models.TextChoices], default: str, *, max_length: int = 16
) -> models.CharField:
    return models.CharField(
        _("status"), max_length=max_length, choices=choices.choices, default=default, db_index=True
    )


def attachment_path(instance, filename: str) -> str:
    """Nothing a person typed and nothing guessable: two random components; the name is kept on the row."""
    return f"projects/private/{uuid.uuid4().hex}/{uuid.uuid4().hex}.pdf"


def validate_pdf(upload) -> None:
    """A PDF by its content within settings.PROJECT_ATTACHMENT_MAX_BYTES (core.uploads), and named as one so
    that people downloading it get what the name says; stored under ``attachment_path`` (random, private),
    its original name kept on the row."""
    if not (getattr(upload, "name", "") or "").lower().endswith(".pdf"):
        raise ValidationError(_("Upload a PDF file (its name must end in .pdf)."), code="extension")
    uploads.validate_pdf(upload, max_bytes=settings.PROJECT_ATTACHMENT_MAX_BYTES)
