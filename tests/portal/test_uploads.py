"""Uploads are checked by their content (core.uploads), size-capped, stored under random names, and private
files are served only through permission-checked views, as attachments."""

import io
import re
import struct
import zlib
from pathlib import Path

import pytest
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile
from django.http import Http404
from django.test import RequestFactory
from django.urls import reverse
from PIL import Image

from accounts.models import Organisation
from core import uploads
from projects.models import Attachment
from projects.services import applications
from tests.accounts.factories import UserFactory
from tests.accounts.test_views import VALID_FORM
from tests.projects.factories import make_application, pdf
from tests.talent.factories import make_course

pytestmark = pytest.mark.django_db


def png(width: int = 32, height: int = 32) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (width, height), "navy").save(buffer, "PNG")
    return buffer.getvalue()


def declaring(width: int, height: int) -> bytes:
    """A tiny PNG whose header declares ``width`` × ``height`` pixels: what a decompression bomb looks like
    before it is decoded (the real one packs gigabytes of pixels into a few kilobytes)."""
    data = bytearray(png(1, 1))
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    data[16:29] = ihdr  # after the signature (8), the chunk length (4) and its type (4)
    data[29:33] = struct.pack(">I", zlib.crc32(b"IHDR" + ihdr))
    return bytes(data)


def stored_files(settings) -> list[Path]:
    root = Path(settings.MEDIA_ROOT)
    return [path for path in root.rglob("*") if path.is_file()] if root.exists() else []


# --- by content, not by name -----------------------------------------------------------------------------


def test_a_file_renamed_pdf_that_is_not_a_pdf_is_refused_and_nothing_is_stored(client, settings):
    owner = UserFactory()
    application = make_application(owner, submit=False)
    client.force_login(owner)
    response = client.post(
        reverse("projects:attachment_upload", args=[application.pk]),
        {"file": SimpleUploadedFile("business-plan.pdf", png(), content_type="application/pdf")},
        follow=True,
    )
    assert "This file is not a PDF document." in response.content.decode()
    assert not Attachment.objects.exists()
    assert stored_files(settings) == []


def test_a_pdf_is_accepted_whatever_type_the_browser_claims():
    upload = SimpleUploadedFile("plan.pdf", b"%PDF-1.7\n%%EOF\n", content_type="image/png")
    uploads.validate_pdf(upload, max_bytes=1000)
    with pytest.raises(ValidationError, match="largest allowed"):
        uploads.validate_pdf(upload, max_bytes=10)


def test_an_image_renamed_png_that_is_not_an_image_is_refused():
    with pytest.raises(ValidationError, match="not an image"):
        uploads.validate_image(SimpleUploadedFile("logo.png", b"%PDF-1.4 not a picture"), max_bytes=10_000)


def test_a_gif_is_refused_even_named_png():
    buffer = io.BytesIO()
    Image.new("RGB", (8, 8)).save(buffer, "GIF")
    with pytest.raises(ValidationError, match="PNG, JPEG or WebP"):
        uploads.validate_image(SimpleUploadedFile("logo.png", buffer.getvalue()), max_bytes=10_000)


# --- size and pixel caps ---------------------------------------------------------------------------------


def test_an_oversized_image_is_refused_with_the_limit(client, settings):
    settings.MAX_LOGO_BYTES = 500
    client.force_login(UserFactory())
    logo = SimpleUploadedFile("logo.png", png(64, 64) + b"\0" * 600, content_type="image/png")
    response = client.post("/organisations/new/", {**VALID_FORM, "logo": logo})
    assert response.status_code == 200
    assert "the largest allowed is 500" in response.content.decode()
    assert not Organisation.objects.exists()
    assert stored_files(settings) == []


def test_an_image_over_the_pixel_cap_is_refused_from_its_header(settings):
    settings.UPLOAD_MAX_IMAGE_PIXELS = 1000 * 1000
    upload = SimpleUploadedFile("big.png", declaring(1200, 1000))
    with pytest.raises(ValidationError, match="1200 × 1000 pixels"):
        uploads.validate_image(upload, max_bytes=10_000)


@pytest.mark.parametrize("side", [5000, 60000])  # above our cap; and above Pillow's own bomb limit too
def test_a_decompression_bomb_is_refused_without_being_decoded(client, settings, side):
    client.force_login(UserFactory())
    bomb = SimpleUploadedFile("cute-cat.png", declaring(side, side), content_type="image/png")
    response = client.post("/organisations/new/", {**VALID_FORM, "logo": bomb})
    assert response.status_code == 200
    assert 'id="id_logo_error' in response.content.decode() or "pixels" in response.content.decode()
    assert not Organisation.objects.exists()
    assert stored_files(settings) == []


def test_a_csv_must_be_utf8_and_may_carry_a_bom():
    assert uploads.decode_csv("\ufeffemail,action\n".encode(), max_bytes=100) == "email,action\n"
    with pytest.raises(ValidationError, match="not UTF-8"):
        uploads.decode_csv("名字".encode("gb18030"), max_bytes=100)
    with pytest.raises(ValidationError, match="largest allowed"):
        uploads.decode_csv(b"x" * 101, max_bytes=100)


# --- renamed on storage ----------------------------------------------------------------------------------


def test_a_logo_is_stored_under_a_random_name_with_its_real_format(client, settings):
    client.force_login(UserFactory())
    buffer = io.BytesIO()
    Image.new("RGB", (16, 16), "teal").save(buffer, "JPEG")
    logo = SimpleUploadedFile("../../evil.php.png", buffer.getvalue(), content_type="image/png")
    client.post("/organisations/new/", {**VALID_FORM, "logo": logo})
    name = Organisation.objects.get().logo.name
    assert re.fullmatch(r"organisations/logos/\d{4}/[0-9a-f]{32}\.jpg", name), name


def test_a_saved_logo_keeps_its_name_when_checked_again(client, settings):
    client.force_login(UserFactory())
    client.post("/organisations/new/", {**VALID_FORM, "logo": SimpleUploadedFile("a.png", png())})
    organisation = Organisation.objects.get()
    before = organisation.logo.name
    organisation.full_clean()
    assert organisation.logo.name == before


# --- served only through permission-checked views ------------------------------------------------------


def test_a_private_file_is_an_attachment_for_those_allowed_and_invisible_to_others(client):
    owner = UserFactory()
    application = make_application(owner, submit=False)
    attachment = applications.add_attachment(application, by=owner, upload=pdf("计划.pdf"))
    assert uploads.is_private(attachment.file.name)
    url = attachment.get_absolute_url()

    anonymous = client.get(url)
    assert anonymous.status_code in {302, 404} and not getattr(anonymous, "streaming", False)
    client.force_login(UserFactory())
    assert client.get(url).status_code == 404
    client.force_login(owner)
    response = client.get(url)
    assert response.status_code == 200
    assert response["Content-Disposition"].startswith("attachment")
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["Content-Type"] == "application/pdf"


def test_media_served_by_django_never_includes_a_private_file(settings):
    owner = UserFactory()
    application = make_application(owner, submit=False)
    attachment = applications.add_attachment(application, by=owner, upload=pdf())
    request = RequestFactory().get("/media/" + attachment.file.name)
    with pytest.raises(Http404):
        uploads.serve_public_media(request, attachment.file.name, document_root=settings.MEDIA_ROOT)
    public = Path(settings.MEDIA_ROOT) / "organisations" / "logo.png"
    public.parent.mkdir(parents=True)
    public.write_bytes(png())
    served = uploads.serve_public_media(request, "organisations/logo.png", document_root=settings.MEDIA_ROOT)
    assert served.status_code == 200


def test_a_course_cover_is_checked_by_the_model_so_the_back_office_checks_it_too(settings):
    course = make_course()
    course.cover_image = SimpleUploadedFile("cover.png", b"<svg onload=alert(1)>", content_type="image/png")
    with pytest.raises(ValidationError) as refused:
        course.full_clean()
    assert "cover_image" in refused.value.message_dict

    course.cover_image = SimpleUploadedFile("../cover.png", png(), content_type="image/png")
    course.full_clean()
    assert re.fullmatch(r"[0-9a-f]{32}\.png", course.cover_image.name), course.cover_image.name
