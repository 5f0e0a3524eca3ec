from django.conf import settings

from core.uploads import accept_image


def validate_logo(file) -> None:
    """An organisation's logo: a picture by its content, within MAX_LOGO_BYTES, stored under a random name
    (core.uploads; a model validator so the page, the API and the back office all check it)."""
    accept_image(file, max_bytes=settings.MAX_LOGO_BYTES)
