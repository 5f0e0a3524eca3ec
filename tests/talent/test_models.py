"""Every enrolment transition and refusal on the model, and the database constraints behind them."""

from datetime import timedelta

import pytest
from django.db import IntegrityError, transaction
from django.utils import timezone

from core.exceptions import InvalidTransition
from talent.models import Certificate, CertificateStatus, Enrolment, EnrolmentStatus
from tests.accounts.factories import UserFactory
from tests.talent.factories import make_cohort

S = EnrolmentStatus
ALLOWED = {(old, new) for old, news in Enrolment.TRANSITIONS.items() for new in news}
MOVES = {
    S.ENROLLED: lambda e: e.enrol(),
    S.WAITLISTED: lambda e: e.put_on_waitlist(),
    S.OFFERED: lambda e: e.offer(hold=timedelta(hours=48)),
    S.OFFER_EXPIRED: lambda e: e.expire_offer(),
    S.DECLINED: lambda e: e.decline(by=None, reason="Prerequisites missing"),
    S.WITHDRAWN: lambda e: e.withdraw(),
    S.COMPLETED: lambda e: e.finish(S.COMPLETED, by=None),
    S.FAILED: lambda e: e.finish(S.FAILED, by=None),
    S.NO_SHOW: lambda e: e.finish(S.NO_SHOW, by=None),
}


@pytest.mark.parametrize("old", S.values)
@pytest.mark.parametrize("new", list(MOVES))
def test_every_transition_is_allowed_or_refused_by_the_map(old, new):
    enrolment = Enrolment(status=old, offer_expires_at=timezone.now() - timedelta(minutes=1))
    if (old, new) in ALLOWED:
        assert MOVES[new](enrolment) == old
        assert enrolment.status == new
    else:
        with pytest.raises(InvalidTransition):
            MOVES[new](enrolment)
        assert enrolment.status == old


def test_offer_sets_the_hold_and_an_open_offer_cannot_expire():
    enrolment = Enrolment(status=S.WAITLISTED)
    enrolment.offer(hold=timedelta(hours=48))
    assert timedelta(hours=47) < enrolment.offer_expires_at - timezone.now() <= timedelta(hours=48)
    with pytest.raises(InvalidTransition):
        enrolment.expire_offer()


def test_decline_needs_a_reason_and_finish_only_takes_outcomes():
    with pytest.raises(InvalidTransition):
        Enrolment(status=S.REQUESTED).decline(by=None, reason="  ")
    with pytest.raises(InvalidTransition):
        Enrolment(status=S.ENROLLED).finish(S.WITHDRAWN, by=None)


def test_certificate_revocation_needs_a_reason_and_happens_once():
    certificate = Certificate(status=CertificateStatus.VALID)
    with pytest.raises(InvalidTransition):
        certificate.revoke(by=None, reason="")
    certificate.revoke(by=None, reason="Exam fraud")
    assert certificate.status == CertificateStatus.REVOKED
    with pytest.raises(InvalidTransition):
        certificate.revoke(by=None, reason="again")


@pytest.mark.django_db
def test_database_refuses_two_active_enrolments_and_bad_statuses():
    cohort = make_cohort()
    person = UserFactory()
    Enrolment.objects.create(cohort=cohort, user=person, status=S.ENROLLED)
    with pytest.raises(IntegrityError), transaction.atomic():
        Enrolment.objects.create(
            cohort=cohort, user=person, status=S.WAITLISTED, waitlisted_at=timezone.now()
        )
    with pytest.raises(IntegrityError), transaction.atomic():
        Enrolment.objects.create(cohort=cohort, user=UserFactory(), status="lost")
    with pytest.raises(IntegrityError), transaction.atomic():
        Enrolment.objects.create(cohort=cohort, user=UserFactory(), status=S.OFFERED)
    # A withdrawn enrolment does not block enrolling again.
    Enrolment.objects.filter(user=person).update(status=S.WITHDRAWN)
    Enrolment.objects.create(cohort=cohort, user=person, status=S.ENROLLED)


@pytest.mark.django_db
def test_cohort_constraints():
    with pytest.raises(IntegrityError), transaction.atomic():
        make_cohort(capacity=0)
    with pytest.raises(IntegrityError), transaction.atomic():
        make_cohort(access="code", enrolment_code="")
    now = timezone.now()
    with pytest.raises(IntegrityError), transaction.atomic():
        make_cohort(enrolment_opens_at=now, enrolment_closes_at=now - timedelta(days=1))
