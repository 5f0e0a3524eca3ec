"""Demo data of the alliance platform, loaded by `manage.py seed_demo` (idempotent, made through the services)."""

from django.db import transaction

from accounts import services as accounts_services
from accounts.models import Organisation, OrganisationKind, Sector, User
from alliance.capabilities import CAPABILITIES, DEMO_COUNT
from alliance.models import AllianceMembership, CapabilityTag, NeedKind, Scenario, Solution, Tier, Visibility
from alliance.services import membership as membership_services
from alliance.services import needs, profiles, solutions

# Extra members so the directory's facets and statistics have something to count.
EXTRA_OWNER = "alliance-members@demo.aicc.cn"
EXTRA_MEMBERS = [
    (
        dict(
            name_zh="滨海智慧交通有限公司",
            name_en="Binhai Smart Transport Co., Ltd.",
            kind=OrganisationKind.ENTERPRISE,
            uscc="91350100MA2Y8K3X1P",
            sector=Sector.TRANSPORT,
            city="滨海",
        ),
        Tier.MEMBER,
        ["computer-vision", "edge-ai"],
        "城市交通信号优化与拥堵预测。Traffic signal optimisation and congestion forecasting.",
    ),
    (
        dict(
            name_zh="临江网络安全技术有限公司",
            name_en="Linjiang Cybersecurity Technology Co., Ltd.",
            kind=OrganisationKind.ENTERPRISE,
            uscc="91350100MA2Y8K4Q91",
            sector=Sector.INFORMATION_TECHNOLOGY,
            city="临江",
        ),
        Tier.OBSERVER,
        ["cybersecurity", "large-models"],
        "面向政务云的威胁检测。Threat detection for the government cloud.",
    ),
]


def _capabilities():
    tags = {}
    for slug, zh, en in CAPABILITIES[:DEMO_COUNT]:
        tags[slug], _created = CapabilityTag.objects.get_or_create(
            slug=slug, defaults={"name_zh": zh, "name_en": en}
        )
    return tags


def _member(organisation, owner, operator, tier, statement):
    membership = AllianceMembership.objects.filter(organisation=organisation).order_by("-id").first()
    if membership is None:
        membership = membership_services.apply_for_membership(
            organisation, by=owner, tier=tier, statement=statement
        )
        membership = membership_services.approve_membership(membership, by=operator)
    return membership


def _profile(organisation, owner, operator, *, tags, description, **values):
    profile = profiles.get_profile(organisation)
    if profile.description:
        return
    profiles.set_visibility(
        organisation,
        by=owner,
        visibility={"contact_email": Visibility.MEMBERS, "contact_phone": Visibility.PRIVATE},
    )
    revision = profiles.propose_profile_change(
        organisation, by=owner, values={"description": description, **values}, capabilities=tags
    )
    if revision is not None:
        profiles.approve_revision(revision, by=operator)


def _extra_owner() -> User:
    user = User.objects.filter(email=EXTRA_OWNER).first()
    if user is None:
        user = User.objects.create_user(EXTRA_OWNER, password=None, name="联盟演示成员")
    return user


def _verified(owner, operator, fields) -> Organisation:
    organisation = Organisation.objects.filter(name_zh=fields["name_zh"]).first()
    if organisation is None:
        organisation = accounts_services.create_organisation(by=owner, **fields)
    if organisation.verification_status == "unverified":
        accounts_services.submit_organisation_for_verification(organisation, by=owner)
        organisation.refresh_from_db()
    if organisation.verification_status == "pending":
        accounts_services.verify_organisation(organisation, by=operator)
        organisation.refresh_from_db()
    return organisation


@transaction.atomic
def seed(people: dict) -> None:
    """``people`` maps the demo emails of seed_demo.PEOPLE to their users."""
    operator = people["operator@demo.aicc.cn"]
    owner = people["owner@demo.aicc.cn"]
    researcher = people["researcher@demo.aicc.cn"]
    tags = _capabilities()
    xinghe = Organisation.objects.get(name_zh="星河智能科技有限公司")
    university = Organisation.objects.get(name_zh="滨海大学")

    _member(xinghe, owner, operator, Tier.COUNCIL, "星河智能专注医学影像 AI，愿与联盟成员共建智慧医疗。")
    _profile(
        xinghe,
        owner,
        operator,
        tags=[tags["computer-vision"], tags["medical-imaging"], tags["large-models"]],
        description="星河智能科技专注医学影像人工智能：肺结节筛查、眼底病变识别。"
        " Medical imaging AI: lung nodule screening and retinal disease detection.",
        website="https://xinghe.example.cn",
        contact_name="林经理",
        contact_email="alliance@xinghe.example.cn",
        contact_phone="0591-0000 0000",
    )
    _member(university, researcher, operator, Tier.MEMBER, "滨海大学人工智能学院愿开放科研与人才培养资源。")
    _profile(
        university,
        researcher,
        operator,
        tags=[tags["nlp"], tags["knowledge-graph"], tags["hpc"]],
        description="滨海大学人工智能学院：自然语言处理、知识图谱与高性能计算。"
        " School of AI: NLP, knowledge graphs and HPC.",
        contact_email="ai-school@binhai-university.example.cn",
    )
    extra_owner = _extra_owner()
    extra = []
    for fields, tier, slugs, description in EXTRA_MEMBERS:
        organisation = _verified(extra_owner, operator, fields)
        _member(organisation, extra_owner, operator, tier, description)
        _profile(organisation, extra_owner, operator, tags=[tags[s] for s in slugs], description=description)
        extra.append(organisation)

    if Solution.objects.filter(organisation=xinghe).exists():
        return
    solutions.publish_solution(
        solutions.create_solution(
            xinghe,
            by=owner,
            title="肺结节 CT 智能筛查 Lung nodule CT screening",
            scenario=Scenario.SMART_MEDICAL,
            description="在胸部 CT 中自动发现并测量肺结节，辅助放射科医生阅片。",
            outcome="已在三家医院试用，阅片时间缩短 40%。",
            capabilities=[tags["computer-vision"], tags["medical-imaging"]],
        ),
        by=operator,
    )
    solutions.create_solution(
        xinghe,
        by=owner,
        title="眼底病变识别 Retinal disease detection",
        scenario=Scenario.SMART_MEDICAL,
        description="从眼底照片识别糖尿病视网膜病变。",
        capabilities=[tags["computer-vision"], tags["medical-imaging"]],
    )  # waits for moderation
    solutions.publish_solution(
        solutions.create_solution(
            extra[0],
            by=extra_owner,
            title="城市大脑交通信号优化 Urban brain signal timing",
            scenario=Scenario.URBAN_BRAIN,
            description="用路口视频与边缘计算实时优化信号配时。",
            outcome="试点区域高峰通行时间下降 15%。",
            capabilities=[tags["computer-vision"], tags["edge-ai"]],
        ),
        by=operator,
    )
    need = needs.post_need(
        university,
        by=researcher,
        kind=NeedKind.TECHNOLOGY,
        title="医学影像教学数据平台 Medical imaging teaching platform",
        description="学院需要带标注的医学影像平台用于教学与科研。",
        scenario=Scenario.SMART_MEDICAL,
        capabilities=[tags["medical-imaging"], tags["data-annotation"]],
    )
    needs.post_need(
        xinghe,
        by=owner,
        kind=NeedKind.TALENT,
        title="医学影像标注员 Medical image annotators",
        description="需要经过培训的医学影像标注人员。",
        scenario=Scenario.SMART_MEDICAL,
        capabilities=[tags["data-annotation"]],
        skills="医学影像标注, DICOM",
        people=8,
    )
    needs.express_interest(
        need, by=owner, organisation=xinghe, message="我们的肺结节筛查系统可以提供标注工具与数据。"
    )
    # A pending profile change for the operators' queue.
    profiles.propose_profile_change(
        extra[1], by=extra_owner, values={"description": "政务云威胁检测与大模型安全评测。"}
    )
