"""The staff's management of cohorts and a cohort's roster, kept per state of what they show (talent/kept.py):
asked again they read none of the rows they show, a change through the services is on the next page, and an
audience never gets another's body (nor its forms)."""

import re
from datetime import timedelta

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from talent import kept
from talent.models import Certificate, Enrolment, Session
from talent.services.catalogue import save_catalogue_object, save_cohort
from talent.services.certificates import revoke_certificate
from talent.services.enrolment import enrol
from talent.services.pools import assign_pool_seat, reserve_seats
from talent.services.running import complete_cohort, mark_attendance, set_scores
from tests.accounts.factories import UserFactory, make_operator, make_supervisor, make_verified_organisation
from tests.talent.factories import fill, make_cohort, make_course, make_instructor, make_programme

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("steady_minute")]

# The tables of the rows a roster shows; its cohort is read on every request, to check who may see it.
ROSTER_ROWS = (
    "talent_enrolment",
    "talent_session",
    "talent_attendance",
    "talent_certificate",
    "talent_seatpool",
)


def _get(client, url, tables=("talent_",)) -> tuple[str, list[str]]:
    """The page's <main> and the queries it asked of ``tables``."""
    with CaptureQueriesContext(connection) as queries:
        response = client.get(url)
    assert response.status_code == 200
    html = response.content.decode()
    asked = [q["sql"] for q in queries.captured_queries if any(table in q["sql"] for table in tables)]
    return html[html.index("<main") : html.index("</main>")], asked


def _roster(client, cohort) -> tuple[str, list[str]]:
    return _get(client, reverse("talent:roster", args=[cohort.pk]), ROSTER_ROWS)


def _token(body: str) -> str:
    """The CSRF token of the first form in the page's body (not the header's)."""
    return re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', body).group(1)


def _end(cohort):
    """Move the cohort into the past (its last day is today)."""
    today = timezone.localdate()
    type(cohort).objects.filter(pk=cohort.pk).update(starts_on=today - timedelta(days=3), ends_on=today)
    cohort.refresh_from_db()


def test_the_management_page_is_kept_until_what_it_shows_changes(client, operator, supervisor, mfa):
    mfa(operator), mfa(supervisor)
    cohort = make_cohort(capacity=3, name="Harbour evenings")
    url = reverse("talent:manage")
    client.force_login(operator)
    page, _queries = _get(client, url)
    assert "Harbour evenings" in page and ">3 / 3<" in page
    again, queries = _get(client, url)
    assert queries == [] and "Harbour evenings" in again
    # Enrolments and an organisation's seats take the seats, then people wait: the next page counts them.
    fill(cohort, 2)
    page, _queries = _get(client, url)
    assert ">1 / 3<" in page
    admin = UserFactory()
    reserve_seats(cohort, organisation=make_verified_organisation(admin), seats=1, by=admin)
    page, _queries = _get(client, url)
    assert ">0 / 3<" in page and 'data-label="Waiting" class="text-end">0<' in page
    fill(cohort, 1)
    page, _queries = _get(client, url)
    assert 'data-label="Waiting" class="text-end">1<' in page
    # The supervisors' page, kept too, shows a cohort changed by an operator, a new course, a new programme.
    client.force_login(supervisor)
    _get(client, url)
    _again, queries = _get(client, url)
    assert queries == []
    cohort.name = "Harbour weekends"
    save_cohort(cohort, by=operator, changed=["name"])
    page, _queries = _get(client, url)
    assert "Harbour weekends" in page
    make_course(title_en="Retrieval in practice")
    page, _queries = _get(client, url)
    assert "Retrieval in practice" in page
    make_programme(title_en="Data engineer")
    page, _queries = _get(client, url)
    assert "Data engineer" in page
    # Each filter is a page of its own.
    draft, _queries = _get(client, f"{url}?status=draft")
    assert "Harbour weekends" not in draft and "Retrieval in practice" in draft


def test_a_supervisor_never_gets_the_operators_management_page(client, operator, supervisor, mfa):
    mfa(operator), mfa(supervisor)
    cohort = make_cohort(name="Harbour evenings")
    edit = reverse("talent:cohort_edit", args=[cohort.pk])
    url = reverse("talent:manage")
    client.force_login(operator)
    page, _queries = _get(client, url)
    assert edit in page
    client.force_login(supervisor)
    page, _queries = _get(client, url)
    assert "Harbour evenings" in page and edit not in page
    # Every supervisor shares theirs.
    client.force_login(mfa(make_supervisor()))
    page, queries = _get(client, url)
    assert queries == [] and "Harbour evenings" in page and edit not in page
    # Whoever else asks is refused, whatever is kept.
    client.force_login(make_instructor())
    assert client.get(url).status_code == 403


def test_the_roster_is_kept_until_what_it_shows_changes(client):
    teacher, operator = make_instructor(), make_operator()
    cohort = make_cohort(instructors=[teacher], sessions=2, capacity=2, name="Harbour evenings")
    first, second = fill(cohort, 2)
    client.force_login(teacher)
    page, _queries = _roster(client, cohort)
    assert first.user.email in page and "2 seats, 0 free" in page and "(0/2)" in page
    again, queries = _roster(client, cohort)
    assert queries == [] and first.user.email in again
    # Attendance marked, scores recorded, someone on the waitlist: on the next roster.
    mark_attendance(cohort.sessions.first(), by=teacher, present={first.pk: True, second.pk: False})
    page, _queries = _roster(client, cohort)
    assert "(1/2)" in page and "1 present" in page
    set_scores(cohort, by=teacher, scores={first.pk: "87.5"})
    page, _queries = _roster(client, cohort)
    assert f'name="score-{first.pk}" inputmode="decimal" value="87.50"' in page
    waiting = enrol(cohort, user=UserFactory(name="Wei Waiting"))
    page, _queries = _roster(client, cohort)
    assert waiting.user.name in page[page.index('id="waiting-heading"') :]
    # A session and a cohort changed by an operator.
    start = timezone.now() + timedelta(days=20)
    session = Session(
        cohort=cohort, title="Evaluation day", starts_at=start, ends_at=start + timedelta(hours=2)
    )
    session.place = "Training room 2"
    save_catalogue_object(session, by=operator, changed=["title"])
    page, _queries = _roster(client, cohort)
    assert "Evaluation day" in page and "(1/3)" in page
    cohort.name = "Harbour weekends"
    save_cohort(cohort, by=operator, changed=["name"])
    page, _queries = _roster(client, cohort)
    assert "Harbour weekends" in page
    course = cohort.course
    course.title_en = "Retrieval in practice"
    save_catalogue_object(course, by=operator, changed=["title_en"])
    page, _queries = _roster(client, cohort)
    assert "Retrieval in practice: Harbour weekends" in page
    # A learner's new name is on the next roster; a sign-in (which saves the time of it) changes nothing.
    first.user.name = "Lin Renamed"
    first.user.save(update_fields=["name"])
    page, _queries = _roster(client, cohort)
    assert "Lin Renamed" in page
    generation = kept.ROSTER.current()
    client.force_login(second.user)
    assert kept.ROSTER.current() == generation


def test_the_roster_shows_organisation_seats_and_certificates_as_they_change(client):
    teacher, operator = make_instructor(), make_operator()
    cohort = make_cohort(instructors=[teacher], sessions=1, capacity=3, min_attendance_percent=50)
    admin = UserFactory()
    organisation = make_verified_organisation(admin, name_en="Harbour Robotics")
    member = UserFactory()
    organisation.memberships.create(user=member, role="member")
    client.force_login(teacher)
    page, _queries = _roster(client, cohort)
    assert "3 seats, 3 free" in page
    pool = reserve_seats(cohort, organisation=organisation, seats=1, by=admin)
    page, _queries = _roster(client, cohort)
    assert "3 seats, 2 free" in page
    enrolment = assign_pool_seat(pool, user=member, by=admin)
    page, _queries = _roster(client, cohort)
    assert f"{member.email} · Harbour Robotics<" in page
    organisation.name_en = "Harbour Robotics Group"
    organisation.save()
    page, _queries = _roster(client, cohort)
    assert f"{member.email} · Harbour Robotics Group<" in page
    # Completed: the certificate is on the roster, and its revocation.
    mark_attendance(cohort.sessions.get(), by=teacher, present={enrolment.pk: True})
    _end(cohort)
    complete_cohort(cohort, by=teacher)
    certificate = Certificate.objects.get(enrolment=enrolment)
    page, _queries = _roster(client, cohort)
    assert f"{certificate.code}</a> <span" in page and ">Valid<" in page
    _again, queries = _roster(client, cohort)
    assert queries == []
    revoke_certificate(certificate, by=operator, reason="Copied the final project.")
    page, _queries = _roster(client, cohort)
    assert ">Revoked<" in page and ">Valid<" not in page


def test_each_audience_of_a_roster_gets_its_own_body(operator, supervisor, mfa):
    mfa(operator), mfa(supervisor)
    teacher, co_teacher, outsider = make_instructor(), make_instructor(), make_instructor()
    finished = make_cohort(instructors=[teacher, co_teacher], sessions=0, min_attendance_percent=0)
    (graduate,) = fill(finished, 1)
    _end(finished)
    complete_cohort(finished, by=teacher)
    code = Certificate.objects.get(enrolment=graduate).code
    revoke = reverse("talent:certificate_revoke", args=[code])
    running = make_cohort(instructors=[teacher, co_teacher], sessions=1)
    (learner,) = fill(running, 1)
    make_cohort(instructors=[outsider])
    clients = {}
    for name, person in (
        ("operator", operator),
        ("teacher", teacher),
        ("co_teacher", co_teacher),
        ("supervisor", supervisor),
        ("outsider", outsider),
        ("learner", learner.user),
    ):
        clients[name] = Client()
        clients[name].force_login(person)
    # The operators revoke certificates; the instructors, who come next, get the roster without that form.
    page, _queries = _roster(clients["operator"], finished)
    assert revoke in page
    page, _queries = _roster(clients["teacher"], finished)
    assert code in page and revoke not in page
    # The instructors of a cohort share theirs, forms included; the operators' is the operators'.
    page, queries = _roster(clients["co_teacher"], finished)
    assert queries == [] and code in page and revoke not in page
    page, queries = _roster(clients["operator"], finished)
    assert queries == [] and revoke in page
    # A supervisor reads the running cohort's roster after its instructors: without any form.
    complete = 'id="complete-heading"'
    page, _queries = _roster(clients["teacher"], running)
    assert f'name="score-{learner.pk}"' in page and "Save scores" in page and complete in page
    assert graduate.user.email not in page  # each cohort's roster is its own
    page, _queries = _roster(clients["supervisor"], running)
    assert learner.user.email in page
    assert f'name="score-{learner.pk}"' not in page and "Save scores" not in page and complete not in page
    _page, queries = _roster(clients["supervisor"], running)
    assert queries == []
    # An instructor of another cohort, and a learner, find nothing, whatever is kept.
    for name in ("outsider", "learner"):
        for cohort in (finished, running):
            assert clients[name].get(reverse("talent:roster", args=[cohort.pk])).status_code == 404


def test_the_kept_roster_carries_each_instructors_own_csrf_token():
    teacher, co_teacher = make_instructor(), make_instructor()
    cohort = make_cohort(instructors=[teacher, co_teacher], sessions=1)
    first_learner, second_learner = fill(cohort, 2)
    first, second = Client(enforce_csrf_checks=True), Client(enforce_csrf_checks=True)
    first.force_login(teacher)
    second.force_login(co_teacher)
    page, _queries = _roster(first, cohort)
    assert first_learner.user.email in page
    page, queries = _roster(second, cohort)  # the body the first instructor's request kept
    assert queries == []
    scores = reverse("talent:roster_scores", args=[cohort.pk])
    refused = second.post(scores, {f"score-{first_learner.pk}": "91"})
    assert refused.status_code == 403
    saved = second.post(
        scores,
        {
            f"score-{first_learner.pk}": "91",
            f"score-{second_learner.pk}": "",
            "csrfmiddlewaretoken": _token(page),
        },
    )
    assert saved.status_code == 302
    assert Enrolment.objects.get(pk=first_learner.pk).score == 91
    page, _queries = _roster(first, cohort)
    assert f'name="score-{first_learner.pk}" inputmode="decimal" value="91"' in page


def test_my_learning_and_its_api_list_are_kept_for_the_learner_alone(client):
    from rest_framework.test import APIClient

    from talent.services.enrolment import enrol, withdraw
    from tests.talent.factories import make_cohort

    cohort = make_cohort(capacity=1)
    alice, bob = UserFactory(), UserFactory()
    url = reverse("talent:my_enrolments")
    client.force_login(alice)
    assert cohort.course.title_en not in client.get(url).content.decode()
    mine = enrol(cohort, user=alice)
    page = client.get(url).content.decode()
    assert cohort.course.title_en in page
    with CaptureQueriesContext(connection) as queries:
        client.get(url)
    assert not [q for q in queries.captured_queries if "talent_" in q["sql"]]
    # Bob gets his own page: the waitlist, never Alice's seat.
    fill_seat = enrol(cohort, user=bob)
    client.force_login(bob)
    assert 'data-testid="waitlist-position"' in client.get(url).content.decode()
    api = APIClient()
    api.force_authenticate(bob)
    endpoint = reverse("api:talent-my-enrolment-list")
    assert [e["id"] for e in api.get(endpoint).json()["results"]] == [fill_seat.pk]
    # Alice withdraws: Bob is offered her seat, and his next page (and API page) say so.
    withdraw(mine, by=alice)
    assert "Seat held for you until" in client.get(url).content.decode()
    assert api.get(endpoint).json()["results"][0]["status"] == "offered"
