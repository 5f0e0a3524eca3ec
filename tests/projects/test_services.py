"""The incubation workflow through its services: transitions and refusals, review, COI, decisions, projects."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone

from accounts.models import Membership, MembershipRole
from core import audit
from core.exceptions import Conflict, DomainError, InvalidTransition, NotAllowed
from core.models import AuditEvent
from core.signals import project_accepted
from projects.models import (
    APPLICANT,
    APPLICANT_STEPS,
    MOVES,
    OPERATOR,
    Application,
    ApplicationRevision,
    ApplicationStatus,
    AssignmentStatus,
    BenefitKind,
    MilestoneStatus,
    Project,
    ProjectStatus,
    ReviewAssignment,
    weighted_score,
)
from projects.services import applications, incubation, ranking, review, screening
from projects.tasks import send_review_reminders_task
from tests.accounts.factories import (
    UserFactory,
    make_organisation,
    make_supervisor,
    make_verified_organisation,
)
from tests.projects.factories import (
    accepted,
    in_review,
    make_application,
    make_call,
    make_mentor,
    make_programme,
    make_reviewer,
    make_reviewer_in,
    operator,
    pdf,
    reviewed,
)

pytestmark = pytest.mark.django_db


def actions(application):
    return list(
        AuditEvent.objects.filter(target_id=str(application.pk), target_type__model="application")
        .order_by("id")
        .values_list("action", flat=True)
    )


# --- drafting and submitting ----------------------------------------------------------------------


def test_draft_submit_keeps_revision_and_audits():
    owner = UserFactory()
    application = make_application(owner, submit=False)
    assert application.status == ApplicationStatus.DRAFT
    applications.update_application(application, by=owner, summary="Better summary")
    application = applications.submit_application(application, by=owner)
    assert application.status == ApplicationStatus.SUBMITTED and application.submitted_at
    revision = ApplicationRevision.objects.get(application=application)
    assert revision.number == 1 and revision.content["summary"] == "Better summary"
    assert actions(application) == ["application.create", "application.submit"]


def test_only_verified_organisations_apply():
    owner = UserFactory()
    organisation = make_organisation(owner)
    with pytest.raises(NotAllowed):
        make_application(owner, organisation=organisation)
    assert not Application.objects.exists()


def test_only_members_apply_for_an_organisation():
    owner, stranger = UserFactory(), UserFactory()
    organisation = make_verified_organisation(owner)
    with pytest.raises(NotAllowed):
        make_application(stranger, organisation=organisation)


def test_eligibility_by_organisation_kind():
    owner = UserFactory()
    call = make_call(make_programme(eligible_kinds=["university"]))
    with pytest.raises(NotAllowed):
        make_application(owner, call=call)


def test_closed_call_refuses_applications():
    with pytest.raises(Conflict):
        make_application(call=make_call(open_=False))


def test_submission_needs_the_standard_fields():
    owner = UserFactory()
    application = make_application(owner, submit=False, scenario="", compute_card_hours=0)
    with pytest.raises(ValidationError) as error:
        applications.submit_application(application, by=owner)
    assert "scenario" in str(error.value).lower() or "场景" in str(error.value)
    application.refresh_from_db()
    assert application.status == ApplicationStatus.DRAFT


def test_card_hours_bounded_by_call():
    owner = UserFactory()
    call = make_call(max_card_hours=100)
    with pytest.raises(ValidationError):
        make_application(owner, call=call, compute_card_hours=101)
    with pytest.raises(ValidationError):
        make_application(owner, call=call, compute_card_hours="many")


def test_cannot_edit_after_submission():
    owner = UserFactory()
    application = make_application(owner)
    with pytest.raises(Conflict):
        applications.update_application(application, by=owner, title="Changed")
    with pytest.raises(Conflict):
        applications.add_attachment(application, by=owner, upload=pdf())


def test_more_information_then_resubmission_keeps_earlier_revision(
    mailoutbox, django_capture_on_commit_callbacks
):
    owner = UserFactory()
    application = make_application(owner, summary="First summary")
    op = operator()
    screening.start_screening(application, by=op)
    with django_capture_on_commit_callbacks(execute=True):
        screening.request_information(application, by=op, message="Add the data protection plan.")
    application.refresh_from_db()
    assert application.status == ApplicationStatus.MORE_INFO
    assert any("data protection plan" in m.body for m in mailoutbox)
    applications.update_application(application, by=owner, summary="Second summary")
    applications.submit_application(application, by=owner)
    application.refresh_from_db()
    assert application.status == ApplicationStatus.SCREENING
    revisions = {r.number: r.content["summary"] for r in application.revisions.all()}
    assert revisions == {1: "First summary", 2: "Second summary"}
    assert "application.resubmit" in actions(application)


def test_request_information_needs_a_message():
    application = make_application()
    op = operator()
    screening.start_screening(application, by=op)
    with pytest.raises(InvalidTransition):
        screening.request_information(application, by=op, message="  ")
    application.refresh_from_db()
    assert application.status == ApplicationStatus.SCREENING


@pytest.mark.parametrize(
    "status",
    [
        ApplicationStatus.DRAFT,
        ApplicationStatus.SUBMITTED,
        ApplicationStatus.SCREENING,
        ApplicationStatus.MORE_INFO,
        ApplicationStatus.IN_REVIEW,
        ApplicationStatus.REVIEW_CLOSED,
    ],
)
def test_withdraw_from_any_open_state(status):
    owner = UserFactory()
    application = make_application(owner, submit=status != ApplicationStatus.DRAFT)
    op = operator()
    if status in (
        ApplicationStatus.SCREENING,
        ApplicationStatus.MORE_INFO,
        ApplicationStatus.IN_REVIEW,
        ApplicationStatus.REVIEW_CLOSED,
    ):
        screening.start_screening(application, by=op)
    if status == ApplicationStatus.MORE_INFO:
        screening.request_information(application, by=op, message="More please")
    if status in (ApplicationStatus.IN_REVIEW, ApplicationStatus.REVIEW_CLOSED):
        screening.start_review(application, by=op)
    if status == ApplicationStatus.REVIEW_CLOSED:
        screening.close_review(application, by=op)
    application.refresh_from_db()
    assert application.status == status
    applications.withdraw_application(application, by=owner)
    application.refresh_from_db()
    assert application.status == ApplicationStatus.WITHDRAWN
    with pytest.raises(InvalidTransition):
        applications.withdraw_application(application, by=owner)


def test_every_transition_is_refused_from_a_wrong_state():
    """Each role's move from every state it does not start from raises InvalidTransition and changes nothing."""
    application = make_application(submit=False)
    for role, moves in MOVES.items():
        for target in ApplicationStatus.values:
            for status in ApplicationStatus.values:
                if target in moves.get(status, ()):
                    continue
                application.status = status
                with pytest.raises(InvalidTransition):
                    application.move_as(target, role=role)
                assert application.status == status


def test_transitions_refuse_roles_not_allowed():
    application = make_application()
    with pytest.raises(InvalidTransition):
        application.move_as(ApplicationStatus.SCREENING, role=APPLICANT)
    application.status = ApplicationStatus.DRAFT
    with pytest.raises(InvalidTransition):
        application.move_as(ApplicationStatus.SUBMITTED, role=OPERATOR)
    application.status = ApplicationStatus.MORE_INFO
    with pytest.raises(InvalidTransition):
        application.move_as(ApplicationStatus.SCREENING, role=OPERATOR)


def test_every_transition_has_both_labels():
    for action, applicant_label in APPLICANT_STEPS.items():
        assert str(applicant_label) and audit.action_label(action) != action
    assert set(Application.TRANSITIONS) == {*MOVES[APPLICANT], *MOVES[OPERATOR]}


def test_operator_only_actions_refuse_applicants_and_supervisors():
    owner = UserFactory()
    application = make_application(owner)
    for person in (owner, make_supervisor(), make_reviewer()):
        with pytest.raises(NotAllowed):
            screening.start_screening(application, by=person)
    application.refresh_from_db()
    assert application.status == ApplicationStatus.SUBMITTED


def test_supervisor_and_strangers_cannot_change_applications():
    owner = UserFactory()
    application = make_application(owner, submit=False)
    for person in (make_supervisor(), UserFactory()):
        with pytest.raises(NotAllowed):
            applications.update_application(application, by=person, title="x")
        with pytest.raises(NotAllowed):
            applications.submit_application(application, by=person)
        with pytest.raises(NotAllowed):
            applications.withdraw_application(application, by=person)


def test_co_applicant_invited_can_edit_and_sees_it(mailoutbox, django_capture_on_commit_callbacks):
    owner, partner = UserFactory(), UserFactory()
    application = make_application(owner, submit=False)
    with django_capture_on_commit_callbacks(execute=True):
        applications.invite_co_applicant(application, by=owner, email=partner.email.upper())
    assert Application.objects.for_user(partner).filter(pk=application.pk).exists()
    applications.update_application(application, by=partner, team="Bigger team")
    assert any(partner.email in m.to for m in mailoutbox)
    with pytest.raises(ValidationError):
        applications.invite_co_applicant(application, by=owner, email="nobody@example.cn")
    with pytest.raises(ValidationError):
        applications.invite_co_applicant(application, by=owner, email=partner.email)


def test_of_applicant_has_no_staff_shortcut():
    application = make_application()
    assert not Application.objects.of_applicant(make_supervisor()).filter(pk=application.pk).exists()
    assert not Application.objects.of_applicant(operator()).filter(pk=application.pk).exists()


def test_for_user_hides_other_organisations():
    application = make_application()
    assert not Application.objects.for_user(UserFactory()).filter(pk=application.pk).exists()
    assert Application.objects.for_user(make_supervisor()).filter(pk=application.pk).exists()


# --- attachments -----------------------------------------------------------------------------------


def test_attachment_pdf_accepted_and_stored_under_random_path():
    owner = UserFactory()
    application = make_application(owner, submit=False)
    attachment = applications.add_attachment(application, by=owner, upload=pdf("商业计划书.pdf"))
    assert attachment.original_name == "商业计划书.pdf"
    assert attachment.file.name.startswith("projects/private/") and "商业" not in attachment.file.name
    assert attachment.file.read().startswith(b"%PDF-")


@pytest.mark.parametrize(
    "name,content",
    [
        ("plan.exe", b"%PDF-1.4 pretending"),
        ("plan.pdf", b"MZ\x90\x00 not a pdf"),
        ("plan.pdf", b""),
        ("plan", b"%PDF-1.4"),
    ],
)
def test_attachment_bad_type_refused(name, content):
    owner = UserFactory()
    application = make_application(owner, submit=False)
    with pytest.raises(ValidationError):
        applications.add_attachment(application, by=owner, upload=pdf(name, content))
    assert not application.attachments.exists()


def test_attachment_too_large_refused(settings):
    settings.PROJECT_ATTACHMENT_MAX_BYTES = 100
    owner = UserFactory()
    application = make_application(owner, submit=False)
    with pytest.raises(ValidationError):
        applications.add_attachment(application, by=owner, upload=pdf(content=b"%PDF-" + b"x" * 200))
    assert not application.attachments.exists()


def test_revision_lists_attachments():
    owner = UserFactory()
    application = make_application(owner, submit=False)
    applications.add_attachment(application, by=owner, upload=pdf("a.pdf"))
    applications.submit_application(application, by=owner)
    assert application.revisions.get().content["attachments"][0]["name"] == "a.pdf"


# --- review: assignment and conflicts of interest ---------------------------------------------------


def test_assigning_first_reviewer_starts_review(mailoutbox, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        application, assignment = in_review()
    assert application.status == ApplicationStatus.IN_REVIEW
    assert assignment.status == AssignmentStatus.ASSIGNED
    assert any(assignment.reviewer.email in m.to for m in mailoutbox)


def test_reviewer_never_assigned_own_organisation():
    owner = UserFactory()
    application = make_application(owner)
    screening.start_screening(application, by=operator())
    reviewer = make_reviewer_in(application.organisation)
    with pytest.raises(Conflict) as error:
        review.assign_reviewer(application, reviewer, by=operator())
    assert "applying organisation" in str(error.value)
    assert not ReviewAssignment.objects.exists()


def test_non_reviewer_cannot_be_assigned():
    application = make_application()
    screening.start_screening(application, by=operator())
    with pytest.raises(Conflict):
        review.assign_reviewer(application, UserFactory(), by=operator())


def test_assign_twice_refused_and_not_in_draft():
    application, assignment = in_review()
    with pytest.raises(Conflict):
        review.assign_reviewer(application, assignment.reviewer, by=operator())
    draft = make_application(submit=False)
    with pytest.raises(Conflict):
        review.assign_reviewer(draft, make_reviewer(), by=operator())


def test_declined_for_coi_cannot_be_reassigned():
    application, assignment = in_review()
    review.decline_assignment(assignment, by=assignment.reviewer, conflict="I advise the team.")
    assignment.refresh_from_db()
    assert assignment.status == AssignmentStatus.DECLINED
    with pytest.raises(Conflict):
        review.assign_reviewer(application, assignment.reviewer, by=operator())
    with pytest.raises(InvalidTransition):
        review.decline_assignment(assignment, by=assignment.reviewer, conflict="again")


def test_decline_needs_a_declaration_and_the_reviewer():
    application, assignment = in_review()
    with pytest.raises(InvalidTransition):
        review.decline_assignment(assignment, by=assignment.reviewer, conflict=" ")
    with pytest.raises(NotAllowed):
        review.decline_assignment(assignment, by=make_reviewer(), conflict="not mine")


def test_auto_assign_balances_load_and_skips_conflicts():
    call = make_call()
    reviewers = [make_reviewer() for _ in range(3)]
    conflicted = reviewers[0]
    apps = [make_application(call=call) for _ in range(3)]
    Membership.objects.create(user=conflicted, organisation=apps[0].organisation, role=MembershipRole.MEMBER)
    op = operator()
    for application in apps:
        screening.start_screening(application, by=op)
    made = review.auto_assign_reviewers(call, by=op, per_application=2)
    assert made == 6
    loads = [ReviewAssignment.objects.filter(reviewer=r).count() for r in reviewers]
    assert sorted(loads) == [2, 2, 2]
    assert not ReviewAssignment.objects.filter(application=apps[0], reviewer=conflicted).exists()
    assert all(a.status == ApplicationStatus.IN_REVIEW for a in Application.objects.filter(call=call))
    # Running again adds nobody: everyone already has two.
    assert review.auto_assign_reviewers(call, by=op, per_application=2) == 0


def test_auto_assign_bad_input():
    with pytest.raises(DomainError):
        review.auto_assign_reviewers(make_call(), by=operator(), per_application=0)
    with pytest.raises(NotAllowed):
        review.auto_assign_reviewers(make_call(), by=make_reviewer())


# --- review: scores -------------------------------------------------------------------------------


def test_weighted_score_function():
    assert weighted_score([(Decimal(3), 4), (Decimal(2), 3), (Decimal(1), 5)]) == Decimal("3.83")
    assert weighted_score([(Decimal(3), 4), (Decimal(2), None)]) == Decimal("4.00")
    assert weighted_score([(Decimal(3), None)]) is None


def test_review_draft_then_submit_computes_weighted_score():
    application, assignment = in_review()
    criteria = list(application.call.programme.criteria.all())
    review.save_review(assignment, by=assignment.reviewer, scores={str(criteria[0].pk): 4})
    assignment.refresh_from_db()
    assert assignment.status == AssignmentStatus.DRAFT and assignment.weighted_score == Decimal("4.00")
    with pytest.raises(ValidationError):
        review.save_review(assignment, by=assignment.reviewer, scores={}, recommendation="yes", submit=True)
    review.save_review(
        assignment,
        by=assignment.reviewer,
        scores={str(criteria[1].pk): 3, str(criteria[2].pk): "na"},
        recommendation="maybe",
        submit=True,
    )
    assignment.refresh_from_db()
    # (3*4 + 2*3) / 5, the N/A criterion left out
    assert assignment.status == AssignmentStatus.SUBMITTED and assignment.weighted_score == Decimal("3.60")
    with pytest.raises(Conflict):
        review.save_review(assignment, by=assignment.reviewer, scores={})


@pytest.mark.parametrize("bad", [6, -1, "3.5", "x", True, 2.5])
def test_review_bad_scores_refused(bad):
    application, assignment = in_review()
    criterion = application.call.programme.criteria.first()
    with pytest.raises(ValidationError):
        review.save_review(assignment, by=assignment.reviewer, scores={str(criterion.pk): bad})
    assert not assignment.scores.exists()


def test_review_unknown_criterion_and_recommendation_refused():
    application, assignment = in_review()
    with pytest.raises(ValidationError):
        review.save_review(assignment, by=assignment.reviewer, scores={"999999": 3})
    with pytest.raises(ValidationError):
        review.save_review(assignment, by=assignment.reviewer, scores={}, recommendation="perhaps")


def test_review_submit_needs_recommendation():
    application, assignment = in_review()
    scores = {str(c.pk): 3 for c in application.call.programme.criteria.all()}
    with pytest.raises(ValidationError):
        review.save_review(assignment, by=assignment.reviewer, scores=scores, submit=True)


def test_only_the_assigned_reviewer_reviews():
    application, assignment = in_review()
    with pytest.raises(NotAllowed):
        review.save_review(assignment, by=make_reviewer(), scores={})


def test_review_closed_cannot_be_scored():
    application, assignment = in_review()
    screening.close_review(application, by=operator())
    with pytest.raises(Conflict):
        review.save_review(assignment, by=assignment.reviewer, scores={})


def test_score_constraint_in_database():
    application, assignment = reviewed()
    score = assignment.scores.first()
    score.score = 9
    with pytest.raises(IntegrityError), transaction.atomic():
        score.save()


def test_ranking_average_spread_and_counts():
    call = make_call()
    a1, r1 = reviewed(call=call, scores=(5, 5, 5))
    second = make_reviewer()
    review.assign_reviewer(a1, second, by=operator())
    s2 = ReviewAssignment.objects.get(application=a1, reviewer=second)
    review.save_review(
        s2,
        by=second,
        scores={str(c.pk): 3 for c in a1.call.programme.criteria.all()},
        recommendation="no",
        submit=True,
    )
    a2, _r2 = reviewed(call=call, scores=(2, 2, 2))
    make_application(call=call, submit=False)  # drafts are not ranked
    rows = ranking.ranking(call)
    assert [r.application.pk for r in rows] == [a1.pk, a2.pk]
    assert (
        rows[0].average == Decimal("4.00") and rows[0].reviews == 2 and rows[0].yes == 1 and rows[0].no == 1
    )
    assert rows[0].spread in (Decimal("1.00"), Decimal("1.41"))  # population or sample deviation
    assert rows[1].average == Decimal("2.00")


# --- decisions and projects -----------------------------------------------------------------------


def test_accept_records_benefits_project_signal_and_mail(mailoutbox, django_capture_on_commit_callbacks):
    received = []

    def receiver(sender, project, voucher_amount, **kwargs):
        received.append((project.pk, voucher_amount))

    project_accepted.connect(receiver)
    try:
        with django_capture_on_commit_callbacks(execute=True):
            application = accepted()
    finally:
        project_accepted.disconnect(receiver)
    assert application.status == ApplicationStatus.ACCEPTED
    assert "accepted" in application.determination_message
    project = Project.objects.get(application=application)
    assert project.status == ProjectStatus.ONBOARDING and project.organisation == application.organisation
    kinds = {b.kind: b.amount for b in project.benefits.all()}
    assert kinds[BenefitKind.COMPUTE_VOUCHER] == Decimal("50000.00")
    assert set(kinds) == {BenefitKind.COMPUTE_VOUCHER, BenefitKind.MENTORING, BenefitKind.DEMO_DAY}
    assert received == [(project.pk, Decimal("50000.00"))]
    decision_mails = [m for m in mailoutbox if "accepted" in m.subject]
    assert decision_mails and application.organisation.memberships.first().user.email in decision_mails[0].to


def test_decision_message_editable_and_required_state():
    application, _ = reviewed()
    op = operator()
    with pytest.raises(InvalidTransition):
        screening.decide_application(application, by=op, decision="rejected", message="No")
    screening.close_review(application, by=op)
    with pytest.raises(DomainError):
        screening.decide_application(application, by=op, decision="maybe")
    screening.decide_application(application, by=op, decision="waitlisted", message="Wait, please.")
    application.refresh_from_db()
    assert (
        application.status == ApplicationStatus.WAITLISTED
        and application.determination_message == "Wait, please."
    )
    screening.decide_application(application, by=op, decision="rejected", message="Sorry.")
    application.refresh_from_db()
    assert application.status == ApplicationStatus.REJECTED
    assert not Project.objects.filter(application=application).exists()
    assert "application.waitlist" in actions(application) and "application.reject" in actions(application)


def test_decision_constraint_needs_message():
    application = make_application()
    Application.objects.filter(pk=application.pk).update(status="screening")
    with pytest.raises(IntegrityError), transaction.atomic():
        Application.objects.filter(pk=application.pk).update(status="accepted", determination_message="")


def test_reminders_once_a_day_for_due_reviews(mailoutbox, django_capture_on_commit_callbacks):
    today = timezone.localdate()
    call = make_call(review_deadline=today + timedelta(days=2))
    application, assignment = in_review(call=call)
    far_call = make_call(review_deadline=today + timedelta(days=30))
    _far, _far_assignment = in_review(call=far_call)
    done_app, _done = reviewed(call=call)
    mailoutbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        assert review.send_review_reminders(today=today, days_before=3) == 1
    assert [m.to for m in mailoutbox] == [[assignment.reviewer.email]]
    assert review.send_review_reminders(today=today, days_before=3) == 0
    ReviewAssignment.objects.filter(pk=assignment.pk).update(reminded_at=timezone.now() - timedelta(days=1))
    assert review.send_review_reminders(today=today, days_before=3) == 1


def test_reminder_task_runs(mailoutbox, django_capture_on_commit_callbacks):
    call = make_call(review_deadline=timezone.localdate() - timedelta(days=1))
    in_review(call=call)
    mailoutbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        assert send_review_reminders_task.delay().get() == 1
    assert "Overdue" in mailoutbox[0].subject or "逾期" in mailoutbox[0].subject


def test_reminder_bad_window():
    with pytest.raises(DomainError):
        review.send_review_reminders(days_before=-1)


def test_project_for_user_team_mentor_and_staff():
    owner = UserFactory()
    application = accepted(owner)
    project = application.project
    mentor = make_mentor()
    incubation.add_mentor(project, mentor, by=operator())
    assert Project.objects.for_user(owner).filter(pk=project.pk).exists()
    assert Project.objects.for_user(mentor).filter(pk=project.pk).exists()
    assert Project.objects.for_user(make_supervisor()).filter(pk=project.pk).exists()
    assert not Project.objects.for_user(UserFactory()).filter(pk=project.pk).exists()
    with pytest.raises(DomainError):
        incubation.add_mentor(project, UserFactory(), by=operator())
    with pytest.raises(Conflict):
        incubation.add_mentor(project, mentor, by=operator())


def test_project_status_transitions():
    project = accepted().project
    op = operator()
    with pytest.raises(InvalidTransition):
        incubation.set_project_status(project, ProjectStatus.GRADUATED, by=op)
    incubation.set_project_status(project, ProjectStatus.ACTIVE, by=op)
    with pytest.raises(InvalidTransition):
        incubation.set_project_status(project, ProjectStatus.AT_RISK, by=op, reason="")
    incubation.set_project_status(project, ProjectStatus.AT_RISK, by=op, reason="Milestone late")
    incubation.set_project_status(project, ProjectStatus.ACTIVE, by=op)
    incubation.set_project_status(project, ProjectStatus.GRADUATED, by=op)
    project.refresh_from_db()
    assert project.status == ProjectStatus.GRADUATED and project.ended_at
    with pytest.raises(DomainError):
        incubation.set_project_status(project, "nonsense", by=op)


def test_milestone_flow_with_evidence(mailoutbox, django_capture_on_commit_callbacks):
    owner = UserFactory()
    project = accepted(owner).project
    mentor = make_mentor()
    incubation.add_mentor(project, mentor, by=operator())
    milestone = incubation.add_milestone(
        project,
        by=mentor,
        title="Prototype",
        due_date=timezone.localdate() + timedelta(days=30),
        deliverable="Demo",
    )
    with pytest.raises(NotAllowed):
        incubation.add_milestone(project, by=owner, title="x", due_date=timezone.localdate(), deliverable="y")
    with pytest.raises(ValidationError):
        incubation.submit_milestone(milestone, by=owner)
    with pytest.raises(ValidationError):
        incubation.submit_milestone(milestone, by=owner, evidence=pdf("x.pdf", b"not a pdf"))
    incubation.submit_milestone(milestone, by=owner, evidence=pdf("demo.pdf"), note="See page 2")
    milestone.refresh_from_db()
    assert milestone.status == MilestoneStatus.SUBMITTED and milestone.evidence_name == "demo.pdf"
    with pytest.raises(ValidationError):
        incubation.review_milestone(milestone, by=mentor, accept=False, feedback="")
    with django_capture_on_commit_callbacks(execute=True):
        incubation.review_milestone(milestone, by=mentor, accept=False, feedback="Add metrics")
    incubation.submit_milestone(milestone, by=owner)
    incubation.review_milestone(milestone, by=mentor, accept=True)
    milestone.refresh_from_db()
    assert milestone.status == MilestoneStatus.ACCEPTED
    assert any("Prototype" in m.subject for m in mailoutbox), [m.subject for m in mailoutbox]
    with pytest.raises(NotAllowed):
        incubation.review_milestone(milestone, by=make_mentor(), accept=True)


def test_progress_report_and_showcase():
    owner = UserFactory()
    project = accepted(owner).project
    today = timezone.localdate()
    incubation.submit_progress_report(project, by=owner, period_end=today, progress="Trained v1")
    with pytest.raises(ValidationError):
        incubation.submit_progress_report(project, by=owner, period_end=today, progress="Again")
    with pytest.raises(NotAllowed):
        incubation.submit_progress_report(project, by=UserFactory(), period_end=today, progress="x")
    incubation.set_showcase(project, by=owner, consent=True, summary="Nodule detection")
    assert not Project.objects.showcase().exists()
    op = operator()
    incubation.set_project_status(project, ProjectStatus.ACTIVE, by=op)
    incubation.set_project_status(project, ProjectStatus.GRADUATED, by=op)
    assert list(Project.objects.showcase()) == [project]
