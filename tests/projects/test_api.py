"""The incubation REST API: public calls, my applications, reviews, operator decisions; permissions and blindness."""

import pytest

from projects.models import Application, ApplicationStatus, AssignmentStatus, ReviewAssignment
from projects.services import screening
from tests.accounts.factories import UserFactory, make_supervisor, make_verified_organisation
from tests.projects.factories import (
    FIELDS,
    accepted,
    in_review,
    make_application,
    make_call,
    make_reviewer,
    make_reviewer_in,
    operator,
    reviewed,
)

pytestmark = pytest.mark.django_db

CALLS = "/api/v1/incubation/calls/"
APPS = "/api/v1/incubation/applications/"
REVIEWS = "/api/v1/incubation/review-assignments/"
PROJECTS = "/api/v1/incubation/projects/"


def as_user(api_client, user):
    api_client.force_authenticate(user)
    return api_client


def test_open_calls_are_public(api_client):
    call = make_call()
    make_call(open_=False)
    response = api_client.get(CALLS)
    assert response.status_code == 200
    results = response.json()["results"] if "results" in response.json() else response.json()
    assert [c["id"] for c in results] == [call.pk]
    detail = api_client.get(f"{CALLS}{call.pk}/").json()
    assert len(detail["programme"]["criteria"]) == 3 and detail["programme"]["score_scale"]["max"] == 5


def test_applicant_creates_edits_submits_and_withdraws(api_client):
    owner = UserFactory()
    organisation = make_verified_organisation(owner)
    call = make_call()
    as_user(api_client, owner)
    response = api_client.post(
        APPS, {"call": call.pk, "organisation": organisation.pk, "title": "Urban brain"}, format="json"
    )
    assert response.status_code == 201, response.json()
    pk = response.json()["id"]
    assert response.json()["status"] == "draft"
    fields = {k: v for k, v in FIELDS.items() if k != "title"}
    assert api_client.patch(f"{APPS}{pk}/", fields, format="json").status_code == 200
    submitted = api_client.post(f"{APPS}{pk}/submit/")
    assert submitted.status_code == 200 and submitted.json()["status"] == "submitted"
    assert api_client.patch(f"{APPS}{pk}/", {"title": "late"}, format="json").status_code == 409
    assert api_client.post(f"{APPS}{pk}/withdraw/").json()["status"] == "withdrawn"
    assert api_client.post(f"{APPS}{pk}/withdraw/").status_code == 409


@pytest.mark.parametrize(
    "payload",
    [
        {},
        {"title": "x"},
        {"call": "abc", "title": "x"},
        {"call": 999999, "organisation": 1, "title": "x"},
        {"compute_card_hours": -1, "title": "x"},
        {"compute_card_hours": "lots", "title": "x"},
        [],
        "string",
    ],
)
def test_create_bad_payloads(api_client, payload):
    owner = UserFactory()
    make_verified_organisation(owner)
    make_call()
    response = as_user(api_client, owner).post(APPS, payload, format="json")
    assert response.status_code == 400
    assert not Application.objects.exists()


def test_submit_incomplete_is_400(api_client):
    owner = UserFactory()
    application = make_application(owner, submit=False, scenario="")
    response = as_user(api_client, owner).post(f"{APPS}{application.pk}/submit/")
    assert response.status_code == 400


def test_other_organisations_applications_are_404(api_client):
    application = make_application()
    as_user(api_client, UserFactory())
    assert api_client.get(f"{APPS}{application.pk}/").status_code == 404
    assert api_client.post(f"{APPS}{application.pk}/withdraw/").status_code == 404
    assert api_client.get(APPS).json()["results"] == []


def test_anonymous_gets_401_on_private_endpoints(api_client):
    for url in (APPS, REVIEWS, PROJECTS):
        assert api_client.get(url).status_code in (401, 403)


def test_applicant_api_never_names_reviewers(api_client):
    owner = UserFactory()
    reviewer = make_reviewer(email="secret.reviewer@review.cn", name="Secret Reviewer")
    application, _ = reviewed(owner, reviewer=reviewer)
    as_user(api_client, owner)
    for url in (f"{APPS}{application.pk}/", APPS):
        body = api_client.get(url).content.decode()
        assert "secret.reviewer" not in body and "Secret Reviewer" not in body and "assignments" not in body
    staff_body = as_user(api_client, operator()).get(f"{APPS}{application.pk}/").content.decode()
    assert "secret.reviewer@review.cn" in staff_body


def test_operator_flow_through_api(api_client):
    owner = UserFactory()
    application = make_application(owner)
    reviewer = make_reviewer()
    as_user(api_client, operator())
    url = f"{APPS}{application.pk}/"
    assert api_client.post(url + "start-screening/").json()["status"] == "screening"
    assert api_client.post(url + "request-information/", {"message": ""}, format="json").status_code == 400
    assigned = api_client.post(url + "assign/", {"reviewer": reviewer.pk}, format="json")
    assert assigned.status_code == 201
    assert api_client.post(url + "assign/", {"reviewer": reviewer.pk}, format="json").status_code == 409
    assert api_client.post(url + "assign/", {"reviewer": "x"}, format="json").status_code == 400
    assert api_client.post(url + "assign/", {"reviewer": 99999999}, format="json").status_code == 404
    # the reviewer reviews
    assignment = ReviewAssignment.objects.get()
    criteria = list(application.call.programme.criteria.all())
    as_user(api_client, reviewer)
    listing = api_client.get(REVIEWS).json()["results"]
    assert [a["id"] for a in listing] == [assignment.pk]
    bad = api_client.post(
        f"{REVIEWS}{assignment.pk}/review/", {"scores": {str(criteria[0].pk): 7}}, format="json"
    )
    assert bad.status_code == 400
    draft = api_client.post(
        f"{REVIEWS}{assignment.pk}/review/", {"scores": {str(criteria[0].pk): 5}}, format="json"
    )
    assert draft.status_code == 200 and draft.json()["status"] == "draft"
    done = api_client.post(
        f"{REVIEWS}{assignment.pk}/review/",
        {"scores": {str(c.pk): 4 for c in criteria}, "recommendation": "yes", "submit": True},
        format="json",
    )
    assert done.status_code == 200 and done.json()["weighted_score"] == "4.00"
    as_user(api_client, operator())
    assert api_client.post(url + "decide/", {"decision": "accepted"}, format="json").status_code == 409
    assert api_client.post(url + "close-review/").json()["status"] == "review_closed"
    assert api_client.post(url + "decide/", {"decision": "perhaps"}, format="json").status_code == 400
    decided = api_client.post(url + "decide/", {"decision": "accepted", "message": "Welcome"}, format="json")
    assert decided.status_code == 200 and decided.json()["determination_message"] == "Welcome"
    as_user(api_client, owner)
    projects = api_client.get(PROJECTS).json()["results"]
    assert len(projects) == 1 and {b["kind"] for b in projects[0]["benefits"]} >= {"compute_voucher"}


def test_operator_actions_refused_for_applicants_and_supervisors(api_client):
    owner = UserFactory()
    application = make_application(owner)
    url = f"{APPS}{application.pk}/start-screening/"
    assert as_user(api_client, owner).post(url).status_code == 403
    assert as_user(api_client, make_supervisor()).post(url).status_code == 403
    application.refresh_from_db()
    assert application.status == ApplicationStatus.SUBMITTED


def test_assign_own_organisation_is_409_with_message(api_client):
    application = make_application()
    screening.start_screening(application, by=operator())
    reviewer = make_reviewer_in(application.organisation)
    response = as_user(api_client, operator()).post(
        f"{APPS}{application.pk}/assign/", {"reviewer": reviewer.pk}, format="json"
    )
    assert response.status_code == 409 and "applying organisation" in response.json()["detail"]


def test_reviews_endpoint_for_reviewers_only_and_own(api_client):
    _application, assignment = in_review()
    assert as_user(api_client, UserFactory()).get(REVIEWS).status_code == 403
    other = make_reviewer()
    assert as_user(api_client, other).get(f"{REVIEWS}{assignment.pk}/").status_code == 404
    declined = as_user(api_client, assignment.reviewer).post(
        f"{REVIEWS}{assignment.pk}/decline/", {"conflict_of_interest": "Former employer"}, format="json"
    )
    assert declined.status_code == 200 and declined.json()["status"] == AssignmentStatus.DECLINED


def test_projects_endpoint_visibility(api_client):
    owner = UserFactory()
    accepted(owner)
    assert len(as_user(api_client, owner).get(PROJECTS).json()["results"]) == 1
    assert as_user(api_client, UserFactory()).get(PROJECTS).json()["results"] == []


@pytest.mark.parametrize("size", [2, 6])
def test_list_endpoints_constant_queries(api_client, django_assert_max_num_queries, size):
    owner = UserFactory()
    organisation = make_verified_organisation(owner)
    call = make_call()
    reviewer = make_reviewer()
    for _ in range(size):
        in_review(owner, organisation=organisation, call=call, reviewer=reviewer)
    for person, url in (
        (owner, APPS),
        (operator(), APPS),
        (reviewer, REVIEWS),
        (owner, PROJECTS),
        (None, CALLS),
    ):
        api_client.force_authenticate(person)
        with django_assert_max_num_queries(15):
            assert api_client.get(url).status_code == 200
