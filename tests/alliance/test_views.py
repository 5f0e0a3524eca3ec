"""The alliance pages as people use them: apply, decide, renew, moderate, who may see what."""

import pytest
from django.urls import reverse

from alliance.models import AllianceMembership, MembershipRenewal, MembershipStatus, ProfileRevision, Solution
from core.models import AuditEvent
from tests.accounts.factories import (
    UserFactory,
    make_organisation,
    make_supervisor,
    make_verified_organisation,
)
from tests.alliance.factories import apply_for, make_alliance_member, make_solution, manager_of

pytestmark = pytest.mark.django_db


def test_apply_then_operator_approves_on_the_page(
    client, operator, mfa, django_capture_on_commit_callbacks, mailoutbox
):
    owner = UserFactory()
    org = make_verified_organisation(owner, name_zh="申请公司", name_en="")
    client.force_login(owner)
    response = client.post(
        reverse("alliance:apply"), {"organisation": org.pk, "tier": "council", "statement": "我们做医疗 AI"}
    )
    membership = AllianceMembership.objects.get(organisation=org)
    assert response.status_code == 302 and response.url == membership.get_absolute_url()
    assert membership.status == MembershipStatus.PENDING
    # The owner cannot decide.
    assert (
        client.post(
            reverse("alliance:membership_decide", args=[membership.pk]), {"decision": "approve"}
        ).status_code
        == 403
    )
    client.force_login(mfa(operator))
    assert "申请公司" in client.get(reverse("alliance:queue")).content.decode()
    with django_capture_on_commit_callbacks(execute=True):
        client.post(reverse("alliance:membership_decide", args=[membership.pk]), {"decision": "approve"})
    membership.refresh_from_db()
    assert membership.status == MembershipStatus.ACTIVE
    assert mailoutbox and mailoutbox[-1].to == [owner.email]
    assert "申请公司" in client.get(reverse("alliance:index")).content.decode()


def test_reject_without_reason_changes_nothing(client, operator, mfa):
    membership = apply_for(make_verified_organisation(UserFactory()))
    client.force_login(mfa(operator))
    client.post(
        reverse("alliance:membership_decide", args=[membership.pk]), {"decision": "reject", "reason": " "}
    )
    membership.refresh_from_db()
    assert membership.status == MembershipStatus.PENDING
    client.post(reverse("alliance:membership_decide", args=[membership.pk]), {"decision": "maybe"})
    membership.refresh_from_db()
    assert membership.status == MembershipStatus.PENDING


def test_apply_form_errors(client):
    owner = UserFactory()
    org = make_verified_organisation(owner)
    client.force_login(owner)
    response = client.post(
        reverse("alliance:apply"), {"organisation": org.pk, "tier": "gold", "statement": ""}
    )
    assert response.status_code == 200
    assert set(response.context["form"].errors) == {"tier", "statement"}
    other = make_verified_organisation(UserFactory())
    response = client.post(
        reverse("alliance:apply"), {"organisation": other.pk, "tier": "member", "statement": "x"}
    )
    assert response.status_code == 200 and "organisation" in response.context["form"].errors
    assert not AllianceMembership.objects.exists()


def test_unverified_organisation_cannot_apply(client):
    owner = UserFactory()
    make_organisation(owner)
    client.force_login(owner)
    assert client.get(reverse("alliance:apply")).status_code == 302


def test_membership_of_another_organisation_is_404(client, operator):
    membership = make_alliance_member(make_verified_organisation(UserFactory()), operator=operator)
    client.force_login(UserFactory())
    assert client.get(membership.get_absolute_url()).status_code == 404
    assert client.post(reverse("alliance:membership_withdraw", args=[membership.pk])).status_code == 404


def test_renewal_through_the_pages(client, operator, mfa):
    org = make_verified_organisation(UserFactory())
    membership = make_alliance_member(org, operator=operator)
    end = membership.end_date
    client.force_login(manager_of(org))
    client.post(reverse("alliance:renewal_request", args=[membership.pk]), {"note": "再续一年"})
    renewal = MembershipRenewal.objects.get()
    client.post(reverse("alliance:renewal_request", args=[membership.pk]), {"note": "twice"})
    assert MembershipRenewal.objects.count() == 1
    client.force_login(mfa(operator))
    client.post(reverse("alliance:renewal_decide", args=[renewal.pk]), {"decision": "approve"})
    membership.refresh_from_db()
    assert membership.end_date.year == end.year + 1
    assert AuditEvent.objects.filter(action="alliance_membership.renew").exists()


def test_supervisor_reads_queue_and_cannot_decide(client, mfa):
    supervisor = mfa(make_supervisor())
    membership = apply_for(make_verified_organisation(UserFactory()))
    client.force_login(supervisor)
    assert client.get(reverse("alliance:queue")).status_code == 200
    assert client.get(reverse("alliance:membership_list")).status_code == 200
    assert client.get(membership.get_absolute_url()).status_code == 200
    assert (
        client.post(
            reverse("alliance:membership_decide", args=[membership.pk]), {"decision": "approve"}
        ).status_code
        == 403
    )


def test_staff_pages_refuse_members(client, operator):
    org = make_verified_organisation(UserFactory())
    make_alliance_member(org, operator=operator)
    client.force_login(manager_of(org))
    for name in ("alliance:queue", "alliance:membership_list", "alliance:talent_needs"):
        assert client.get(reverse(name)).status_code == 403


def test_solution_pages(client, operator, mfa):
    org = make_verified_organisation(UserFactory())
    make_alliance_member(org, operator=operator)
    client.force_login(manager_of(org))
    response = client.post(
        reverse("alliance:solution_create", args=[org.pk]),
        {"title": "城市大脑", "scenario": "urban_brain", "description": "交通与治理"},
    )
    solution = Solution.objects.get()
    assert response.url == solution.get_absolute_url()
    assert client.get(solution.get_absolute_url()).status_code == 200
    client.force_login(mfa(operator))
    client.post(reverse("alliance:solution_action", args=[solution.pk, "decide"]), {"decision": "approve"})
    solution.refresh_from_db()
    assert solution.status == "published"
    # Strangers cannot create solutions for an organisation.
    client.force_login(UserFactory())
    assert client.get(reverse("alliance:solution_create", args=[org.pk])).status_code == 404


def test_pages_render_for_every_role(client, operator, mfa):
    org = make_verified_organisation(UserFactory())
    make_alliance_member(org, operator=operator)
    solution = make_solution(org, operator=operator)
    ProfileRevision.objects.create(organisation=org, data={"description": "x"}, submitted_by=manager_of(org))
    for user in (manager_of(org), mfa(operator), UserFactory()):
        client.force_login(user)
        for url in (
            reverse("alliance:index"),
            reverse("alliance:mine"),
            reverse("alliance:need_list"),
            reverse("alliance:member_profile", args=[org.pk]),
            solution.get_absolute_url(),
            reverse("dashboard"),
            reverse("alliance:need_create"),
        ):
            assert client.get(url, follow=True).status_code == 200, url


def test_queue_query_count_is_constant(client, operator, mfa, django_assert_max_num_queries):
    client.force_login(mfa(operator))
    client.get("/")  # a session's first request records it (allauth.usersessions): paid before counting
    for _ in range(2):
        apply_for(make_verified_organisation(UserFactory()))
    with django_assert_max_num_queries(15):
        client.get(reverse("alliance:queue"))
    for _ in range(6):
        apply_for(make_verified_organisation(UserFactory()))
    with django_assert_max_num_queries(15):
        assert client.get(reverse("alliance:queue")).status_code == 200
    with django_assert_max_num_queries(15):
        assert client.get(reverse("alliance:membership_list")).status_code == 200
