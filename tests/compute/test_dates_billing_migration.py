"""The move to Slurm's billing TRES (migration 0006) keeps each allocation's usage and limit: what it used
is carried over, the cluster's counter is reset once by the next converge, and the cluster's limit becomes
the grant less the carried usage, so that the portal's usage = carried + what Slurm charges afterwards."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor
from django.utils import timezone

from compute import usage
from compute.backends.fake import FakeBackend
from compute.models import Allocation, Partition
from compute.services.allocations import sync_allocation
from core.models import AuditEvent
from tests.accounts.factories import UserFactory, make_verified_organisation
from tests.compute.factories import job_record

BEFORE = [("compute", "0005_allocation_member_history_and_cap")]
TODAY = timezone.localdate


def _migrate(targets):
    executor = MigrationExecutor(connection)
    executor.loader.build_graph()
    return executor.migrate(targets).apps


def _latest():
    executor = MigrationExecutor(connection)
    return [key for key in executor.loader.graph.leaf_nodes() if key[0] == "compute"]


def _old_rows(apps, organisation):
    """What a database from before the move holds: a gres/npu partition, allocations in several states and
    a job counted in gres/npu."""
    OldPartition = apps.get_model("compute", "Partition")  # noqa: N806 - a historical model
    OldAllocation = apps.get_model("compute", "Allocation")  # noqa: N806
    OldJob = apps.get_model("compute", "Job")  # noqa: N806
    partition = OldPartition.objects.create(
        slug="npu",
        name_en="AI accelerator partition",
        name_zh="AI 加速卡分区",
        cluster="fake",
        slurm_partition="npu",
        tres="gres/npu",
        unit="card_hour",
        capacity_per_month=Decimal("10000"),
        price_per_unit=Decimal("8.5"),
        max_request=Decimal("5000"),
    )
    rows = {}
    for key, status, used, start in [
        ("active", "active", Decimal("30.0000"), TODAY() - timedelta(days=10)),
        ("later", "active", Decimal("0"), TODAY() + timedelta(days=10)),
        ("closed", "closed", Decimal("12.5000"), TODAY() - timedelta(days=100)),
        ("pending", "pending", Decimal("0"), TODAY()),
    ]:
        allocation = OldAllocation.objects.create(
            organisation_id=organisation.pk,
            partition=partition,
            account_name=f"test_{key}",
            granted_amount=Decimal("100"),
            start_date=start,
            end_date=start + timedelta(days=90),
            status=status,
            used_amount=used,
            provisioned_at=None if status == "pending" else timezone.now() - timedelta(days=20),
        )
        rows[key] = allocation.pk
    started = timezone.now() - timedelta(hours=20)
    OldJob.objects.create(
        cluster="fake",
        job_id="1",
        allocation_id=rows["active"],
        account="test_active",
        cluster_user="alice",
        partition="npu",
        state="COMPLETED",
        submit_at=started,
        start_at=started,
        end_at=started + timedelta(hours=15),
        elapsed_seconds=15 * 3600,
        tres={"cpu": 4, "gres/npu": 2},
        units=Decimal("30.0000"),
    )
    return rows


@pytest.mark.django_db(transaction=True)
def test_usage_and_limits_survive_the_move_to_billing_units(settings):
    settings.CLUSTER_ACCOUNT_PREFIX = "test_"
    organisation = make_verified_organisation(UserFactory())
    latest = _latest()
    old_apps = _migrate(BEFORE)
    try:
        rows = _old_rows(old_apps, organisation)
    finally:
        _migrate(latest)
    migrated_at = timezone.now()

    assert Partition.objects.get().tres == "billing"
    active, later, closed, pending = (
        Allocation.objects.get(pk=rows[k]) for k in ("active", "later", "closed", "pending")
    )
    assert (active.carried_amount, active.used_amount) == (Decimal("30"), Decimal("30"))
    assert active.usage_reset_pending and active.carried_at <= migrated_at
    assert active.opened_at is not None and later.opened_at is None  # the later one is held until it starts
    assert closed.carried_amount == Decimal("12.5") and not closed.usage_reset_pending
    assert pending.carried_at is None and not pending.usage_reset_pending
    assert active.desired_account().limits == {"billing": 70 * 60}

    # The cluster: the account as it was, its accounting holding the old job and its counter counting it in
    # other weights.
    cluster = FakeBackend()
    old_job = job_record(active, "1", cards=2, minutes=15 * 60, ago=timedelta(hours=20))
    cluster.add_job(old_job)
    FakeBackend.add_account_by_hand("test_active")
    FakeBackend.set_usage_by_hand("test_active", {"billing": 4 * 15 * 60, "gres/npu": 2 * 15 * 60})
    sync_allocation(active.pk)
    state = cluster.read_account("test_active")
    assert state.limits == {"billing": 70 * 60} and not state.blocked
    assert cluster.usage_minutes("test_active").get("billing", 0) == 0
    active.refresh_from_db()
    assert not active.usage_reset_pending
    assert AuditEvent.objects.filter(action="allocation.usage_reset", target_id=str(active.pk)).count() == 1

    # A job after the move: billed in billing units, on both sides alike. The old job, read again from the
    # accounting, stays in the carried amount.
    cluster.add_job(job_record(active, "2", cards=3, minutes=60, ago=timedelta(seconds=0)))  # 3 billing x 1 h
    usage.ingest_usage(backend=cluster, since=migrated_at - timedelta(days=2))
    active.refresh_from_db()
    assert active.used_amount == Decimal("33")
    # The reset is done once: a second converge leaves the counter alone.
    sync_allocation(active.pk)
    slurm = Decimal(cluster.usage_minutes("test_active")["billing"]) / 60
    assert active.carried_amount + slurm == active.used_amount == Decimal("33")
    assert AuditEvent.objects.filter(action="allocation.usage_reset").count() == 1
    findings = usage.reconcile(backend=cluster).findings
    assert [f for f in findings if f["account"] == "test_active"] == []
