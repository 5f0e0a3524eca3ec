"""People and organisations, built through the accounts services: every app's tests start from these."""

import random

import factory
from allauth.account.models import EmailAddress

from accounts import services
from accounts.models import Membership, MembershipRole, Organisation, OrganisationKind, Sector, User
from accounts.uscc import random_uscc

PASSWORD = "correct-horse-battery-9"


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
    uscc = factory.LazyFunction(random_uscc)
    sector = Sector.INFORMATION_TECHNOLOGY
    city = "滨海"


def make_organisation(owner: User, **fields) -> Organisation:
    defaults = {
        "name_zh": f"测试机构{random.randint(1, 10**9)}",
        "name_en": "Test Organisation",
        "kind": OrganisationKind.ENTERPRISE,
        "uscc": random_uscc(),
        "sector": Sector.INFORMATION_TECHNOLOGY,
        "city": "滨海",
    }
    defaults.update(fields)
    if defaults["kind"] != OrganisationKind.ENTERPRISE and "uscc" not in fields:
        defaults["uscc"] = ""
    return services.create_organisation(by=owner, **defaults)


def make_with_site_role(role: str, **kwargs) -> User:
    """A new person holding one site role (operator, supervisor, reviewer, mentor, ...)."""
    return services.set_site_roles(UserFactory(**kwargs), by=None, roles={role})


def make_operator(**kwargs) -> User:
    return make_with_site_role("operator", **kwargs)


def make_supervisor(**kwargs) -> User:
    return make_with_site_role("supervisor", **kwargs)


def add_member(
    organisation: Organisation, user: User | None = None, role=MembershipRole.MEMBER
) -> Membership:
    """Put a person (a new one unless given) into an organisation directly, without an invitation."""
    return Membership.objects.create(organisation=organisation, user=user or UserFactory(), role=role)


def an_operator() -> User:
    """The test's operator if there is one already, else a new one."""
    return User.objects.filter(groups__name="operator").first() or make_operator()


def make_verified_organisation(owner: User, **fields) -> Organisation:
    org = make_organisation(owner, **fields)
    services.submit_organisation_for_verification(org, by=owner)
    services.verify_organisation(org, by=an_operator())
    org.refresh_from_db()
    return org
