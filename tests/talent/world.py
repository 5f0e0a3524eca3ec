"""The talent platform's part of the accessibility crawl's world (tests/e2e/test_accessibility.py)."""

from datetime import timedelta

from django.utils import timezone

from talent.models import Access, Audience
from talent.services.certificates import revoke_certificate
from talent.services.enrolment import enrol
from talent.services.pools import reserve_seats
from talent.services.running import complete_cohort, mark_attendance
from tests.accounts.factories import UserFactory
from tests.talent.factories import (
    make_cohort,
    make_course,
    make_instructor,
    make_live_session,
    make_programme,
)


def build(world: dict, *, organisation) -> None:
    """This platform's objects in interesting states, made through its services (what a ``build``
    adds to the world is described beside PLATFORM_WORLDS in tests/e2e/test_accessibility.py)."""
    operator, member = world["operator"], world["member"]
    teacher = make_instructor(name="王老师", email="instructor-crawl@example.cn")
    programme = make_programme(slug="ai-engineer", title_zh="AI工程师", title_en="AI engineer")
    course = make_course(
        programme=programme,
        slug="llm-applications",
        title_zh="大模型应用开发",
        title_en="Large-model application development",
        prerequisites="Python basics",
    )
    vision = make_course(
        slug="vision-basics", title_zh="计算机视觉入门", title_en="Computer vision basics", level="beginner"
    )
    make_course(slug="draft-course", title_zh="草稿课程", title_en="Draft course", published=False)

    # A cohort with seats, one that is full with a waitlist and an offer, one by approval with a request,
    # one for students only, one with a code, and a finished one with certificates (one revoked).
    open_cohort = make_cohort(course, capacity=20, instructors=[teacher], sessions=3, name="Evenings")
    enrol(open_cohort, user=member)
    full = make_cohort(vision, capacity=1, instructors=[teacher], sessions=1, name="Weekend")
    holder = UserFactory(name="占位学员")
    enrol(full, user=holder)
    waiting_one, waiting_two = UserFactory(name="候补一"), UserFactory(name="候补二")
    enrol(full, user=waiting_one)
    enrol(full, user=waiting_two)
    enrol(full, user=UserFactory())
    approval = make_cohort(course, access=Access.APPROVAL, instructors=[teacher], name="By approval")
    enrol(approval, user=UserFactory(name="申请人"))
    make_cohort(vision, audience=Audience.STUDENTS, name="Students only")
    make_cohort(course, access=Access.CODE, name="With a code")
    draft = make_cohort(course, status="draft", name="Draft cohort")
    reserve_seats(open_cohort, organisation=organisation, seats=2, by=member)

    finished = make_cohort(
        course, instructors=[teacher], sessions=1, name="Autumn", min_attendance_percent=50
    )
    graduates = [enrol(finished, user=UserFactory(name=f"结业学员{i}")) for i in range(2)]
    mark_attendance(finished.sessions.first(), by=teacher, present={g.pk: True for g in graduates})
    today = timezone.localdate()
    type(finished).objects.filter(pk=finished.pk).update(starts_on=today - timedelta(days=10), ends_on=today)
    finished.refresh_from_db()
    complete_cohort(finished, by=teacher)
    certificates = [g.certificate for g in graduates]
    revoke_certificate(certificates[1], by=operator, reason="考试作弊")

    # The member's own finished course: their page shows a certificate.
    mine = make_cohort(
        vision, instructors=[teacher], sessions=0, name="Member's finished", min_attendance_percent=0
    )
    enrol(mine, user=member)
    type(mine).objects.filter(pk=mine.pk).update(starts_on=today - timedelta(days=5), ends_on=today)
    mine.refresh_from_db()
    complete_cohort(mine, by=teacher)

    # A session running now, so the check-in page is open.
    live = make_live_session(
        open_cohort, code="LAB123", title="Live lab", place="", online_url="https://meeting.example.cn/lab"
    )

    values = world["values"]
    values["programmes:slug"] = [programme.slug]
    values["courses:slug"] = [course.slug, vision.slug]
    values["cohorts:pk"] = [open_cohort.pk, full.pk, approval.pk, finished.pk, draft.pk]
    values["cohorts:cohort_pk"] = [open_cohort.pk]
    values["programmes:pk"] = [programme.pk]
    values["courses:pk"] = [course.pk]
    values["sessions:pk"] = [live.pk, open_cohort.sessions.exclude(pk=live.pk).first().pk]
    values["certificates:code"] = [c.code for c in certificates]
    world["personas"]["instructor"] = teacher
    world["personas"]["waitlisted_learner"] = waiting_two
