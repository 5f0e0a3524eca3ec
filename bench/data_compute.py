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
import re
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal

from bench.data_jobs import (
    CLUSTER,
    mean_units,
)

# slug, English, Chinese, Slurm partition, TRES, unit, capacity/month, price, over-commit, min, max, open,
# the typical grant (median) and the TRES counts jobs ask for, with weights.
PARTITIONS = [
    {
        "slug": "ascend-train",
        "name_en": "Ascend 910B training",
        "name_zh": "昇腾910B训练区",
        "description": "64 nodes with 8 Ascend 910B NPUs each, for training large models.",
        "slurm_partition": "train",
        "tres": "billing",
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
        "tres": "billing",
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
        "tres": "billing",
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
        "tres": "billing",
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


IDENTITY_NAME_RE = re.compile(r"^[a-z][a-z0-9_-]{2,31}$")


def identity_rows(members, *, uid_min: int, home_root: str, shell: str, now) -> list[dict]:
    """One cluster identity per person with a cluster user name (``(user_id, name)`` pairs, first wins), as
    the migration of hand-typed names makes them: a valid name used by one person only."""
    users_of: dict[str, set[int]] = defaultdict(set)
    names_of: dict[int, set[str]] = defaultdict(set)
    for user_id, name in members:
        if user_id is not None:
            users_of[name].add(user_id)
            names_of[user_id].add(name)
    rows = []
    for user_id, names in sorted(names_of.items()):
        if len(names) != 1:
            continue
        (name,) = names
        if len(users_of[name]) == 1 and IDENTITY_NAME_RE.fullmatch(name):
            uid = uid_min + len(rows)
            rows.append(
                {
                    "id": len(rows) + 1,
                    "user_id": user_id,
                    "username": name,
                    "uid": uid,
                    "home": f"{home_root.rstrip('/')}/{name}",
                    "shell": shell,
                    "status": "active",
                    "lock_reason": "",
                    "created_at": now,
                    "changed_at": now,
                    "published_at": now,
                    "publish_error": "",
                }
            )
    return rows


def grant_for(rng: random.Random, partition: dict) -> Decimal:
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
        granted = grant_for(rng, PARTITIONS[partition["id"] - 1])
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
                    job_weight=float(granted) * usage_target / mean_units(PARTITIONS[partition["id"] - 1]),
                )
            )
    return rows, member_rows, specs
