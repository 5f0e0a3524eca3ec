"""The projects platform's part of the accessibility crawl's world (tests/e2e/test_accessibility.py)."""

from datetime import timedelta

from django.utils import timezone

from accounts.models import Membership, MembershipRole
from projects.models import ProjectStatus
from projects.services import applications, incubation, review, screening
from tests.accounts.factories import UserFactory, make_verified_organisation
from tests.projects.factories import (
    accepted,
    in_review,
    make_application,
    make_call,
    make_programme,
    make_reviewer,
    pdf,
)


def build(world: dict, *, organisation) -> None:
    """This platform's objects in interesting states, made through its services (what a ``build``
    adds to the world is described beside PLATFORM_WORLDS in tests/e2e/test_accessibility.py)."""
    operator, member = world["operator"], world["member"]
    reviewer = make_reviewer(name="Zhou Min", email="reviewer@example.cn")
    programme = make_programme(slug="crawl-medical")
    call = make_call(programme, review_deadline=timezone.localdate() + timedelta(days=2))
    closed = make_call(
        make_programme(slug="crawl-urban", theme="urban_brain"), open_=False, title_en="2025 call"
    )

    ours = {"call": call, "organisation": organisation}
    draft = make_application(member, **ours, submit=False, title="校园安防识别")
    applications.add_attachment(draft, by=member, upload=pdf("计划书.pdf"))
    more_info = make_application(member, **ours, title="城市内涝预警")
    screening.start_screening(more_info, by=operator)
    screening.request_information(more_info, by=operator, message="请补充数据来源。")

    _reviewing, open_review = in_review(member, reviewer=reviewer, **ours, title="病理切片分析")
    criteria = list(programme.criteria.all())
    review.save_review(open_review, by=reviewer, scores={str(criteria[0].pk): 4}, comments="初稿")

    # Another organisation's application, accepted into an active project that the reviewer mentors.
    other_owner = UserFactory(name="Qian Hui", email="qian.hui@example.cn")
    other = make_verified_organisation(other_owner, name_zh="滨海医学影像有限公司")
    theirs = accepted(
        other_owner,
        reviewer=reviewer,
        call=call,
        organisation=other,
        title="眼底影像辅助诊断",
        scores=(4, 4, 4),
    )
    done_review = theirs.assignments.get(reviewer=reviewer)
    project = theirs.project
    incubation.add_mentor(project, reviewer, by=operator)
    incubation.set_project_status(project, ProjectStatus.ACTIVE, by=operator)
    milestone = incubation.add_milestone(
        project,
        by=reviewer,
        title="数据集",
        due_date=timezone.localdate() + timedelta(days=10),
        deliverable="报告",
    )
    incubation.submit_milestone(milestone, by=other_owner, evidence=pdf("数据集.pdf"))
    incubation.add_milestone(
        project,
        by=reviewer,
        title="试点",
        due_date=timezone.localdate() - timedelta(days=1),
        deliverable="试点报告",
    )
    incubation.submit_progress_report(
        project, by=other_owner, period_end=timezone.localdate(), progress="按计划推进"
    )

    # The member's own accepted project (the team's view) and a graduated one in the showcase.
    own = accepted(
        member, reviewer=reviewer, **ours, title="港口物流视觉", scores=(3, 3, 3), recommendation="maybe"
    )
    incubation.set_project_status(own.project, ProjectStatus.ACTIVE, by=operator)
    incubation.set_showcase(own.project, by=member, consent=True, summary="港口集装箱识别")
    incubation.set_project_status(own.project, ProjectStatus.GRADUATED, by=operator)
    rejected = make_application(member, **ours, title="交通流预测")
    screening.start_screening(rejected, by=operator)
    screening.start_review(rejected, by=operator)
    screening.close_review(rejected, by=operator)
    screening.decide_application(rejected, by=operator, decision="rejected")
    assert Membership.objects.filter(
        organisation=organisation, user=member, role=MembershipRole.OWNER
    ).exists()

    values = world["values"]
    # Few values per placeholder: every value multiplies the crawl's start URLs (it stops at a cap per persona).
    values["call"] = [call.pk, closed.pk]
    values["call_pk"] = [call.pk]
    values["application"] = [draft.pk, own.pk, theirs.pk, more_info.pk]
    values["review"] = [open_review.pk, done_review.pk]
    values["incubated"] = [project.pk, own.project.pk]
    values["milestone"] = [milestone.pk]
    world["personas"]["reviewer"] = reviewer
