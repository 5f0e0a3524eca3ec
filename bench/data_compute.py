"""Data of the public compute service: partitions, quota requests, allocations with their cluster users, jobs
from the cluster's accounting and the daily usage computed from them (loaded with ``COPY``, see data.py).

The generators are also used by ``bench/ingest.py``: :func:`make_allocations` and :func:`generate_jobs`.

What it looks like at scale 1:

- 4 partitions: two Ascend NPU partitions metered in card-hours (training, inference), a CPU partition in
  core-hours, and a debugging partition that no longer takes requests.
- ~2,000 allocations over the last two years (ids grow with time, as in real life), concentrated on a few
  hundred verified organisations (universities and institutes hold more); active, expired, closed, exhausted,
  suspended, and a few pending or provisioning. Each has 1 to 8 cluster users from its organisation.
- ~5,000 quota requests: the approved request behind each allocation, increases, extensions and early closes
  of existing allocations, and drafts, submitted ones (the review queue), rejected ones (with a reason), ones
  sent back for changes and withdrawn ones.
- ~200,000 jobs on the allocations' accounts (and ~2 % on accounts the portal does not know), in submit
  order, sized so that each allocation reaches a usage level that fits its state; the allocations' used
  amounts and the daily usage are computed from them exactly as ``compute.usage.refresh_allocation_usage``
  does.
- The member persona's organisations hold allocations (the persona is a cluster user of them) and requests.
"""

import math
import random
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import Decimal

from psycopg.types.json import Jsonb

from bench.bulk import copy_rows, reset_sequences

CLUSTER = "aicc"
# slug, English, Chinese, Slurm partition, TRES, unit, capacity/month, price, over-commit, min, max, open,
# the typical grant (median) and the TRES counts jobs ask for, with weights.
PARTITIONS = [
    {
        "slug": "ascend-train",
        "name_en": "Ascend 910B training",
        "name_zh": "昇腾910B训练区",
        "description": "64 nodes with 8 Ascend 910B NPUs each, for training large models.",
        "slurm_partition": "train",
        "tres": "gres/npu",
        "unit": "card_hour",
        "capacity_per_month": Decimal("368640.00"),
        "price_per_unit": Decimal("8.5000"),
        "overcommit_ratio": Decimal("1.20"),
        "min_request": Decimal("100.00"),
        "max_request": Decimal("100000.00"),
        "is_active": True,
        "_median_grant": 4000,
        "_counts": ([1, 2, 4, 8, 16, 32, 64], [18, 14, 20, 28, 12, 6, 2]),
        "_weight": 50,
    },
    {
        "slug": "ascend-infer",
        "name_en": "Ascend 310P inference",
        "name_zh": "昇腾310P推理区",
        "description": "Inference and small fine-tuning jobs.",
        "slurm_partition": "infer",
        "tres": "gres/npu",
        "unit": "card_hour",
        "capacity_per_month": Decimal("184320.00"),
        "price_per_unit": Decimal("2.8000"),
        "overcommit_ratio": Decimal("1.50"),
        "min_request": Decimal("50.00"),
        "max_request": Decimal("50000.00"),
        "is_active": True,
        "_median_grant": 1500,
        "_counts": ([1, 2, 4, 8], [50, 25, 15, 10]),
        "_weight": 25,
    },
    {
        "slug": "cpu",
        "name_en": "General-purpose CPU",
        "name_zh": "通用CPU计算区",
        "description": "Kunpeng 920 nodes with 128 cores each, for preprocessing and simulations.",
        "slurm_partition": "cpu",
        "tres": "cpu",
        "unit": "core_hour",
        "capacity_per_month": Decimal("5898240.00"),
        "price_per_unit": Decimal("0.0600"),
        "overcommit_ratio": Decimal("1.00"),
        "min_request": Decimal("1000.00"),
        "max_request": Decimal("2000000.00"),
        "is_active": True,
        "_median_grant": 60000,
        "_counts": ([1, 4, 8, 16, 32, 64, 128, 256], [8, 10, 14, 18, 18, 16, 12, 4]),
        "_weight": 20,
    },
    {
        "slug": "ascend-debug",
        "name_en": "Debugging (closed)",
        "name_zh": "调试区（已关闭）",
        "description": "",
        "slurm_partition": "debug",
        "tres": "gres/npu",
        "unit": "card_hour",
        "capacity_per_month": Decimal("5760.00"),
        "price_per_unit": Decimal("0.0000"),
        "overcommit_ratio": Decimal("1.00"),
        "min_request": Decimal("1.00"),
        "max_request": Decimal("200.00"),
        "is_active": False,
        "_median_grant": 100,
        "_counts": ([1, 2, 4, 8], [40, 30, 20, 10]),
        "_weight": 5,
    },
]
PURPOSES = [
    "大语言模型预训练", "多模态模型微调", "工业视觉缺陷检测模型训练", "医学影像分割", "自动驾驶感知模型训练",
    "Speech recognition for Cantonese", "Protein structure prediction", "城市交通流量预测",
    "Recommendation model retraining", "气象数值模拟后处理", "金融风控模型", "Course: deep learning lab",
    "Inference service for a customer-service bot", "分子动力学模拟",
]  # fmt: skip
JUSTIFICATION = (
    "项目已完成小规模验证，需要在 {slug} 上进行完整训练。预计使用 {amount} 单位，"
    "按周期分阶段执行，训练数据已脱敏并存放于中心存储。"
    " The team has run the pipeline on 8 cards; this request covers the full run and evaluation."
)
DECISION_REASONS = [
    "申请量超过本期剩余容量，请减少申请量或调整周期。",
    "Please describe the data you will train on and confirm it contains no personal information.",
    "项目说明过于简单，请补充技术路线与预期成果。",
    "The requested period overlaps an existing allocation on the same partition: ask for an increase.",
]
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


def partition_rows() -> list[dict]:
    return [
        {"id": n, "cluster": CLUSTER, **{k: v for k, v in p.items() if not k.startswith("_")}}
        for n, p in enumerate(PARTITIONS, start=1)
    ]


@dataclass
class AllocationSpec:
    """What job generation needs to know of an allocation."""

    id: int
    organisation_id: int
    partition: dict
    account_name: str
    status: str
    granted: Decimal
    start: datetime  # the first moment its jobs may start
    until: datetime  # the last moment (now, its end or its closing)
    usage_target: float  # share of the grant its jobs use
    usernames: list[str] = field(default_factory=list)
    job_weight: float = 1.0


def cluster_username(email: str) -> str:
    """``wei.wang.123@example.cn`` -> ``wei_wang_123``: valid under compute.models.CLUSTER_USERNAME_RE."""
    local = email.split("@")[0].lower().replace(".", "_").replace("+", "_")
    name = "".join(c for c in local if c.isalnum() or c in "_-")[:32]
    return name if name and (name[0].isalpha() or name[0] == "_") else f"u{name}"[:32]


def _grant(rng: random.Random, partition: dict) -> Decimal:
    value = partition["_median_grant"] * math.exp(rng.gauss(0, 0.9))
    value = min(max(value, float(partition["min_request"])), float(partition["max_request"]))
    step = 10 if value < 1000 else 100
    return Decimal(max(int(value // step) * step, int(partition["min_request"])))


def make_allocations(
    ctx,
    count: int,
    *,
    organisations: list[tuple[int, str]],
    members_by_org: dict[int, list[tuple[int, str]]],
    emails: dict[int, str],
    persona_orgs: list[int] = (),
    persona_id: int | None = None,
) -> tuple[list[dict], list[dict], list[AllocationSpec]]:
    """``count`` allocation rows (ids 1..count, older first), their member rows and their specs.

    ``organisations``: (id, kind) of the verified organisations that may hold allocations;
    ``members_by_org``: organisation id -> [(user id, role)]; ``emails``: user id -> email. The organisations
    in ``persona_orgs`` get 4 and 2 allocations spread over the period, the newest still active, with
    ``persona_id`` among their cluster users.
    """
    from compute.models import Allocation  # bench modules are imported before django.setup()

    rng, now = ctx.rng, ctx.now
    today = now.date()
    partitions = partition_rows()
    partition_weights = [p["_weight"] for p in PARTITIONS]
    # A few hundred organisations hold most allocations; universities and institutes more.
    holders = rng.sample(organisations, min(len(organisations), max(10, count * 9 // 20)))
    holder_weights = [
        (3.0 if kind in ("university", "research_institute") else 1.0) / (rank + 1) ** 0.5
        for rank, (_, kind) in enumerate(holders)
    ]
    org_choices = rng.choices([o for o, _ in holders], weights=holder_weights, k=count)
    # The member persona's organisations: allocations spread over the whole period.
    for n, org_id in enumerate(persona_orgs):
        for i in range(4 if n == 0 else 2):
            org_choices[min(count - 1, (count * (2 * i + 1 + n)) // 9)] = org_id
    rows, member_rows, specs = [], [], []
    member_id = 0
    for i in range(count):
        pk = i + 1
        org_id = org_choices[i]
        partition = rng.choices(partitions, weights=partition_weights)[0]
        if not partition["is_active"] and i > count // 2:  # the debug partition closed a year ago
            partition = partitions[0]
        # A growing service: more allocations lately than two years ago.
        created = ctx.now - timedelta(days=730 * (1 - i / count) ** 1.5, minutes=rng.randint(0, 600))
        start = created.date() + timedelta(days=rng.choice([0, 0, 1, 3, 7, 14]))
        persona = org_id in persona_orgs
        days = rng.choices([30, 90, 180, 365], weights=[15, 30, 30, 25])[0]
        if persona and i >= count * 2 // 3:
            days = 365
        end = start + timedelta(days=days)
        if end <= today:
            status = rng.choices(["expired", "closed"], weights=[35, 65])[0]
        elif (today - created.date()).days < 3 and not persona:
            status = rng.choices(["pending", "provisioning", "active"], weights=[30, 30, 40])[0]
        elif start > today:  # provisioned, its period has not begun
            status = "active"
        else:
            status = rng.choices(
                ["active", "exhausted", "suspended", "closed"],
                weights=[84, 8, 4, 4] if not persona else [1, 0, 0, 0],
            )[0]
        granted = _grant(rng, PARTITIONS[partition["id"] - 1])
        on_cluster = status not in ("pending",)
        account = Allocation.account_name_for(pk)
        start_at = datetime.combine(start, datetime.min.time(), tzinfo=now.tzinfo)
        until = min(now, datetime.combine(end, datetime.min.time(), tzinfo=now.tzinfo))
        if status == "closed" and end > today:  # closed early
            until = start_at + (until - start_at) * rng.uniform(0.2, 0.9)
        status_changed = {
            "pending": created,
            "provisioning": created + timedelta(minutes=1),
            "active": created + timedelta(minutes=2),
        }.get(status, until)
        usage_target = {
            "active": min(rng.betavariate(1.6, 2.2), 0.97),
            "exhausted": rng.uniform(1.0, 1.04),
            "suspended": rng.uniform(0.1, 0.7),
            "expired": rng.uniform(0.3, 0.99),
            "closed": rng.uniform(0.05, 0.95),
        }.get(status, 0.0)
        if status == "active" and rng.random() < 0.12:
            usage_target = rng.uniform(0.8, 0.98)  # past the 80 % notice
        if status == "active":  # part-way through the period: used in proportion, roughly
            usage_target *= min(1.0, max(0.15, (until - start_at) / (timedelta(days=days)) * 1.3))
        # Cluster users: people of the organisation, 1 to 8, the persona in its own organisations.
        people = members_by_org.get(org_id, [])
        chosen = rng.sample(
            people, min(len(people), rng.choices([1, 2, 3, 4, 6, 8], [25, 25, 20, 15, 10, 5])[0])
        )
        if persona and persona_id is not None and all(p[0] != persona_id for p in chosen):
            chosen = [(persona_id, "owner")] + chosen[:7]
        usernames = []
        for user_id, *_ in chosen:
            name = cluster_username(emails[user_id])
            if name in usernames:
                continue
            usernames.append(name)
            member_id += 1
            member_rows.append(
                {"id": member_id, "allocation_id": pk, "user_id": user_id, "cluster_username": name}
            )
        if not usernames:
            usernames = [f"svc_{pk}"]
            member_id += 1
            member_rows.append(
                {"id": member_id, "allocation_id": pk, "user_id": None, "cluster_username": usernames[0]}
            )
        rows.append(
            {
                "id": pk,
                "organisation_id": org_id,
                "partition_id": partition["id"],
                "request_id": None,
                "account_name": account,
                "granted_amount": granted,
                "start_date": start,
                "end_date": end,
                "status": status,
                "status_changed_at": status_changed,
                "provisioned_at": created + timedelta(minutes=1, seconds=20) if on_cluster else None,
                "last_synced_at": (now - timedelta(minutes=rng.randint(1, 90))) if on_cluster else None,
                "sync_error": "sacctmgr: Connection refused (slurmdbd)" if status == "provisioning" else "",
                "sync_attempts": 2 if status == "provisioning" else 0,
                "used_amount": Decimal(0),
                "usage_updated_at": None,
                "notified_80_at": None,
                "notified_100_at": None,
                "created_at": created,
            }
        )
        if status not in ("pending", "provisioning") and until > start_at:
            specs.append(
                AllocationSpec(
                    id=pk,
                    organisation_id=org_id,
                    partition=PARTITIONS[partition["id"] - 1] | {"id": partition["id"]},
                    account_name=account,
                    status=status,
                    granted=granted,
                    start=start_at,
                    until=until,
                    usage_target=usage_target,
                    usernames=usernames,
                    job_weight=float(granted) * usage_target / _mean_units(PARTITIONS[partition["id"] - 1]),
                )
            )
    return rows, member_rows, specs


def _mean_units(partition: dict) -> float:
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
        npu = tres_key == "gres/npu"
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
            tres = {"cpu": count * 24, "gres/npu": count} if npu else {"cpu": count}
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


# --- the loader ----------------------------------------------------------------------------------


def organisation_facts() -> tuple[list, dict, dict]:
    """Verified organisations (id, kind), their members and the members' emails, read back from the
    database (the accounts loader wrote them in this transaction)."""
    from accounts.models import Membership, Organisation, User  # noqa: PLC0415 - bench modules load before django.setup()

    organisations = list(
        Organisation.objects.filter(verification_status="verified").order_by("id").values_list("id", "kind")
    )
    members_by_org: dict[int, list[tuple[int, str]]] = defaultdict(list)
    for org_id, user_id, role in Membership.objects.order_by("id").values_list(
        "organisation_id", "user_id", "role"
    ):
        members_by_org[org_id].append((user_id, role))
    emails = dict(User.objects.values_list("id", "email"))
    return organisations, members_by_org, emails


def load_compute(ctx) -> dict[str, int]:
    """Partitions, allocations (and their cluster users), quota requests, jobs and daily usage."""
    from django.utils import timezone

    from compute.models import (  # bench modules are imported before django.setup()
        Allocation,
        AllocationMember,
        DailyUsage,
        Job,
        Partition,
        QuotaRequest,
        QuotaRequestMember,
    )

    rng, now = ctx.rng, ctx.now
    n_allocations, n_requests, n_jobs = ctx.scaled(2_000), ctx.scaled(5_000), ctx.scaled(200_000)
    operator_id, member_id = ctx.shared["operator_id"], ctx.shared["member_id"]
    persona_orgs = ctx.shared.get("member_organisation_ids", [])[:2]
    organisations, members_by_org, emails = organisation_facts()
    counts = {"partitions": copy_rows(Partition, [{**p} for p in partition_rows()])}

    allocations, allocation_members, specs = make_allocations(
        ctx,
        n_allocations,
        organisations=organisations,
        members_by_org=members_by_org,
        emails=emails,
        persona_orgs=persona_orgs,
        persona_id=member_id,
    )
    members_of = defaultdict(list)
    for m in allocation_members:
        members_of[m["allocation_id"]].append(m)

    # Jobs, then what they add up to: used amounts, thresholds already notified, daily usage.
    jobs = generate_jobs(rng, specs, n_jobs, now=now)
    totals, daily = usage_from_jobs(jobs, timezone.get_current_timezone())
    for row in allocations:
        used = e4(totals.get(row["id"], 0))
        row["used_amount"] = used
        if row["status"] not in ("pending", "provisioning"):
            row["usage_updated_at"] = now - timedelta(minutes=rng.randint(1, 30))
        if row["status"] == "exhausted" and Decimal(0) < used < row["granted_amount"]:
            row["granted_amount"] = max(Decimal("1"), used.quantize(Decimal("1"), rounding="ROUND_FLOOR"))
        percent = used * 100 / row["granted_amount"]
        if percent >= 80:
            row["notified_80_at"] = row["status_changed_at"] if row["status"] != "active" else now
        if percent >= 100:
            row["notified_100_at"] = row["notified_80_at"]

    # Requests: the approved one behind every allocation, changes of allocations, and undecided, refused or
    # abandoned new ones; numbered in the order they were filed.
    managers = {
        org: [u for u, role in people if role in ("owner", "admin")] or [people[0][0]]
        for org, people in members_by_org.items()
        if people
    }
    requests: list[dict] = []
    request_members: dict[int, list[tuple[int | None, str]]] = {}

    def filer(org_id: int) -> int:
        if org_id in persona_orgs:
            return member_id
        return rng.choice(managers.get(org_id) or [operator_id])

    def purpose_of() -> str:
        return rng.choice(PURPOSES)

    for row in allocations:
        partition = PARTITIONS[row["partition_id"] - 1]
        filed = row["created_at"] - timedelta(days=rng.randint(2, 20), hours=rng.randint(0, 12))
        asked = row["granted_amount"] if rng.random() < 0.8 else row["granted_amount"] * Decimal("1.25")
        requests.append(
            {
                "_key": ("allocation", row["id"]),
                "organisation_id": row["organisation_id"],
                "partition_id": row["partition_id"],
                "kind": "new",
                "allocation_id": None,
                "amount": asked.quantize(Decimal("0.01")),
                "start_date": row["start_date"],
                "end_date": row["end_date"],
                "purpose": purpose_of(),
                "justification": JUSTIFICATION.format(slug=partition["slug"], amount=asked),
                "status": "approved",
                "created_by_id": filer(row["organisation_id"]),
                "created_at": filed,
                "submitted_at": filed + timedelta(hours=rng.randint(1, 48)),
                "decided_by_id": operator_id,
                "decided_at": row["created_at"],
                "decision_reason": "",
                "granted_amount": row["granted_amount"],
            }
        )
        request_members[len(requests) - 1] = [
            (m["user_id"], m["cluster_username"]) for m in members_of[row["id"]] if m["user_id"] is not None
        ]

    changeable = [a for a in allocations if a["status"] not in ("pending", "closed")]
    n_changes = min(len(changeable), n_requests * 7 // 100)
    for row in rng.sample(changeable, n_changes):
        kind = rng.choices(["increase", "extension", "early_close"], weights=[55, 38, 7])[0]
        status = rng.choices(
            ["approved", "rejected", "submitted", "withdrawn", "draft"], weights=[55, 12, 18, 8, 7]
        )[0]
        filed = (
            row["created_at"]
            + (min(now, row["created_at"] + timedelta(days=60)) - row["created_at"]) * rng.random()
        )
        decided = status in ("approved", "rejected")
        end = (
            row["end_date"] + timedelta(days=rng.choice([30, 90])) if kind == "extension" else row["end_date"]
        )
        amount = (row["granted_amount"] * Decimal(rng.choice(["0.25", "0.5", "1"]))).quantize(Decimal("0.01"))
        requests.append(
            {
                "_key": None,
                "organisation_id": row["organisation_id"],
                "partition_id": row["partition_id"],
                "kind": kind,
                "allocation_id": row["id"],
                "amount": amount if kind == "increase" else Decimal("0"),
                "start_date": row["start_date"],
                "end_date": end,
                "purpose": purpose_of(),
                "justification": "训练进度超出预期，需要追加算力以完成评测。 More evaluation runs than planned.",
                "status": status,
                "created_by_id": filer(row["organisation_id"]),
                "created_at": filed,
                "submitted_at": filed + timedelta(hours=2) if status != "draft" else None,
                "decided_by_id": operator_id if decided else None,
                "decided_at": filed + timedelta(days=rng.randint(1, 5)) if decided else None,
                "decision_reason": rng.choice(DECISION_REASONS) if status == "rejected" else "",
                "granted_amount": (amount if kind == "increase" else Decimal("0"))
                if status == "approved"
                else None,
            }
        )

    verified = [o for o, _ in organisations]
    other_statuses = (
        ["draft", "submitted", "rejected", "changes_requested", "withdrawn"],
        [20, 8, 30, 10, 32],
    )
    others = max(0, n_requests - len(requests))
    partitions_open = [p for p in partition_rows() if p["is_active"]]
    for i in range(others):
        org_id = rng.choice(verified) if i >= 6 or not persona_orgs else persona_orgs[0]
        status = rng.choices(*other_statuses)[0] if i >= 6 else ["draft", "submitted"][i % 2]
        partition = rng.choice(partitions_open)
        filed = now - timedelta(days=730 * (1 - i / others) ** 0.7, minutes=rng.randint(0, 900))
        if status in ("submitted", "draft", "changes_requested"):  # undecided ones are recent
            filed = now - timedelta(days=rng.uniform(0, 45))
        start = filed.date() + timedelta(days=rng.randint(3, 30))
        amount = _grant(rng, PARTITIONS[partition["id"] - 1])
        decided = status in ("rejected", "changes_requested")
        requests.append(
            {
                "_key": None,
                "organisation_id": org_id,
                "partition_id": partition["id"],
                "kind": "new",
                "allocation_id": None,
                "amount": amount,
                "start_date": start,
                "end_date": start + timedelta(days=rng.choice([30, 90, 180, 365])),
                "purpose": purpose_of(),
                "justification": JUSTIFICATION.format(slug=partition["slug"], amount=amount),
                "status": status,
                "created_by_id": filer(org_id),
                "created_at": filed,
                "submitted_at": filed + timedelta(hours=3) if status != "draft" else None,
                "decided_by_id": operator_id if decided else None,
                "decided_at": filed + timedelta(days=rng.randint(1, 6)) if decided else None,
                "decision_reason": rng.choice(DECISION_REASONS) if decided else "",
                "granted_amount": None,
            }
        )
        people = members_by_org.get(org_id) or []
        picked = rng.sample(people, min(len(people), rng.randint(1, 3)))
        request_members[len(requests) - 1] = list(
            dict.fromkeys((u, cluster_username(emails[u])) for u, _ in picked)
        )

    # Number the requests in filing order; link each allocation to its request.
    order = sorted(range(len(requests)), key=lambda i: requests[i]["created_at"])
    request_id_of = {old: new for new, old in enumerate(order, start=1)}
    by_allocation = {}
    for old, row in enumerate(requests):
        row["id"] = request_id_of[old]
        key = row.pop("_key")
        if key:
            by_allocation[key[1]] = row["id"]
    for row in allocations:
        row["request_id"] = by_allocation[row["id"]]
    requests.sort(key=lambda r: r["id"])
    counts["quota requests"] = copy_rows(QuotaRequest, requests)
    qr_members, seen = [], set()
    for old, people in request_members.items():
        for user_id, username in people:
            key = (request_id_of[old], username)
            if key in seen or (request_id_of[old], user_id) in seen:
                continue
            seen.update({key, (request_id_of[old], user_id)})
            qr_members.append(
                {
                    "id": len(qr_members) + 1,
                    "request_id": key[0],
                    "user_id": user_id,
                    "cluster_username": username,
                }
            )
    counts["requested cluster users"] = copy_rows(QuotaRequestMember, qr_members)
    counts["allocations"] = copy_rows(Allocation, allocations)
    counts["allocation members"] = copy_rows(AllocationMember, allocation_members)

    counts["jobs"] = copy_rows(
        Job,
        (
            {
                "id": n,
                "cluster": CLUSTER,
                "job_id": j.job_id,
                "allocation_id": j.allocation_id,
                "account": j.account,
                "cluster_user": j.user,
                "partition": j.partition,
                "state": j.state,
                "submit_at": j.submit,
                "start_at": j.start,
                "end_at": j.end,
                "elapsed_seconds": j.elapsed,
                "tres": Jsonb(j.tres),
                "units": e4(j.units_e4),
            }
            for n, j in enumerate(jobs, start=1)
        ),
    )
    counts["daily usage"] = copy_rows(
        DailyUsage,
        (
            {"id": n, "allocation_id": a, "day": day, "units": e4(units), "jobs": jobs_}
            for n, ((a, day), (units, jobs_)) in enumerate(sorted(daily.items()), start=1)
        ),
    )
    reset_sequences(
        Partition, QuotaRequest, QuotaRequestMember, Allocation, AllocationMember, Job, DailyUsage
    )
    ctx.shared.update(
        allocation_ids=[a["id"] for a in allocations],
        member_allocation_ids=[a["id"] for a in allocations if a["organisation_id"] in persona_orgs],
    )
    return counts
