"""Uploaded files, checked by what they contain and never by their name, and stored under a random name.

Every app's forms, services and model validators call these, so a PDF attachment, a logo, an illustration
and a CSV import meet the same rules wherever they arrive (page, API or back office):

- a size limit, checked first (settings: ``PROJECT_ATTACHMENT_MAX_BYTES``, ``MAX_LOGO_BYTES``...);
- the content: a PDF starts with ``%PDF-``; an image is opened by Pillow, its declared size is checked against
  ``UPLOAD_MAX_IMAGE_PIXELS`` *before* anything is decoded (a decompression bomb declares millions of pixels
  in a few kilobytes), then it is verified; a CSV decodes as UTF-8 (with or without a byte-order mark);
- the name people gave is never used to store the file: images get a random name with the extension of the
  format found inside; private files (``private`` in their path) are kept out of every public location and
  only served by the permission-checked views of their app, as attachments.
"""

import uuid
from pathlib import PurePosixPath

from django.conf import settings
from django.core.exceptions import ValidationError
from django.http import Http404
from django.template.defaultfilters import filesizeformat
from django.utils.translation import gettext as _
from django.views.static import serve
from PIL import Image, UnidentifiedImageError

# Formats the portal accepts for pictures, and the extension each is stored with.
IMAGE_FORMATS = {"PNG": "png", "JPEG": "jpg", "WEBP": "webp"}
MAX_IMAGE_SIDE = 4096  # pixels, wide or high: a logo or an illustration needs no more
PRIVATE_FOLDER = "private"  # a path component that marks files only permission-checked views may serve


def check_size(upload, max_bytes: int) -> None:
    """Refuse an empty upload or one above ``max_bytes``, before reading it."""
    size = getattr(upload, "size", None)
    if size is None or size > max_bytes:
        raise ValidationError(
            _("The file is %(size)s; the largest allowed is %(max)s.")
            % {"size": filesizeformat(size or 0), "max": filesizeformat(max_bytes)},
            code="too_large",
        )
    if size == 0:
        raise ValidationError(_("The file is empty."), code="empty")


def _head(upload, length: int) -> bytes:
    position = upload.tell() if hasattr(upload, "tell") else 0
    upload.seek(0)
    head = upload.read(length)
    upload.seek(position)
    return head


def validate_pdf(upload, *, max_bytes: int) -> None:
    """A PDF document by its content (the ``%PDF-`` signature), whatever its name, within ``max_bytes``."""
    check_size(upload, max_bytes)
    if _head(upload, 5) != b"%PDF-":
        raise ValidationError(_("This file is not a PDF document."), code="not_pdf")


def validate_image(upload, *, max_bytes: int) -> str:
    """A PNG, JPEG or WebP picture that Pillow reads, within ``max_bytes``, ``UPLOAD_MAX_IMAGE_PIXELS`` and
    ``MAX_IMAGE_SIDE``. Returns the extension its format is stored with."""
    check_size(upload, max_bytes)
    try:
        upload.seek(0)
        with Image.open(upload) as image:
            image_format, (width, height) = image.format, image.size
            # The header alone gives the size: refuse a bomb before verify() decompresses anything.
            if width * height > settings.UPLOAD_MAX_IMAGE_PIXELS or max(width, height) > MAX_IMAGE_SIDE:
                raise ValidationError(
                    _("The image is %(width)d × %(height)d pixels; at most %(side)d wide or high is allowed.")
                    % {"width": width, "height": height, "side": MAX_IMAGE_SIDE},
                    code="too_many_pixels",
                )
            image.verify()
    except (UnidentifiedImageError, OSError, ValueError, SyntaxError, Image.DecompressionBombError):
        raise ValidationError(
            _("This file is not an image the portal can read: use PNG, JPEG or WebP."), code="not_image"
        ) from None
    finally:
        upload.seek(0)
    if image_format not in IMAGE_FORMATS:
        raise ValidationError(_("Use a PNG, JPEG or WebP image."), code="image_format")
    return IMAGE_FORMATS[image_format]


def accept_image(upload, *, max_bytes: int) -> None:
    """``validate_image``, then give the upload a random name with its real format's extension.

    A file already stored (a form saved again without a new picture) was checked when it came."""
    if not upload or getattr(upload, "_committed", False):
        return
    extension = validate_image(upload, max_bytes=max_bytes)
    upload.name = f"{uuid.uuid4().hex}.{extension}"


def decode_csv(data: bytes, *, max_bytes: int) -> str:
    """The text of an uploaded CSV: UTF-8, with or without the byte-order mark spreadsheets add."""
    if len(data) > max_bytes:
        raise ValidationError(
            _("The file is %(size)s; the largest allowed is %(max)s.")
            % {"size": filesizeformat(len(data)), "max": filesizeformat(max_bytes)},
            code="too_large",
        )
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise ValidationError(
            _("The file is not UTF-8 text. Save it as “CSV UTF-8” and try again."), code="encoding"
        ) from None
    if "\x00" in text:
        raise ValidationError(_("The file is not a CSV text file."), code="not_csv")
    return text


def is_private(name: str) -> bool:
    """Whether a stored file is private: only its app's permission-checked view may serve it."""
    return PRIVATE_FOLDER in PurePosixPath(name).parts


def serve_public_media(request, path: str, document_root=None):
    """MEDIA_URL when Django serves it itself (DEBUG): public pictures only, never a private file."""
    if is_private(path):
        raise Http404
    return serve(request, path, document_root=document_root)
