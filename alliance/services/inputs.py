"""Checks of the values people submit for profiles, solutions and needs (errors by field)."""

from django.conf import settings
from django.core.exceptions import ValidationError
from django.template.defaultfilters import filesizeformat
from django.utils.translation import gettext as _
from PIL import Image, UnidentifiedImageError

from accounts.models import Organisation
from alliance.models import AllianceMembership, CapabilityTag, Scenario
from core.exceptions import NotAllowed

IMAGE_FORMATS = {"PNG", "JPEG", "WEBP"}
MAX_IMAGE_PIXELS = 4096
MAX_CAPABILITIES = 12


def validate_image(file, *, max_bytes: int | None = None) -> None:
    """An upload must be a PNG, JPEG or WebP image that Pillow can read, within the size limits."""
    if file is None:
        return
    max_bytes = max_bytes or settings.MAX_LOGO_BYTES
    if file.size > max_bytes:
        raise ValidationError(
            _("The image is %(size)s; the largest allowed is %(max)s.")
            % {"size": filesizeformat(file.size), "max": filesizeformat(max_bytes)}
        )
    try:
        file.seek(0)
        with Image.open(file) as image:
            image_format, size = image.format, image.size
            image.verify()
    except (UnidentifiedImageError, OSError, ValueError, Image.DecompressionBombError):
        raise ValidationError(
            _("This file is not an image the portal can read: use PNG, JPEG or WebP.")
        ) from None
    finally:
        file.seek(0)
    if image_format not in IMAGE_FORMATS:
        raise ValidationError(_("Use a PNG, JPEG or WebP image."))
    if max(size) > MAX_IMAGE_PIXELS:
        raise ValidationError(
            _("The image may be at most %(px)d pixels wide or high.") % {"px": MAX_IMAGE_PIXELS}
        )


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
