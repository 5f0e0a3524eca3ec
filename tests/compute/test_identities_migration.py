"""Migration 0009: hand-typed cluster user names become identities where unambiguous, conflicts otherwise.

Migrated back to 0008, rows from before identities are written, then migrated forward to the latest state
(and back and forth once more, as a deployment that rolls back would)."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor
from django.utils import timezone

from compute.identities import services
from compute.identities.models import ClusterIdentity, IdCounter, UsernameConflict
from tests.accounts.factories import UserFactory, make_verified_organisation

BEFORE = [("compute", "0008_cluster_identities")]
TODAY = timezone.localdate


def _migrate(targets):
    executor = MigrationExecutor(connection)
    executor.loader.build_graph()
    return executor.migrate(targets).apps


def _latest():
    executor = MigrationExecutor(connection)
    return [key for key in executor.loader.graph.leaf_nodes() if key[0] == "compute"]


def _old_rows(apps, organisation, people):
    """Allocations and requests whose people's names were typed by hand, some of them badly."""
    Partition = apps.get_model("compute", "Partition")  # noqa: N806 - historical models
    Allocation = apps.get_model("compute", "Allocation")  # noqa: N806
    AllocationMember = apps.get_model("compute", "AllocationMember")  # noqa: N806
    QuotaRequest = apps.get_model("compute", "QuotaRequest")  # noqa: N806
    QuotaRequestMember = apps.get_model("compute", "QuotaRequestMember")  # noqa: N806
    partition = Partition.objects.create(
        slug="npu",
        name_en="AI accelerator partition",
        name_zh="AI 加速卡分区",
        cluster="fake",
        slurm_partition="npu",
        tres="billing",
        unit="card_hour",
        capacity_per_month=Decimal("10000"),
        price_per_unit=Decimal("8.5"),
        max_request=Decimal("5000"),
    )
    live = Allocation.objects.create(
        organisation_id=organisation.pk,
        partition=partition,
        account_name="aicc_live",
        granted_amount=Decimal("100"),
        start_date=TODAY(),
        end_date=TODAY() + timedelta(days=90),
        status="active",
    )
    closed = Allocation.objects.create(
        organisation_id=organisation.pk,
        partition=partition,
        account_name="aicc_old",
        granted_amount=Decimal("100"),
        start_date=TODAY() - timedelta(days=200),
        end_date=TODAY() - timedelta(days=100),
        status="closed",
    )
    request = QuotaRequest.objects.create(
        organisation_id=organisation.pk,
        partition=partition,
        kind="new",
        amount=Decimal("10"),
        start_date=TODAY(),
        end_date=TODAY() + timedelta(days=30),
        purpose="p",
        justification="j",
        created_by_id=people["ada"].pk,
    )
    rows = [
        (live, "ada", "ada"),  # one person, one valid name: kept
        (closed, "ada", "ada"),  # the same name again: still one name
        (closed, "ben", "ben"),  # kept; no current access: the grace period starts
        (live, "cao", "shared"),  # two people on one name: a conflict
        (closed, "dan", "shared"),
        (live, "eve", "eve"),  # one person with two names: a conflict
        (closed, "eve", "eve2"),
        (live, "fay", "_fay"),  # a name the identity rules refuse: a conflict
        (live, "gus", "root"),  # reserved
    ]
    for allocation, who, name in rows:
        AllocationMember.objects.create(
            allocation=allocation,
            user_id=people[who].pk,
            cluster_username=name,
            added_at=timezone.now() - timedelta(days=150),
            removed_at=timezone.now() - timedelta(days=100) if allocation is closed else None,
        )
    QuotaRequestMember.objects.create(request=request, user_id=people["hal"].pk, cluster_username="hal")


@pytest.mark.django_db(transaction=True)
def test_typed_names_become_identities_where_unambiguous_and_conflicts_otherwise(settings):
    settings.CLUSTER_UID_MIN, settings.CLUSTER_UID_MAX = 300000, 399999
    settings.CLUSTER_RESERVED_USERNAMES = {"root"}
    settings.CLUSTER_HOME_ROOT = "/home"
    names = ["ada", "ben", "cao", "dan", "eve", "fay", "gus", "hal"]
    people = {name: UserFactory(email=f"{name}.x@example.cn") for name in names}
    organisation = make_verified_organisation(people["ada"])
    latest = _latest()
    old_apps = _migrate(BEFORE)
    try:
        _old_rows(old_apps, organisation, people)
    finally:
        _migrate(latest)

    kept = {i.username: i for i in ClusterIdentity.objects.select_related("user")}
    assert set(kept) == {"ada", "ben", "hal"}
    assert {name: identity.user for name, identity in kept.items()} == {
        "ada": people["ada"],
        "ben": people["ben"],
        "hal": people["hal"],
    }
    assert sorted(i.uid for i in kept.values()) == [300000, 300001, 300002]
    assert kept["ada"].home == "/home/ada" and kept["ada"].shell == settings.CLUSTER_LOGIN_SHELL
    assert kept["ada"].lock_due_at is None  # current access
    assert kept["ben"].lock_due_at is not None  # none: the grace period runs
    assert not any(identity.is_published for identity in kept.values())  # the sweeper and the sync publish
    assert IdCounter.objects.get(name="posix").next_value == 300003

    conflicts = {c.username: c for c in UsernameConflict.objects.prefetch_related("people")}
    assert set(conflicts) == {"shared", "eve", "eve2", "_fay", "root"}
    assert set(conflicts["shared"].people.all()) == {people["cao"], people["dan"]}
    assert "used by 2 people" in conflicts["shared"].detail
    assert "several names" in conflicts["eve"].detail
    assert "not a valid" in conflicts["_fay"].detail and "reserved" in conflicts["root"].detail
    assert all(c.resolved_at is None for c in conflicts.values())

    # The portal goes on from there: the next uid follows, conflicting names are never derived for others.
    identity = services.ensure_identity(people["cao"])
    assert identity.uid == 300003 and identity.username != "shared"

    # Back to before identities, and forward again: the same outcome, nothing doubled.
    ClusterIdentity.objects.filter(user=people["cao"]).delete()
    _migrate(BEFORE)
    assert not ClusterIdentity.objects.exists() and not UsernameConflict.objects.exists()
    assert not IdCounter.objects.exists()
    _migrate(latest)
    assert set(ClusterIdentity.objects.values_list("username", flat=True)) == {"ada", "ben", "hal"}
    assert UsernameConflict.objects.count() == 5
