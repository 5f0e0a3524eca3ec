"""A course's page and a cohort's page, kept for each person and for visitors (talent/kept.py: COURSE): asked
again they read none of the rows they show, the seats left, the waitlist and whatever else they show are right
after any change through the services, a person never gets another's body, and a form in a kept body takes the
asker's own CSRF token."""

import re
from datetime import timedelta

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from accounts import services as account_services
from accounts.models import OrganisationKind
from talent.models import Audience, Cohort, CohortStatus, Enrolment, EnrolmentStatus, Session
from talent.services.catalogue import save_catalogue_object, save_cohort, set_cohort_status
from talent.services.enrolment import enrol, withdraw
from tests.accounts.factories import UserFactory, an_operator, make_operator, make_organisation
from tests.talent.factories import fill, make_cohort, make_instructor

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("steady_minute")]

# What the bodies read; the course (talent_course) is read every time, to check who may see it.
BODY_ROWS = (
    "talent_enrolment",
    "talent_session",
    "talent_seatpool",
    "talent_course_instructors",
    "accounts_membership",
    "alliance_alliancemembership",
)


def _get(client, url) -> tuple[str, list[str]]:
    """The page's <main> (its CSRF tokens left out) and the queries it asked of the rows a body shows."""
    with CaptureQueriesContext(connection) as queries:
        response = client.get(url)
    assert response.status_code == 200
    html = re.sub(r'name="csrfmiddlewaretoken" value="[^"]+"', "CSRF", response.content.decode())
    asked = [q["sql"] for q in queries.captured_queries if any(table in q["sql"] for table in BODY_ROWS)]
    return _main(html), asked


def _main(html: str) -> str:
    return html[html.index("<main") : html.index("</main>")]


def _course(client, course):
    return _get(client, reverse("talent:course_detail", args=[course.slug]))


def _cohort(client, cohort):
    return _get(client, reverse("talent:cohort_detail", args=[cohort.pk]))


def _signed_in(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def test_the_pages_are_kept_and_show_every_enrolment_at_once():
    cohort = make_cohort(capacity=2, name="Harbour evenings")
    alice = _signed_in(UserFactory())
    page, _queries = _course(alice, cohort.course)
    assert "2 of 2 seats left" in page and "Harbour evenings" in page
    again, queries = _course(alice, cohort.course)
    assert queries == [] and again == page
    page, _queries = _cohort(alice, cohort)
    assert "2 of 2 seats left" in page and ">Enrol</button>" in page
    with CaptureQueriesContext(connection) as looked:
        again, queries = _cohort(alice, cohort)
    assert queries == [] and again == page
    # Nor the cohort itself: found once for this reader while nothing they may see changed.
    assert not [q for q in looked.captured_queries if '"talent_cohort"' in q["sql"]]
    # Someone else enrols: one seat left on both pages; the cohort is full: "Join the waitlist".
    fill(cohort, 1)
    assert "1 of 2 seat left" in _course(alice, cohort.course)[0]
    assert "1 of 2 seat left" in _cohort(alice, cohort)[0]
    fill(cohort, 1)
    page, _queries = _cohort(alice, cohort)
    assert "Full (waitlist open)" in page and ">Join the waitlist</button>" in page
    assert "Full (waitlist open)" in _course(alice, cohort.course)[0]


def test_a_learner_sees_their_place_on_the_waitlist_move():
    cohort = make_cohort(capacity=1)
    first, waiting = fill(cohort, 2)
    alice = UserFactory()
    client = _signed_in(alice)
    client.post(reverse("talent:cohort_enrol", args=[cohort.pk]))
    assert Enrolment.objects.get(user=alice).status == EnrolmentStatus.WAITLISTED
    page, _queries = _cohort(client, cohort)
    assert "You are number 2 on the waitlist." in page
    _again, queries = _cohort(client, cohort)
    assert queries == []
    # The one ahead of her leaves the waitlist: she is next.
    withdraw(waiting, by=waiting.user)
    page, _queries = _cohort(client, cohort)
    assert "You are number 1 on the waitlist." in page
    assert "You are number 1 on the waitlist." in _course(client, cohort.course)[0]
    # The seat holder leaves: the seat is offered to her.
    withdraw(first, by=first.user)
    page, _queries = _cohort(client, cohort)
    assert "You are number" not in page and Enrolment.objects.get(user=alice).get_status_display() in page


def test_people_never_share_a_body_and_visitors_share_theirs(mfa):
    teacher = make_instructor(name="Lin Teacher")
    cohort = make_cohort(capacity=3, instructors=[teacher], name="Harbour evenings")
    enrolled = fill(cohort, 1)[0].user
    url = reverse("talent:cohort_detail", args=[cohort.pk])
    edit = reverse("talent:cohort_edit", args=[cohort.pk])
    roster = reverse("talent:roster", args=[cohort.pk])
    pages = {}
    for name, user in (
        ("learner", UserFactory()),
        ("enrolled", enrolled),
        ("teacher", teacher),
        ("operator", mfa(make_operator())),
    ):
        pages[name], _queries = _cohort(_signed_in(user), cohort)
    assert ">Enrol</button>" in pages["learner"] and roster not in pages["learner"]
    assert "You are number" not in pages["enrolled"] and reverse("talent:my_enrolments") in pages["enrolled"]
    assert ">Enrol</button>" not in pages["enrolled"]
    assert (
        "You teach this cohort" in pages["teacher"]
        and roster in pages["teacher"]
        and edit not in pages["teacher"]
    )
    assert "Staff of the center do not take seats" in pages["operator"] and edit in pages["operator"]
    # Visitors: asked to sign in, with the way back; every visitor gets the same body.
    visitor, _queries = _get(Client(), url)
    assert "Sign in or create an account to enrol." in visitor and f"?next={url}" in visitor
    again, queries = _get(Client(), url)
    assert queries == [] and again == visitor
    # Another learner who may enrol sees what the first one saw, from a body of their own.
    page, queries = _cohort(_signed_in(UserFactory()), cohort)
    assert queries != [] and page == pages["learner"]


def test_a_change_of_the_cohort_its_course_sessions_and_instructors_shows_on_the_next_page():
    operator = make_operator()
    cohort = make_cohort(capacity=3, name="Harbour evenings")
    client = _signed_in(UserFactory())
    _course(client, cohort.course), _cohort(client, cohort)
    # The cohort renamed, its course renamed, a session added, an instructor appointed.
    cohort.name = "Harbour weekends"
    save_cohort(cohort, by=operator, changed=["name"])
    assert "Harbour weekends" in _course(client, cohort.course)[0]
    course = cohort.course
    course.title_en = "Retrieval in practice"
    save_catalogue_object(course, by=operator, changed=["title_en"])
    assert "Retrieval in practice" in _cohort(client, cohort)[0]
    start = timezone.now() + timedelta(days=20)
    session = Session(
        cohort=cohort, title="Evaluation day", starts_at=start, ends_at=start + timedelta(hours=2)
    )
    session.place = "Training room 2"
    save_catalogue_object(session, by=operator, changed=["title"])
    assert "Evaluation day" in _cohort(client, cohort)[0]
    teacher = make_instructor(name="Lin Teacher")
    save_cohort(cohort, by=operator, changed=[], instructors=[teacher])
    assert "Lin Teacher" in _cohort(client, cohort)[0]
    save_catalogue_object(course, by=operator, changed=[], m2m={"instructors": [teacher]})
    assert "Lin Teacher" in _course(client, course)[0]
    # Who teaches, set on its own (as the factories do), is on the next page too.
    co_teacher = make_instructor(name="Chen Co")
    _cohort(client, cohort)
    cohort.instructors.add(co_teacher)
    assert "Chen Co" in _cohort(client, cohort)[0]
    course.instructors.add(co_teacher)
    assert "Chen Co" in _course(client, course)[0]
    # The instructor's name changed on their account.
    teacher.name = "Lin Wei"
    teacher.save(update_fields=["name"])
    assert "Lin Wei" in _cohort(client, cohort)[0] and "Lin Wei" in _course(client, course)[0]
    # A cohort taken off the catalogue is refused at once, whatever is kept.
    set_cohort_status(cohort, status=CohortStatus.DRAFT, by=operator)
    assert client.get(reverse("talent:cohort_detail", args=[cohort.pk])).status_code == 404


def test_what_the_audience_rules_read_shows_on_the_next_page():
    verifier = an_operator()
    cohort = make_cohort(audience=Audience.STUDENTS)
    student = UserFactory()
    university = make_organisation(student, kind=OrganisationKind.UNIVERSITY, name_en="Harbour University")
    account_services.submit_organisation_for_verification(university, by=student)
    client = _signed_in(student)
    page, _queries = _cohort(client, cohort)
    assert "This cohort is for students only" in page
    # Her university is verified: she is a student now.
    account_services.verify_organisation(university, by=verifier)
    page, _queries = _cohort(client, cohort)
    assert ">Enrol</button>" in page


def test_what_time_changes_shows_within_the_minute(steady_minute):
    cohort = make_cohort()
    client = _signed_in(UserFactory())
    assert ">Enrol</button>" in _cohort(client, cohort)[0]
    # Enrolment closes (written without a signal): the next minute's page says so.
    Cohort.objects.filter(pk=cohort.pk).update(enrolment_closes_at=timezone.now() - timedelta(minutes=1))
    steady_minute("later")
    assert "Enrolment for this cohort has closed." in _cohort(client, cohort)[0]


def test_the_kept_enrol_form_carries_each_requests_own_csrf_token():
    cohort = make_cohort(capacity=3)
    alice = UserFactory()
    first, second = Client(enforce_csrf_checks=True), Client(enforce_csrf_checks=True)
    first.force_login(alice)
    second.force_login(alice)  # her second session: a token of its own
    _cohort(first, cohort)
    with CaptureQueriesContext(connection) as queries:
        page = second.get(reverse("talent:cohort_detail", args=[cohort.pk])).content.decode()
    assert not [q for q in queries.captured_queries if "talent_enrolment" in q["sql"]]  # the kept body
    enrol_url = reverse("talent:cohort_enrol", args=[cohort.pk])
    assert second.post(enrol_url).status_code == 403
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', _main(page)).group(1)
    assert second.post(enrol_url, {"csrfmiddlewaretoken": token}).status_code == 302
    assert Enrolment.objects.get(user=alice, cohort=cohort).status == EnrolmentStatus.ENROLLED
    page, _queries = _cohort(first, cohort)
    assert ">Enrol</button>" not in page and "2 of 3 seats left" in page


def test_each_language_has_its_own_body():
    cohort = make_cohort(capacity=3)
    client = _signed_in(UserFactory())
    english, _queries = _cohort(client, cohort)
    url = reverse("talent:cohort_detail", args=[cohort.pk])
    chinese = client.get(url, HTTP_ACCEPT_LANGUAGE="zh-hans").content.decode()
    assert "3 of 3 seats left" in english and "3 of 3 seats left" not in chinese and "报名" in chinese
    enrol(cohort, user=UserFactory())
    assert "2 of 3 seats left" in _cohort(client, cohort)[0]


def test_the_warm_up_renders_a_changed_page_as_its_reader(settings):
    from core import pagecache

    settings.KEPT_PAGES_WARM = True
    cohort = make_cohort(capacity=3)
    client = _signed_in(UserFactory())
    _cohort(client, cohort)
    fill(cohort, 1)  # a new generation
    assert pagecache.warm(["talent-course"]) == 1
    page, queries = _cohort(client, cohort)
    assert queries == [] and "2 of 3 seats left" in page and ">Enrol</button>" in page
