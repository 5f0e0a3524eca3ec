"""Fault tests: the broker stopped, a worker killed, the database connection cut, the mail server refusing.

Every service is the test's own, on its own port, started and stopped here: a redis-server (the broker), real
Celery workers, a small SMTP server. The fake cluster keeps its state in a file the workers share.
"""

import json
import os
import signal
import subprocess
import sys
from datetime import date
from decimal import Decimal
from pathlib import Path

import psycopg
import pytest
from django.core import mail as django_mail
from django.core.mail import send_mail
from django.db import connection
from django.db.models.signals import pre_save
from django.urls import reverse

from accounts.models import EnterpriseSize, Invitation
from compute.backends.fake import FakeBackend
from compute.models import Allocation, AllocationStatus, QuotaRequest, RequestStatus
from compute.services import requests as request_services
from compute.vouchers.models import Issuer, VoucherScheme
from compute.vouchers.services import applications as voucher_applications
from core import outbox, sweepers
from core.models import AuditEvent, OutboxMessage
from core.tasks import relay_outbox_task
from portal.celery import app as celery_app
from talent.models import EnrolmentStatus
from talent.services.enrolment import withdraw
from tests.accounts.factories import UserFactory, make_operator, make_verified_organisation
from tests.compute.factories import make_quota_request
from tests.conftest import IN_CI
from tests.integration.conftest import ROOT, _reset_producer_pool, wait_for
from tests.integration.faults import RedisServer, SMTPServer, free_port, redis_server_available
from tests.talent.factories import fill, make_cohort

pytestmark = pytest.mark.integration


@pytest.fixture
def broker():
    """A redis-server of this test's own; the test process sends through it, for real."""
    if not redis_server_available():
        message = "redis-server is not installed; the fault tests start their own"
        if IN_CI:
            pytest.fail(message, pytrace=False)
        pytest.skip("SKIPPED, SERVICE MISSING: " + message)
    server = RedisServer(free_port())
    server.start()
    previous = (
        celery_app.conf.task_always_eager,
        celery_app.conf.broker_url,
        celery_app.conf.broker_write_url,
    )
    celery_app.conf.task_always_eager = False
    celery_app.conf.broker_url = celery_app.conf.broker_write_url = server.url
    _reset_producer_pool()
    try:
        yield server
    finally:
        (celery_app.conf.task_always_eager, celery_app.conf.broker_url, celery_app.conf.broker_write_url) = (
            previous
        )
        _reset_producer_pool()
        server.stop()


class Workers:
    """Real Celery workers on the test's broker and the test database; each can be killed."""

    def __init__(self, broker: RedisServer, tmp_path: Path, env: dict):
        db = connection.settings_dict
        self.tmp_path = tmp_path
        self.mail_dir = tmp_path / "mail"
        self.mail_dir.mkdir()
        self.env = {
            **os.environ,
            "DEBUG": "true",
            "DATABASE_URL": f"postgresql://{db['USER'] or 'postgres'}@{db['HOST'] or '127.0.0.1'}:"
            f"{db['PORT'] or 5432}/{db['NAME']}",
            "CELERY_BROKER_URL": broker.url,
            "CELERY_TASK_ALWAYS_EAGER": "false",
            "EMAIL_DELIVERY_BACKEND": "django.core.mail.backends.filebased.EmailBackend",
            "EMAIL_FILE_PATH": str(self.mail_dir),
            "SITE_URL": "http://testserver",
            "OUTBOX_RETRY_SECONDS": "1",
            "OUTBOX_RETRY_MAX_SECONDS": "2",
            **env,
        }
        self.processes: list[subprocess.Popen] = []

    def start(self) -> subprocess.Popen:
        log = self.tmp_path / f"worker{len(self.processes)}.log"
        with log.open("w") as out:
            process = subprocess.Popen(
                [sys.executable, "-m", "celery", "-A", "portal", "worker", "--pool=solo", "--loglevel=INFO"]
                + ["--without-heartbeat", "--without-mingle", "--without-gossip"],
                cwd=ROOT,
                env=self.env,
                stdout=out,
                stderr=subprocess.STDOUT,
            )
        self.processes.append(process)
        if not wait_for(lambda: "ready." in log.read_text() or process.poll() is not None, timeout=40):
            pytest.fail("the Celery worker did not start:\n" + log.read_text()[-3000:])
        return process

    def logs(self) -> str:
        return "\n".join(path.read_text()[-2000:] for path in sorted(self.tmp_path.glob("worker*.log")))

    def stop(self) -> None:
        for process in self.processes:
            if process.poll() is None:
                process.terminate()
                try:
                    process.wait(timeout=15)
                except subprocess.TimeoutExpired:
                    process.kill()


@pytest.fixture
def workers(transactional_db, broker, tmp_path, settings):
    if connection.settings_dict["ENGINE"] != "django.db.backends.postgresql":
        pytest.skip("the workers share the PostgreSQL test database")
    settings.OUTBOX_RETRY_SECONDS = 1
    settings.OUTBOX_RETRY_MAX_SECONDS = 2
    state_file = tmp_path / "cluster.json"
    settings.CLUSTER_BACKEND_OPTIONS = {"state_file": str(state_file)}
    group = Workers(broker, tmp_path, {"CLUSTER_BACKEND_OPTIONS": f'{{"state_file": "{state_file}"}}'})
    group.state_file = state_file
    yield group
    group.stop()


def _scheme() -> VoucherScheme:
    return VoucherScheme.objects.create(
        name_zh="市算力券",
        name_en="City compute voucher",
        issuer=Issuer.CITY,
        issuer_name="滨海市数据管理局",
        subsidy_ratio=Decimal("0.300"),
        cap_per_organisation=Decimal("50000"),
        total_budget=Decimal("1000000"),
        valid_from=date(2026, 1, 1),
        valid_until=date(2099, 12, 31),
    )


def _mails(workers) -> list[str]:
    """Every mail the workers delivered, oldest first (the file backend may append two to one file)."""
    separator = "\n" + "-" * 79 + "\n"
    files = sorted(workers.mail_dir.iterdir(), key=lambda path: path.stat().st_mtime)
    return [text for path in files for text in path.read_text().split(separator) if text.strip()]


def _staff_client(client, mfa, person):
    mfa(person)
    client.force_login(person)
    return client


def test_broker_stopped_pages_answer_and_everything_is_delivered_once_it_is_back(
    workers, broker, client, mfa
):
    workers.start()
    owner = UserFactory(email="owner@example.cn")
    organisation = make_verified_organisation(owner, size=EnterpriseSize.SMALL)
    operator = make_operator()
    request = make_quota_request(owner, organisation, amount=Decimal("100"))
    cohort = make_cohort(capacity=1)
    (holder,) = fill(cohort, 1)
    (waiting,) = fill(cohort, 1)
    application = voucher_applications.apply_for_voucher(
        _scheme(), organisation, by=owner, amount=100, statement="A small model to train."
    )
    assert wait_for(lambda: not OutboxMessage.objects.undelivered().exists()), workers.logs()
    delivered_before = set(OutboxMessage.objects.values_list("pk", flat=True))
    mails_before = _mails(workers)

    broker.stop()
    # An approval and an invitation through their pages; a seat offer and a voucher decision through the
    # services the pages call.
    _staff_client(client, mfa, operator)
    response = client.post(
        reverse("compute:request_decide", args=[request.pk]), {"decision": "approve", "granted_amount": "100"}
    )
    assert response.status_code == 302
    client.force_login(owner)
    response = client.post(
        reverse("accounts:organisation_invite", args=[organisation.pk]),
        {"email": "new@example.cn", "role": "member"},
    )
    assert response.status_code == 302
    withdraw(holder, by=holder.user)  # the seat is offered to the person waiting
    voucher_applications.reject_voucher_application(application, by=operator, reason="The budget is spent.")

    request.refresh_from_db()
    waiting.refresh_from_db()
    assert (
        request.status == RequestStatus.APPROVED
        and Invitation.objects.filter(email="new@example.cn").exists()
    )
    assert waiting.status == EnrolmentStatus.OFFERED
    allocation = Allocation.objects.get(request=request)
    assert allocation.status == AllocationStatus.PENDING
    waiting_now = OutboxMessage.objects.undelivered().exclude(pk__in=delivered_before)
    assert waiting_now.filter(kind="task").exists() and waiting_now.filter(kind="mail").count() >= 4

    broker.start()  # empty: whatever was sent before the stop is gone too
    _reset_producer_pool()

    def all_delivered():
        relay_outbox_task.delay()
        allocation.refresh_from_db()
        return (
            not OutboxMessage.objects.undelivered().exists() and allocation.status == AllocationStatus.ACTIVE
        )

    assert wait_for(all_delivered, timeout=60, interval=2), workers.logs()
    new_mails = _mails(workers)[len(mails_before) :]
    for address in (owner.email, "new@example.cn", waiting.user.email):
        assert any(f"To: {address}" in text for text in new_mails), address
    # Once each: as many mails arrived as the outbox holds for this stretch, and no more come.
    assert (
        len(new_mails) == OutboxMessage.objects.filter(kind="mail").exclude(pk__in=delivered_before).count()
    )
    relay_outbox_task.delay()
    assert not wait_for(lambda: len(_mails(workers)) > len(mails_before) + len(new_mails), timeout=3)


def test_worker_killed_while_provisioning_the_cluster_converges_once(workers, broker, tmp_path, settings):
    converge_log = tmp_path / "converge.log"
    converge_log.touch()
    options = {"state_file": str(workers.state_file), "log_file": str(converge_log), "delay": 3}
    workers.env["CLUSTER_BACKEND"] = "tests.integration.faults.SlowConvergeBackend"
    workers.env["CLUSTER_BACKEND_OPTIONS"] = json.dumps(options)
    first = workers.start()
    owner = UserFactory()
    request = make_quota_request(owner, amount=Decimal("100"))
    request_services.approve_quota_request(request, by=make_operator(), granted_amount=Decimal("80"))
    allocation = Allocation.objects.get(request=request)
    assert wait_for(lambda: "start" in converge_log.read_text(), timeout=30), workers.logs()
    os.kill(first.pid, signal.SIGKILL)  # in the middle of converge
    first.wait(timeout=10)
    allocation.refresh_from_db()
    assert allocation.status == AllocationStatus.PROVISIONING
    assert "done" not in converge_log.read_text()

    workers.start()
    # The message died with the worker (Redis gives it back only after its visibility timeout): the sweeper
    # finds the allocation stuck in provisioning and sends the sync again.
    settings.STUCK_AFTER_MINUTES = 0
    assert sweepers.sweep() >= 1

    def active():
        allocation.refresh_from_db()
        return allocation.status == AllocationStatus.ACTIVE

    assert wait_for(active, timeout=40), workers.logs()
    account = FakeBackend(state_file=str(workers.state_file)).read_account(allocation.account_name)
    assert account.limits == {"billing": 4800} and not account.blocked  # 80 hours: granted once
    assert AuditEvent.objects.filter(action="allocation.activate", target_id=str(allocation.pk)).count() == 1
    assert converge_log.read_text().count("done") == 1, converge_log.read_text()


def _cut_connection_on_first_save(sender, instance, **kwargs):
    """Terminate this request's database session from another connection, the first time a row is saved."""
    pre_save.disconnect(_cut_connection_on_first_save, sender=QuotaRequest)
    pid = connection.connection.info.backend_pid
    db = connection.settings_dict
    with psycopg.connect(
        host=db["HOST"] or "127.0.0.1",
        port=db["PORT"] or 5432,
        user=db["USER"] or "postgres",
        dbname=db["NAME"],
    ) as other:
        other.execute("SELECT pg_terminate_backend(%s)", [pid])


def test_database_connection_cut_under_a_request_fails_cleanly(transactional_db, live_server, mfa):
    owner = UserFactory()
    request = make_quota_request(owner, amount=Decimal("100"))
    operator = mfa(make_operator())
    session = _live_session(live_server, operator)
    url = live_server.url + reverse("compute:request_decide", args=[request.pk])
    session.get(live_server.url + reverse("compute:review_queue"))
    token = session.cookies["csrftoken"]
    messages_before = OutboxMessage.objects.count()
    pre_save.connect(_cut_connection_on_first_save, sender=QuotaRequest)
    try:
        cut = session.post(
            url,
            {"decision": "approve", "granted_amount": "100", "csrfmiddlewaretoken": token},
            allow_redirects=False,
        )
    finally:
        pre_save.disconnect(_cut_connection_on_first_save, sender=QuotaRequest)
    assert cut.status_code == 503 and "try again" in cut.text
    request.refresh_from_db()  # nothing half-written: the decision, its allocation and audit rolled back
    assert request.status == RequestStatus.SUBMITTED and not Allocation.objects.exists()
    assert not AuditEvent.objects.filter(action="quota_request.approve").exists()
    assert OutboxMessage.objects.count() == messages_before
    again = session.post(
        url,
        {"decision": "approve", "granted_amount": "100", "csrfmiddlewaretoken": token},
        allow_redirects=False,
    )
    assert again.status_code == 302
    request.refresh_from_db()
    assert request.status == RequestStatus.APPROVED and Allocation.objects.count() == 1


def _live_session(live_server, user):
    import requests  # noqa: PLC0415 - only this test speaks HTTP to a live server
    from django.test import Client  # noqa: PLC0415

    client = Client()
    client.force_login(user)
    session = requests.Session()
    session.cookies.set("sessionid", client.cookies["sessionid"].value)
    return session


def test_mail_waits_in_the_outbox_while_the_mail_server_refuses(transactional_db, settings):
    server = SMTPServer(free_port())
    settings.EMAIL_DELIVERY_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT, settings.EMAIL_TIMEOUT = (
        "127.0.0.1",
        server.server_address[1],
        5,
    )
    settings.OUTBOX_RETRY_SECONDS = 1
    try:
        # The change commits; the attempt on commit meets a 451 and the mail waits in the outbox.
        send_mail("Your invitation", "Open the link to join.", None, ["late@example.cn"])
        message = OutboxMessage.objects.get()
        assert message.delivered_at is None and message.attempts == 1 and "451" in message.last_error
        assert outbox.relay(now=message.next_attempt_at) == 0  # still refusing: still waiting
        message.refresh_from_db()
        assert message.attempts == 2 and server.received == []
        server.refusing = False
        assert outbox.relay(now=message.next_attempt_at) == 1
        message.refresh_from_db()
        assert message.delivered_at is not None
        assert len(server.received) == 1 and "late@example.cn" in server.received[0]
        assert outbox.relay(now=message.next_attempt_at) == 0 and len(server.received) == 1
        assert outbox.backlog() == (0, None)
    finally:
        server.close()
    assert django_mail.outbox == []  # it went to the SMTP server, nowhere else
