"""The talent pool: people who hold certificates and agreed (consent "talent pool") to show them to verified
alliance members. Members search it by skill and certificate and may write to a person through the portal,
which forwards the message without revealing either address until the person answers.

Nothing is shown without a current consent: withdrawing it removes the person from every search at once.
"""

from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.db.models import Exists, OuterRef, Prefetch, Q
from django.utils.translation import gettext as _

from accounts.models import Consent, ConsentPurpose, Organisation, User, VerificationStatus
from core import audit
from core.exceptions import DomainError
from core.mail import send_templated_mail
from talent.models import Category, Certificate, CertificateStatus
from talent.services.eligibility import current_alliance_organisation_ids

MESSAGE_MAX = 2000


def searching_organisations(user) -> list[Organisation]:
    """The verified, current alliance-member organisations the user belongs to (who may search the pool)."""
    if not getattr(user, "is_authenticated", False):
        return []
    organisations = list(
        Organisation.objects.filter(
            memberships__user=user, verification_status=VerificationStatus.VERIFIED
        ).order_by("name_zh")
    )
    members = current_alliance_organisation_ids(o.pk for o in organisations)
    return [o for o in organisations if o.pk in members]


def pool(*, query: str = "", category: str = ""):
    """People in the pool with their valid certificates matching the search, newest certificate first."""
    certificates = Certificate.objects.filter(status=CertificateStatus.VALID)
    if category in Category.values:
        certificates = certificates.filter(enrolment__cohort__course__category=category)
    if query:
        certificates = certificates.filter(
            Q(course_title_zh__icontains=query)
            | Q(course_title_en__icontains=query)
            | Q(enrolment__cohort__course__syllabus__icontains=query)
        )
    consented = Consent.objects.active().filter(user=OuterRef("pk"), purpose=ConsentPurpose.TALENT_POOL)
    return (
        User.objects.filter(Exists(consented), is_active=True)
        .filter(Exists(certificates.filter(enrolment__user=OuterRef("pk"))))
        .prefetch_related(
            Prefetch(
                "enrolments__certificate",
                queryset=Certificate.objects.filter(status=CertificateStatus.VALID),
            )
        )
        .order_by("name", "pk")
    )


@transaction.atomic
def contact_person(person: User, *, by: User, organisation: Organisation, message: str) -> None:
    """Forward a member organisation's message to a person in the pool (their address stays private)."""
    message = (message or "").strip()
    if not message:
        raise DomainError(_("Write what you would like to offer or ask."))
    if len(message) > MESSAGE_MAX:
        raise DomainError(_("Keep the message under %(n)s characters.") % {"n": MESSAGE_MAX})
    if not pool().filter(pk=person.pk).exists():
        raise DomainError(_("This person is not in the talent pool."))
    if organisation not in searching_organisations(by):
        raise PermissionDenied(_("Write on behalf of one of your alliance member organisations."))
    audit.record(
        "talent_pool.contact",
        person,
        actor=by,
        organisation=organisation,
        changes={"contacted_by": (None, organisation.display_name)},
    )
    send_templated_mail(
        "talent/email/pool_contact",
        to=[person.email],
        context={"person": person, "sender": by, "organisation": organisation, "message": message},
    )


def is_in_pool(user) -> bool:
    return Consent.objects.active().filter(user=user, purpose=ConsentPurpose.TALENT_POOL).exists()
