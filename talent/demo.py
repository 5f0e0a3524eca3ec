"""Demo data of the talent platform, loaded by `manage.py seed_demo` (idempotent, made through the services)."""

from datetime import datetime, time, timedelta

from django.utils import timezone

from accounts.models import Organisation
from talent.models import (
    Access,
    Audience,
    Cohort,
    CohortStatus,
    Course,
    Enrolment,
    EnrolmentStatus,
    Programme,
    Session,
)
from talent.services.catalogue import save_catalogue_object, save_cohort, set_cohort_status
from talent.services.enrolment import enrol
from talent.services.pools import reserve_seats
from talent.services.running import complete_cohort, mark_attendance, set_scores

PROGRAMMES = [
    (
        "ai-engineer",
        "人工智能工程师",
        "AI engineer",
        "从机器学习基础到模型部署的系统培养。",
        "From machine learning basics to deployment.",
    ),
    (
        "large-models",
        "大模型应用",
        "Large-model applications",
        "面向行业的大模型应用开发。",
        "Building applications on large models.",
    ),
]

COURSES = [
    # slug, programme, zh, en, category, level, description zh, description en, syllabus
    (
        "ml-foundations",
        "ai-engineer",
        "机器学习基础",
        "Machine learning foundations",
        "machine_learning",
        "beginner",
        "监督学习、模型评估与特征工程，配合国产加速卡上的实验。",
        "Supervised learning, evaluation and feature engineering, with labs on domestic accelerator cards.",
        "Linear models\nTrees and ensembles\nEvaluation\nFeature engineering",
    ),
    (
        "npu-training",
        "ai-engineer",
        "在算力中心训练模型",
        "Training models on the computing center",
        "hpc",
        "intermediate",
        "使用Slurm提交训练任务、分布式训练与性能调优。",
        "Submitting training jobs with Slurm, distributed training and performance tuning.",
        "Slurm basics\nData-parallel training\nProfiling",
    ),
    (
        "rag-apps",
        "large-models",
        "检索增强生成应用开发",
        "Retrieval-augmented generation applications",
        "large_models",
        "intermediate",
        "构建可靠的企业知识问答：向量检索、提示工程与评测。",
        "Reliable enterprise question answering: vector search, prompting and evaluation.",
        "Embeddings\nVector search\nPrompting\nEvaluation",
    ),
    (
        "vision-industry",
        None,
        "工业视觉质检",
        "Computer vision for industrial inspection",
        "computer_vision",
        "advanced",
        "缺陷检测模型的数据标注、训练与产线部署。",
        "Labelling, training and deploying defect-detection models on the production line.",
        "Data labelling\nDetection models\nEdge deployment",
    ),
]

COHORTS = [
    # key, course, name, starts in (days), days, seats, other fields
    ("ml", "ml-foundations", "2027春季班 Spring 2027", 21, 4, 30, {}),
    ("rag", "rag-apps", "周末班 Weekend", 10, 2, 2, {}),
    ("students", "npu-training", "高校专场 For students", 30, 2, 40, {"audience": Audience.STUDENTS}),
    (
        "members",
        "vision-industry",
        "企业定制班 Member employees",
        40,
        3,
        20,
        {"audience": Audience.MEMBER_EMPLOYEES, "access": Access.APPROVAL},
    ),
    (
        "partner",
        "rag-apps",
        "合作伙伴班 Partner cohort",
        15,
        1,
        25,
        {"access": Access.CODE, "enrolment_code": "RAG2027"},
    ),
]


def _at(day, hour: int):
    return timezone.make_aware(datetime.combine(day, time(hour, 0)))


def _cohort(course, *, name, starts_in, days, capacity, instructor, **fields) -> Cohort:
    existing = Cohort.objects.filter(course=course, name=name).first()
    if existing is not None:
        return existing
    today = timezone.localdate()
    now = timezone.now()
    cohort = Cohort(
        course=course,
        name=name,
        starts_on=today + timedelta(days=starts_in),
        ends_on=today + timedelta(days=starts_in + days),
        capacity=capacity,
        enrolment_opens_at=now - timedelta(days=7),
        enrolment_closes_at=now + timedelta(days=max(starts_in, 1)),
        **fields,
    )
    save_cohort(cohort, by=_operator, changed=["name"], instructors=[instructor])
    for i in range(min(days + 1, 3)):
        day = cohort.starts_on + timedelta(days=i)
        session = Session(
            cohort=cohort,
            title=f"第{i + 1}讲 Session {i + 1}",
            starts_at=_at(day, 14),
            ends_at=_at(day, 17),
            place="算力中心培训室 A / Training room A",
        )
        save_catalogue_object(session, by=_operator, changed=["title"])
    set_cohort_status(cohort, status=CohortStatus.PUBLISHED, by=_operator)
    return cohort


def _enrol(cohort, user, **kwargs):
    if not Enrolment.objects.active().filter(cohort=cohort, user=user).exists():
        return enrol(cohort, user=user, **kwargs)
    return Enrolment.objects.active().get(cohort=cohort, user=user)


_operator = None


def seed(people: dict) -> None:
    """``people`` maps the demo emails of seed_demo.PEOPLE to their users."""
    global _operator
    _operator = people["operator@demo.aicc.cn"]
    instructor = people["instructor@demo.aicc.cn"]
    student = people["student@demo.aicc.cn"]
    owner = people["owner@demo.aicc.cn"]
    researcher = people["researcher@demo.aicc.cn"]
    programmes = {}
    for slug, zh, en, dzh, den in PROGRAMMES:
        programme = Programme.objects.filter(slug=slug).first() or save_catalogue_object(
            Programme(
                slug=slug, title_zh=zh, title_en=en, description_zh=dzh, description_en=den, is_published=True
            ),
            by=_operator,
            changed=["slug"],
        )
        programmes[slug] = programme
    courses = {}
    for slug, programme, zh, en, category, level, dzh, den, syllabus in COURSES:
        course = Course.objects.filter(slug=slug).first()
        if course is None:
            course = save_catalogue_object(
                Course(
                    slug=slug,
                    programme=programmes.get(programme),
                    title_zh=zh,
                    title_en=en,
                    category=category,
                    level=level,
                    description_zh=dzh,
                    description_en=den,
                    syllabus=syllabus,
                    prerequisites="Python 基础 / Python basics",
                    is_published=True,
                ),
                by=_operator,
                changed=["slug"],
                m2m={"instructors": [instructor]},
            )
        courses[slug] = course

    # Open, full (with a waitlist), students-only, approval and code cohorts.
    cohorts = {
        key: _cohort(
            courses[course],
            name=name,
            starts_in=starts_in,
            days=days,
            capacity=capacity,
            instructor=instructor,
            **fields,
        )
        for key, course, name, starts_in, days, capacity, fields in COHORTS
    }
    _enrol(cohorts["ml"], student)
    _enrol(cohorts["rag"], researcher)
    _enrol(cohorts["rag"], owner)
    _enrol(cohorts["rag"], student)  # full: the student waits (number 1)
    coded = cohorts["partner"]
    enterprise = Organisation.objects.filter(name_zh="星河智能科技有限公司").first()
    if (
        enterprise is not None
        and enterprise.is_verified
        and not enterprise.seat_pools.filter(cohort=coded).exists()
    ):
        reserve_seats(coded, organisation=enterprise, seats=3, by=owner)

    # A finished cohort: the student completed it and holds a certificate.
    done = Cohort.objects.filter(course=courses["ml-foundations"], name="2026秋季班 Autumn 2026").first()
    if done is None:
        done = _cohort(
            courses["ml-foundations"],
            name="2026秋季班 Autumn 2026",
            starts_in=1,
            days=1,
            capacity=30,
            instructor=instructor,
        )
        enrolment = _enrol(done, student)
        for session in done.sessions.all():
            mark_attendance(session, by=instructor, present={enrolment.pk: True})
        set_scores(done, by=instructor, scores={enrolment.pk: "88"})
        # Demo only: move the cohort into the past so it can be completed now.
        today = timezone.localdate()
        Cohort.objects.filter(pk=done.pk).update(
            starts_on=today - timedelta(days=30), ends_on=today - timedelta(days=29)
        )
        done.refresh_from_db()
        complete_cohort(done, by=instructor)
    assert Enrolment.objects.filter(cohort=done, status=EnrolmentStatus.COMPLETED).exists()
