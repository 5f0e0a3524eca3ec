"""Certificates: issued when a cohort is completed, revoked by operators (with a reason the public sees)."""

from django.db import transaction
from django.utils import timezone

from accounts.models import User
from core.mail import send_templated_mail
from core.states import save_transition
from talent.models import Certificate, Cohort, Enrolment
from talent.services.common import require_operator


def issue_certificate(enrolment: Enrolment, *, cohort: Cohort, by: User) -> Certificate:
    course = cohort.course
    certificate = Certificate.objects.create(
        enrolment=enrolment,
        holder_name=enrolment.user.name or enrolment.user.get_short_name(),
        course_title_zh=course.title_zh,
        course_title_en=course.title_en,
        cohort_name=cohort.name,
        issued_on=timezone.localdate(),
    )
    save_transition(certificate, None, by=by, action="certificate.issue")
    return certificate


@transaction.atomic
def revoke_certificate(certificate: Certificate, *, by: User, reason: str) -> Certificate:
    require_operator(by)
    certificate = (
        Certificate.objects.select_for_update().select_related("enrolment__user").get(pk=certificate.pk)
    )
    old = certificate.revoke(by=by, reason=reason)
    save_transition(certificate, old, by=by, action="certificate.revoke", reason=certificate.revoke_reason)
    send_templated_mail(
        "talent/email/certificate_revoked",
        to=[certificate.enrolment.user.email],
        context={"certificate": certificate},
    )
    return certificate
