"""Objects of the incubation platform, made through the services where they have a workflow."""

from datetime import timedelta
from decimal import Decimal

from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone

from accounts import services as account_services
from accounts.models import Membership, MembershipRole, User
from projects.demo import SAMPLE_PDF
from projects.models import Application, Call, Criterion, Programme, ReviewAssignment
from projects.services import applications, review, screening
from tests.accounts.factories import UserFactory, make_operator, make_verified_organisation

FIELDS = {
    "title": "智慧医疗影像辅助诊断",
    "summary": "A model that flags lung nodules on CT scans.",
    "scenario": "Radiology departments of city hospitals.",
    "team": "Five engineers and two radiologists.",
    "technical_approach": "3D CNN with active learning.",
    "data": "Anonymised CT scans from partner hospitals.",
    "expected_outcomes": "A certified assistant deployed in two hospitals.",
    "compute_card_hours": 2000,
}


def pdf(name="plan.pdf", content=SAMPLE_PDF):
    return SimpleUploadedFile(name, content, content_type="application/pdf")


def make_programme(**fields) -> Programme:
    values = {
        "slug": f"prog{Programme.objects.count() + 1}",
        "theme": "smart_medical",
        "title_zh": "智慧医疗孵化计划",
        "title_en": "Smart medical care incubation",
        "description_zh": "面向智慧医疗的人工智能应用项目孵化。",
        "description_en": "Incubation of AI applications for medical care.",
        "voucher_amount": Decimal("50000"),
        "offers_mentoring": True,
        "offers_demo_day": True,
    }
    values.update(fields)
    programme = Programme.objects.create(**values)
    Criterion.objects.create(
        programme=programme, name_zh="创新性", name_en="Innovation", weight=Decimal("3"), position=1
    )
    Criterion.objects.create(
        programme=programme, name_zh="可行性", name_en="Feasibility", weight=Decimal("2"), position=2
    )
    Criterion.objects.create(
        programme=programme, name_zh="社会价值", name_en="Impact", weight=Decimal("1"), position=3
    )
    return programme


def make_call(programme: Programme | None = None, *, open_=True, **fields) -> Call:
    programme = programme or make_programme()
    now = timezone.now()
    values = {
        "programme": programme,
        "title_zh": "2026 年第一批",
        "title_en": "2026 first call",
        "opens_at": now - timedelta(days=10) if open_ else now - timedelta(days=60),
        "closes_at": now + timedelta(days=20) if open_ else now - timedelta(days=30),
        "review_deadline": timezone.localdate() + timedelta(days=40),
    }
    values.update(fields)
    return Call.objects.create(**values)


def make_reviewer(**kwargs) -> User:
    user = UserFactory(**kwargs)
    return account_services.set_site_roles(user, by=None, roles={"reviewer"})


def make_reviewer_in(organisation, **kwargs) -> User:
    """A reviewer who is a member of ``organisation`` (so may not review its applications)."""
    reviewer = make_reviewer(**kwargs)
    Membership.objects.create(user=reviewer, organisation=organisation, role=MembershipRole.MEMBER)
    return reviewer


def make_mentor(**kwargs) -> User:
    user = UserFactory(**kwargs)
    return account_services.set_site_roles(user, by=None, roles={"mentor"})


def operator() -> User:
    return User.objects.filter(groups__name="operator").first() or make_operator()


def make_application(
    owner: User | None = None, *, call: Call | None = None, organisation=None, submit=True, **fields
) -> Application:
    owner = owner or UserFactory()
    organisation = organisation or make_verified_organisation(owner)
    call = call or make_call()
    values = {**FIELDS, **fields}
    application = applications.create_application(call, by=owner, organisation=organisation, **values)
    if submit:
        application = applications.submit_application(application, by=owner)
    return application


def in_review(owner=None, *, reviewer=None, **kwargs) -> tuple[Application, ReviewAssignment]:
    """A submitted application, screened and with one reviewer assigned (so in review)."""
    application = make_application(owner, **kwargs)
    op = operator()
    screening.start_screening(application, by=op)
    reviewer = reviewer or make_reviewer()
    assignment = review.assign_reviewer(application, reviewer, by=op)
    application.refresh_from_db()
    return application, assignment


def reviewed(
    owner=None, *, scores=(4, 3, 5), recommendation="yes", **kwargs
) -> tuple[Application, ReviewAssignment]:
    application, assignment = in_review(owner, **kwargs)
    criteria = list(application.call.programme.criteria.all())
    review.save_review(
        assignment,
        by=assignment.reviewer,
        scores={str(c.pk): s for c, s in zip(criteria, scores, strict=False)},
        recommendation=recommendation,
        comments="Solid team.",
        submit=True,
    )
    assignment.refresh_from_db()
    return application, assignment


def accepted(owner=None, **kwargs):
    application, assignment = reviewed(owner, **kwargs)
    op = operator()
    screening.close_review(application, by=op)
    screening.decide_application(application, by=op, decision="accepted")
    application.refresh_from_db()
    return application
