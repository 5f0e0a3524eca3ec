"""Enrolment through the services: seats, waitlist, offers, approval, codes, audiences, refusals."""

from datetime import timedelta

import pytest
from django.utils import timezone

from accounts.models import OrganisationKind
from core.exceptions import Conflict, DomainError, NotAllowed
from core.models import AuditEvent
from talent.models import Access, Audience, CohortStatus, Enrolment, EnrolmentStatus
from talent.services.catalogue import save_cohort, set_cohort_status
from talent.services.eligibility import seats_left_in
from talent.services.enrolment import (
    accept_offer,
    approve_request,
    decline_request,
    enrol,
    expire_offers,
    waitlist_position,
    withdraw,
)
from talent.tasks import expire_offers_task
from tests.accounts.factories import UserFactory, make_operator, make_organisation, make_verified_organisation
from tests.alliance.factories import make_alliance_member
from tests.talent.factories import fill, make_cohort, make_instructor

pytestmark = pytest.mark.django_db
S = EnrolmentStatus


def test_open_cohort_enrols_then_waitlists_in_order_and_mails(mailoutbox, django_capture_on_commit_callbacks):
    cohort = make_cohort(capacity=2)
    a, b = fill(cohort, 2)
    assert {a.status, b.status} == {S.ENROLLED}
    with django_capture_on_commit_callbacks(execute=True):
        c, d = fill(cohort, 2)
    assert (c.status, d.status) == (S.WAITLISTED, S.WAITLISTED)
    assert waitlist_position(c) == 1 and waitlist_position(d) == 2
    assert seats_left_in(cohort) == 0
    subjects = [m.subject for m in mailoutbox]
    assert any("waitlist" in s.lower() for s in subjects)
    assert AuditEvent.objects.filter(action="enrolment.waitlist").count() == 2


def test_enrolling_twice_is_refused_and_changes_nothing():
    cohort = make_cohort()
    person = UserFactory()
    enrol(cohort, user=person)
    with pytest.raises(Conflict, match="already"):
        enrol(cohort, user=person)
    assert Enrolment.objects.filter(user=person).count() == 1


@pytest.mark.parametrize("opens,closes,message", [(1, 2, "opens"), (-3, -1, "closed")])
def test_enrolling_outside_the_window_is_refused(opens, closes, message):
    now = timezone.now()
    cohort = make_cohort(
        enrolment_opens_at=now + timedelta(days=opens), enrolment_closes_at=now + timedelta(days=closes)
    )
    with pytest.raises(DomainError, match=message):
        enrol(cohort, user=UserFactory())
    assert not Enrolment.objects.exists()


def test_wrong_code_is_refused_right_code_enrols():
    cohort = make_cohort(access=Access.CODE)
    person = UserFactory()
    with pytest.raises(DomainError, match="code"):
        enrol(cohort, user=person, code="WRONG")
    assert not Enrolment.objects.exists()
    assert enrol(cohort, user=person, code=" learn2027 ").status == S.ENROLLED


def test_draft_and_cancelled_cohorts_take_nobody():
    for status in (CohortStatus.DRAFT, CohortStatus.CANCELLED):
        with pytest.raises(DomainError):
            enrol(make_cohort(status=status), user=UserFactory())


def test_staff_and_instructors_never_take_a_seat():
    teacher = make_instructor()
    cohort = make_cohort(capacity=1, instructors=[teacher])
    with pytest.raises(DomainError, match="teach"):
        enrol(cohort, user=teacher)
    with pytest.raises(DomainError, match="Staff"):
        enrol(cohort, user=make_operator())
    assert seats_left_in(cohort) == 1
    # The instructor's presence does not count: the one seat still goes to a learner.
    assert enrol(cohort, user=UserFactory()).status == S.ENROLLED


def test_withdrawing_frees_the_seat_and_offers_it_to_the_first_waiting(
    mailoutbox, settings, django_capture_on_commit_callbacks
):
    settings.TALENT_OFFER_HOLD_HOURS = 24
    cohort = make_cohort(capacity=1)
    (first,) = fill(cohort, 1)
    second, third = fill(cohort, 2)
    mailoutbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        withdraw(first, by=first.user)
    second.refresh_from_db()
    third.refresh_from_db()
    assert second.status == S.OFFERED and third.status == S.WAITLISTED
    assert timedelta(hours=23) < second.offer_expires_at - timezone.now() <= timedelta(hours=24)
    assert waitlist_position(third) == 1
    assert [m.to for m in mailoutbox] == [[second.user.email]]
    assert "offer" in mailoutbox[0].subject.lower()
    accept_offer(second, by=second.user)
    second.refresh_from_db()
    assert second.status == S.ENROLLED


def test_only_the_person_accepts_and_an_expired_offer_passes_on():
    cohort = make_cohort(capacity=1)
    (first,) = fill(cohort, 1)
    second, third = fill(cohort, 2)
    withdraw(first, by=first.user)
    second.refresh_from_db()
    with pytest.raises(NotAllowed):
        accept_offer(second, by=third.user)
    Enrolment.objects.filter(pk=second.pk).update(offer_expires_at=timezone.now() - timedelta(minutes=1))
    with pytest.raises(Conflict, match="expired"):
        accept_offer(second, by=second.user)
    second.refresh_from_db()
    third.refresh_from_db()
    assert second.status == S.OFFER_EXPIRED and third.status == S.OFFERED


def test_expire_offers_passes_each_seat_on_and_is_idempotent(mailoutbox):
    cohort = make_cohort(capacity=1)
    (first,) = fill(cohort, 1)
    second, third = fill(cohort, 2)
    withdraw(first, by=first.user)
    assert expire_offers() == 0  # still open
    later = timezone.now() + timedelta(hours=49)
    assert expire_offers(now=later) == 1
    second.refresh_from_db()
    third.refresh_from_db()
    assert second.status == S.OFFER_EXPIRED and third.status == S.OFFERED
    assert expire_offers() == 0  # the next offer runs its own 48 hours
    assert AuditEvent.objects.filter(action="enrolment.offer_expire", actor=None).count() == 1


def test_expire_offers_task_is_the_beat_entry(settings):
    assert any(e["task"] == "talent.tasks.expire_offers_task" for e in settings.CELERY_BEAT_SCHEDULE.values())
    cohort = make_cohort(capacity=1)
    (first,) = fill(cohort, 1)
    (second,) = fill(cohort, 1)
    withdraw(first, by=first.user)
    Enrolment.objects.filter(pk=second.pk).update(offer_expires_at=timezone.now() - timedelta(seconds=1))
    assert expire_offers_task.delay().get() == 1


def test_approval_cohort_files_requests_and_the_instructor_decides(
    mailoutbox, django_capture_on_commit_callbacks
):
    teacher = make_instructor()
    cohort = make_cohort(capacity=1, access=Access.APPROVAL, instructors=[teacher])
    with django_capture_on_commit_callbacks(execute=True):
        a = enrol(cohort, user=UserFactory())
    b = enrol(cohort, user=UserFactory())
    c = enrol(cohort, user=UserFactory())
    assert a.status == b.status == S.REQUESTED
    assert any(teacher.email in m.to for m in mailoutbox)
    with pytest.raises(NotAllowed):
        approve_request(a, by=UserFactory())
    assert approve_request(a, by=teacher).status == S.ENROLLED
    assert approve_request(b, by=teacher).status == S.WAITLISTED  # full: waits its turn
    with pytest.raises(Conflict):
        approve_request(a, by=teacher)
    with pytest.raises(DomainError):
        decline_request(c, by=teacher, reason="")
    declined = decline_request(c, by=teacher, reason="Needs Python first")
    assert declined.status == S.DECLINED and declined.reason == "Needs Python first"


def test_staff_withdrawal_needs_a_reason_and_others_cannot():
    teacher = make_instructor()
    cohort = make_cohort(instructors=[teacher])
    (enrolment,) = fill(cohort, 1)
    with pytest.raises(NotAllowed):
        withdraw(enrolment, by=UserFactory())
    with pytest.raises(DomainError):
        withdraw(enrolment, by=teacher)
    assert withdraw(enrolment, by=teacher, reason="Never came").status == S.WITHDRAWN
    with pytest.raises(Conflict):
        withdraw(enrolment, by=enrolment.user)


def test_students_only_audience():
    cohort = make_cohort(audience=Audience.STUDENTS)
    outsider = UserFactory()
    with pytest.raises(DomainError, match="students only"):
        enrol(cohort, user=outsider)
    student = UserFactory()
    make_verified_organisation(student, kind=OrganisationKind.UNIVERSITY, name_zh="滨海大学测试")
    assert enrol(cohort, user=student).status == S.ENROLLED
    unverified = UserFactory()
    make_organisation(unverified, kind=OrganisationKind.UNIVERSITY)
    with pytest.raises(DomainError):
        enrol(cohort, user=unverified)


def test_allowlist_audience_is_case_insensitive():
    cohort = make_cohort(audience=Audience.ALLOWLIST, allowlist="Invited@Example.cn\nother@example.cn")
    with pytest.raises(DomainError, match="invitation"):
        enrol(cohort, user=UserFactory())
    assert enrol(cohort, user=UserFactory(email="invited@example.cn")).status == S.ENROLLED


def test_raising_capacity_offers_the_new_seats():
    cohort = make_cohort(capacity=1)
    fill(cohort, 1)
    waiting = fill(cohort, 2)
    cohort.capacity = 3
    save_cohort(cohort, by=make_operator(), changed=["capacity"])
    assert {e.status for e in Enrolment.objects.filter(pk__in=[w.pk for w in waiting])} == {S.OFFERED}


def test_cancelling_a_cohort_withdraws_everyone_and_says_why(mailoutbox, django_capture_on_commit_callbacks):
    cohort = make_cohort(capacity=1)
    fill(cohort, 2)
    operator = make_operator()
    with pytest.raises(DomainError):
        set_cohort_status(cohort, status=CohortStatus.CANCELLED, by=operator)
    with django_capture_on_commit_callbacks(execute=True):
        set_cohort_status(cohort, status=CohortStatus.CANCELLED, by=operator, reason="Room unavailable")
    assert set(Enrolment.objects.values_list("status", flat=True)) == {S.WITHDRAWN}
    assert sum("Room unavailable" in m.body for m in mailoutbox) == 2


def test_member_employees_audience_uses_current_alliance_membership():
    cohort = make_cohort(audience=Audience.MEMBER_EMPLOYEES)
    owner = UserFactory()
    organisation = make_verified_organisation(owner)
    employee = UserFactory()
    organisation.memberships.create(user=employee, role="member")
    with pytest.raises(DomainError, match="alliance"):
        enrol(cohort, user=employee)
    make_alliance_member(organisation)
    assert enrol(cohort, user=employee).status == S.ENROLLED
