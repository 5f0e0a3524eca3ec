"""The projects platform's part of the accessibility crawl's world (tests/e2e/test_accessibility.py)."""

from datetime import timedelta

from django.utils import timezone

from accounts.models import Membership, MembershipRole
from projects import services
from projects.models import ProjectStatus
from tests.factories import UserFactory, make_verified_organisation
from tests.projects.factories import make_application, make_call, make_programme, make_reviewer, pdf


def build(world: dict, *, organisation) -> None:
    """Make objects in interesting states through the services, and add to the world:

    - ``world["values"][name]``: ids (or other values) for the URL placeholders of this platform's pages, keyed
      by placeholder name or by the path segment before an ``<int:pk>`` (see tests/e2e/crawl.py);
    - ``world["personas"][name]``: more users to crawl as (signed in), e.g. a reviewer or an instructor.

    ``world`` also holds the crawl's "operator", "supervisor" and "member" users; ``organisation`` is the
    member's verified organisation.
    """
    operator, member = world["operator"], world["member"]
    reviewer = make_reviewer(name="Zhou Min", email="reviewer@example.cn")
    programme = make_programme(slug="crawl-medical")
    call = make_call(programme, review_deadline=timezone.localdate() + timedelta(days=2))
    closed = make_call(
        make_programme(slug="crawl-urban", theme="urban_brain"), open_=False, title_en="2025 call"
    )

    draft = make_application(member, call=call, organisation=organisation, submit=False, title="校园安防识别")
    services.add_attachment(draft, by=member, upload=pdf("计划书.pdf"))
    more_info = make_application(member, call=call, organisation=organisation, title="城市内涝预警")
    services.start_screening(more_info, by=operator)
    services.request_information(more_info, by=operator, message="请补充数据来源。")

    reviewing = make_application(member, call=call, organisation=organisation, title="病理切片分析")
    services.start_screening(reviewing, by=operator)
    open_review = services.assign_reviewer(reviewing, reviewer, by=operator)
    criteria = list(programme.criteria.all())
    services.save_review(open_review, by=reviewer, scores={str(criteria[0].pk): 4}, comments="初稿")

    # Another organisation's application, accepted into an active project that the reviewer mentors.
    other_owner = UserFactory(name="Qian Hui", email="qian.hui@example.cn")
    other = make_verified_organisation(other_owner, name_zh="滨海医学影像有限公司")
    accepted = make_application(other_owner, call=call, organisation=other, title="眼底影像辅助诊断")
    services.start_screening(accepted, by=operator)
    done_review = services.assign_reviewer(accepted, reviewer, by=operator)
    services.save_review(
        done_review,
        by=reviewer,
        scores={str(c.pk): 4 for c in criteria},
        recommendation="yes",
        comments="很好",
        submit=True,
    )
    services.close_review(accepted, by=operator)
    services.decide_application(accepted, by=operator, decision="accepted")
    project = accepted.project
    services.add_mentor(project, reviewer, by=operator)
    services.set_project_status(project, ProjectStatus.ACTIVE, by=operator)
    milestone = services.add_milestone(
        project,
        by=reviewer,
        title="数据集",
        due_date=timezone.localdate() + timedelta(days=10),
        deliverable="报告",
    )
    services.submit_milestone(milestone, by=other_owner, evidence=pdf("数据集.pdf"))
    services.add_milestone(
        project,
        by=reviewer,
        title="试点",
        due_date=timezone.localdate() - timedelta(days=1),
        deliverable="试点报告",
    )
    services.submit_progress_report(
        project, by=other_owner, period_end=timezone.localdate(), progress="按计划推进"
    )

    # The member's own accepted project (the team's view) and a graduated one in the showcase.
    own = make_application(member, call=call, organisation=organisation, title="港口物流视觉")
    services.start_screening(own, by=operator)
    own_review = services.assign_reviewer(own, reviewer, by=operator)
    services.save_review(
        own_review, by=reviewer, scores={str(c.pk): 3 for c in criteria}, recommendation="maybe", submit=True
    )
    services.close_review(own, by=operator)
    services.decide_application(own, by=operator, decision="accepted")
    services.set_project_status(own.project, ProjectStatus.ACTIVE, by=operator)
    services.set_showcase(own.project, by=member, consent=True, summary="港口集装箱识别")
    services.set_project_status(own.project, ProjectStatus.GRADUATED, by=operator)
    rejected = make_application(member, call=call, organisation=organisation, title="交通流预测")
    services.start_screening(rejected, by=operator)
    services.start_review(rejected, by=operator)
    services.close_review(rejected, by=operator)
    services.decide_application(rejected, by=operator, decision="rejected")
    assert Membership.objects.filter(
        organisation=organisation, user=member, role=MembershipRole.OWNER
    ).exists()

    values = world["values"]
    # Few values per placeholder: every value multiplies the crawl's start URLs (it stops at a cap per persona).
    values["call"] = [call.pk, closed.pk]
    values["call_pk"] = [call.pk]
    values["application"] = [draft.pk, own.pk, accepted.pk, more_info.pk]
    values["review"] = [open_review.pk, done_review.pk]
    values["incubated"] = [project.pk, own.project.pk]
    values["milestone"] = [milestone.pk]
    world["personas"]["reviewer"] = reviewer
