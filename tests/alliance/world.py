"""The alliance platform's part of the accessibility crawl's world (tests/e2e/test_accessibility.py)."""

from accounts.models import Membership, MembershipRole, OrganisationKind, Sector
from alliance.capabilities import NAMES
from alliance.models import NeedKind, Scenario, Tier, Visibility
from alliance.services import membership as membership_services
from alliance.services import needs, profiles, solutions
from tests.accounts.factories import UserFactory, make_verified_organisation
from tests.alliance.factories import apply_for, make_alliance_member, make_capability


def build(world: dict, *, organisation) -> None:
    """This platform's objects in interesting states, made through its services (what a ``build``
    adds to the world is described beside PLATFORM_WORLDS in tests/e2e/test_accessibility.py)."""
    operator, member = world["operator"], world["member"]
    vision = make_capability("computer-vision", *NAMES["computer-vision"])
    medical = make_capability("medical-imaging", *NAMES["medical-imaging"])
    annotation = make_capability("data-annotation", *NAMES["data-annotation"])

    # The member's organisation is a council member with a published profile, solutions and needs.
    if not Membership.objects.filter(
        organisation=organisation, user=member, role__in=MembershipRole.managing()
    ).exists():
        raise AssertionError("the crawl's member must manage their organisation")
    membership = make_alliance_member(organisation, operator=operator, tier=Tier.COUNCIL)
    profiles.set_visibility(organisation, by=member, visibility={"contact_phone": Visibility.PRIVATE})
    revision = profiles.propose_profile_change(
        organisation,
        by=member,
        values={
            "description": "医学影像人工智能。Medical imaging AI.",
            "contact_email": "contact@example.cn",
        },
        capabilities=[vision, medical],
    )
    profiles.approve_revision(revision, by=operator)
    profiles.propose_profile_change(organisation, by=member, values={"description": "待审核的新描述"})
    renewal = membership_services.request_renewal(membership, by=member, note="续约一年")
    published = solutions.publish_solution(
        solutions.create_solution(
            organisation,
            by=member,
            title="肺结节筛查 Lung nodule screening",
            scenario=Scenario.SMART_MEDICAL,
            description="CT 影像中的肺结节检测。",
            outcome="三家医院试用。",
            capabilities=[vision, medical],
        ),
        by=operator,
    )
    pending_solution = solutions.create_solution(
        organisation, by=member, title="眼底筛查", scenario=Scenario.SMART_MEDICAL, description="眼底照片。"
    )
    rejected_solution = solutions.reject_solution(
        solutions.create_solution(
            organisation, by=member, title="草稿方案", scenario=Scenario.OTHER, description="描述不足。"
        ),
        by=operator,
        reason="请补充应用成效。",
    )
    talent_need = needs.post_need(
        organisation,
        by=member,
        kind=NeedKind.TALENT,
        title="影像标注员",
        description="需要医学影像标注人员。",
        scenario=Scenario.SMART_MEDICAL,
        capabilities=[annotation],
        skills="医学影像标注, DICOM",
        people=6,
    )

    # Another member with a need that matches the member's solution, and interest both ways.
    other_owner = UserFactory(name="联盟成员")
    hospital = make_verified_organisation(
        other_owner,
        name_zh="滨海人民医院",
        name_en="Binhai People's Hospital",
        kind=OrganisationKind.OTHER,
        sector=Sector.HEALTHCARE,
        uscc="",
    )
    make_alliance_member(hospital, operator=operator)
    need = needs.post_need(
        hospital,
        by=other_owner,
        kind=NeedKind.TECHNOLOGY,
        title="CT 智能辅助阅片",
        description="希望缩短阅片时间。",
        scenario=Scenario.SMART_MEDICAL,
        capabilities=[vision, medical],
    )
    needs.express_interest(need, by=member, organisation=organisation, solution=published, message="可以合作")
    # Applications waiting for the operators: one pending, one rejected, one suspended member.
    waiting = apply_for(make_verified_organisation(UserFactory(), name_zh="待审核研究院"))
    rejected = membership_services.reject_membership(
        apply_for(make_verified_organisation(UserFactory(), name_zh="被拒绝公司")),
        by=operator,
        reason="材料不全",
    )
    suspended = make_alliance_member(
        make_verified_organisation(UserFactory(), name_zh="暂停公司"), operator=operator
    )
    membership_services.suspend_membership(suspended, by=operator, reason="未缴会费")

    values = world["values"]
    values.setdefault("organisation_id", []).extend([organisation.pk, hospital.pk])
    values["memberships:pk"] = [membership.pk, waiting.pk, rejected.pk, suspended.pk]
    values["solutions:pk"] = [published.pk, pending_solution.pk, rejected_solution.pk]
    values["needs:pk"] = [need.pk, talent_need.pk]
    values["renewals:pk"] = [renewal.pk]
    world["personas"]["alliance_member"] = other_owner
