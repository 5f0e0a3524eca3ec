"""A need's page, kept for each person (alliance/kept.py: NEED): asked again it computes no match and reads
none of the rows it shows, a change through the services (a match, interest, the need's status, a membership)
is on the next page, a person never gets another's body (nor its forms or the interest they may not see), and a
form in a kept body takes the asker's own CSRF token."""

import re

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from alliance.models import AllianceMembership, Need, NeedStatus
from alliance.services import membership as membership_services
from alliance.services import needs
from tests.accounts.factories import UserFactory, make_verified_organisation
from tests.alliance.factories import (
    make_alliance_member,
    make_capability,
    make_member_organisation,
    make_need,
    make_solution,
    manager_of,
    publish_profile,
)

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("steady_minute")]

# What the body reads; the need itself (and whether the person may see it) is read on every request.
BODY_ROWS = ("alliance_solution", "alliance_directoryentry", "alliance_interest", "alliance_capabilitytag")


def _main(html: str) -> str:
    return html[html.index("<main") : html.index("</main>")]


def _page(client, need) -> tuple[str, list[str]]:
    """The need's page's <main> (its CSRF tokens left out) and the queries it asked of the rows a body shows."""
    with CaptureQueriesContext(connection) as queries:
        response = client.get(reverse("alliance:need_detail", args=[need.pk]))
    assert response.status_code == 200
    html = re.sub(r'name="csrfmiddlewaretoken" value="[^"]+"', "CSRF", response.content.decode())
    asked = [q["sql"] for q in queries.captured_queries if any(table in q["sql"] for table in BODY_ROWS)]
    return _main(html), asked


def _signed_in(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


@pytest.fixture
def world(operator):
    """A member with a need for computer vision; another member whose solution and profile answer it."""
    vision = make_capability("computer-vision", name_en="Computer vision")
    seeker = make_member_organisation(operator, name_en="Harbour Hospital")
    helper = make_member_organisation(operator, name_en="Lens Works")
    publish_profile(helper, operator=operator, capabilities=[vision])
    solution = make_solution(helper, operator=operator, title="Nodule finder", capabilities=[vision])
    need = make_need(seeker, title="Triage of CT scans", capabilities=[vision])
    return {"vision": vision, "seeker": seeker, "helper": helper, "solution": solution, "need": need}


def test_the_page_is_kept_and_shows_new_matches_and_interest_at_once(world, operator):
    need, helper = world["need"], world["helper"]
    owner = _signed_in(manager_of(world["seeker"]))
    page, _queries = _page(owner, need)
    assert "Nodule finder" in page and "Computer vision" in page and "No interest yet." in page
    again, queries = _page(owner, need)
    assert queries == [] and again == page
    # Another member publishes a solution for the same scenario: a new match.
    other = make_member_organisation(operator, name_en="Scan Cloud")
    make_solution(other, operator=operator, title="Scan triage service", capabilities=[world["vision"]])
    page, _queries = _page(owner, need)
    assert "Scan triage service" in page
    # The helper offers its solution: on the owner's next page.
    needs.express_interest(need, by=manager_of(helper), organisation=helper, solution=world["solution"])
    page, _queries = _page(owner, need)
    assert "No interest yet." not in page and "Lens Works" in page[page.index('id="interests-heading"') :]
    # The owner invites the other member: "Invited" instead of the button.
    needs.express_interest(need, by=manager_of(world["seeker"]), organisation=other)
    page, _queries = _page(owner, need)
    assert "Invited" in page
    # A capability renamed, a capability added to the need: on the next page.
    vision = world["vision"]
    vision.name_en = "Machine vision"
    vision.save()
    page, _queries = _page(owner, need)
    assert "Machine vision" in page and "Computer vision" not in page
    speech = make_capability("speech", name_en="Speech recognition")
    _page(owner, need)
    need.capabilities.add(speech)
    assert "Speech recognition" in _page(owner, need)[0]
    # A solution renamed.
    solution = world["solution"]
    solution.title = "Nodule finder 2"
    solution.save()
    assert "Nodule finder 2" in _page(owner, need)[0]
    # The need closed: no matches any more, and "Reopen the need".
    needs.close_need(need, by=manager_of(world["seeker"]))
    page, _queries = _page(owner, need)
    assert "Suggested matches" not in page and "Reopen the need" in page


def test_people_never_share_a_body(world, operator, mfa):
    need, helper = world["need"], world["helper"]
    bystander_org = make_member_organisation(operator, name_en="Quiet Robotics")
    needs.express_interest(need, by=manager_of(helper), organisation=helper, message="We can help.")
    owner_page, _queries = _page(_signed_in(manager_of(world["seeker"])), need)
    helper_page, _queries = _page(_signed_in(manager_of(helper)), need)
    bystander_page, _queries = _page(_signed_in(manager_of(bystander_org)), need)
    staff_page, _queries = _page(_signed_in(mfa(operator)), need)
    close = reverse("alliance:need_action", args=[need.pk, "close"])
    # Only the owner may close the need and invite the matches.
    assert (
        close in owner_page
        and ">Express interest</button>" in owner_page
        and "Offer your help" not in owner_page
    )
    assert close not in helper_page and close not in bystander_page and close not in staff_page
    # The helper and the bystander may offer help; the owner and the staff may not.
    assert "Offer your help" in helper_page and "Offer your help" in bystander_page
    assert "Offer your help" not in staff_page
    # Interest is seen by the need's owner, the staff and the organisation that expressed it, no one else.
    assert "We can help." in owner_page and "We can help." in helper_page and "We can help." in staff_page
    assert "We can help." not in bystander_page
    # Whoever may not see the need is refused, whatever is kept.
    assert _signed_in(UserFactory()).get(reverse("alliance:need_detail", args=[need.pk])).status_code == 404


def test_a_membership_ending_shows_on_the_next_page(world, operator):
    need, helper = world["need"], world["helper"]
    person = manager_of(helper)
    labs = make_verified_organisation(person, name_en="Lens Labs")  # a second member they manage
    make_alliance_member(labs, operator=operator)
    client = _signed_in(person)
    page, _queries = _page(client, need)
    form = page[page.index('id="offer-heading"') :]
    assert "Lens Works" in form and "Lens Labs" in form
    membership_services.suspend_membership(
        AllianceMembership.objects.get(organisation=labs), by=operator, reason="Unpaid fees."
    )
    page, _queries = _page(client, need)
    form = page[page.index('id="offer-heading"') :]
    assert "Lens Works" in form and "Lens Labs" not in form


def test_the_kept_forms_carry_each_requests_own_csrf_token(world):
    need, owner = world["need"], manager_of(world["seeker"])
    first, second = Client(enforce_csrf_checks=True), Client(enforce_csrf_checks=True)
    first.force_login(owner)
    second.force_login(owner)  # a second session: a token of its own
    _page(first, need)
    with CaptureQueriesContext(connection) as queries:
        html = second.get(reverse("alliance:need_detail", args=[need.pk])).content.decode()
    assert not [q for q in queries.captured_queries if "alliance_solution" in q["sql"]]  # the kept body
    close = reverse("alliance:need_action", args=[need.pk, "close"])
    assert second.post(close).status_code == 403
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', _main(html)).group(1)
    assert second.post(close, {"csrfmiddlewaretoken": token}).status_code == 302
    assert Need.objects.get(pk=need.pk).status == NeedStatus.CLOSED
    assert "Reopen the need" in _page(first, need)[0]


def test_each_language_has_its_own_body(world):
    client = _signed_in(manager_of(world["seeker"]))
    english, _queries = _page(client, world["need"])
    url = reverse("alliance:need_detail", args=[world["need"].pk])
    chinese = _main(client.get(url, HTTP_ACCEPT_LANGUAGE="zh-hans").content.decode())
    assert "Suggested matches" in english and "Suggested matches" not in chinese


def test_the_warm_up_renders_a_changed_page_as_its_reader(world, operator, settings):
    from core import pagecache

    settings.KEPT_PAGES_WARM = True
    owner = _signed_in(manager_of(world["seeker"]))
    _page(owner, world["need"])
    other = make_member_organisation(operator, name_en="Scan Cloud")
    make_solution(other, operator=operator, title="Scan triage service", capabilities=[world["vision"]])
    assert pagecache.warm(["alliance-need"]) == 1
    page, queries = _page(owner, world["need"])
    assert queries == [] and "Scan triage service" in page and "Close the need" in page
