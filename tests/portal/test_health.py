"""Sweepers and the operators' health page: stuck work is found, sent again and shown with its age."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.db import connection
from django.db.models import F
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from compute.models import Allocation, AllocationStatus
from compute.services import requests as request_services
from core import sweepers
from core.models import OutboxMessage
from talent.models import Cohort, EnrolmentStatus
from tests.accounts.factories import UserFactory
from tests.compute.factories import make_quota_request
from tests.talent.factories import fill, make_cohort

pytestmark = pytest.mark.django_db


def _stuck_allocation(user, operator, *, minutes=30):
    request = make_quota_request(user, amount=Decimal("100"))
    request_services.approve_quota_request(request, by=operator)  # outside on-commit capture: not synced
    allocation = Allocation.objects.get(request=request)
    Allocation.objects.filter(pk=allocation.pk).update(
        status_changed_at=timezone.now() - timedelta(minutes=minutes)
    )
    OutboxMessage.objects.all().delete()  # the message was lost with the broker
    return allocation


def test_the_sweeper_provisions_an_allocation_left_pending(
    user, operator, django_capture_on_commit_callbacks
):
    allocation = _stuck_allocation(user, operator)
    assert allocation.status == AllocationStatus.PENDING
    items = sweepers.stuck_work()
    assert [(item.object, item.age > timedelta(minutes=29)) for item in items] == [(allocation, True)]
    with django_capture_on_commit_callbacks(execute=True):
        assert sweepers.sweep() == 1
    allocation.refresh_from_db()
    assert allocation.status == AllocationStatus.ACTIVE
    assert sweepers.stuck_work() == []


def test_recent_work_is_not_stuck(user, operator):
    _stuck_allocation(user, operator, minutes=1)
    assert sweepers.stuck_work() == []


def test_the_sweeper_offers_a_free_seat_nobody_was_offered(django_capture_on_commit_callbacks):
    cohort = make_cohort(capacity=1)
    fill(cohort, 1)
    (waiting,) = fill(cohort, 1)
    Cohort.objects.filter(pk=cohort.pk).update(
        capacity=F("capacity") + 1
    )  # more seats, set in the back office
    type(waiting).objects.filter(pk=waiting.pk).update(waitlisted_at=timezone.now() - timedelta(hours=1))
    (item,) = sweepers.stuck_work()
    assert item.object == cohort
    with django_capture_on_commit_callbacks(execute=True):
        sweepers.sweep()
    waiting.refresh_from_db()
    assert waiting.status == EnrolmentStatus.OFFERED
    assert sweepers.stuck_work() == []


def test_an_undelivered_message_is_made_due_again(settings):
    OutboxMessage.objects.create(
        kind="task",
        name="core.tasks.relay_outbox_task",
        key="k",
        next_attempt_at=timezone.now() + timedelta(hours=1),
    )
    OutboxMessage.objects.update(created_at=timezone.now() - timedelta(hours=1))
    (item,) = sweepers.stuck_work()
    sweepers.sweep()
    item.object.refresh_from_db()
    assert item.object.next_attempt_at <= timezone.now()


def test_the_health_page_is_for_operators_and_supervisors(client, user, operator, supervisor, mfa):
    url = reverse("health")
    assert client.get(url).status_code == 302  # to the sign-in page
    client.force_login(user)
    assert client.get(url).status_code == 403
    for person in (operator, supervisor):
        client.force_login(mfa(person))
        assert client.get(url).status_code == 200


def test_the_health_page_lists_stuck_work_with_its_age_in_constant_queries(
    client, user, operator, mfa, steady_minute
):
    client.force_login(mfa(operator))
    _stuck_allocation(user, operator, minutes=42)
    client.get(reverse("health"))  # the first request of a session fills its caches
    steady_minute("second")  # the stuck work is looked for again
    with CaptureQueriesContext(connection) as one:
        page = client.get(reverse("health")).content.decode()
    assert "Allocation waiting to be provisioned" in page and "42 minutes" in page
    for _ in range(3):
        _stuck_allocation(UserFactory(), operator, minutes=50)
    # The stuck work found is kept for the minute (it is shown in minutes): the new items show in the next one.
    assert client.get(reverse("health")).content.decode().count("Allocation waiting to be provisioned") == 1
    steady_minute("third")
    with CaptureQueriesContext(connection) as four:
        page = client.get(reverse("health")).content.decode()
    assert page.count("Allocation waiting to be provisioned") == 4
    assert len(four) == len(one)


def test_the_stuck_work_section_is_kept_rendered_for_the_minute_and_the_outbox_stays_live(
    client, user, operator, mfa, steady_minute, monkeypatch
):
    from portal import health

    client.force_login(mfa(operator))
    _stuck_allocation(user, operator, minutes=42)
    first = client.get(reverse("health")).content.decode()
    assert "Allocation waiting to be provisioned" in first
    looked = []
    monkeypatch.setattr(health, "_stuck_work", lambda: looked.append(1) or {"items": [], "as_of": None})
    OutboxMessage.objects.create(
        kind="task", name="core.tasks.relay_outbox_task", key="live", next_attempt_at=timezone.now()
    )
    again = client.get(reverse("health")).content.decode()
    # The section is the one rendered before (its rows were neither read nor rendered again) ...
    assert looked == [] and "Allocation waiting to be provisioned" in again
    # ... and the outbox above it counts the message queued since.
    assert "Every mail and task has been delivered." in first
    assert "Every mail and task has been delivered." not in again
    steady_minute("next")
    assert "Nothing is stuck." in client.get(reverse("health")).content.decode() and looked == [1]
