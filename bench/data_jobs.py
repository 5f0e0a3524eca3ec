"""Cluster jobs for the benchmark data: what the accounting (sacct) of a busy year would hold, generated from
the allocations of data_compute.py, and the daily usage computed from them."""

from __future__ import annotations

import math
import random
from collections import defaultdict
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from bench.data_compute import AllocationSpec

CLUSTER = "aicc"
JOB_STATES = (
    ["COMPLETED", "FAILED", "CANCELLED", "TIMEOUT", "OUT_OF_MEMORY", "NODE_FAIL", "PREEMPTED"],
    [76, 11, 7, 3, 1.5, 0.8, 0.7],
)
SHORT_STATES = {"FAILED", "OUT_OF_MEMORY", "NODE_FAIL"}
UNKNOWN_ACCOUNTS = ["root", "ops", "hpc_bench", "aicc_legacy_0007", "aicc_test", "acceptance"]
MAX_ELAPSED = 14 * 86400


def units_e4(count: int, elapsed: int) -> int:
    """A job's use in ten-thousandths of a unit: count x hours, rounded as ``compute.usage.units_for``
    (Decimal quantize, half-even: count*elapsed*10000/3600 = count*elapsed*25/9 is never exactly half)."""
    return (count * elapsed * 50 + 9) // 18


def e4(value: int) -> Decimal:
    return Decimal(value).scaleb(-4)


def mean_units(partition: dict) -> float:
    counts, weights = partition["_counts"]
    mean_count = sum(c * w for c, w in zip(counts, weights, strict=True)) / sum(weights)
    return mean_count * 3.0  # jobs last about 3 hours on average (log-normal below)


@dataclass(slots=True)
class GeneratedJob:
    job_id: str
    account: str
    user: str
    partition: str
    state: str
    submit: datetime
    start: datetime | None
    end: datetime | None
    elapsed: int
    tres: dict
    allocation_id: int | None
    tres_key: str | None
    units_e4: int


def generate_jobs(
    rng: random.Random,
    specs: list[AllocationSpec],
    total: int,
    *,
    now: datetime,
    unknown_share: float = 0.02,
    first_job_id: int = 1_000_001,
) -> list[GeneratedJob]:
    """``total`` jobs over the allocations' accounts (and ``unknown_share`` on accounts nobody knows), sorted
    by submission with ascending Slurm job ids, each allocation's summing to about its usage target."""
    jobs: list[GeneratedJob] = []
    known = total - int(total * unknown_share)
    weight_sum = sum(s.job_weight for s in specs) or 1.0
    # Largest-remainder split of the known jobs by weight, at least one job per allocation with a target.
    shares = [known * s.job_weight / weight_sum for s in specs]
    counts = [int(x) for x in shares]
    for i in sorted(range(len(specs)), key=lambda i: shares[i] - counts[i], reverse=True)[
        : known - sum(counts)
    ]:
        counts[i] += 1
    gauss, random_, choices, uniform = rng.gauss, rng.random, rng.choices, rng.uniform
    states, state_weights = JOB_STATES
    cum_states = _cumulative(state_weights)
    for spec, n in zip(specs, counts, strict=True):
        if n == 0:
            continue
        partition = spec.partition
        tres_key = partition["tres"]
        npu = partition["unit"] == "card_hour"
        sizes = choices(partition["_counts"][0], cum_weights=_cumulative(partition["_counts"][1]), k=n)
        job_states = choices(states, cum_weights=cum_states, k=n)
        base = []  # seconds, log-normal: median 1.5 h, mean ~3 h; failures end early
        for state in job_states:
            seconds = math.exp(gauss(0, 1.2)) * 1.5 * 3600
            base.append(seconds / 20 if state in SHORT_STATES else seconds)
        raw = sum(c * e for c, e in zip(sizes, base, strict=True)) / 3600
        factor = float(spec.granted) * spec.usage_target / raw if raw else 1.0
        span = (spec.until - spec.start).total_seconds()
        user_weights = _cumulative([1 / (k + 1) for k in range(len(spec.usernames))])
        users = choices(spec.usernames, cum_weights=user_weights, k=n)
        for count, seconds, state, user in zip(sizes, base, job_states, users, strict=True):
            elapsed = int(min(max(seconds * factor, 5), MAX_ELAPSED))
            start = spec.start + timedelta(seconds=uniform(0, span))
            submit = start - timedelta(seconds=int(math.exp(gauss(4.5, 1.5))))
            end = start + timedelta(seconds=elapsed)
            if end > now:
                state, end = "RUNNING", None
                elapsed = int((now - start).total_seconds())
            # billed as Slurm would with one card (or core) weighing one billing unit
            tres = (
                {"billing": count, "cpu": count * 24, "gres/npu": count}
                if npu
                else {"billing": count, "cpu": count}
            )
            jobs.append(
                GeneratedJob(
                    "",
                    spec.account_name,
                    user,
                    partition["slurm_partition"],
                    state,
                    submit,
                    start,
                    end,
                    elapsed,
                    tres,
                    spec.id,
                    tres_key,
                    units_e4(count, elapsed),
                )
            )
        # A few jobs still waiting in the queue of accounts that are open.
        if spec.until >= now - timedelta(minutes=1) and spec.status == "active" and random_() < 0.3:
            jobs.append(
                GeneratedJob(
                    "",
                    spec.account_name,
                    spec.usernames[0],
                    partition["slurm_partition"],
                    "PENDING",
                    now - timedelta(minutes=rng.randint(1, 300)),
                    None,
                    None,
                    0,
                    {"cpu": 24, "gres/npu": 1} if npu else {"cpu": 4},
                    spec.id,
                    tres_key,
                    0,
                )
            )
    # Accounts the portal does not know: the center's own tests, old projects, administrators.
    earliest = min((s.start for s in specs), default=now - timedelta(days=365))
    span = (now - earliest).total_seconds()
    for _ in range(max(0, total - len(jobs))):
        count = choices([1, 2, 4, 8], k=1)[0]
        elapsed = int(min(math.exp(gauss(0, 1.2)) * 1800, MAX_ELAPSED))
        start = earliest + timedelta(seconds=uniform(0, span - elapsed - 60))
        jobs.append(
            GeneratedJob(
                "",
                rng.choice(UNKNOWN_ACCOUNTS),
                rng.choice(["root", "admin", "ops", "tester"]),
                "train",
                "COMPLETED",
                start - timedelta(seconds=30),
                start,
                start + timedelta(seconds=elapsed),
                elapsed,
                {"cpu": count * 24, "gres/npu": count},
                None,
                None,
                0,
            )
        )
    del jobs[total:]
    jobs.sort(key=lambda j: j.submit)
    for n, job in enumerate(jobs):
        job.job_id = str(first_job_id + n)
    return jobs


def _cumulative(weights) -> list[float]:
    total, out = 0.0, []
    for w in weights:
        total += w
        out.append(total)
    return out


def usage_from_jobs(jobs: list[GeneratedJob], tz) -> tuple[dict[int, int], dict[tuple[int, date], list[int]]]:
    """Per allocation: total ten-thousandths of a unit; per (allocation, local day of start): [units, jobs].
    The same sums as ``compute.usage.refresh_allocation_usage`` (``TruncDate`` in the current time zone)."""
    totals: dict[int, int] = defaultdict(int)
    daily: dict[tuple[int, date], list[int]] = {}
    for job in jobs:
        if job.allocation_id is None:
            continue
        totals[job.allocation_id] += job.units_e4
        if job.start is not None:
            key = (job.allocation_id, job.start.astimezone(tz).date())
            entry = daily.get(key)
            if entry is None:
                daily[key] = [job.units_e4, 1]
            else:
                entry[0] += job.units_e4
                entry[1] += 1
    return totals, daily
