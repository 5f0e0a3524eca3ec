"""Reminders 30, 7 and 1 days before an allocation ends: each once, to its managers and cluster users,
with what is left and the way to request an extension. Time is moved by ``today=``, never slept."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.core import mail
from django.db.models import Count
from django.utils import timezone

from compute.models import Allocation, AllocationStatus, EndReminder
from compute.services import allocations as allocation_services
from compute.services.reminders import due_reminder, send_end_reminders
from compute.tasks import send_end_reminders_task
from core.models import AuditEvent
from tests.accounts.factories import UserFactory, add_member, an_operator
from tests.compute.factories import make_allocation
from tests.compute.test_dates import extend

pytestmark = pytest.mark.django_db
TODAY = timezone.localdate


@pytest.fixture
def allocation(user):
    """90 days from today, 100 card-hours of which 25.5 used."""
    allocation = make_allocation(user, end_date=TODAY() + timedelta(days=90))
    Allocation.objects.filter(pk=allocation.pk).update(used_amount=Decimal("25.5"))
    allocation.refresh_from_db()
    mail.outbox.clear()
    return allocation


@pytest.fixture
def remind(django_capture_on_commit_callbacks):
    """``send_end_reminders(today=day)`` with its mails delivered (they leave when the transaction commits)."""

    def run(day):
        with django_capture_on_commit_callbacks(execute=True):
            return send_end_reminders(today=day)

    return run


def days_before(allocation, days):
    return allocation.end_date - timedelta(days=days)


def test_each_reminder_goes_once_at_30_7_and_1_days(allocation, remind):
    sent = []
    for day in range(91):  # every day from today until the end, twice a day
        today = TODAY() + timedelta(days=day)
        sent += [(today, n) for n in [remind(today), remind(today)] if n]
    assert sent == [
        (days_before(allocation, 30), 1),
        (days_before(allocation, 7), 1),
        (days_before(allocation, 1), 1),
    ]
    assert sorted(EndReminder.objects.values_list("days_before", flat=True)) == [1, 7, 30]
    assert len(mail.outbox) == 3
    assert (
        AuditEvent.objects.filter(action="allocation.end_reminder", target_id=str(allocation.pk)).count() == 3
    )


def test_the_mail_says_when_what_is_left_and_how_to_extend(allocation, user, remind):
    colleague = UserFactory(email="li@example.cn")
    add_member(allocation.organisation, colleague)  # a plain member, not a manager, not a cluster user
    assert send_end_reminders_task.apply(kwargs={}).get() == 0  # 90 days ahead: nothing due
    assert remind(days_before(allocation, 7)) == 1
    message = mail.outbox[0]
    assert message.to == [user.email]  # the manager, who is also the cluster user: once
    assert "7 days" in message.subject and allocation.account_name in message.subject
    assert allocation.end_date.strftime("%Y-%m-%d") in message.body
    assert "74.50" in message.body and "100.00" in message.body  # left of granted
    assert f"/compute/requests/new/?kind=extension&allocation={allocation.pk}" in message.body
    assert colleague.email not in message.to


def test_cluster_users_who_do_not_manage_hear_too(allocation, user, remind):
    from compute.models import AllocationMember

    researcher = UserFactory(email="wang@example.cn")
    add_member(allocation.organisation, researcher)
    AllocationMember.objects.create(allocation=allocation, user=researcher, cluster_username="wang")
    remind(days_before(allocation, 1))
    assert sorted(mail.outbox[0].to) == sorted([user.email, researcher.email])


def test_a_missed_reminder_is_sent_late_unless_a_later_one_is_due(allocation, remind):
    # The task did not run on the 30th day before: it sends that one when it runs again...
    assert remind(days_before(allocation, 25)) == 1
    assert EndReminder.objects.get().days_before == 30
    # ...but after missing the 7-day one too, four days before the end only the 7-day one goes.
    EndReminder.objects.all().delete()
    assert remind(days_before(allocation, 4)) == 1
    assert list(EndReminder.objects.values_list("days_before", flat=True)) == [7]


def test_an_extension_after_the_7_day_reminder_gets_reminders_again(allocation, user, remind):
    remind(days_before(allocation, 30))
    remind(days_before(allocation, 7))
    old_end = allocation.end_date
    allocation = extend(allocation, user, old_end + timedelta(days=60))
    assert remind(old_end - timedelta(days=1)) == 0  # the old end's 1-day: not any more
    assert remind(days_before(allocation, 30)) == 1
    assert remind(days_before(allocation, 7)) == 1
    assert remind(days_before(allocation, 1)) == 1
    per_end = dict(EndReminder.objects.values_list("end_date").annotate(n=Count("id")))
    assert per_end == {old_end: 2, allocation.end_date: 3}


def test_ended_closed_and_not_started_allocations_get_none(allocation, user, remind):
    allocation_services.close_allocation(allocation, by=an_operator(), reason="done")
    assert remind(days_before(allocation, 7)) == 0
    short = make_allocation(
        user,
        allocation.organisation,
        start_date=TODAY() + timedelta(days=3),
        end_date=TODAY() + timedelta(days=20),
    )
    assert remind(TODAY()) == 0  # not started yet
    # A 17-day allocation has no 30-day reminder: none when it starts, the 7-day one a week before its end.
    assert due_reminder(short, short.start_date) is None
    assert due_reminder(short, short.end_date - timedelta(days=7)) == 7
    assert due_reminder(short, short.end_date) is None
    assert short.status == AllocationStatus.ACTIVE
