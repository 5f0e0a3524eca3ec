"""The operators' incubation lists, kept for everyone of one audience (projects/kept.py): asked again they read
none of their rows, a change made through the services is on the next page, and nobody else gets them."""

import re
from datetime import timedelta

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils.formats import date_format

from projects.models import ApplicationStatus, ProjectStatus, ReviewAssignment
from projects.services import incubation, review, screening
from tests.accounts.factories import UserFactory, make_operator, make_verified_organisation
from tests.projects.factories import accepted, in_review, make_application, make_call, make_reviewer

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("steady_minute")]


def _projects_queries(client, url, *, but_the_call: bool = False, **params) -> tuple[str, list[str]]:
    """The page and the queries it asked of the platform's tables (their rows join the organisations); a
    ranking still reads its call, ``but_the_call``: the heading and the 404 of a call that is not there."""
    with CaptureQueriesContext(connection) as queries:
        response = client.get(url, params)
    assert response.status_code == 200
    asked = [q["sql"] for q in queries.captured_queries if "projects_" in q["sql"]]
    if but_the_call:
        call = [sql for sql in asked if sql.startswith('SELECT "projects_call"."id"')]
        assert len(call) == 1
        asked.remove(call[0])
    return response.content.decode(), asked


def _body(html: str) -> str:
    return html[html.index("<main") : html.index("</main>")]


def _token(html: str) -> str:
    """The CSRF token of the first form in the page's body (not the header's)."""
    return re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', _body(html)).group(1)


def test_the_application_list_is_kept_until_an_application_call_or_organisation_changes(
    client, operator, supervisor, mfa
):
    owner = UserFactory()
    organisation = make_verified_organisation(owner, name_en="Harbour Robotics")
    call = make_call(title_en="Spring call")
    application = make_application(owner, organisation=organisation, call=call, title="Harbour vision")
    url = reverse("projects:operator_applications")
    mfa(operator), mfa(supervisor)
    client.force_login(operator)
    page, _queries = _projects_queries(client, url)
    assert "Harbour vision" in page and "Harbour Robotics" in page
    again, queries = _projects_queries(client, url)
    assert queries == [] and "Harbour vision" in again
    # A step through the services is on the next page, for every member of staff.
    screening.start_screening(application, by=operator)
    page, _queries = _projects_queries(client, url)
    assert f">{ApplicationStatus.SCREENING.label}</span>" in page
    client.force_login(supervisor)
    second = make_application(UserFactory(), call=call, title="Second harbour")
    page, _queries = _projects_queries(client, url)
    assert "Second harbour" in page and f">{ApplicationStatus.SCREENING.label}</span>" in page
    # The organisation's name and a new call (in the filter and the rankings' links) too.
    organisation.name_en = "Harbour Robotics Group"
    organisation.save()
    assert "Harbour Robotics Group" in client.get(url).content.decode()
    later = make_call(title_en="Autumn call")
    assert reverse("projects:call_ranking", args=[later.pk]) in client.get(url).content.decode()
    # Each filter is a page of its own.
    page = client.get(url, {"status": ApplicationStatus.SUBMITTED}).content.decode()
    assert "Second harbour" in page and "Harbour vision" not in page
    assert second.title not in client.get(url, {"call": later.pk}).content.decode()


def test_the_kept_application_list_is_shared_by_staff_and_never_served_to_an_applicant(
    client, operator, supervisor, mfa
):
    owner = UserFactory()
    make_application(owner, title="Harbour vision")
    url = reverse("projects:operator_applications")
    mfa(operator), mfa(supervisor)
    client.force_login(operator)
    assert "Harbour vision" in client.get(url).content.decode()
    # Operators and supervisors see every application and have no action here: the same kept body.
    client.force_login(supervisor)
    page, queries = _projects_queries(client, url)
    assert queries == [] and "Harbour vision" in page
    # The permission check comes first: an applicant is refused, kept body or not.
    client.force_login(owner)
    with CaptureQueriesContext(connection) as queries:
        assert client.get(url).status_code == 403
    assert not [q for q in queries.captured_queries if "projects_" in q["sql"]]


def test_the_ranking_is_kept_per_call_until_a_review_changes(client, operator, mfa):
    application, assignment = in_review(title="Harbour vision")
    other = make_application(title="Elsewhere")  # another call's
    url = reverse("projects:call_ranking", args=[application.call_id])
    client.force_login(mfa(operator))
    page, _queries = _projects_queries(client, url, but_the_call=True)
    assert "Harbour vision" in page and "Elsewhere" not in page
    again, queries = _projects_queries(client, url, but_the_call=True)
    assert queries == [] and "Harbour vision" in again
    # The other call's ranking is its own page (the call is in the path, not in the query string).
    page = client.get(reverse("projects:call_ranking", args=[other.call_id])).content.decode()
    assert "Elsewhere" in page and "Harbour vision" not in page
    # A submitted review (its score and recommendation) is on the next page.
    criteria = application.call.programme.criteria.all()
    review.save_review(
        assignment,
        by=assignment.reviewer,
        scores={str(c.pk): 4 for c in criteria},
        recommendation="yes",
        submit=True,
    )
    page = client.get(url).content.decode()
    assert '<td class="text-end">4.00</td>' in page and "<td>1 / 0 / 0</td>" in page
    # So is a decision, and a change of the call's review deadline.
    screening.close_review(application, by=operator)
    page = client.get(url).content.decode()
    assert f">{ApplicationStatus.REVIEW_CLOSED.label}</span>" in page
    call = application.call
    call.review_deadline += timedelta(days=7)
    call.save()
    assert date_format(call.review_deadline, "DATE_FORMAT") in _body(client.get(url).content.decode())
    organisation = application.organisation
    organisation.name_en = "Harbour Robotics Group"
    organisation.save()
    assert "Harbour Robotics Group" in client.get(url).content.decode()


def test_a_supervisor_never_gets_the_operators_ranking_form(client, operator, supervisor, mfa):
    application = make_application(title="Harbour vision")
    url = reverse("projects:call_ranking", args=[application.call_id])
    auto_assign = reverse("projects:call_auto_assign", args=[application.call_id])
    mfa(operator), mfa(supervisor)
    client.force_login(operator)
    assert auto_assign in _body(client.get(url).content.decode())
    client.force_login(supervisor)
    body = _body(client.get(url).content.decode())
    assert "Harbour vision" in body
    assert auto_assign not in body and "csrfmiddlewaretoken" not in body
    # The supervisors' body is kept apart from the operators'.
    page, queries = _projects_queries(client, url, but_the_call=True)
    assert queries == [] and auto_assign not in _body(page)
    client.force_login(operator)
    page, queries = _projects_queries(client, url, but_the_call=True)
    assert queries == [] and auto_assign in _body(page)


def test_the_kept_ranking_carries_each_operators_own_csrf_token(operator, mfa):
    application = make_application(title="Harbour vision")
    screening.start_screening(application, by=operator)
    make_reviewer()
    other = make_operator()
    mfa(operator), mfa(other)
    url = reverse("projects:call_ranking", args=[application.call_id])
    first, second = Client(enforce_csrf_checks=True), Client(enforce_csrf_checks=True)
    first.force_login(operator)
    second.force_login(other)
    assert "Harbour vision" in first.get(url).content.decode()
    # The body the first operator's request kept, which asks nothing of the applications and reviews.
    page, queries = _projects_queries(second, url, but_the_call=True)
    assert queries == [] and '<td class="text-end">0 / 0</td>' in page
    # The form carries the second operator's token, which their session accepts.
    assigned = second.post(
        reverse("projects:call_auto_assign", args=[application.call_id]),
        {"per_application": 1, "csrfmiddlewaretoken": _token(page)},
    )
    assert assigned.status_code == 302
    assert ReviewAssignment.objects.filter(application=application).count() == 1
    # The new assignment (and the review it started) is on the next page.
    page = first.get(url).content.decode()
    assert '<td class="text-end">0 / 1</td>' in page
    assert f">{ApplicationStatus.IN_REVIEW.label}</span>" in page


def test_the_staff_project_list_is_kept_until_a_project_changes(client, operator, mfa):
    owner = UserFactory()
    project = accepted(owner, title="Harbour vision").project
    url = reverse("projects:project_list")
    client.force_login(mfa(operator))
    page, _queries = _projects_queries(client, url)
    assert "Harbour vision" in page and f">{ProjectStatus.ONBOARDING.label}</span>" in page
    again, queries = _projects_queries(client, url)
    assert queries == [] and "Harbour vision" in again
    incubation.set_project_status(project, ProjectStatus.ACTIVE, by=operator)
    page = client.get(url).content.decode()
    assert f">{ProjectStatus.ACTIVE.label}</span>" in page
    assert f">{ProjectStatus.ONBOARDING.label}</span>" not in page
    # The programme's title and the organisation's name are on the next page too.
    programme = project.programme
    programme.title_en = "Harbour incubation"
    programme.save()
    assert "Harbour incubation" in client.get(url).content.decode()
    organisation = project.organisation
    organisation.name_en = "Harbour Robotics Group"
    organisation.save()
    assert "Harbour Robotics Group" in client.get(url).content.decode()


def test_a_member_never_gets_the_staff_project_list(client, operator, mfa):
    owner = UserFactory()
    own = accepted(owner, title="Harbour vision").project
    theirs = accepted(UserFactory(), title="Someone else").project
    url = reverse("projects:project_list")
    client.force_login(mfa(operator))
    client.get(url)
    staff_page, queries = _projects_queries(client, url)
    assert queries == [] and own.title in staff_page and theirs.title in staff_page
    # A member's list is their own, never the staff's, and nothing is kept for them.
    client.force_login(owner)
    for _visit in range(2):
        page, queries = _projects_queries(client, url)
        assert own.title in page and theirs.title not in page
        assert [sql for sql in queries if "projects_project" in sql]


def test_an_applicants_list_is_kept_for_them_alone_until_it_or_what_they_may_see_changes(client):
    from projects.services import applications as application_services
    from tests.accounts.factories import UserFactory
    from tests.projects.factories import make_application

    alice, bob = UserFactory(), UserFactory()
    hers = make_application(alice, title="Harbour crane vision")
    his = make_application(bob, title="Metro crowd forecasting")
    url = reverse("projects:application_list")
    client.force_login(alice)
    page = client.get(url).content.decode()
    assert "Harbour crane vision" in page and "Metro crowd forecasting" not in page
    with CaptureQueriesContext(connection) as queries:
        client.get(url)
    assert not [q for q in queries.captured_queries if "projects_" in q["sql"]]
    client.force_login(bob)
    page = client.get(url).content.decode()
    assert "Metro crowd forecasting" in page and "Harbour crane vision" not in page
    # Bob invites Alice as a co-applicant: her next page shows his application too.
    application_services.invite_co_applicant(his, by=bob, email=alice.email)
    client.force_login(alice)
    assert "Metro crowd forecasting" in client.get(url).content.decode()
    # A change of her own application's status shows.
    application_services.withdraw_application(hers, by=alice)
    assert "Withdrawn" in client.get(url).content.decode()


def test_the_application_api_list_is_kept_per_audience(operator):
    from rest_framework.test import APIClient

    owner = UserFactory()
    application, assignment = in_review(owner, title="Harbour crane vision")
    other = make_application(title="Metro crowd forecasting")
    url = reverse("api:incubation-application-list")
    staff, applicant = APIClient(), APIClient()
    staff.force_authenticate(operator)
    applicant.force_authenticate(owner)
    mine = applicant.get(url).json()["results"]
    assert [a["id"] for a in mine] == [application.pk] and "assignments" not in mine[0]
    everyone = {a["id"]: a for a in staff.get(url).json()["results"]}
    assert set(everyone) == {application.pk, other.pk}
    assert len(everyone[application.pk]["assignments"]) == 1
    with CaptureQueriesContext(connection) as queries:
        assert [a["id"] for a in applicant.get(url).json()["results"]] == [application.pk]
        staff.get(url)
    assert not [q for q in queries.captured_queries if "projects_" in q["sql"]]
    # A second reviewer assigned shows in the staff's list on the next page.
    review.assign_reviewer(application, make_reviewer(), by=operator)
    everyone = {a["id"]: a for a in staff.get(url).json()["results"]}
    assert len(everyone[application.pk]["assignments"]) == 2
