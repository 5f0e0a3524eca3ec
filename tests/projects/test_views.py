"""The incubation pages as people use them: applying, screening, reviewing, deciding, projects."""

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from projects.models import (
    Application,
    ApplicationStatus,
    AssignmentStatus,
    Attachment,
    MilestoneStatus,
    Project,
    ProjectStatus,
    ReviewAssignment,
)
from projects.services import applications, incubation, review, screening
from tests.accounts.factories import UserFactory, make_supervisor, make_verified_organisation
from tests.projects.factories import (
    FIELDS,
    accepted,
    in_review,
    make_application,
    make_call,
    make_mentor,
    make_reviewer,
    make_reviewer_in,
    operator,
    pdf,
    reviewed,
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def staff(mfa):
    def make():
        return mfa(operator())

    return make


def login(client, user):
    client.force_login(user)
    return client


# --- public ---------------------------------------------------------------------------------------


def test_public_pages(client):
    call = make_call()
    closed = make_call(open_=False, title_en="Old call", title_zh="旧批次")
    for url in (reverse("projects:index"), reverse("projects:call_list"), reverse("projects:showcase")):
        assert client.get(url).status_code == 200
    listing = client.get(reverse("projects:call_list")).content.decode()
    assert call.title_en in listing and "Old call" not in listing
    detail = client.get(call.get_absolute_url()).content.decode()
    assert "Innovation" in detail and "Sign in to apply" in detail
    assert client.get(closed.get_absolute_url()).status_code == 200


def test_open_calls_are_reused_until_a_call_changes_or_closes(client, django_assert_num_queries):
    from projects.models import Call

    call = make_call(title_en="Smart medical call", closes_at=timezone.now() + timedelta(seconds=90))
    url = reverse("projects:call_list")
    assert "Smart medical call" in client.get(url).content.decode()
    with django_assert_num_queries(0):  # a visitor's page seen in the last minute: nothing asked
        assert "Smart medical call" in client.get(url).content.decode()
    make_call(title_en="Urban brain call")  # a new call shows at once
    assert "Urban brain call" in client.get(url).content.decode()
    Call.objects.filter(pk=call.pk).update(title_en="Renamed without a signal")
    later = timezone.now() + timedelta(minutes=2)  # the call has closed meanwhile
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr("core.pagecache.timezone.now", lambda: later)
        patch.setattr("projects.models.programmes.timezone.now", lambda: later)
        listing = client.get(url).content.decode()
    assert "Smart medical call" not in listing and "Renamed without a signal" not in listing
    assert "Urban brain call" in listing


def test_a_visitors_call_page_is_reused_until_the_call_or_its_criteria_change(
    client, django_assert_num_queries
):
    from projects.models import Call, Programme

    call = make_call(title_en="Smart transport call")
    criterion = call.programme.criteria.first()
    url = call.get_absolute_url()
    page = client.get(url).content.decode()
    assert "Smart transport call" in page and criterion.name in page and "Sign in to apply" in page
    with django_assert_num_queries(0):  # a visitor's page seen in the last minute: nothing asked
        again = client.get(url).content.decode()
    assert again.count("Smart transport call") == page.count("Smart transport call")
    criterion.name_en = "Clinical value, renamed"
    criterion.save()
    assert "Clinical value, renamed" in client.get(url).content.decode()
    programme = call.programme
    programme.is_published = False
    programme.save()
    assert client.get(url).status_code == 404
    assert (
        client.get(reverse("projects:call_detail", args=[Call.objects.latest("pk").pk + 1])).status_code
        == 404
    )
    # A bulk change sends no signal: it shows within the minute the body is kept.
    Programme.objects.filter(pk=call.programme_id).update(is_published=True)
    later = timezone.now() + timedelta(minutes=1)
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr("core.pagecache.timezone.now", lambda: later)
        assert client.get(url).status_code == 200
    # A signed-in person's page is their own: whether they may apply.
    owner = UserFactory()
    make_verified_organisation(owner)
    login(client, owner)
    assert "Start an application" in client.get(url).content.decode()


def test_showcase_lists_only_consenting_graduates(client):
    owner = UserFactory()
    project = accepted(owner).project
    op = operator()
    incubation.set_project_status(project, ProjectStatus.ACTIVE, by=op)
    incubation.set_project_status(project, ProjectStatus.GRADUATED, by=op)
    assert project.title not in client.get(reverse("projects:showcase")).content.decode()
    incubation.set_showcase(project, by=owner, consent=True, summary="公开摘要")
    assert "公开摘要" in client.get(reverse("projects:showcase")).content.decode()


@pytest.mark.parametrize("name", ["application_list", "review_list", "project_list", "operator_applications"])
def test_anonymous_sent_to_login(client, name):
    response = client.get(reverse(f"projects:{name}"))
    assert response.status_code == 302 and response["Location"].startswith(reverse("account_login"))


# --- applying -------------------------------------------------------------------------------------


def test_apply_edit_autosave_attach_and_submit(client):
    owner = UserFactory()
    organisation = make_verified_organisation(owner)
    call = make_call()
    login(client, owner)
    create_url = reverse("projects:application_create", args=[call.pk])
    assert client.get(create_url).status_code == 200
    response = client.post(create_url, {"organisation": organisation.pk, "title": "城市大脑交通信号优化"})
    application = Application.objects.get()
    assert response.status_code == 302 and response["Location"] == reverse(
        "projects:application_edit", args=[application.pk]
    )
    edit = client.get(response["Location"]).content.decode()
    assert 'hx-trigger="change delay:1s"' in edit and 'aria-live="polite"' in edit
    data = {**FIELDS, "title": "城市大脑交通信号优化"}
    saved = client.post(
        reverse("projects:application_autosave", args=[application.pk]), data, HTTP_HX_REQUEST="true"
    )
    assert saved.status_code == 200 and "Saved at" in saved.content.decode()
    application.refresh_from_db()
    assert application.summary == FIELDS["summary"]
    upload = client.post(
        reverse("projects:attachment_upload", args=[application.pk]), {"file": pdf("计划.pdf")}
    )
    assert upload.status_code == 302 and Attachment.objects.count() == 1
    bad = client.post(
        reverse("projects:attachment_upload", args=[application.pk]),
        {"file": pdf("x.pdf", b"GIF89a")},
        follow=True,
    )
    assert "not a PDF" in bad.content.decode() and Attachment.objects.count() == 1
    client.post(reverse("projects:application_submit", args=[application.pk]))
    application.refresh_from_db()
    assert application.status == ApplicationStatus.SUBMITTED
    page = client.get(application.get_absolute_url()).content.decode()
    assert "Version 1" in page and reverse("projects:application_edit", args=[application.pk]) not in page


def test_autosave_bad_input_changes_nothing(client):
    owner = UserFactory()
    application = make_application(owner, submit=False)
    login(client, owner)
    response = client.post(
        reverse("projects:application_autosave", args=[application.pk]),
        {**FIELDS, "compute_card_hours": "-3"},
    )
    assert response.status_code == 200 and "Not saved" in response.content.decode()
    application.refresh_from_db()
    assert application.compute_card_hours == FIELDS["compute_card_hours"]


def test_cannot_apply_without_verified_organisation(client):
    user = UserFactory()
    call = make_call()
    login(client, user)
    page = client.get(reverse("projects:application_create", args=[call.pk])).content.decode()
    assert "You cannot apply to this call yet" in page
    assert (
        client.post(reverse("projects:application_create", args=[call.pk]), {"title": "x"}).status_code == 200
    )
    assert not Application.objects.exists()


def test_other_organisations_applications_are_404(client):
    application = make_application()
    stranger = UserFactory()
    make_verified_organisation(stranger)
    login(client, stranger)
    for name in ("application_detail", "application_edit"):
        assert client.get(reverse(f"projects:{name}", args=[application.pk])).status_code == 404
    for name in ("application_submit", "application_withdraw", "application_autosave"):
        assert client.post(reverse(f"projects:{name}", args=[application.pk])).status_code == 404


def test_attachment_download_permissions(client, staff):
    owner = UserFactory()
    application = make_application(owner, submit=False)
    attachment = applications.add_attachment(application, by=owner, upload=pdf("计划.pdf"))
    applications.submit_application(application, by=owner)
    url = attachment.get_absolute_url()
    login(client, owner)
    response = client.get(url)
    assert response.status_code == 200 and response["Content-Disposition"].startswith("attachment")
    assert b"".join(response.streaming_content).startswith(b"%PDF-")
    login(client, UserFactory())
    assert client.get(url).status_code == 404
    reviewer = make_reviewer()
    login(client, reviewer)
    assert client.get(url).status_code == 404
    screening.start_screening(application, by=operator())
    review.assign_reviewer(application, reviewer, by=operator())
    assert client.get(url).status_code == 200
    login(client, staff())
    assert client.get(url).status_code == 200
    assert "/media/" not in client.get(application.get_absolute_url()).content.decode()


# --- blind review ---------------------------------------------------------------------------------


def test_applicant_pages_never_name_the_reviewer(client):
    owner = UserFactory()
    reviewer = make_reviewer(name="Professor Zhang Wei", email="zhang.wei@review.cn")
    application, _ = reviewed(owner, reviewer=reviewer)
    op = operator()
    screening.close_review(application, by=op)
    screening.decide_application(application, by=op, decision="accepted")
    login(client, owner)
    for url in (
        application.get_absolute_url(),
        reverse("projects:application_list"),
        reverse("projects:index"),
        application.project.get_absolute_url(),
    ):
        page = client.get(url).content.decode()
        assert "Zhang Wei" not in page and "zhang.wei@review.cn" not in page, url
    assert "accepted" in client.get(application.get_absolute_url()).content.decode()


# --- operators ------------------------------------------------------------------------------------


def test_operator_screens_assigns_ranks_and_decides(
    client, staff, mailoutbox, django_capture_on_commit_callbacks
):
    owner = UserFactory()
    application = make_application(owner)
    reviewer = make_reviewer()
    login(client, staff())
    assert application.title in client.get(reverse("projects:operator_applications")).content.decode()
    client.post(
        reverse("projects:application_transition", args=[application.pk]), {"transition": "start_screening"}
    )
    client.post(reverse("projects:application_assign", args=[application.pk]), {"reviewer": reviewer.pk})
    application.refresh_from_db()
    assert application.status == ApplicationStatus.IN_REVIEW
    assignment = ReviewAssignment.objects.get()
    criteria = application.call.programme.criteria.all()
    review.save_review(
        assignment, by=reviewer, scores={str(c.pk): 4 for c in criteria}, recommendation="yes", submit=True
    )
    ranking = client.get(reverse("projects:call_ranking", args=[application.call_id]))
    assert ranking.status_code == 200 and "4.00" in ranking.content.decode()
    csv_response = client.get(reverse("projects:call_ranking", args=[application.call_id]) + "?format=csv")
    assert csv_response["Content-Type"].startswith("text/csv")
    body = csv_response.content.decode("utf-8-sig")
    assert body.splitlines()[0].startswith("rank,application") and "4.00" in body
    client.post(
        reverse("projects:application_transition", args=[application.pk]), {"transition": "close_review"}
    )
    page = client.get(reverse("projects:application_decide", args=[application.pk])).content.decode()
    assert "Congratulations" in page
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            reverse("projects:application_decide", args=[application.pk]),
            {"decision": "accepted", "message": "欢迎加入孵化！"},
        )
    assert response.status_code == 302
    application.refresh_from_db()
    assert (
        application.status == ApplicationStatus.ACCEPTED
        and application.determination_message == "欢迎加入孵化！"
    )
    assert any("欢迎加入孵化" in m.body for m in mailoutbox)
    assert Project.objects.filter(application=application).exists()


def test_csv_formula_injection_is_neutralised(client, staff):
    application, _ = reviewed(title='=HYPERLINK("http://evil")')
    login(client, staff())
    body = client.get(
        reverse("projects:call_ranking", args=[application.call_id]) + "?format=csv"
    ).content.decode("utf-8-sig")
    assert "'=HYPERLINK" in body


def test_operator_assign_refuses_own_organisation_with_message(client, staff):
    owner = UserFactory()
    application = make_application(owner)
    screening.start_screening(application, by=operator())
    reviewer = make_reviewer_in(application.organisation)
    login(client, staff())
    response = client.post(
        reverse("projects:application_assign", args=[application.pk]), {"reviewer": reviewer.pk}, follow=True
    )
    assert "applying organisation" in response.content.decode()
    assert not ReviewAssignment.objects.exists()


@pytest.mark.parametrize(
    "post",
    [
        {"transition": "nonsense"},
        {"transition": "accept"},
        {},
    ],
)
def test_operator_bad_transition_input(client, staff, post):
    application = make_application()
    login(client, staff())
    response = client.post(reverse("projects:application_transition", args=[application.pk]), post)
    assert response.status_code == 302
    application.refresh_from_db()
    assert application.status == ApplicationStatus.SUBMITTED


def test_supervisor_reads_but_cannot_act(client, mfa):
    application = make_application()
    supervisor = mfa(make_supervisor())
    login(client, supervisor)
    assert client.get(application.get_absolute_url()).status_code == 200
    assert client.get(reverse("projects:call_ranking", args=[application.call_id])).status_code == 200
    response = client.post(
        reverse("projects:application_transition", args=[application.pk]), {"transition": "start_screening"}
    )
    assert response.status_code == 403
    assert client.get(reverse("projects:application_decide", args=[application.pk])).status_code == 403


def test_applicants_cannot_reach_operator_pages(client):
    owner = UserFactory()
    application = make_application(owner)
    login(client, owner)
    assert client.get(reverse("projects:operator_applications")).status_code == 403
    assert client.get(reverse("projects:call_ranking", args=[application.call_id])).status_code == 403
    assert (
        client.post(
            reverse("projects:application_assign", args=[application.pk]), {"reviewer": 1}
        ).status_code
        == 403
    )


# --- reviewers ------------------------------------------------------------------------------------


def test_reviewer_scores_with_autosave_and_submits(client):
    application, assignment = in_review()
    reviewer = assignment.reviewer
    login(client, reviewer)
    assert application.title in client.get(reverse("projects:review_list")).content.decode()
    criteria = list(application.call.programme.criteria.all())
    form = client.get(reverse("projects:review_form", args=[assignment.pk])).content.decode()
    assert "N/A" in form and 'hx-trigger="change delay:1s"' in form
    data = {f"score_{criteria[0].pk}": "5", "recommendation": "", "comments": "draft"}
    saved = client.post(reverse("projects:review_autosave", args=[assignment.pk]), data)
    assert "Saved at" in saved.content.decode()
    assignment.refresh_from_db()
    assert assignment.status == AssignmentStatus.DRAFT
    data = {f"score_{c.pk}": "4" for c in criteria} | {
        f"score_{criteria[2].pk}": "na",
        "recommendation": "yes",
        "comments": "Good",
        "submit": "1",
    }
    client.post(reverse("projects:review_form", args=[assignment.pk]), data)
    assignment.refresh_from_db()
    assert assignment.status == AssignmentStatus.SUBMITTED and str(assignment.weighted_score) == "4.00"


def test_reviewer_bad_score_input_shows_error(client):
    application, assignment = in_review()
    criteria = list(application.call.programme.criteria.all())
    login(client, assignment.reviewer)
    response = client.post(
        reverse("projects:review_form", args=[assignment.pk]), {f"score_{criteria[0].pk}": "9", "submit": "1"}
    )
    assert response.status_code == 200 and "is-invalid" in response.content.decode()
    assignment.refresh_from_db()
    assert assignment.status == AssignmentStatus.ASSIGNED


def test_reviewer_declines_for_conflict(client):
    application, assignment = in_review()
    login(client, assignment.reviewer)
    client.post(reverse("projects:review_decline", args=[assignment.pk]), {"conflict": "I am their adviser."})
    assignment.refresh_from_db()
    assert assignment.status == AssignmentStatus.DECLINED


def test_reviewers_see_only_their_assignments(client):
    _application, assignment = in_review()
    other = make_reviewer()
    login(client, other)
    assert client.get(reverse("projects:review_form", args=[assignment.pk])).status_code == 404
    login(client, UserFactory())
    assert client.get(reverse("projects:review_list")).status_code == 403


# --- incubated projects ---------------------------------------------------------------------------


def test_project_pages_for_team_mentor_and_operator(client, staff):
    owner = UserFactory()
    project = accepted(owner).project
    op = staff()
    mentor = make_mentor()
    login(client, op)
    client.post(reverse("projects:project_mentor", args=[project.pk]), {"mentor": mentor.pk})
    assert project.mentors.filter(pk=mentor.pk).exists()
    client.post(reverse("projects:project_status", args=[project.pk]), {"status": "active", "reason": ""})
    project.refresh_from_db()
    assert project.status == ProjectStatus.ACTIVE
    login(client, mentor)
    due = (timezone.localdate() + timedelta(days=30)).isoformat()
    client.post(
        reverse("projects:milestone_create", args=[project.pk]),
        {"title": "Pilot", "due_date": due, "deliverable": "Pilot report"},
    )
    milestone = project.milestones.get()
    login(client, owner)
    page = client.get(project.get_absolute_url()).content.decode()
    assert "Pilot" in page and "Compute voucher" in page
    client.post(
        reverse("projects:milestone_submit", args=[milestone.pk]),
        {"evidence": pdf("pilot.pdf"), "note": "done"},
    )
    milestone.refresh_from_db()
    assert milestone.status == MilestoneStatus.SUBMITTED
    evidence = client.get(reverse("projects:milestone_evidence", args=[milestone.pk]))
    assert evidence.status_code == 200 and evidence["Content-Disposition"].startswith("attachment")
    client.post(
        reverse("projects:report_create", args=[project.pk]),
        {"period_end": timezone.localdate().isoformat(), "progress": "On track"},
    )
    assert project.reports.count() == 1
    login(client, mentor)
    client.post(reverse("projects:milestone_review", args=[milestone.pk]), {"accept": "1", "feedback": ""})
    milestone.refresh_from_db()
    assert milestone.status == MilestoneStatus.ACCEPTED
    login(client, UserFactory())
    assert client.get(project.get_absolute_url()).status_code == 404
    assert client.get(reverse("projects:milestone_evidence", args=[milestone.pk])).status_code == 404


def test_project_bad_inputs(client, staff):
    owner = UserFactory()
    project = accepted(owner).project
    login(client, staff())
    for data in ({"status": "graduated"}, {"status": "bogus"}, {"status": "terminated", "reason": ""}):
        client.post(reverse("projects:project_status", args=[project.pk]), data)
    project.refresh_from_db()
    assert project.status == ProjectStatus.ONBOARDING
    for value in ("", "abc", "99999999999999999999"):
        client.post(reverse("projects:project_mentor", args=[project.pk]), {"mentor": value})
    assert not project.mentors.exists()
    login(client, owner)
    client.post(
        reverse("projects:milestone_create", args=[project.pk]), {"title": "x", "due_date": "not-a-date"}
    )
    client.post(reverse("projects:report_create", args=[project.pk]), {"period_end": "bad"})
    assert not project.milestones.exists() and not project.reports.exists()


# --- dashboard and query counts -------------------------------------------------------------------


def test_dashboard_panel(client):
    owner = UserFactory()
    make_application(owner)
    login(client, owner)
    page = client.get(reverse("dashboard")).content.decode()
    assert "Incubation" in page and "1 application of yours is open" in page


@pytest.mark.parametrize("size", [2, 8])
def test_list_pages_constant_queries(client, django_assert_max_num_queries, staff, size):
    owner = UserFactory()
    organisation = make_verified_organisation(owner)
    call = make_call()
    reviewer = make_reviewer()
    op = operator()
    for i in range(size):
        application = make_application(owner, organisation=organisation, call=call, title=f"P{i}")
        screening.start_screening(application, by=op)
        assignment = review.assign_reviewer(application, reviewer, by=op)
        review.save_review(
            assignment,
            by=reviewer,
            scores={str(c.pk): 3 for c in call.programme.criteria.all()},
            recommendation="maybe",
            submit=True,
        )
    operator_user = staff()
    pages = [
        (operator_user, reverse("projects:operator_applications")),
        (operator_user, reverse("projects:call_ranking", args=[call.pk])),
        (owner, reverse("projects:application_list")),
        (reviewer, reverse("projects:review_list")),
        (owner, reverse("projects:project_list")),
        (None, reverse("projects:call_list")),
        (owner, reverse("dashboard")),
    ]
    for person, url in pages:
        if person is None:
            client.logout()
        else:
            login(client, person)
        with django_assert_max_num_queries(25):
            assert client.get(url).status_code == 200, url


def test_decision_form_prefills_the_standard_text_of_each_decision(client, staff):
    application, _ = reviewed()
    screening.close_review(application, by=operator())
    login(client, staff())
    url = reverse("projects:application_decide", args=[application.pk])
    assert "not accepted this time" in client.get(url + "?decision=rejected").content.decode()
    assert "waiting list" in client.get(url + "?decision=waitlisted").content.decode()
    assert client.get(url + "?decision=bogus").status_code == 200
    response = client.post(url, {"decision": "bogus", "message": "x"})
    assert response.status_code == 200
    application.refresh_from_db()
    assert application.status == ApplicationStatus.REVIEW_CLOSED


def test_my_applications_show_title_call_organisation_and_link_in_constant_queries(client):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    owner = UserFactory()
    organisation = make_verified_organisation(owner)
    call = make_call()
    login(client, owner)
    counts = []
    for size in (2, 8):
        while Application.objects.filter(organisation=organisation).count() < size:
            make_application(owner, organisation=organisation, call=call, title=f"P{size}-{call.pk}")
        client.get(reverse("projects:application_list"))  # what every page shares is now cached
        with CaptureQueriesContext(connection) as looked:
            page = client.get(reverse("projects:application_list")).content.decode()
        counts.append(len(looked))
        for application in Application.objects.filter(organisation=organisation):
            assert f'href="{application.get_absolute_url()}">{application.title}<' in page
        assert call.title in page and organisation.display_name in page
    assert counts[0] == counts[1]
