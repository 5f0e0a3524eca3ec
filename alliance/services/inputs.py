"""Checks of the values people submit for profiles, solutions and needs (errors by field)."""

from django.conf import settings
from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _

from accounts.models import Organisation
from alliance.models import AllianceMembership, CapabilityTag, Scenario
from core.exceptions import NotAllowed
from core.uploads import accept_image

MAX_CAPABILITIES = 12


def validate_image(file, *, max_bytes: int | None = None) -> None:
    """A PNG, JPEG or WebP picture by its content, within the size limits, stored under a random name."""
    accept_image(file, max_bytes=max_bytes or settings.MAX_LOGO_BYTES)


def clean_image(file, field: str, *, max_bytes: int | None = None) -> None:
    """``validate_image``, with its errors on the form field ``field``."""
    try:
        validate_image(file, max_bytes=max_bytes)
    except ValidationError as error:
        raise ValidationError({field: error.messages}) from None


def clean_capabilities(values) -> list[CapabilityTag]:
    """Offered capabilities chosen by id (or as tags), at most MAX_CAPABILITIES of them."""
    ids = sorted({int(getattr(v, "pk", v)) for v in values or []})
    if len(ids) > MAX_CAPABILITIES:
        raise ValidationError(
            {"capabilities": [_("Choose at most %(n)d capabilities.") % {"n": MAX_CAPABILITIES}]}
        )
    tags = list(CapabilityTag.objects.filter(pk__in=ids, is_active=True))
    if len(tags) != len(ids):
        raise ValidationError({"capabilities": [_("Choose capabilities from the list.")]})
    return tags


def clean_text(value, name: str, *, limit: int, required: bool = True) -> str:
    value = str(value or "").strip()
    if required and not value:
        raise ValidationError({name: [_("This field is required.")]})
    if len(value) > limit:
        raise ValidationError({name: [_("At most %(n)d characters.") % {"n": limit}]})
    return value


def clean_scenario(value) -> str:
    if value not in Scenario.values:
        raise ValidationError({"scenario": [_("Choose a scenario from the list.")]})
    return value


def require_current_member(organisation: Organisation) -> None:
    if not AllianceMembership.objects.current().filter(organisation=organisation).exists():
        raise NotAllowed(_("Only current alliance members publish solutions and needs."))
