"""The talent API: public catalogue and verification, my enrolments, instructor endpoints, permissions."""

from datetime import timedelta

import pytest
from django.utils import timezone

from talent.models import Access, Attendance, EnrolmentStatus
from talent.services.running import complete_cohort
from tests.accounts.factories import UserFactory, make_operator, make_supervisor
from tests.talent.factories import fill, make_cohort, make_course, make_instructor

pytestmark = pytest.mark.django_db
S = EnrolmentStatus
BASE = "/api/v1/talent"


def test_catalogue_is_public_with_seats_left(api_client):
    course = make_course(slug="llm-101")
    cohort = make_cohort(course, capacity=2)
    fill(cohort, 1)
    make_course(slug="hidden", published=False)
    response = api_client.get(f"{BASE}/courses/")
    assert response.status_code == 200
    slugs = [c["slug"] for c in response.data["results"]]
    assert slugs == ["llm-101"]
    assert response.data["results"][0]["cohorts"][0]["seats_left"] == 1
    assert api_client.get(f"{BASE}/courses/llm-101/").status_code == 200
    assert api_client.get(f"{BASE}/courses/hidden/").status_code == 404
    assert api_client.get(f"{BASE}/cohorts/{cohort.pk}/").data["seats_left"] == 1


@pytest.mark.parametrize("size", [2, 10])
def test_catalogue_list_query_count_is_constant(api_client, django_assert_max_num_queries, size):
    for _ in range(size):
        make_cohort(make_course())
    with django_assert_max_num_queries(4):
        assert api_client.get(f"{BASE}/courses/").status_code == 200


def test_enrol_withdraw_and_accept_offer_through_the_api(api_client):
    cohort = make_cohort(capacity=1)
    first, second = UserFactory(), UserFactory()
    assert api_client.post(f"{BASE}/cohorts/{cohort.pk}/enrol/").status_code in (401, 403)
    api_client.force_authenticate(first)
    response = api_client.post(f"{BASE}/cohorts/{cohort.pk}/enrol/", {}, format="json")
    assert response.status_code == 201 and response.data["status"] == "enrolled"
    first_id = response.data["id"]
    response = api_client.post(f"{BASE}/cohorts/{cohort.pk}/enrol/", {}, format="json")
    assert response.status_code == 409 and "already" in response.data["detail"]
    api_client.force_authenticate(second)
    response = api_client.post(f"{BASE}/cohorts/{cohort.pk}/enrol/", {}, format="json")
    assert response.data["status"] == "waitlisted" and response.data["waitlist_position"] == 1
    second_id = response.data["id"]
    # Nobody sees or changes another person's enrolment.
    assert api_client.get(f"{BASE}/my-enrolments/{first_id}/").status_code == 404
    assert api_client.post(f"{BASE}/my-enrolments/{first_id}/withdraw/").status_code == 404
    assert [e["id"] for e in api_client.get(f"{BASE}/my-enrolments/").data["results"]] == [second_id]
    api_client.force_authenticate(first)
    assert api_client.post(f"{BASE}/my-enrolments/{first_id}/withdraw/").data["status"] == "withdrawn"
    api_client.force_authenticate(second)
    response = api_client.post(f"{BASE}/my-enrolments/{second_id}/accept-offer/")
    assert response.status_code == 200 and response.data["status"] == "enrolled"
    assert api_client.post(f"{BASE}/my-enrolments/{second_id}/accept-offer/").status_code == 409


def test_enrol_bad_input(api_client):
    cohort = make_cohort(access=Access.CODE)
    api_client.force_authenticate(UserFactory())
    response = api_client.post(f"{BASE}/cohorts/{cohort.pk}/enrol/", {"code": "WRONG"}, format="json")
    assert response.status_code == 400 and "code" in response.data["detail"]
    response = api_client.post(f"{BASE}/cohorts/{cohort.pk}/enrol/", {"code": "x" * 100}, format="json")
    assert response.status_code == 400
    assert api_client.post(f"{BASE}/cohorts/999999/enrol/", {}, format="json").status_code == 404
    assert not cohort.enrolments.exists()


def test_instructor_endpoints_only_for_their_cohorts(api_client):
    teacher, other = make_instructor(), make_instructor()
    cohort = make_cohort(instructors=[teacher], sessions=1)
    a, b = fill(cohort, 2)
    session = cohort.sessions.first()
    api_client.force_authenticate(other)
    assert api_client.get(f"{BASE}/teaching/cohorts/{cohort.pk}/roster/").status_code == 404
    marks = {"marks": [{"enrolment": a.pk, "present": True}]}
    assert (
        api_client.post(
            f"{BASE}/teaching/sessions/{session.pk}/attendance/", marks, format="json"
        ).status_code
        == 404
    )
    # A learner sees neither the roster nor other learners' scores.
    api_client.force_authenticate(a.user)
    assert api_client.get(f"{BASE}/teaching/cohorts/").data["results"] == []
    assert api_client.get(f"{BASE}/teaching/cohorts/{cohort.pk}/roster/").status_code == 404
    api_client.force_authenticate(teacher)
    roster = api_client.get(f"{BASE}/teaching/cohorts/{cohort.pk}/roster/").data
    assert {r["id"] for r in roster} == {a.pk, b.pk}
    response = api_client.post(f"{BASE}/teaching/sessions/{session.pk}/attendance/", marks, format="json")
    assert response.status_code == 200 and response.data == {"changed": 1}
    assert Attendance.objects.get().present
    for bad in (
        {"scores": [{"enrolment": a.pk, "score": "101"}]},
        {"scores": [{"enrolment": a.pk, "score": "abc"}]},
        {"scores": [{"enrolment": 1.5, "score": "10"}]},
        {"scores": []},
        {"scores": "x"},
    ):
        assert (
            api_client.post(f"{BASE}/teaching/cohorts/{cohort.pk}/scores/", bad, format="json").status_code
            == 400
        )
    outsider = fill(make_cohort(), 1)[0]
    response = api_client.post(
        f"{BASE}/teaching/cohorts/{cohort.pk}/scores/",
        {"scores": [{"enrolment": a.pk, "score": "70"}, {"enrolment": outsider.pk, "score": "70"}]},
        format="json",
    )
    assert response.status_code == 400
    a.refresh_from_db()
    assert a.score is None
    response = api_client.post(
        f"{BASE}/teaching/cohorts/{cohort.pk}/scores/",
        {"scores": [{"enrolment": a.pk, "score": "70.5"}]},
        format="json",
    )
    assert response.data == {"changed": 1}


def test_supervisors_read_but_do_not_change(api_client):
    teacher = make_instructor()
    cohort = make_cohort(instructors=[teacher], sessions=1)
    (a,) = fill(cohort, 1)
    api_client.force_authenticate(make_supervisor())
    assert api_client.get(f"{BASE}/teaching/cohorts/{cohort.pk}/roster/").status_code == 200
    response = api_client.post(
        f"{BASE}/teaching/cohorts/{cohort.pk}/scores/",
        {"scores": [{"enrolment": a.pk, "score": "70"}]},
        format="json",
    )
    assert response.status_code == 403
    api_client.force_authenticate(make_operator())
    assert api_client.get(f"{BASE}/teaching/cohorts/{cohort.pk}/roster/").status_code == 200


def test_certificate_verification_is_public(api_client):
    teacher = make_instructor()
    cohort = make_cohort(instructors=[teacher], min_attendance_percent=0)
    (enrolment,) = fill(cohort, 1)
    type(cohort).objects.filter(pk=cohort.pk).update(
        ends_on=timezone.localdate(), starts_on=timezone.localdate() - timedelta(days=1)
    )
    complete_cohort(cohort, by=teacher)
    code = enrolment.certificate.code
    response = api_client.get(f"{BASE}/certificates/{code}/")
    assert response.status_code == 200
    assert response.data["status"] == "valid" and response.data["holder"] == enrolment.user.name
    assert "email" not in str(response.data)
    assert api_client.get(f"{BASE}/certificates/AICC-NONE/").status_code == 404
    assert api_client.get(f"{BASE}/certificates/{'X' * 40}/").status_code == 400


def test_schema_has_the_talent_endpoints(api_client):
    response = api_client.get("/api/schema/")
    assert response.status_code == 200
    text = response.content.decode()
    assert "/api/v1/talent/cohorts/{id}/enrol/" in text and "/api/v1/talent/certificates/{code}/" in text
