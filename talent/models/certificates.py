"""Certificates: proof of completion that anyone can verify by its code."""

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from core.exceptions import InvalidTransition
from core.states import StatusMachine
from core.text import bilingual
from talent.models.choices import CertificateStatus
from talent.models.cohorts import random_code
from talent.models.enrolment import Enrolment, LearnerRecordQuerySet


class CertificateQuerySet(LearnerRecordQuerySet):
    LEARNER = "enrolment__user"
    COHORT = "enrolment__cohort"


def new_certificate_code() -> str:
    return f"AICC-{random_code(4)}-{random_code(4)}-{random_code(4)}"


class Certificate(StatusMachine):
    """Proof of completion. The holder's name and the course are copied at issue, so that the public page
    says what was certified even when the course is renamed; a deleted account leaves a pseudonym."""

    enrolment = models.OneToOneField(
        Enrolment, verbose_name=_("enrolment"), on_delete=models.PROTECT, related_name="certificate"
    )
    code = models.CharField(_("code"), max_length=32, unique=True, default=new_certificate_code)
    holder_name = models.CharField(_("holder"), max_length=150)
    course_title_zh = models.CharField(_("course (Chinese)"), max_length=200)
    course_title_en = models.CharField(_("course (English)"), max_length=200)
    cohort_name = models.CharField(_("cohort"), max_length=100)
    issued_on = models.DateField(_("issued on"))
    status = models.CharField(
        _("status"), max_length=16, choices=CertificateStatus.choices, default=CertificateStatus.VALID
    )
    revoked_at = models.DateTimeField(_("revoked"), null=True, blank=True)
    revoked_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    revoke_reason = models.TextField(_("reason for revoking"), blank=True, max_length=2000)

    TRANSITIONS = {CertificateStatus.VALID: {CertificateStatus.REVOKED}}

    objects = CertificateQuerySet.as_manager()

    class Meta:
        verbose_name = _("certificate")
        verbose_name_plural = _("certificates")
        ordering = ["-issued_on", "-id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(status__in=CertificateStatus.values), name="certificate_status_valid"
            ),
            models.CheckConstraint(
                condition=~Q(status="revoked") | (~Q(revoke_reason="") & Q(revoked_at__isnull=False)),
                name="certificate_revocation_has_reason",
            ),
        ]

    def __str__(self):
        return self.code

    def get_absolute_url(self):
        return reverse("certificate_verify", args=[self.code])

    @property
    def course_title(self) -> str:
        return bilingual(self.course_title_zh, self.course_title_en)

    @property
    def is_valid(self) -> bool:
        return self.status == CertificateStatus.VALID

    def revoke(self, *, by, reason: str) -> str:
        if self.status != CertificateStatus.VALID:
            raise InvalidTransition(_("This certificate is already revoked."))
        if not (reason or "").strip():
            raise InvalidTransition(_("Say why the certificate is revoked; the verification page shows it."))
        old = self.move_to(CertificateStatus.REVOKED)
        self.revoked_at, self.revoked_by, self.revoke_reason = timezone.now(), by, reason.strip()
        self.touch("revoked_at", "revoked_by", "revoke_reason")
        return old
