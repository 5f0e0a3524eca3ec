"""The alliance API: public directory with filters and search, my membership, solutions, needs, matches."""

import pytest

from alliance.models import AllianceMembership, MembershipStatus, Need, Solution
from tests.accounts.factories import UserFactory, make_supervisor, make_verified_organisation
from tests.alliance.factories import (
    apply_for,
    make_alliance_member,
    make_capability,
    make_member_organisation,
    make_need,
    make_solution,
    manager_of,
    publish_profile,
)

pytestmark = pytest.mark.django_db

DIRECTORY = "/api/v1/alliance/directory/"


def test_directory_is_public_with_filters_search_and_facets(api_client, operator):
    tag = make_capability("computer-vision", "计算机视觉", "Computer vision")
    a = make_member_organisation(operator, name_zh="星河智能科技有限公司", name_en="Xinghe AI", city="滨海")
    make_member_organisation(operator, name_zh="临江数据", city="临江")
    publish_profile(a, operator=operator, capabilities=[tag])
    body = api_client.get(DIRECTORY).json()
    assert len(body["results"]) == 2
    assert {r["name_zh"] for r in api_client.get(DIRECTORY, {"city": "滨海"}).json()["results"]} == {
        "星河智能科技有限公司"
    }
    assert [r["organisation"] for r in api_client.get(DIRECTORY, {"q": "xinghe"}).json()["results"]] == [a.pk]
    assert [r["organisation"] for r in api_client.get(DIRECTORY, {"q": "星河"}).json()["results"]] == [a.pk]
    assert [
        r["organisation"]
        for r in api_client.get(DIRECTORY, {"capability": "computer-vision"}).json()["results"]
    ] == [a.pk]
    facets = api_client.get(DIRECTORY + "facets/").json()
    assert {f["value"]: f["count"] for f in facets["city"]} == {"滨海": 1, "临江": 1}
    # An unknown filter value is a 400 that names the parameter, never a quietly unfiltered list.
    refused = api_client.get(DIRECTORY, {"kind": "spaceship", "q": "%%"})
    assert refused.status_code == 400 and "kind" in refused.json()
    assert api_client.get(DIRECTORY, {"tier": "platinum"}).json().keys() == {"tier"}
    assert api_client.get(DIRECTORY, {"page_size": "null"}).status_code == 400
    assert api_client.get(DIRECTORY, {"q": "%%"}).status_code == 200
    detail = api_client.get(f"{DIRECTORY}{a.pk}/").json()
    assert detail["entry"]["name_zh"] == "星河智能科技有限公司"
    assert [c["slug"] for c in detail["profile"]["capabilities"]] == ["computer-vision"]
    assert api_client.get(f"{DIRECTORY}999999/").status_code == 404


def test_directory_api_query_count_is_constant(api_client, operator, django_assert_max_num_queries):
    for _ in range(2):
        make_member_organisation(operator)
    with django_assert_max_num_queries(4):
        api_client.get(DIRECTORY, {"q": "测试"})
    for _ in range(8):
        make_member_organisation(operator)
    with django_assert_max_num_queries(4):
        assert len(api_client.get(DIRECTORY).json()["results"]) == 10


def test_apply_and_decide_through_the_api(api_client, operator):
    owner = UserFactory()
    org = make_verified_organisation(owner)
    api_client.force_authenticate(owner)
    response = api_client.post(
        "/api/v1/alliance/memberships/", {"organisation": org.pk, "tier": "observer", "statement": "加入"}
    )
    assert response.status_code == 201, response.content
    pk = response.json()["id"]
    assert api_client.post(f"/api/v1/alliance/memberships/{pk}/approve/").status_code == 403
    assert (
        api_client.post(
            "/api/v1/alliance/memberships/", {"organisation": org.pk, "statement": "again"}
        ).status_code
        == 409
    )
    api_client.force_authenticate(operator)
    assert api_client.post(f"/api/v1/alliance/memberships/{pk}/reject/", {"reason": ""}).status_code == 409
    response = api_client.post(f"/api/v1/alliance/memberships/{pk}/approve/")
    assert response.status_code == 200 and response.json()["status"] == MembershipStatus.ACTIVE
    api_client.force_authenticate(owner)
    assert api_client.post(f"/api/v1/alliance/memberships/{pk}/renew/", {"note": "ok"}).status_code == 201
    assert [m["id"] for m in api_client.get("/api/v1/alliance/memberships/").json()["results"]] == [pk]


def test_api_bad_inputs(api_client, operator):
    owner = UserFactory()
    org = make_verified_organisation(owner)
    api_client.force_authenticate(owner)
    for payload in (
        {"organisation": "x", "statement": "s"},
        {"organisation": org.pk, "tier": "gold", "statement": "s"},
        {"organisation": org.pk, "statement": ""},
        {"organisation": make_verified_organisation(UserFactory()).pk, "statement": "s"},
        [],
    ):
        assert api_client.post("/api/v1/alliance/memberships/", payload, format="json").status_code == 400, (
            payload
        )
    assert not AllianceMembership.objects.exists()
    make_alliance_member(org, operator=operator)
    for payload in (
        {"organisation": org.pk, "title": "", "scenario": "other", "description": "d"},
        {"organisation": org.pk, "title": "t", "scenario": "mars", "description": "d"},
        {
            "organisation": org.pk,
            "title": "t",
            "scenario": "other",
            "description": "d",
            "capabilities": ["nope"],
        },
    ):
        assert api_client.post("/api/v1/alliance/solutions/", payload, format="json").status_code == 400, (
            payload
        )
    assert not Solution.objects.exists()
    for payload in (
        {
            "organisation": org.pk,
            "kind": "talent",
            "title": "t",
            "description": "d",
            "scenario": "other",
            "people": 0,
        },
        {
            "organisation": org.pk,
            "kind": "talent",
            "title": "t",
            "description": "d",
            "scenario": "other",
            "people": -1,
        },
        {"organisation": org.pk, "kind": "x", "title": "t", "description": "d", "scenario": "other"},
    ):
        assert api_client.post("/api/v1/alliance/needs/", payload, format="json").status_code == 400, payload
    assert not Need.objects.exists()


def test_memberships_solutions_needs_are_private_to_the_organisation(api_client, operator):
    org = make_member_organisation(operator)
    solution = make_solution(org, operator=operator, publish=False)
    need = make_need(org)
    pending = apply_for(make_verified_organisation(UserFactory()))
    stranger = UserFactory()
    api_client.force_authenticate(stranger)
    assert api_client.get("/api/v1/alliance/memberships/").json()["results"] == []
    assert api_client.get(f"/api/v1/alliance/memberships/{pending.pk}/").status_code == 404
    assert api_client.get(f"/api/v1/alliance/solutions/{solution.pk}/").status_code == 404
    assert api_client.get(f"/api/v1/alliance/needs/{need.pk}/").status_code == 404
    api_client.force_authenticate(None)
    assert api_client.get("/api/v1/alliance/memberships/").status_code == 401
    # Another member sees the open need, not the unpublished solution.
    api_client.force_authenticate(manager_of(make_member_organisation(operator)))
    assert api_client.get(f"/api/v1/alliance/needs/{need.pk}/").status_code == 200
    assert api_client.get(f"/api/v1/alliance/solutions/{solution.pk}/").status_code == 404
    # Supervisors read all, change nothing.
    api_client.force_authenticate(make_supervisor())
    assert api_client.get(f"/api/v1/alliance/memberships/{pending.pk}/").status_code == 200
    assert api_client.post(f"/api/v1/alliance/memberships/{pending.pk}/approve/").status_code == 403


def test_matches_and_interest_through_the_api(api_client, operator):
    tag = make_capability("medical-imaging")
    seeker = make_member_organisation(operator)
    helper = make_member_organisation(operator)
    solution = make_solution(helper, operator=operator, capabilities=[tag])
    api_client.force_authenticate(manager_of(seeker))
    response = api_client.post(
        "/api/v1/alliance/needs/",
        {
            "organisation": seeker.pk,
            "kind": "technology",
            "title": "CT",
            "description": "d",
            "scenario": "smart_medical",
            "capabilities": ["medical-imaging"],
        },
        format="json",
    )
    assert response.status_code == 201, response.content
    need_id = response.json()["id"]
    matches = api_client.get(f"/api/v1/alliance/needs/{need_id}/matches/").json()
    assert matches[0]["solution"] == solution.pk and matches[0]["reasons"]
    api_client.force_authenticate(manager_of(helper))
    response = api_client.post(
        f"/api/v1/alliance/needs/{need_id}/interest/",
        {"organisation": helper.pk, "solution": solution.pk, "message": "hi"},
    )
    assert response.status_code == 201 and response.json()["direction"] == "offer"
    assert (
        api_client.post(
            f"/api/v1/alliance/needs/{need_id}/interest/", {"organisation": helper.pk}
        ).status_code
        == 409
    )
    assert (
        api_client.post(f"/api/v1/alliance/needs/{need_id}/interest/", {"organisation": "abc"}).status_code
        == 400
    )


def test_my_memberships_list_is_kept_per_reader_and_follows_every_change(api_client, operator):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    owner = UserFactory()
    org = make_verified_organisation(owner)
    mine = apply_for(org)
    other = apply_for(make_verified_organisation(UserFactory()))
    url = "/api/v1/alliance/memberships/"
    api_client.force_authenticate(owner)
    assert [m["id"] for m in api_client.get(url).json()["results"]] == [mine.pk]
    with CaptureQueriesContext(connection) as queries:
        again = api_client.get(url).json()
    assert [m["id"] for m in again["results"]] == [mine.pk]
    assert not [q["sql"] for q in queries.captured_queries if "alliance_" in q["sql"]]
    # A decision (a save) is in the next answer; staff get their own list, never the member's.
    api_client.force_authenticate(operator)
    assert {m["id"] for m in api_client.get(url).json()["results"]} >= {mine.pk, other.pk}
    api_client.post(f"{url}{mine.pk}/approve/")
    api_client.force_authenticate(owner)
    (shown,) = api_client.get(url).json()["results"]
    assert shown["status"] == MembershipStatus.ACTIVE
    # An organisation renamed is in the next answer too.
    org.name_en = org.name_zh = "Renamed Alliance Member"
    org.save()
    assert api_client.get(url).json()["results"][0]["organisation_name"] == "Renamed Alliance Member"
