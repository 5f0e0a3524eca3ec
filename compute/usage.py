"""Usage from the cluster's accounting, thresholds, and reconciliation of the portal with the cluster."""

import json
import logging
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal

from django.conf import settings
from django.db import connection, transaction
from django.db.models import Count, F, Prefetch, Q, Sum
from django.db.models.functions import TruncDate, TruncMonth
from django.urls import reverse
from django.utils import timezone

from accounts import access
from accounts.models import User
from compute import kept
from compute.backends import cluster_names, get_backend
from compute.backends.base import AccountState, ClusterBackend, ClusterError, JobRecord
from compute.models import (
    Allocation,
    AllocationMember,
    AllocationStatus,
    DailyUsage,
    Job,
    MonthlyUsage,
    Partition,
    ReconcileRun,
    Unit,
)
from compute.services.allocations import manager_emails, sync_allocation
from core import audit
from core import reports as core_reports
from core.mail import send_templated_mail
from core.roles import SiteRole
from core.states import save_transition

logger = logging.getLogger(__name__)

SECONDS_PER_HOUR = Decimal(3600)
# slurmctld adds a running job's usage to its association every PriorityCalcPeriod (Slurm's default: 5 minutes).
SCHEDULER_UPDATE_SECONDS = 300
FINAL_STATES = {
    "COMPLETED",
    "FAILED",
    "CANCELLED",
    "TIMEOUT",
    "OUT_OF_MEMORY",
    "NODE_FAIL",
    "PREEMPTED",
    "BOOT_FAIL",
}
JOB_COLUMNS = (
    "cluster",
    "job_id",
    "allocation_id",
    "account",
    "cluster_user",
    "partition",
    "state",
    "submit_at",
    "start_at",
    "end_at",
    "elapsed_seconds",
    "tres",
    "units",
)


@dataclass
class IngestResult:
    jobs: int = 0
    allocations: int = 0
    unknown_accounts: int = 0
    errors: dict[str, str] = field(default_factory=dict)  # cluster -> why its accounting could not be read


def units_for(job: JobRecord, partition: Partition) -> Decimal:
    """A job's use in the partition's unit: allocated count of the metered TRES (``billing``) x hours, over
    the billing units that make one of the partition's units.

    Slurm's billing TRES weighs everything a job holds on its partition (TRESBillingWeights), so a CPU-only
    or memory-heavy job on the accelerator partition is billed its share of a card, as Slurm charges it."""
    count = Decimal(job.tres.get(partition.tres, 0)) / partition.billing_per_unit
    return (count * Decimal(job.elapsed_seconds) / SECONDS_PER_HOUR).quantize(Decimal("0.0001"))


def ingest_usage(
    *, backend: ClusterBackend | None = None, since: datetime | None = None, until: datetime | None = None
) -> IngestResult:
    """Store every cluster's job records idempotently (a job twice counts once; a running job is updated).

    A cluster whose accounting cannot be read is named in ``errors``; the others are ingested all the same.
    ``backend``: ingest that one backend's cluster only.
    """
    since = since or timezone.now() - timedelta(hours=settings.USAGE_LOOKBACK_HOURS)
    result = IngestResult()
    for cluster, cluster_backend in _backends(backend):
        try:
            part = ingest_jobs(cluster_backend.jobs(since, until))
        except ClusterError as error:
            logger.warning("usage ingest: cluster %s: %s", cluster, error)
            result.errors[cluster] = str(error)[:500]
            continue
        result.jobs += part.jobs
        result.allocations += part.allocations
        result.unknown_accounts += part.unknown_accounts
    return result


def _backends(backend: ClusterBackend | None) -> list[tuple[str, ClusterBackend]]:
    """(cluster name, backend) of every cluster the portal drives, or of ``backend``'s cluster alone."""
    if backend is not None:
        return [(backend.cluster_name, backend)]
    return [(name, get_backend(name)) for name in cluster_names()]


def ingest_jobs(records: Iterable[JobRecord]) -> IngestResult:
    if connection.vendor == "postgresql":
        return _ingest_postgresql(records)
    return _ingest_portable(records)


def _ingest_portable(records: Iterable[JobRecord]) -> IngestResult:
    """Any database (the SQLite demo): units computed here, upserted with bulk_create."""
    allocations = {
        a.account_name: a
        for a in Allocation.objects.filter(
            account_name__startswith=settings.CLUSTER_ACCOUNT_PREFIX
        ).select_related("partition")
    }
    result = IngestResult()
    touched: set[int] = set()
    latest: dict[tuple[str, str], Job] = {}
    for job in records:
        result.jobs += 1
        allocation = allocations.get(job.account)
        if allocation is None:
            result.unknown_accounts += 1
        else:
            touched.add(allocation.pk)
        latest[(job.cluster, job.job_id)] = Job(
            cluster=job.cluster,
            job_id=job.job_id,
            allocation_id=allocation.pk if allocation else None,
            account=job.account[:64],
            cluster_user=job.user[:32],
            partition=job.partition[:64],
            state=job.state[:32],
            submit_at=job.submit,
            start_at=job.start,
            end_at=job.end,
            elapsed_seconds=job.elapsed_seconds,
            tres=job.tres,
            units=units_for(job, allocation.partition) if allocation else Decimal(0),
        )
    Job.objects.bulk_create(
        list(latest.values()),
        batch_size=500,
        update_conflicts=True,
        unique_fields=["cluster", "job_id"],
        update_fields=[c for c in JOB_COLUMNS if c not in ("cluster", "job_id")],
    )
    refresh_allocation_usage(touched)
    result.allocations = len(touched)
    return result


# Columns of a raw accounting record as copied into the temporary table, with their PostgreSQL types (the
# COPY is binary: psycopg writes timestamps and integers without formatting them, the server does not parse
# them; measured ~5x faster than text format for a million rows). Allocation and units are worked out by
# PostgreSQL in the INSERT. The TRES travels as text and is cast to jsonb there: given a str for a jsonb
# column, a binary COPY would store a JSON *string*.
RAW_COLUMNS = (
    ("cluster", "text"),
    ("job_id", "text"),
    ("account", "text"),
    ("cluster_user", "text"),
    ("partition", "text"),
    ("state", "text"),
    ("submit_at", "timestamptz"),
    ("start_at", "timestamptz"),
    ("end_at", "timestamptz"),
    ("elapsed_seconds", "int8"),
    ("tres", "text"),
)


def _ingest_postgresql(records: Iterable[JobRecord], *, upsert=None) -> IngestResult:
    """COPY the raw records into a temporary table and let one INSERT ... ON CONFLICT do the rest.

    Measured with bench/ingest.py against a plain COPY of the same rows. A job that did not change is
    not rewritten, and only allocations whose jobs changed are refreshed.
    """
    prefix = settings.CLUSTER_ACCOUNT_PREFIX
    known = set(
        Allocation.objects.filter(account_name__startswith=prefix).values_list("account_name", flat=True)
    )
    result = IngestResult()
    latest: dict[tuple[str, str], JobRecord] = {}
    for job in records:
        latest[(job.cluster, job.job_id)] = job  # the newest record of a job wins
        result.jobs += 1
        if job.account not in known:
            result.unknown_accounts += 1
    # ``upsert`` lets bench/ingest_proposal.py measure a different upsert inside the same ingest.
    changed = (upsert or _upsert_postgresql)(latest.values(), prefix)
    refresh_allocation_usage(changed)
    result.allocations = len(changed)
    return result


def _upsert_postgresql(jobs: Iterable[JobRecord], prefix: str) -> list[int]:
    """Store the jobs; return the allocations whose jobs were inserted or changed."""
    table = Job._meta.db_table
    columns = ", ".join(JOB_COLUMNS)
    changes = " OR ".join(f"{table}.{c} IS DISTINCT FROM EXCLUDED.{c}" for c in JOB_COLUMNS[2:])
    updates = ", ".join(f"{c} = EXCLUDED.{c}" for c in JOB_COLUMNS[2:])
    tres_json: dict[tuple, str] = {}
    with transaction.atomic(), connection.cursor() as cursor:
        # Dropped at commit; dropped here too when an outer transaction ingests twice.
        cursor.execute("DROP TABLE IF EXISTS job_ingest")
        cursor.execute(
            "CREATE TEMP TABLE job_ingest ("
            + ", ".join(f"{name} {kind}" for name, kind in RAW_COLUMNS)
            + ") ON COMMIT DROP"
        )
        names = ", ".join(name for name, _kind in RAW_COLUMNS)
        with cursor.cursor.copy(f"COPY job_ingest ({names}) FROM STDIN (FORMAT BINARY)") as copy:
            copy.set_types([kind for _name, kind in RAW_COLUMNS])
            write = copy.write_row
            for job in jobs:
                key = tuple(job.tres.items())
                tres = tres_json.get(key)
                if tres is None:
                    tres = tres_json[key] = json.dumps(job.tres)
                write(
                    (
                        job.cluster,
                        job.job_id,
                        job.account[:64],
                        job.user[:32],
                        job.partition[:64],
                        job.state[:32],
                        job.submit,
                        job.start,
                        job.end,
                        job.elapsed_seconds,
                        tres,
                    )
                )
        # units = allocated billing (the partition's TRES) x hours, as units_for() computes it.
        cursor.execute(
            "WITH changed AS ("  # noqa: S608 - fixed identifiers; the prefix is a parameter
            f" INSERT INTO {table} ({columns})"
            " SELECT i.cluster, i.job_id, a.id, i.account, i.cluster_user, i.partition, i.state, i.submit_at,"
            " i.start_at, i.end_at, i.elapsed_seconds, i.tres::jsonb,"
            " coalesce(round((i.tres::jsonb ->> p.tres)::numeric * i.elapsed_seconds"
            " / (3600 * p.billing_per_unit), 4), 0)"
            " FROM job_ingest i"
            " LEFT JOIN compute_allocation a ON a.account_name = i.account AND a.account_name LIKE %s"
            " LEFT JOIN compute_partition p ON p.id = a.partition_id"
            f" ON CONFLICT (cluster, job_id) DO UPDATE SET {updates} WHERE {changes}"
            " RETURNING allocation_id"
            ") SELECT DISTINCT allocation_id FROM changed WHERE allocation_id IS NOT NULL",
            [prefix.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"],
        )
        return [row[0] for row in cursor.fetchall()]


def refresh_allocation_usage(allocation_ids: Iterable[int]) -> None:
    """Recompute used amounts (the carried amount plus the jobs after it) and daily series from the stored
    jobs, then apply the thresholds."""
    ids = sorted(set(allocation_ids))
    if not ids:
        return
    if connection.vendor == "postgresql":
        _refresh_postgresql(ids)
        return
    with transaction.atomic():
        totals = dict(
            Job.objects.filter(allocation_id__in=ids)
            .filter(
                Q(allocation__carried_at__isnull=True)
                | Q(start_at__isnull=True)
                | Q(start_at__gte=F("allocation__carried_at"))
            )
            .values("allocation_id")
            .annotate(total=Sum("units"))
            .values_list("allocation_id", "total")
        )
        daily = (
            Job.objects.filter(allocation_id__in=ids, start_at__isnull=False)
            .annotate(day=TruncDate("start_at"))
            .values("allocation_id", "day")
            .annotate(units=Sum("units"), jobs=Count("id"))
        )
        DailyUsage.objects.filter(allocation_id__in=ids).delete()
        DailyUsage.objects.bulk_create(
            [
                DailyUsage(allocation_id=d["allocation_id"], day=d["day"], units=d["units"], jobs=d["jobs"])
                for d in daily
            ]
        )
        refresh_monthly_usage(ids)
        now = timezone.now()
        for allocation in (
            Allocation.objects.select_for_update(of=("self",))
            .filter(pk__in=ids)
            .select_related("organisation")
        ):
            allocation.used_amount = allocation.carried_amount + (totals.get(allocation.pk) or Decimal(0))
            allocation.usage_updated_at = now
            allocation.save(update_fields=["used_amount", "usage_updated_at"])
            _apply_thresholds(allocation)


def _refresh_postgresql(ids: list[int]) -> None:
    """The same refresh in three statements, then thresholds only for allocations near one."""
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("DELETE FROM compute_dailyusage WHERE allocation_id = ANY(%s)", [ids])
        cursor.execute(
            "INSERT INTO compute_dailyusage (allocation_id, day, units, jobs)"
            " SELECT allocation_id, (start_at AT TIME ZONE %s)::date, sum(units), count(*) FROM compute_job"
            " WHERE allocation_id = ANY(%s) AND start_at IS NOT NULL GROUP BY 1, 2",
            [timezone.get_current_timezone_name(), ids],
        )
        refresh_monthly_usage(ids)
        # Jobs started before the move to billing units count as the carried amount (migration 0006).
        cursor.execute(
            "UPDATE compute_allocation a SET used_amount = a.carried_amount + coalesce(t.total, 0),"
            " usage_updated_at = %s"
            " FROM unnest(%s::bigint[]) AS u(id)"
            " LEFT JOIN (SELECT j.allocation_id, sum(j.units) AS total FROM compute_job j"
            "  JOIN compute_allocation c ON c.id = j.allocation_id"
            "  WHERE j.allocation_id = ANY(%s)"
            "  AND (c.carried_at IS NULL OR j.start_at IS NULL OR j.start_at >= c.carried_at)"
            "  GROUP BY 1) t ON t.allocation_id = u.id"
            " WHERE a.id = u.id",
            [timezone.now(), ids, ids],
        )
        near = Q(notified_80_at__isnull=True, used_amount__gte=F("granted_amount") * Decimal("0.799")) | Q(
            notified_100_at__isnull=True, used_amount__gte=F("granted_amount") * Decimal("0.999")
        )
        for allocation in (
            Allocation.objects.select_for_update(of=("self",))
            .filter(near, pk__in=ids)
            .select_related("organisation", "partition")
        ):
            _apply_thresholds(allocation)


def refresh_monthly_usage(ids: list[int]) -> None:
    """The allocations' daily usage summed per month again (MonthlyUsage), after their days were rebuilt.

    The kept supervisors' reports (core.reports.DATA) and operators' allocation list (compute/kept.py) are then
    built anew, as after a signal (these bulk writes
    send none), and once more when the transaction commits, in case one was built from the old sums between."""
    for generation in (core_reports.DATA, kept.ALLOCATIONS, kept.REVIEW):
        generation.forget()
        transaction.on_commit(generation.forget)
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("DELETE FROM compute_monthlyusage WHERE allocation_id = ANY(%s)", [ids])
            cursor.execute(
                "INSERT INTO compute_monthlyusage (allocation_id, month, units, jobs)"
                " SELECT allocation_id, date_trunc('month', day)::date, sum(units), sum(jobs)"
                " FROM compute_dailyusage WHERE allocation_id = ANY(%s) GROUP BY 1, 2",
                [ids],
            )
        return
    MonthlyUsage.objects.filter(allocation_id__in=ids).delete()
    MonthlyUsage.objects.bulk_create(
        MonthlyUsage(
            allocation_id=row["allocation_id"], month=row["month"], units=row["units"], jobs=row["jobs"]
        )
        for row in DailyUsage.objects.filter(allocation_id__in=ids)
        .annotate(month=TruncMonth("day"))
        .values("allocation_id", "month")
        .annotate(units=Sum("units"), jobs=Sum("jobs"))
        .order_by()
    )


def _apply_thresholds(allocation: Allocation) -> None:
    """80 % and 100 % each notify the organisation once; 100 % marks the allocation exhausted."""
    percent = allocation.used_percent
    if percent >= 80 and allocation.notified_80_at is None:
        allocation.notified_80_at = timezone.now()
        allocation.save(update_fields=["notified_80_at"])
        _notify(allocation, 80)
    if percent >= 100 and allocation.notified_100_at is None:
        allocation.notified_100_at = timezone.now()
        allocation.save(update_fields=["notified_100_at"])
        if allocation.status == AllocationStatus.ACTIVE:
            old = allocation.move_to(AllocationStatus.EXHAUSTED)
            save_transition(allocation, old, by=None, action="allocation.exhausted")
        _notify(allocation, 100)


def _notify(allocation: Allocation, threshold: int) -> None:
    send_templated_mail(
        "compute/email/usage_threshold",
        to=manager_emails(allocation.organisation),
        context={
            "allocation": allocation,
            "threshold": threshold,
            "url": settings.SITE_URL + allocation.get_absolute_url(),
        },
    )


def daily_series(allocation: Allocation, days: int = 30) -> list[tuple]:
    since = timezone.localdate() - timedelta(days=days - 1)
    stored = dict(
        DailyUsage.objects.filter(allocation=allocation, day__gte=since).values_list("day", "units")
    )
    return [
        (since + timedelta(days=i), stored.get(since + timedelta(days=i), Decimal(0))) for i in range(days)
    ]


def top_users(allocation: Allocation, limit: int = 5) -> list[dict]:
    return list(
        Job.objects.filter(allocation=allocation)
        .values("cluster_user")
        .annotate(units=Sum("units"), jobs=Count("id"))
        .order_by("-units")[:limit]
    )


# --- reconcile ---------------------------------------------------------------------------------------


def reconcile(*, backend: ClusterBackend | None = None, repair: bool = True, by=None) -> ReconcileRun:
    """Compare every cluster with the portal. Repair what the portal owns (its prefix); report the rest,
    and usage the scheduler counts differently from the portal (mailed to the operators when it is new).

    A cluster that cannot be read is named in the run's ``error`` (one line each); the others are compared
    all the same. ``backend``: that one backend's cluster only. Run hourly by beat (``by`` None) or by an
    operator from the reconcile page or the API.
    """
    if by is not None:
        access.require_operator(by, "Only operators run a reconcile.")
    run = ReconcileRun.objects.create()
    audit.record("reconcile.run", run, actor=by)
    findings, errors = [], []
    for cluster, cluster_backend in _backends(backend):
        try:
            _reconcile_cluster(cluster, cluster_backend, findings, repair=repair)
        except ClusterError as error:
            logger.warning("reconcile: cluster %s: %s", cluster, error)
            errors.append(f"{cluster}: {error}")
    run.findings, run.error, run.finished_at = findings, "\n".join(errors)[:2000], timezone.now()
    run.save(update_fields=["findings", "error", "finished_at"])
    _mail_new_usage_differences(run)
    return run


def _reconcile_cluster(cluster: str, backend: ClusterBackend, findings: list[dict], *, repair: bool) -> None:
    """Add one cluster's findings to ``findings`` as they are made (a later ClusterError keeps them)."""
    actual = {a.name: a for a in backend.list_accounts(settings.CLUSTER_ACCOUNT_PREFIX)}
    allocations = list(
        Allocation.objects.exclude(status=AllocationStatus.PENDING)
        .filter(partition__cluster=cluster)
        .select_related("partition", "organisation")
        .prefetch_related(Prefetch("members", queryset=AllocationMember.objects.current()))
    )
    running = _unaccounted_running_units(allocations)
    for allocation in allocations:
        state = actual.pop(allocation.account_name, None)
        mine = [{**finding, "cluster": cluster} for finding in _account_findings(allocation, state)]
        findings.extend(mine)
        if mine and repair:
            _repair(allocation, mine, backend)
        for finding in mine:
            finding.setdefault("repaired", False)
        if state is not None and allocation.status != AllocationStatus.CLOSED:
            difference = _usage_difference(allocation, backend, running.get(allocation.pk, Decimal(0)))
            if difference is not None:
                findings.append({**difference, "cluster": cluster})
    for name in sorted(actual):
        # Carries the portal's prefix but no allocation on this cluster knows it: report, never touch.
        findings.append(
            {
                "kind": "unknown_account",
                "cluster": cluster,
                "account": name,
                "allocation": None,
                "expected": "absent",
                "observed": "present",
                "repaired": False,
            }
        )


def _account_findings(allocation: Allocation, state: AccountState | None) -> list[dict]:
    """How the allocation's account on the cluster (``state``, None when absent) differs from the portal's."""
    if allocation.status == AllocationStatus.CLOSED:
        return [_finding("account_not_removed", allocation, "absent", "present")] if state is not None else []
    if state is None:
        return [_finding("missing_account", allocation, "present", "absent")]
    desired = allocation.desired_account()
    findings = [
        _finding("missing_user", allocation, user, "absent") for user in sorted(desired.users - state.users)
    ]
    findings += [
        _finding("unexpected_user", allocation, "absent", user)
        for user in sorted(state.active_users - desired.users)
    ]
    # Let go while their jobs still ran: once the jobs are over, the repair's converge deletes them.
    findings += [
        _finding("user_leaving", allocation, "absent", user)
        for user in sorted(state.blocked_users - desired.users)
    ]
    if desired.partition and state.users and state.partitions != {desired.partition}:
        findings.append(
            _finding("partition_changed", allocation, desired.partition, ", ".join(sorted(state.partitions)))
        )
    caps = {user: cap for user, cap in state.user_limits.items() if user in state.active_users}
    if caps != desired.user_limits:
        findings.append(_finding("user_limit_changed", allocation, _tres(desired.user_limits), _tres(caps)))
    if state.limits != desired.limits:
        findings.append(_finding("limit_changed", allocation, _tres(desired.limits), _tres(state.limits)))
    if state.blocked != desired.blocked:
        findings.append(_finding("block_changed", allocation, desired.blocked, state.blocked))
    return findings


def _repair(allocation: Allocation, mine: list[dict], backend: ClusterBackend) -> None:
    try:
        sync_allocation(allocation.pk, backend=backend)
        repaired = True
    except ClusterError as error:
        repaired = False
        for finding in mine:
            finding["error"] = str(error)[:500]
    for finding in mine:
        finding["repaired"] = repaired
    if repaired:
        audit.record(
            "allocation.reconcile_repair",
            allocation,
            organisation=allocation.organisation,
            changes={f["kind"]: (f["observed"], f["expected"]) for f in mine},
        )


# --- usage against the scheduler's counters -----------------------------------------------------------


def _unaccounted_running_units(allocations: list[Allocation]) -> dict[int, Decimal]:
    """Per allocation, how far the two counts of its running jobs may be apart: the scheduler is ahead by
    what they used since the portal last ingested them, or behind by up to one of its own updates of a
    running job's usage (every PriorityCalcPeriod)."""
    now = timezone.now()
    partition_of = {a.pk: a.partition for a in allocations}
    units: dict[int, Decimal] = {}
    for allocation_id, tres, start, elapsed in Job.objects.filter(
        allocation_id__in=list(partition_of), state="RUNNING", start_at__isnull=False
    ).values_list("allocation_id", "tres", "start_at", "elapsed_seconds"):
        unseen = max((now - start).total_seconds() - elapsed, 0) + SCHEDULER_UPDATE_SECONDS
        partition = partition_of[allocation_id]
        count = Decimal(str((tres or {}).get(partition.tres, 0))) / partition.billing_per_unit
        units[allocation_id] = (
            units.get(allocation_id, Decimal(0)) + count * Decimal(unseen) / SECONDS_PER_HOUR
        )
    return units


def _usage_difference(allocation: Allocation, backend: ClusterBackend, running: Decimal) -> dict | None:
    """A ``usage_differs`` finding when the portal's usage and what the scheduler counts against the
    account's limit differ by more than the tolerance (the running jobs' part allowed for, ``running``)."""
    minutes = backend.usage_minutes(allocation.account_name).get(allocation.partition.tres, 0)
    portal = allocation.used_amount
    # The scheduler's counter was reset when the portal moved to billing units: add what was carried over.
    scheduler = allocation.partition.amount(minutes) + allocation.carried_amount
    difference = scheduler - portal
    tolerance = max(
        Decimal(str(settings.USAGE_DRIFT_TOLERANCE_UNITS)),
        max(portal, scheduler) * Decimal(str(settings.USAGE_DRIFT_TOLERANCE_PERCENT)) / 100,
    )
    if abs(difference) <= tolerance + running:
        return None
    return {
        **_finding("usage_differs", allocation, _units(portal), _units(scheduler)),
        "difference": _units(difference),
        "unit": allocation.partition.unit,
        "repaired": False,
    }


def _units(amount: Decimal) -> str:
    return str(amount.quantize(Decimal("0.01")))


def _mail_new_usage_differences(run: ReconcileRun) -> None:
    """Tell the operators about usage differences the previous run did not report (not every hour again)."""
    previous = ReconcileRun.objects.filter(pk__lt=run.pk, finished_at__isnull=False).order_by("-pk").first()
    known = {
        f.get("account") for f in (previous.findings if previous else []) if f.get("kind") == "usage_differs"
    }
    new = [f for f in run.findings if f.get("kind") == "usage_differs" and f["account"] not in known]
    if not new:
        return
    send_templated_mail(
        "compute/email/usage_drift",
        to=list(
            User.objects.filter(groups__name=SiteRole.OPERATOR, is_active=True).values_list(
                "email", flat=True
            )
        ),
        context={
            "differences": [{**f, "unit_label": Unit(f["unit"]).label} for f in new],
            "run": run,
            "url": settings.SITE_URL + reverse("compute:reconcile_report"),
            "tolerance_units": settings.USAGE_DRIFT_TOLERANCE_UNITS,
            "tolerance_percent": settings.USAGE_DRIFT_TOLERANCE_PERCENT,
        },
    )


def _finding(kind: str, allocation: Allocation, expected, observed) -> dict:
    return {
        "kind": kind,
        "account": allocation.account_name,
        "allocation": allocation.pk,
        "expected": expected,
        "observed": observed,
    }


def _tres(limits: dict) -> str:
    return ",".join(f"{k}={v}" for k, v in sorted(limits.items())) or "none"
