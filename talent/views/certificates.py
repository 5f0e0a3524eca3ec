"""Certificates: the public verification page and the PDF with a QR code pointing to it."""

from django.http import Http404, HttpResponse
from django.shortcuts import get_object_or_404, render
from django.views.decorators.cache import never_cache

from accounts.privacy import pseudonym
from core.roles import sees_all_organisations
from talent.models import Certificate
from talent.pdf import certificate_pdf
from talent.privacy import is_deleted_account


def _certificate(code: str) -> Certificate:
    if len(code) > 32:
        raise Http404
    return get_object_or_404(Certificate.objects.select_related("enrolment__user"), code=code.strip().upper())


def holder_label(certificate: Certificate) -> str:
    user = certificate.enrolment.user
    return pseudonym(user) if is_deleted_account(user) else certificate.holder_name


@never_cache
def certificate_verify(request, code):
    """Public: anyone holding a code sees whether it is genuine; nothing personal beyond the holder's name."""
    certificate = _certificate(code)
    return render(
        request,
        "talent/certificate_verify.html",
        {"certificate": certificate, "holder": holder_label(certificate)},
    )


def certificate_pdf_view(request, code):
    certificate = _certificate(code)
    user = request.user
    if not (
        getattr(user, "is_authenticated", False)
        and (certificate.enrolment.user_id == user.pk or sees_all_organisations(user))
    ):
        raise Http404
    response = HttpResponse(
        certificate_pdf(certificate, holder=holder_label(certificate)), content_type="application/pdf"
    )
    response["Content-Disposition"] = f'attachment; filename="certificate-{certificate.code}.pdf"'
    return response
