"""The outbox: side effects written with the change, delivered once, retried while the broker is down."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.core import mail
from django.core.mail import send_mail
from django.db import transaction
from django.utils import timezone

from compute.models import Allocation, AllocationStatus
from compute.services import requests as request_services
from compute.tasks import sync_allocation_task
from core import outbox
from core.models import OutboxKind, OutboxMessage
from portal.celery import app as celery_app
from tests.compute.factories import make_quota_request

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def broker_down():
    """A broker nobody listens on: every hand-over fails at once, as when Redis is stopped."""
    previous = (
        celery_app.conf.task_always_eager,
        celery_app.conf.broker_url,
        celery_app.conf.broker_write_url,
    )
    celery_app.conf.task_always_eager = False
    celery_app.conf.broker_url = celery_app.conf.broker_write_url = "redis://127.0.0.1:1/0"
    yield
    (celery_app.conf.task_always_eager, celery_app.conf.broker_url, celery_app.conf.broker_write_url) = (
        previous
    )


def test_a_mail_of_a_rolled_back_change_is_never_written_nor_sent():
    with pytest.raises(RuntimeError), transaction.atomic():
        send_mail("Approved", "Body", None, ["a@example.cn"])
        raise RuntimeError("the change fails")
    assert not OutboxMessage.objects.exists() and mail.outbox == []


def test_a_committed_mail_is_delivered_at_once_and_marked(settings):
    send_mail("Approved", "Body with a secret link", None, ["a@example.cn"])
    message = OutboxMessage.objects.get()
    assert [m.subject for m in mail.outbox] == ["Approved"]
    assert message.kind == OutboxKind.MAIL and message.delivered_at is not None and message.attempts == 1
    assert message.payload == {"subject": "Approved", "to": ["a@example.cn"]}  # the body is not kept
    assert outbox.relay(now=timezone.now() + timedelta(days=1)) == 0 and len(mail.outbox) == 1


def test_the_same_key_is_one_side_effect(user):
    request = make_quota_request(user)
    OutboxMessage.objects.all().delete()
    with transaction.atomic():
        first = outbox.enqueue_task(sync_allocation_task.name, args=[request.pk], key="sync:once")
        second = outbox.enqueue_task(sync_allocation_task.name, args=[request.pk], key="sync:once")
    assert first.pk == second.pk and OutboxMessage.objects.count() == 1


def test_an_approval_with_the_broker_down_commits_and_the_relay_provisions_later(user, operator, broker_down):
    request = make_quota_request(user, amount=Decimal("100"))
    request_services.approve_quota_request(request, by=operator)  # no error although the broker is down
    allocation = Allocation.objects.get()
    assert allocation.status == AllocationStatus.PENDING
    # The allocation's sync (the owner's new cluster identity is published by a task of its own).
    task = OutboxMessage.objects.get(kind=OutboxKind.TASK, name=sync_allocation_task.name)
    assert task.delivered_at is None and task.attempts == 1 and "OperationalError" in task.last_error
    assert task.next_attempt_at > timezone.now()
    waiting, oldest = outbox.backlog()
    assert waiting == OutboxMessage.objects.filter(delivered_at__isnull=True).count() >= 2 and oldest >= 0
    assert outbox.relay() == 0  # not due yet: the backoff holds
    # Still down when it is due: one more attempt, a longer wait (mails need no broker: the relay sends them).
    outbox.relay(now=task.next_attempt_at)
    task.refresh_from_db()
    assert task.delivered_at is None
    assert task.attempts == 2 and task.next_attempt_at - timezone.now() > timedelta(seconds=20)

    celery_app.conf.task_always_eager = True  # the broker is back (the eager task stands for the worker)
    assert outbox.relay(now=timezone.now() + timedelta(hours=1)) == 2  # the sync and the identity
    allocation.refresh_from_db()
    assert allocation.status == AllocationStatus.ACTIVE
    assert [m.to for m in mail.outbox if "approved" in m.subject] == [[user.email]]
    assert outbox.backlog() == (0, None)
    assert outbox.relay(now=timezone.now() + timedelta(hours=2)) == 0  # nothing goes out twice
    assert len([m for m in mail.outbox if "approved" in m.subject]) == 1


def test_delivered_messages_are_deleted_after_a_month():
    send_mail("Old", "Body", None, ["a@example.cn"])
    OutboxMessage.objects.update(delivered_at=timezone.now() - timedelta(days=31))
    outbox.relay()
    assert not OutboxMessage.objects.exists()


def test_a_warm_up_the_broker_cannot_take_is_dropped_and_the_change_stands(operator, broker_down, caplog):
    """Warm-ups (the directory's, the home page's figures) are best effort: a change that schedules one commits
    and answers normally while the broker is down, and the next change tries again."""
    from django.core.cache import cache

    from accounts import services as account_services
    from portal import home
    from tests.accounts.factories import UserFactory, make_organisation

    cache.delete(home.PENDING_KEY)  # no refresh pending from an earlier test
    owner = UserFactory()
    organisation = make_organisation(owner)
    account_services.submit_organisation_for_verification(organisation, by=owner)
    account_services.verify_organisation(organisation, by=operator)  # the commit schedules the refresh
    organisation.refresh_from_db()
    assert organisation.is_verified
    assert "could not hand portal.tasks.refresh_home_stats_task to the broker" in caplog.text
    assert cache.get(home.PENDING_KEY) is None  # not sent: the next change sends it again
