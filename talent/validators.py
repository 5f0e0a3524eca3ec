from django.conf import settings

from core.uploads import accept_image


def validate_cover_image(file) -> None:
    """A course's cover: a picture by its content, within MAX_IMAGE_BYTES, stored under a random name
    (core.uploads; a model validator so the page and the back office both check it)."""
    accept_image(file, max_bytes=settings.MAX_IMAGE_BYTES)
