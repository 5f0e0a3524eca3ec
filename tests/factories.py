import random
from decimal import Decimal

import factory
from allauth.account.models import EmailAddress

from accounts import services
from accounts.models import Organisation, OrganisationKind, Sector, User
from accounts.uscc import ALPHABET, check_character

PASSWORD = "correct-horse-battery-9"


def make_uscc(rng: random.Random | None = None) -> str:
    """A random code with a correct GB 32100-2015 check character."""
    rng = rng or random
    body = (
        "91"
        + "".join(rng.choice("0123456789") for _ in range(6))
        + "".join(rng.choice(ALPHABET) for _ in range(9))
    )
    return body + check_character(body)


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = User
        skip_postgeneration_save = True

    email = factory.Sequence(lambda n: f"person{n}@example.cn")
    name = factory.Faker("name")
    password = factory.django.Password(PASSWORD)

    @factory.post_generation
    def verified(obj, create, extracted, **kwargs):
        if create and extracted is not False:
            EmailAddress.objects.create(user=obj, email=obj.email, verified=True, primary=True)


class OrganisationFactory(factory.django.DjangoModelFactory):
    """A bare organisation row (no members); use ``make_organisation`` for one created through the service."""

    class Meta:
        model = Organisation

    name_zh = factory.Sequence(lambda n: f"测试企业{n}有限公司")
    name_en = factory.Sequence(lambda n: f"Test Enterprise {n} Co., Ltd.")
    kind = OrganisationKind.ENTERPRISE
    uscc = factory.LazyFunction(make_uscc)
    sector = Sector.INFORMATION_TECHNOLOGY
    city = "滨海"


def make_organisation(owner: User, **fields) -> Organisation:
    defaults = {
        "name_zh": f"测试机构{random.randint(1, 10**9)}",
        "name_en": "Test Organisation",
        "kind": OrganisationKind.ENTERPRISE,
        "uscc": make_uscc(),
        "sector": Sector.INFORMATION_TECHNOLOGY,
        "city": "滨海",
    }
    defaults.update(fields)
    if defaults["kind"] != OrganisationKind.ENTERPRISE and "uscc" not in fields:
        defaults["uscc"] = ""
    return services.create_organisation(by=owner, **defaults)


def make_operator(**kwargs) -> User:
    user = UserFactory(**kwargs)
    return services.set_site_roles(user, by=None, roles={"operator"})


def make_supervisor(**kwargs) -> User:
    user = UserFactory(**kwargs)
    return services.set_site_roles(user, by=None, roles={"supervisor"})


# --- compute -------------------------------------------------------------------------------------


class PartitionFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = "compute.Partition"
        django_get_or_create = ("slug",)

    slug = "npu"
    name_en = "AI accelerator partition"
    name_zh = "AI 加速卡分区"
    cluster = "slurmlab"
    slurm_partition = "debug"
    tres = "gres/npu"
    unit = "card_hour"
    capacity_per_month = Decimal("10000")
    price_per_unit = Decimal("8.5000")
    overcommit_ratio = Decimal("1.00")
    min_request = Decimal("1")
    max_request = Decimal("5000")


def make_verified_organisation(owner: User, **fields) -> Organisation:
    org = make_organisation(owner, **fields)
    services.submit_organisation_for_verification(org, by=owner)
    operator = User.objects.filter(groups__name="operator").first() or make_operator()
    services.verify_organisation(org, by=operator)
    org.refresh_from_db()
    return org


def make_quota_request(owner: User, organisation=None, *, submit=True, username="alice", **fields):
    """A new-allocation request through the services (drafted, and submitted unless submit=False)."""
    from datetime import timedelta

    from django.utils import timezone

    from compute import services as compute_services

    organisation = organisation or make_verified_organisation(owner)
    today = timezone.localdate()
    values = {
        "partition": PartitionFactory(),
        "amount": 100,
        "start_date": today,
        "end_date": today + timedelta(days=90),
        "purpose": "Train a medical imaging model",
        "justification": "Needs 8 cards for two weeks.",
        "members": [compute_services.MemberAccess(owner, username)],
    }
    values.update(fields)
    request = compute_services.create_quota_request(organisation, by=owner, **values)
    if submit:
        request = compute_services.submit_quota_request(request, by=owner)
    return request


def make_allocation(owner: User, organisation=None, *, granted=None, **fields):
    """An active allocation on the fake cluster, through request, approval and provisioning."""
    from compute import services as compute_services
    from compute.backends.fake import FakeBackend

    request = make_quota_request(owner, organisation, **fields)
    operator = User.objects.filter(groups__name="operator").first() or make_operator()
    compute_services.approve_quota_request(request, by=operator, granted_amount=granted)
    allocation = request.created_allocation
    return compute_services.sync_allocation(allocation.pk, backend=FakeBackend())
