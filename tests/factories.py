import random

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
