"""The talent pool: only people who consented are shown, only to verified alliance members, and a message
reaches the person without revealing their address."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.urls import reverse
from django.utils import timezone

from accounts import privacy as account_services
from accounts.models import ConsentPurpose
from core.exceptions import DomainError
from core.models import AuditEvent
from talent import pool
from talent.services.running import complete_cohort, mark_attendance, set_scores
from tests.accounts.factories import UserFactory, make_verified_organisation
from tests.alliance.factories import make_alliance_member
from tests.talent.factories import fill, make_cohort, make_course, make_instructor

pytestmark = pytest.mark.django_db


def _certified(title_en="Large-model fine-tuning", **people) -> list:
    """People who completed a cohort of a course and hold its certificate."""
    teacher = make_instructor()
    course = make_course(title_en=title_en, title_zh="大模型微调")
    cohort = make_cohort(
        course, instructors=[teacher], sessions=1, min_score=Decimal("60"), min_attendance_percent=50
    )
    enrolments = fill(cohort, 2)
    mark_attendance(cohort.sessions.get(), by=teacher, present={e.pk: True for e in enrolments})
    set_scores(cohort, by=teacher, scores={e.pk: "90" for e in enrolments})
    today = timezone.localdate()
    type(cohort).objects.filter(pk=cohort.pk).update(starts_on=today - timedelta(days=3), ends_on=today)
    cohort.refresh_from_db()
    complete_cohort(cohort, by=teacher)
    return [e.user for e in enrolments]


def _searcher():
    owner = UserFactory()
    organisation = make_verified_organisation(owner)
    make_alliance_member(organisation)
    return owner, organisation


def test_only_people_who_consented_are_in_the_pool_and_withdrawing_removes_them():
    consenting, silent = _certified()
    account_services.set_consent(consenting, purpose=ConsentPurpose.TALENT_POOL, given=True)
    assert list(pool.pool()) == [consenting]
    assert list(pool.pool(query="fine-tuning")) == [consenting]
    assert list(pool.pool(query="robotics")) == []
    account_services.set_consent(consenting, purpose=ConsentPurpose.TALENT_POOL, given=False)
    assert list(pool.pool()) == []
    assert silent not in pool.pool()


def test_alliance_members_search_it_and_others_are_refused(client):
    consenting, _ = _certified()
    account_services.set_consent(consenting, purpose=ConsentPurpose.TALENT_POOL, given=True)
    searcher, _organisation = _searcher()
    client.force_login(searcher)
    page = client.get(reverse("talent:pool"), {"q": "fine"}).content.decode()
    assert consenting.get_full_name() in page
    assert consenting.email not in page
    outsider = UserFactory()
    make_verified_organisation(outsider)  # verified but not an alliance member
    client.force_login(outsider)
    assert client.get(reverse("talent:pool")).status_code == 403
    client.logout()
    assert client.get(reverse("talent:pool")).status_code == 302  # to sign in


def test_a_message_reaches_the_person_without_their_address(
    client, django_capture_on_commit_callbacks, mailoutbox
):
    consenting, silent = _certified()
    account_services.set_consent(consenting, purpose=ConsentPurpose.TALENT_POOL, given=True)
    searcher, organisation = _searcher()
    client.force_login(searcher)
    with django_capture_on_commit_callbacks(execute=True):
        client.post(
            reverse("talent:pool_contact", args=[consenting.pk]),
            {"organisation": organisation.pk, "message": "We are hiring model engineers."},
        )
    sent = [m for m in mailoutbox if consenting.email in m.to]
    assert (
        len(sent) == 1 and "We are hiring model engineers." in sent[0].body and searcher.email in sent[0].body
    )
    assert AuditEvent.objects.filter(action="talent_pool.contact", target_id=str(consenting.pk)).exists()
    # Someone who did not consent cannot be written to, even by guessing the id; an empty message is refused.
    assert client.post(reverse("talent:pool_contact", args=[silent.pk]), {"message": "hi"}).status_code == 404
    with pytest.raises(DomainError):
        pool.contact_person(consenting, by=searcher, organisation=organisation, message="   ")


def test_the_pool_page_keeps_a_constant_number_of_queries(client, django_assert_max_num_queries):
    searcher, _ = _searcher()
    for person in _certified():
        account_services.set_consent(person, purpose=ConsentPurpose.TALENT_POOL, given=True)
    client.force_login(searcher)
    with django_assert_max_num_queries(30) as few:
        client.get(reverse("talent:pool"))
    for person in _certified(title_en="Computer vision"):
        account_services.set_consent(person, purpose=ConsentPurpose.TALENT_POOL, given=True)
    with django_assert_max_num_queries(len(few.captured_queries)):
        client.get(reverse("talent:pool"))
