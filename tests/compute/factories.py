"""Compute test data: partitions, quota requests and allocations, built through the compute services."""

from datetime import timedelta
from decimal import Decimal

import factory
from django.utils import timezone

from accounts.models import User
from compute.backends.base import JobRecord
from compute.backends.fake import FakeBackend
from compute.identities import services as identities
from compute.services.allocations import sync_allocation
from compute.services.requests import (
    MemberAccess,
    approve_quota_request,
    create_quota_request,
    submit_quota_request,
)
from tests.accounts.factories import an_operator, make_verified_organisation


class PartitionFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = "compute.Partition"
        django_get_or_create = ("slug",)

    slug = "npu"
    name_en = "AI accelerator partition"
    name_zh = "AI 加速卡分区"
    cluster = "fake"  # the fake backend's default cluster: FakeBackend() in a test sees what the portal made
    slurm_partition = "npu"
    tres = "billing"
    unit = "card_hour"
    capacity_per_month = Decimal("10000")
    price_per_unit = Decimal("8.5000")
    overcommit_ratio = Decimal("1.00")
    min_request = Decimal("1")
    max_request = Decimal("5000")
    # One job: up to 4 nodes of 8 cards, 64 cores and 512 GB each, for a day at most.
    max_nodes = 4
    cards_per_node = 8
    cores_per_node = 64
    memory_per_node_gb = 512
    max_time_minutes = 24 * 60


def give_identity(person: User, username: str | None = None):
    """The person's cluster identity: ``username`` when they have none and it is free (as if they had
    chosen it on "My cluster access"), otherwise the one they have or one the portal derives. Each person
    gets a distinct one."""
    identity = identities.identity_of(person)
    if identity is not None:
        return identity
    if username and identities.username_problem(username, user=person) is None:
        return identities.claim_username(person, username)
    return identities.ensure_identity(person)


def request_fields(owner: User, *, username="alice", **overrides) -> dict:
    """What ``create_quota_request`` takes for a new allocation: 100 units over 90 days from today, with
    ``owner`` as its cluster user (with the cluster identity ``username`` if they have none yet)."""
    if username:
        give_identity(owner, username)
    today = timezone.localdate()
    values = {
        "partition": PartitionFactory(),
        "amount": 100,
        "start_date": today,
        "end_date": today + timedelta(days=90),
        "purpose": "Train a medical imaging model",
        "justification": "Needs 8 cards for two weeks.",
        "members": [MemberAccess(owner)],
    }
    values.update(overrides)
    return values


def make_quota_request(owner: User, organisation=None, *, submit=True, username="alice", **fields):
    """A new-allocation request through the services (drafted, and submitted unless submit=False)."""
    organisation = organisation or make_verified_organisation(owner)
    request = create_quota_request(
        organisation, by=owner, **request_fields(owner, username=username, **fields)
    )
    if submit:
        request = submit_quota_request(request, by=owner)
    return request


def make_allocation(owner: User, organisation=None, *, granted=None, **fields):
    """An active allocation on the fake cluster, through request, approval and provisioning."""
    request = make_quota_request(owner, organisation, **fields)
    approve_quota_request(request, by=an_operator(), granted_amount=granted)
    allocation = request.created_allocation
    return sync_allocation(allocation.pk, backend=FakeBackend())


def job_record(
    allocation, job_id, *, cards=1, minutes=60, state="COMPLETED", user="alice", ago=timedelta(hours=2)
) -> JobRecord:
    """A job on the allocation's account as the fake cluster's accounting reports it (started ``ago``)."""
    start = timezone.now() - ago
    return JobRecord(
        job_id=str(job_id),
        cluster=allocation.partition.cluster,
        account=allocation.account_name,
        user=user,
        partition=allocation.partition.slurm_partition,
        state=state,
        submit=start,
        start=start,
        end=None if state == "RUNNING" else start + timedelta(minutes=minutes),
        elapsed_seconds=minutes * 60,
        tres={"billing": cards, "cpu": 4, "gres/npu": cards},
    )
