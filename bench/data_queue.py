"""The live queue for the benchmark: 200 jobs in the (fake) scheduler for the member persona, spread over the
allocations of the organisation it owns, most of them its own, some of its colleagues'. The scheduler's state is
the fake cluster's state file (var/fake-cluster.json, as the benchmark's portal is configured), not the database:
"My jobs" then costs what it costs with a real scheduler answering 200 rows."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

N_JOBS = 200
STATES = ["RUNNING"] * 5 + ["PENDING"] * 3 + ["COMPLETED"] * 2
REASONS = {"RUNNING": "None", "PENDING": "Priority", "COMPLETED": "None"}


def load_job_queue(ctx) -> dict[str, int]:
    from django.conf import settings

    from accounts.models import MembershipRole
    from compute.backends.base import QueuedJob
    from compute.backends.fake import FakeBackend
    from compute.identities.models import ClusterIdentity
    from compute.models import Allocation, AllocationStatus

    member_id = ctx.shared["member_id"]
    identity = ClusterIdentity.objects.filter(user_id=member_id).first()
    if identity is None:  # the compute loader gives the persona one; without it there is nothing to queue
        return {"queued jobs": 0}
    allocations = list(
        Allocation.objects.filter(
            organisation__memberships__user_id=member_id,
            organisation__memberships__role=MembershipRole.OWNER,
            account_name__isnull=False,
            status=AllocationStatus.ACTIVE,
        )
        .select_related("partition")
        .order_by("pk")[:5]
    )
    if not allocations:
        return {"queued jobs": 0}
    options = settings.CLUSTER_BACKEND_OPTIONS
    now = datetime.now(UTC)
    FakeBackend.reset()
    # A fresh queue: the jobs of an earlier load (of other allocations, perhaps) are gone.
    for cluster in {allocation.partition.cluster for allocation in allocations}:
        with FakeBackend(state_file=options.get("state_file"), cluster=cluster)._state(write=True) as state:
            state["queued"].clear()
    count = 0
    for n in range(N_JOBS):
        allocation = allocations[(n // 4) % len(allocations)]
        state = STATES[n % len(STATES)]
        started = now - timedelta(minutes=n % 90) if state != "PENDING" else None
        backend = FakeBackend(state_file=options.get("state_file"), cluster=allocation.partition.cluster)
        backend.add_queued_job(
            allocation.account_name,
            QueuedJob(
                job_id=str(900000 + n),
                user=identity.username if n % 4 else f"colleague{n % 7}",
                partition=allocation.partition.slurm_partition,
                state=state,
                reason=REASONS[state],
                name=f"train-{n}",
                account=allocation.account_name,
                submit_time=None,
                start_time=None,
                end_time=None,
                time_limit_minutes=720,
                elapsed_seconds=int((now - started).total_seconds()) if started else 0,
                nodes=1,
                cpus=32,
                cards=8 if allocation.partition.cards_per_node else 0,
                memory_mb=256 * 1024,
                stdout_path=f"{identity.home}/train-{900000 + n}.out",
                stderr_path=f"{identity.home}/train-{900000 + n}.err",
                working_directory=identity.home,
            ),
        )
        count += 1
    return {"queued jobs": count}
