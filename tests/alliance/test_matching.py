"""Solutions with moderation, needs, matchmaking with reasons, interest with notifications, talent needs."""

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse

from alliance.models import Interest, NeedKind, Scenario, Solution, SolutionStatus
from alliance.services import matching, needs, solutions
from core.exceptions import Conflict, DomainError, NotAllowed
from core.models import AuditEvent
from tests.accounts.factories import UserFactory, make_verified_organisation
from tests.alliance.factories import (
    apply_for,
    make_capability,
    make_member_organisation,
    make_need,
    make_solution,
    manager_of,
    publish_profile,
)

pytestmark = pytest.mark.django_db


def test_solution_is_moderated_before_publication(
    client, operator, django_capture_on_commit_callbacks, mailoutbox
):
    org = make_member_organisation(operator)
    solution = make_solution(org, operator=operator, publish=False, title="交通信号优化")
    assert solution.status == SolutionStatus.PENDING
    assert client.get(reverse("alliance:solution_detail", args=[solution.pk])).status_code == 404
    assert (
        "交通信号优化" not in client.get(reverse("alliance:member_profile", args=[org.pk])).content.decode()
    )
    with pytest.raises(NotAllowed):
        solutions.publish_solution(solution, by=manager_of(org))
    with django_capture_on_commit_callbacks(execute=True):
        solutions.publish_solution(solution, by=operator)
    assert len(mailoutbox) == 1
    assert client.get(reverse("alliance:solution_detail", args=[solution.pk])).status_code == 200
    assert "交通信号优化" in client.get(reverse("alliance:member_profile", args=[org.pk])).content.decode()
    # Editing a published solution sends it back to moderation.
    solutions.update_solution(solution, by=manager_of(org), title="交通信号优化 2.0")
    solution.refresh_from_db()
    assert solution.status == SolutionStatus.PENDING
    assert client.get(reverse("alliance:solution_detail", args=[solution.pk])).status_code == 404
    solutions.reject_solution(solution, by=operator, reason="Add the outcome")
    assert AuditEvent.objects.filter(action="solution.reject", target_id=str(solution.pk)).exists()


def test_only_current_members_publish(operator):
    org = make_verified_organisation(UserFactory())
    apply_for(org)
    with pytest.raises(NotAllowed):
        make_solution(org, operator=operator)
    with pytest.raises(NotAllowed):
        make_need(org)


def test_bad_solution_and_need_input(operator):

    org = make_member_organisation(operator)
    owner = manager_of(org)
    with pytest.raises(ValidationError):
        solutions.create_solution(org, by=owner, title="", scenario=Scenario.OTHER, description="x")
    with pytest.raises(ValidationError):
        solutions.create_solution(org, by=owner, title="t", scenario="mars", description="x")
    for people in (0, "many"):
        with pytest.raises(ValidationError):
            needs.post_need(
                org,
                by=owner,
                kind=NeedKind.TALENT,
                title="t",
                description="d",
                scenario="other",
                people=people,
                skills="py",
            )
    with pytest.raises(ValidationError):
        needs.post_need(org, by=owner, kind="money", title="t", description="d", scenario="other")
    with pytest.raises(ValidationError):
        solutions.create_solution(
            org, by=owner, title="t", scenario="other", description="d", capabilities=[999999]
        )
    assert not Solution.objects.exists()


def test_matchmaking_ranks_the_obvious_solution_first(operator):
    vision = make_capability("computer-vision", "计算机视觉", "Computer vision")
    medical = make_capability("medical-imaging", "医学影像", "Medical imaging")
    nlp = make_capability("nlp", "自然语言处理", "NLP")
    seeker = make_member_organisation(operator, name_zh="滨海人民医院")
    good = make_member_organisation(operator, name_zh="影像智能公司")
    meh = make_member_organisation(operator, name_zh="通用科技公司")
    other = make_member_organisation(operator, name_zh="语言公司")
    publish_profile(other, operator=operator, capabilities=[nlp])
    make_solution(
        meh,
        operator=operator,
        title="Traffic light timing",
        scenario=Scenario.SMART_TRANSPORT,
        capabilities=[vision],
    )
    best = make_solution(
        good,
        operator=operator,
        title="CT scan triage assistant",
        scenario=Scenario.SMART_MEDICAL,
        capabilities=[vision, medical],
    )
    make_solution(
        other, operator=operator, title="Chat bot", scenario=Scenario.SMART_FINANCE, capabilities=[nlp]
    )
    need = make_need(
        seeker, title="Faster CT scan triage", scenario=Scenario.SMART_MEDICAL, capabilities=[vision, medical]
    )
    matches = matching.matches_for(need)
    assert matches[0].solution == best
    assert matches[0].score > matches[1].score
    reasons = " ".join(matches[0].reasons)
    assert "Smart medical care" in reasons and "Medical imaging" in reasons and "scan" in reasons
    assert all(m.organisation_id != seeker.pk for m in matches)
    assert all(m.organisation_id != other.pk for m in matches)  # nothing in common


def test_express_interest_notifies_the_other_side_and_lists_on_both(
    client, operator, django_capture_on_commit_callbacks, mailoutbox
):
    seeker = make_member_organisation(operator, name_zh="需求方", name_en="")
    helper = make_member_organisation(operator, name_zh="供给方", name_en="")
    solution = make_solution(helper, operator=operator, scenario=Scenario.SMART_MEDICAL)
    need = make_need(seeker)
    mailoutbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        interest = needs.express_interest(
            need, by=manager_of(helper), organisation=helper, solution=solution, message="我们可以帮忙"
        )
    assert interest.direction == Interest.Direction.OFFER
    assert [m.to for m in mailoutbox] == [[manager_of(seeker).email]]
    with pytest.raises(Conflict):
        needs.express_interest(need, by=manager_of(helper), organisation=helper)
    with pytest.raises(DomainError):
        needs.express_interest(need, by=manager_of(seeker), organisation=seeker)
    # The need's owner invites the helper: the helper's managers are told.
    mailoutbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        invite = needs.express_interest(need, by=manager_of(seeker), organisation=helper)
    assert invite.direction == Interest.Direction.INVITE
    assert [m.to for m in mailoutbox] == [[manager_of(helper).email]]
    # Both sides see it.
    client.force_login(manager_of(seeker))
    assert "供给方" in client.get(reverse("alliance:mine")).content.decode()
    client.force_login(manager_of(helper))
    assert "需求方" in client.get(reverse("alliance:mine")).content.decode()
    # A stranger cannot act for an organisation.
    with pytest.raises(NotAllowed):
        needs.express_interest(need, by=UserFactory(), organisation=make_member_organisation(operator))


def test_needs_are_for_members_and_staff(client, operator):
    seeker = make_member_organisation(operator)
    need = make_need(seeker)
    url = reverse("alliance:need_detail", args=[need.pk])
    assert client.get(url).status_code == 302  # sign in first
    client.force_login(UserFactory())
    assert client.get(url).status_code == 404
    client.force_login(manager_of(make_member_organisation(operator)))
    response = client.get(url)
    assert response.status_code == 200


def test_talent_needs_page_for_operators(client, operator, mfa):
    org = make_member_organisation(operator, name_zh="人才需求公司", name_en="")
    make_need(org, kind=NeedKind.TALENT, title="Train annotators", skills="数据标注, Python", people=12)
    url = reverse("alliance:talent_needs")
    client.force_login(manager_of(org))
    assert client.get(url).status_code == 403
    client.force_login(mfa(operator))
    page = client.get(url).content.decode()
    assert "数据标注" in page and "12" in page and "人才需求公司" in page


def test_need_page_query_count_is_constant(client, operator, django_assert_max_num_queries):
    vision = make_capability("computer-vision")
    seeker = make_member_organisation(operator)
    need = make_need(seeker, capabilities=[vision])
    client.force_login(manager_of(seeker))
    client.get("/")  # a session's first request records it (allauth.usersessions): paid before counting
    for _ in range(2):
        org = make_member_organisation(operator)
        publish_profile(org, operator=operator, capabilities=[vision])
        make_solution(org, operator=operator, capabilities=[vision])
    url = reverse("alliance:need_detail", args=[need.pk])
    with django_assert_max_num_queries(20):
        client.get(url)
    for _ in range(6):
        org = make_member_organisation(operator)
        publish_profile(org, operator=operator, capabilities=[vision])
        make_solution(org, operator=operator, capabilities=[vision])
    with django_assert_max_num_queries(20):
        assert client.get(url).status_code == 200
