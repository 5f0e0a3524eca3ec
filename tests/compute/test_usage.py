from datetime import datetime, timedelta
from decimal import Decimal

import pytest
from django.core import mail
from django.utils import timezone

from compute import usage
from compute.backends.base import JobRecord
from compute.backends.fake import FakeBackend
from compute.models import AllocationStatus, DailyUsage, Job
from tests.compute.factories import job_record, make_allocation

pytestmark = pytest.mark.django_db


def test_ingest_is_idempotent_and_updates_running_jobs(user):
    allocation = make_allocation(user, amount=Decimal("100"))
    FakeBackend().add_job(job_record(allocation, 1, cards=2, minutes=90))  # 3 card-hours
    FakeBackend().add_job(job_record(allocation, 2, cards=1, minutes=30, state="RUNNING"))  # 0.5 so far
    FakeBackend().add_job(
        JobRecord("3", "fake", "someone_else", "bob", "debug", "COMPLETED", None, None, None, 60, {})
    )
    result = usage.ingest_usage(backend=FakeBackend())
    assert (result.jobs, result.allocations, result.unknown_accounts) == (3, 1, 1)
    allocation.refresh_from_db()
    assert allocation.used_amount == Decimal("3.5")
    # The same records again count once.
    usage.ingest_usage(backend=FakeBackend())
    allocation.refresh_from_db()
    assert allocation.used_amount == Decimal("3.5")
    assert Job.objects.count() == 3
    # The running job ends: it is updated, not added.
    FakeBackend().add_job(job_record(allocation, 2, cards=1, minutes=120, state="COMPLETED"))
    usage.ingest_usage(backend=FakeBackend())
    allocation.refresh_from_db()
    assert allocation.used_amount == Decimal("5.0")
    assert Job.objects.get(job_id="2").state == "COMPLETED"
    assert sum(d.units for d in DailyUsage.objects.filter(allocation=allocation)) == Decimal("5.0")
    assert usage.top_users(allocation)[0]["cluster_user"] == "alice"


def test_thresholds_notify_once_and_exhaust(user, django_capture_on_commit_callbacks):
    allocation = make_allocation(user, amount=Decimal("10"))
    FakeBackend().add_job(job_record(allocation, 1, cards=8, minutes=60))  # 8 of 10 card-hours
    with django_capture_on_commit_callbacks(execute=True):
        usage.ingest_usage(backend=FakeBackend())
    allocation.refresh_from_db()
    assert allocation.notified_80_at and not allocation.notified_100_at
    assert allocation.status == AllocationStatus.ACTIVE
    assert [m.subject for m in mail.outbox if "80 %" in m.subject]
    with django_capture_on_commit_callbacks(execute=True):
        usage.ingest_usage(backend=FakeBackend())
    assert len([m for m in mail.outbox if "80 %" in m.subject]) == 1  # once
    FakeBackend().add_job(job_record(allocation, 2, cards=2, minutes=60))
    with django_capture_on_commit_callbacks(execute=True):
        usage.ingest_usage(backend=FakeBackend())
    allocation.refresh_from_db()
    assert allocation.status == AllocationStatus.EXHAUSTED
    hundred = [m for m in mail.outbox if "100 %" in m.subject]
    assert len(hundred) == 1 and "increase" in hundred[0].body


def test_daily_series_has_every_day(user):
    allocation = make_allocation(user)
    FakeBackend().add_job(job_record(allocation, 1, cards=1, minutes=60, ago=timedelta(hours=1)))
    usage.ingest_usage(backend=FakeBackend())
    series = usage.daily_series(allocation, days=7)
    assert len(series) == 7
    assert series[-1][0] == timezone.localdate()
    assert sum(units for _, units in series) == Decimal("1")


def test_reconcile_reports_and_repairs_drift(user):
    allocation = make_allocation(user, amount=Decimal("100"))
    FakeBackend.set_limits_by_hand(allocation.account_name, {"billing": 999999})
    FakeBackend.add_account_by_hand("aicc_999999")  # looks like ours, but no allocation knows it
    FakeBackend.add_account_by_hand("physics_group")  # not ours at all
    run = usage.reconcile(backend=FakeBackend())
    kinds = {(f["kind"], f["account"], f["repaired"]) for f in run.findings}
    assert ("limit_changed", allocation.account_name, True) in kinds
    assert ("unknown_account", "aicc_999999", False) in kinds
    assert not any(f["account"] == "physics_group" for f in run.findings)
    assert FakeBackend().read_account(allocation.account_name).limits == {"billing": 6000}
    assert FakeBackend().read_account("aicc_999999") is not None  # never touched
    assert FakeBackend().read_account("physics_group") is not None
    # Nothing left to repair.
    again = usage.reconcile(backend=FakeBackend())
    assert [f["kind"] for f in again.findings] == ["unknown_account"]


def test_reconcile_records_cluster_outage(user):
    make_allocation(user)
    FakeBackend.fail_next(1)
    run = usage.reconcile(backend=FakeBackend())
    assert "not reachable" in run.error and run.findings == []


def test_a_job_record_with_a_naive_time_is_refused():
    """Accounting times are stored as timestamptz: a time without a zone would be misread by hours."""

    with pytest.raises(ValueError, match="timezone-aware"):
        JobRecord(
            job_id="1",
            cluster="c",
            account="aicc_x",
            user="u",
            partition="p",
            state="COMPLETED",
            submit=None,
            start=datetime(2026, 1, 1, 8, 0),
            end=None,
            elapsed_seconds=60,
            tres={"cpu": 1},
        )


@pytest.mark.django_db
def test_the_stored_tres_is_a_json_object_not_a_string(user):
    allocation = make_allocation(user)
    start = timezone.now() - timedelta(hours=2)
    record = JobRecord(
        job_id="77",
        cluster="c",
        account=allocation.account_name,
        user="u",
        partition="p",
        state="COMPLETED",
        submit=start,
        start=start,
        end=start + timedelta(hours=1),
        elapsed_seconds=3600,
        tres={"cpu": 4, "gres/npu": 2},
    )
    usage.ingest_jobs([record])
    job = Job.objects.get(job_id="77")
    assert job.tres == {"cpu": 4, "gres/npu": 2}
    assert Job.objects.filter(tres__cpu=4).count() == 1
