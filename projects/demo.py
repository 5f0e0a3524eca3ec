"""Demo data of the projects platform, loaded by `manage.py seed_demo` (idempotent, made through the services)."""

from datetime import timedelta
from decimal import Decimal

from django.core.files.base import ContentFile
from django.utils import timezone

from accounts.models import Organisation
from projects import kept
from projects.models import REVIEW_CRITERIA, Application, Call, Criterion, Programme, Project, ProjectStatus
from projects.services import applications, incubation, review, screening

# A valid one-page PDF (the uploads check its first bytes): the demo's attachments and the tests' uploads.
SAMPLE_PDF = b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n"

PROGRAMMES = [
    (
        "smart-medical",
        "smart_medical",
        "智慧医疗应用孵化计划",
        "Smart medical care incubation",
        "面向医学影像、辅助诊断和健康管理的人工智能应用项目，提供算力券、专家导师和路演机会。",
        "AI applications for medical imaging, diagnosis support and health management: compute vouchers, "
        "expert mentors and a demo day.",
        Decimal("100000"),
        True,
    ),
    (
        "urban-brain",
        "urban_brain",
        "城市大脑创新计划",
        "Urban brain innovation programme",
        "面向城市治理、交通调度和公共服务的人工智能应用。",
        "AI applications for city governance, traffic control and public services.",
        Decimal("80000"),
        False,
    ),
    (
        "network-security",
        "network_security",
        "网络安全智能化计划",
        "AI for network security",
        "利用人工智能进行威胁检测与应急响应。",
        "AI for threat detection and incident response.",
        Decimal("50000"),
        False,
    ),
    (
        "smart-transport",
        "smart_transport",
        "智慧交通孵化计划",
        "Smart transport incubation",
        "车路协同、客流预测与物流优化。",
        "Vehicle–road coordination, passenger flow forecasting and logistics optimisation.",
        Decimal("60000"),
        True,
    ),
]


def _content(title: str, **extra) -> dict:
    values = {
        "title": title,
        "summary": f"{title}：以人工智能模型解决行业痛点。",
        "scenario": "三甲医院放射科与社区卫生服务中心。",
        "team": "算法工程师五名，临床专家两名，产品经理一名。",
        "technical_approach": "基于三维卷积网络的病灶检测，结合主动学习降低标注成本。",
        "data": "合作医院脱敏影像数据，已通过伦理审查。",
        "expected_outcomes": "在两家医院完成试点部署，形成可推广的产品。",
        "compute_card_hours": 3000,
    }
    values.update(extra)
    return values


def _programmes() -> dict[str, Programme]:
    result = {}
    for slug, theme, title_zh, title_en, desc_zh, desc_en, voucher, demo_day in PROGRAMMES:
        programme, created = Programme.objects.get_or_create(
            slug=slug,
            defaults={
                "theme": theme,
                "title_zh": title_zh,
                "title_en": title_en,
                "description_zh": desc_zh,
                "description_en": desc_en,
                "voucher_amount": voucher,
                "offers_mentoring": True,
                "offers_demo_day": demo_day,
            },
        )
        if created:
            for position, (name_zh, name_en, weight, guidance) in enumerate(REVIEW_CRITERIA, start=1):
                Criterion.objects.create(
                    programme=programme,
                    name_zh=name_zh,
                    name_en=name_en,
                    weight=weight,
                    guidance=guidance,
                    position=position,
                )
        result[slug] = programme
    return result


def _call(programme: Programme, title_zh: str, title_en: str) -> Call:
    now = timezone.now()
    call, _ = Call.objects.get_or_create(
        programme=programme,
        title_zh=title_zh,
        defaults={
            "title_en": title_en,
            "opens_at": now - timedelta(days=15),
            "closes_at": now + timedelta(days=30),
            "review_deadline": timezone.localdate() + timedelta(days=45),
        },
    )
    return call


def _apply(call, owner, organisation, title, *, submit=True, **extra) -> tuple[Application, bool]:
    existing = Application.objects.filter(call=call, title=title).first()
    if existing is not None:
        return existing, False
    application = applications.create_application(
        call, by=owner, organisation=organisation, **_content(title, **extra)
    )
    applications.add_attachment(application, by=owner, upload=ContentFile(SAMPLE_PDF, name="商业计划书.pdf"))
    if submit:
        application = applications.submit_application(application, by=owner)
    return application, True


def _review(application, reviewer, operator, *, scores, recommendation, submit=True):
    screening.start_screening(application, by=operator)
    assignment = review.assign_reviewer(application, reviewer, by=operator)
    criteria = list(application.call.programme.criteria.all())
    review.save_review(
        assignment,
        by=reviewer,
        scores={str(c.pk): s for c, s in zip(criteria, scores, strict=False)},
        recommendation=recommendation,
        comments="团队扎实，数据来源清楚；建议细化试点计划。",
        submit=submit,
    )
    return assignment


def _accept(application, reviewer, operator, *, scores) -> Project:
    """Review, accept and start the project, mentored by the reviewer."""
    _review(application, reviewer, operator, scores=scores, recommendation="yes")
    screening.close_review(application, by=operator)
    screening.decide_application(application, by=operator, decision="accepted")
    project = application.project
    incubation.add_mentor(project, reviewer, by=operator)
    incubation.set_project_status(project, ProjectStatus.ACTIVE, by=operator)
    return project


def seed(people: dict) -> None:
    """``people`` maps the demo emails of seed_demo.PEOPLE to their users."""
    operator = people["operator@demo.aicc.cn"]
    owner = people["owner@demo.aicc.cn"]
    researcher = people["researcher@demo.aicc.cn"]
    student = people["student@demo.aicc.cn"]
    reviewer = people["reviewer@demo.aicc.cn"]
    xinghe = Organisation.objects.get(name_zh="星河智能科技有限公司")
    university = Organisation.objects.get(name_zh="滨海大学")

    programmes = _programmes()
    medical = _call(
        programmes["smart-medical"], "2026 年第二批智慧医疗项目征集", "2026 second smart medical call"
    )
    urban = _call(programmes["urban-brain"], "2026 年城市大脑项目征集", "2026 urban brain call")
    _call(programmes["network-security"], "2026 年网络安全项目征集", "2026 network security call")
    _call(programmes["smart-transport"], "2026 年智慧交通项目征集", "2026 smart transport call")
    earlier = _call(programmes["smart-medical"], "2025 年智慧医疗项目征集", "2025 smart medical call")

    # A project of an earlier call that graduated and agreed to be shown in the showcase.
    application, created = _apply(earlier, owner, xinghe, "肺结节智能筛查系统")
    if created:
        project = _accept(application, reviewer, operator, scores=(5, 4, 5, 4))
        incubation.set_showcase(project, by=owner, consent=True, summary="肺结节筛查系统已在三家医院上线。")
        incubation.set_project_status(project, ProjectStatus.GRADUATED, by=operator)
    now = timezone.now()
    if earlier.closes_at > now:
        Call.objects.filter(pk=earlier.pk).update(
            opens_at=now - timedelta(days=400), closes_at=now - timedelta(days=330)
        )
        kept.APPLICATIONS.forget()  # the operators' list orders its calls by opening; an update sends no signal

    # Accepted this year: an active project with a mentor, milestones and a progress report.
    application, created = _apply(medical, owner, xinghe, "眼底影像糖网病辅助诊断")
    if created:
        project = _accept(application, reviewer, operator, scores=(4, 4, 3, 5))
        today = timezone.localdate()
        first, _pilot = [
            incubation.add_milestone(
                project,
                by=reviewer,
                title=title,
                due_date=today + timedelta(days=days),
                deliverable=deliverable,
            )
            for title, days, deliverable in (
                ("数据集构建", 20, "一万张标注影像"),
                ("医院试点", 90, "试点报告"),
            )
        ]
        incubation.submit_milestone(
            first, by=owner, evidence=ContentFile(SAMPLE_PDF, name="数据集报告.pdf"), note="见附件"
        )
        incubation.submit_progress_report(
            project, by=owner, period_end=today, progress="完成数据清洗与基线模型。", risks="标注人力不足。"
        )

    # In review, with the reviewer's draft.
    application, created = _apply(medical, researcher, university, "病理切片多模态分析")
    if created:
        _review(application, reviewer, operator, scores=(4, 3), recommendation="", submit=False)

    # Sent back for more information.
    application, created = _apply(urban, researcher, university, "城市内涝智能预警")
    if created:
        screening.start_screening(application, by=operator)
        screening.request_information(application, by=operator, message="请补充数据来源与隐私保护方案。")

    # Submitted, waiting for screening; and a student's draft.
    _apply(urban, owner, xinghe, "路口信号灯自适应控制")
    _apply(urban, student, university, "校园安防异常行为识别", submit=False)
