from django.conf import settings
from django.core.exceptions import ValidationError
from django.template.defaultfilters import filesizeformat
from django.utils.translation import gettext_lazy as _

MAX_LOGO_PIXELS = 4096


def validate_logo(file) -> None:
    """Size-limit an uploaded logo and make sure Pillow can read it as a small image."""
    if file is None:
        return
    if file.size > settings.MAX_LOGO_BYTES:
        raise ValidationError(
            _("The logo is %(size)s; the largest allowed is %(max)s."),
            code="logo_too_large",
            params={"size": filesizeformat(file.size), "max": filesizeformat(settings.MAX_LOGO_BYTES)},
        )
    # The form's ImageField has opened the upload with Pillow and left it on the file (or the wrapped file).
    image = getattr(file, "image", None) or getattr(getattr(file, "file", None), "image", None)
    if image is not None and max(image.size) > MAX_LOGO_PIXELS:
        raise ValidationError(
            _("The logo may be at most %(px)d pixels wide or high."),
            code="logo_too_big",
            params={"px": MAX_LOGO_PIXELS},
        )
