"""Demo data of the compute service, loaded by `manage.py seed_demo` (idempotent, made through the services):
partitions on an accelerator cluster and an HPC cluster, an active allocation with usage on each (fake
clusters), a request to decide, voucher schemes and a settled month."""

from collections.abc import Iterable
from datetime import date, timedelta
from decimal import Decimal

from django.utils import timezone

from accounts.models import Organisation, User
from compute import usage
from compute.backends import get_backend
from compute.backends.base import JobRecord
from compute.identities import services as identities
from compute.models import Issuer, Partition, QuotaRequest, VoucherScheme
from compute.services import requests as quota_requests
from compute.services.allocations import sync_allocation
from compute.vouchers.services import applications as voucher_applications
from compute.vouchers.services import ledger

# The demo's partitions, by short name (created once; an operator may change them afterwards). Like the
# center, the demo has two clusters: the accelerator cluster "aicc" and the HPC cluster "hpc", each metered in
# Slurm's billing TRES (one card on the accelerator partition, one core on the CPU partition).
DEMO_PARTITIONS = {
    "npu": dict(
        name_en="AI accelerator partition",
        name_zh="AI 加速卡分区",
        description="Nodes with 8 AI accelerator cards each, for training and inference.",
        cluster="aicc",
        slurm_partition="npu",
        tres="billing",
        unit="card_hour",
        capacity_per_month=Decimal("500000"),
        price_per_unit=Decimal("8.50"),
        overcommit_ratio=Decimal("1.20"),
        min_request=Decimal("10"),
        max_request=Decimal("50000"),
        max_nodes=16,
        cards_per_node=8,
        cores_per_node=192,
        memory_per_node_gb=1024,
        max_time_minutes=7 * 24 * 60,
    ),
    "cpu": dict(
        name_en="HPC CPU partition",
        name_zh="高性能计算 CPU 分区",
        description="General-purpose CPU nodes for simulation and data processing.",
        cluster="hpc",
        slurm_partition="cpu",
        tres="billing",
        unit="core_hour",
        capacity_per_month=Decimal("2000000"),
        price_per_unit=Decimal("0.12"),
        min_request=Decimal("100"),
        max_request=Decimal("500000"),
        max_nodes=32,
        cards_per_node=0,
        cores_per_node=64,
        memory_per_node_gb=256,
        max_time_minutes=3 * 24 * 60,
    ),
}


def seed(people: dict[str, User]) -> None:
    _compute(people)
    # The algorithm catalogue (compute/jobs/template_demo.py): five published job templates.
    from compute.jobs.template_demo import seed_job_templates

    seed_job_templates(people["operator@demo.aicc.cn"])
    _vouchers(people)


def _compute(people):
    """Partitions on two clusters; an active allocation with some usage on each (the fake clusters), a
    request to decide."""

    for slug, fields in DEMO_PARTITIONS.items():
        Partition.objects.get_or_create(slug=slug, defaults=fields)
    npu, cpu = Partition.objects.get(slug="npu"), Partition.objects.get(slug="cpu")
    if QuotaRequest.objects.exists():
        return
    owner, operator = people["owner@demo.aicc.cn"], people["operator@demo.aicc.cn"]
    researcher = people["researcher@demo.aicc.cn"]
    xinghe = Organisation.objects.get(name_zh="星河智能科技有限公司")
    university = Organisation.objects.get(name_zh="滨海大学")
    today = timezone.localdate()
    now = timezone.now()
    training = _approved_allocation(
        xinghe,
        by=owner,
        operator=operator,
        partition=npu,
        amount=Decimal("2000"),
        granted=Decimal("1500"),
        purpose="Train a lung-nodule detection model",
        justification="3D CT segmentation model, 8 cards for about ten days.",
        member=quota_requests.MemberAccess(owner, "zhangwei"),
    )
    # Twelve jobs over the last days, and six a month earlier (last month is settled below): 8 cards each.
    _add_jobs(
        training, "zhangwei", 1000, [*range(11, -1, -1), *range(40, 34, -1)], now, {"cpu": 32, "gres/npu": 8}
    )
    simulation = _approved_allocation(
        university,
        by=researcher,
        operator=operator,
        partition=cpu,
        amount=Decimal("20000"),
        granted=Decimal("20000"),
        purpose="Ocean circulation simulation for the Bohai Bay",
        justification="MPI model on 256 cores, about 60 runs of four hours.",
        member=quota_requests.MemberAccess(researcher, "chenjing"),
    )
    # The HPC cluster numbers its jobs on its own: the same ids as the accelerator cluster's are other jobs.
    _add_jobs(simulation, "chenjing", 1000, range(9, -1, -1), now, {"cpu": 256})
    pending = quota_requests.create_quota_request(
        university,
        by=researcher,
        partition=npu,
        amount=Decimal("800"),
        start_date=today + timedelta(days=1),
        end_date=today + timedelta(days=60),
        purpose="Course projects on large-model fine-tuning",
        justification="40 students, one card each for 20 hours.",
        members=[quota_requests.MemberAccess(researcher)],
    )
    quota_requests.submit_quota_request(pending, by=researcher)


def _approved_allocation(
    organisation, *, by, operator, partition, amount, granted, purpose, justification, member
):
    """A request filed, approved and provisioned on its partition's cluster, as people would do it (the
    person chose their cluster user name first, on "My cluster access")."""
    if identities.identity_of(member.user) is None:
        identities.claim_username(member.user, member.cluster_username)
    today = timezone.localdate()
    request = quota_requests.create_quota_request(
        organisation,
        by=by,
        partition=partition,
        amount=amount,
        start_date=today,
        end_date=today + timedelta(days=90),
        purpose=purpose,
        justification=justification,
        members=[member],
    )
    quota_requests.submit_quota_request(request, by=by)
    quota_requests.approve_quota_request(request, by=operator, granted_amount=granted)
    return sync_allocation(request.created_allocation.pk)


def _add_jobs(
    allocation, user: str, first_id: int, days_ago: Iterable[int], now, tres: dict[str, int]
) -> None:
    """Finished jobs of 2 to 5 hours on the allocation's (fake) cluster, billed as Slurm would: on the
    accelerator partition one billing unit per card, on the CPU partition one per core; then ingested."""
    backend = get_backend(allocation.partition.cluster)
    billing = tres.get("gres/npu", tres["cpu"])
    for i, ago in enumerate(days_ago):
        start = now - timedelta(days=ago, hours=3)
        hours = 2 + i % 4
        backend.add_job(
            JobRecord(
                job_id=str(first_id + i),
                cluster=backend.cluster_name,
                account=allocation.account_name,
                user=user,
                partition=allocation.partition.slurm_partition,
                state="COMPLETED",
                submit=start,
                start=start,
                end=start + timedelta(hours=hours),
                elapsed_seconds=hours * 3600,
                tres={**tres, "billing": billing},
            )
        )
    usage.ingest_usage(backend=backend, since=now - timedelta(days=45))


def _vouchers(people):
    """A city scheme for small enterprises, a district one, the incubation one; a voucher for Xinghe with
    last month settled against it, and an application waiting for the operators."""
    if VoucherScheme.objects.exists():
        return
    operator, owner = people["operator@demo.aicc.cn"], people["owner@demo.aicc.cn"]
    today = timezone.localdate()
    year_start, year_end = date(today.year, 1, 1), date(today.year + 1, 12, 31)
    common = dict(valid_from=year_start, valid_until=year_end, total_budget=Decimal("5000000"))
    city = VoucherScheme.objects.create(
        name_zh="滨海市小微企业算力券",
        name_en="Binhai city compute vouchers for small enterprises",
        issuer=Issuer.CITY,
        issuer_name="滨海市数据管理局",
        subsidy_ratio=Decimal("0.300"),
        cap_per_organisation=Decimal("200000"),
        small_enterprises_only=True,
        **common,
    )
    district = VoucherScheme.objects.create(
        name_zh="滨海新区算力券",
        name_en="Binhai New Area compute vouchers",
        issuer=Issuer.DISTRICT,
        issuer_name="滨海新区经济发展局",
        subsidy_ratio=Decimal("0.200"),
        cap_per_organisation=Decimal("100000"),
        **common,
    )
    VoucherScheme.objects.create(
        name_zh="孵化项目算力券",
        name_en="Compute vouchers for incubated projects",
        issuer=Issuer.CITY,
        issuer_name="滨海市人工智能计算中心",
        subsidy_ratio=Decimal("1.000"),
        cap_per_organisation=Decimal("300000"),
        for_incubated_projects=True,
        **common,
    )
    xinghe = Organisation.objects.get(name_zh="星河智能科技有限公司")
    last_month = (today.replace(day=1) - timedelta(days=1)).replace(day=1)
    ledger.grant_voucher(
        city, xinghe, amount=Decimal("50000"), by=operator, today=max(last_month, year_start)
    )
    if last_month >= year_start:
        ledger.settle_month(last_month, today=today)
    voucher_applications.apply_for_voucher(
        district,
        xinghe,
        by=owner,
        amount=Decimal("30000"),
        statement="Fine-tuning the lung-nodule model on new hospital data: about 3,000 card-hours.",
    )
