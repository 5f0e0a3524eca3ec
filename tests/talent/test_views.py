"""Pages: the catalogue and its filters, "Enrol" only where one can enrol, the flows, and who sees what."""

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from talent.models import Access, Audience, Cohort, CohortStatus, Course, Enrolment, EnrolmentStatus
from talent.services.enrolment import enrol
from tests.accounts.factories import UserFactory, make_operator, make_supervisor
from tests.talent.factories import fill, make_cohort, make_course, make_instructor, make_programme

pytestmark = pytest.mark.django_db
S = EnrolmentStatus


def test_catalogue_lists_published_courses_with_seats_and_filters(client):
    course = make_course(title_en="Prompt engineering", category="large_models", level="beginner")
    make_cohort(course, capacity=3, name="Winter evenings")
    hidden = make_course(title_en="Secret draft", published=False)
    make_cohort(hidden)
    vision = make_course(title_en="Vision basics", category="computer_vision")
    full = make_cohort(vision, capacity=1)
    fill(full, 1)
    response = client.get(reverse("talent:index"))
    body = response.content.decode()
    assert response.status_code == 200
    assert "Prompt engineering" in body and "Winter evenings" in body and "3 of" not in body
    assert "Secret draft" not in body
    assert "Full (waitlist open)" in body
    body = client.get(reverse("talent:index"), {"seats": "on"}).content.decode()
    assert "Prompt engineering" in body and "Vision basics" not in body
    body = client.get(reverse("talent:index"), {"category": "computer_vision"}).content.decode()
    assert "Vision basics" in body and "Prompt engineering" not in body
    body = client.get(reverse("talent:index"), {"q": "ENGINEERING"}).content.decode()
    assert "Prompt engineering" in body and "Vision basics" not in body
    body = client.get(reverse("talent:index"), {"audience": "students"}).content.decode()
    assert "No course matches these filters." in body
    # Bad filter values are ignored, never a 500.
    assert (
        client.get(
            reverse("talent:index"), {"starts_after": "yesterday", "level": "x", "page": "z"}
        ).status_code
        == 200
    )


@pytest.mark.parametrize("size", [2, 12])
def test_catalogue_query_count_is_constant(client, django_assert_max_num_queries, size):
    for _ in range(size):
        course = make_course()
        make_cohort(course)
        make_cohort(course)
    with django_assert_max_num_queries(8):
        assert client.get(reverse("talent:index"), {"seats": "on"}).status_code == 200


def test_the_catalogue_body_is_reused_until_the_catalogue_changes(client, django_assert_num_queries):
    course = make_course(title_en="Prompt engineering")
    cohort = make_cohort(course, capacity=2, name="Winter evenings")
    assert "2 seats left" in client.get(reverse("talent:index")).content.decode()
    with django_assert_num_queries(0):  # a visitor's page seen in the last minute: nothing asked
        assert "2 seats left" in client.get(reverse("talent:index")).content.decode()
    fill(cohort, 1)  # an enrolment: seats left change at once
    assert "1 seat left" in client.get(reverse("talent:index")).content.decode()
    make_course(title_en="Vision basics")  # a new course too
    assert "Vision basics" in client.get(reverse("talent:index")).content.decode()
    # What time changes (here: the next minute) is rendered anew even without a signal.
    Cohort.objects.filter(pk=cohort.pk).update(name="Spring evenings")
    later = timezone.now() + timedelta(minutes=1)
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr("core.pagecache.timezone.now", lambda: later)
        assert "Spring evenings" in client.get(reverse("talent:index")).content.decode()
    # Each language and query has its own body.
    body = client.get(reverse("talent:index"), {"q": "vision"}).content.decode()
    assert "Vision basics" in body and "Prompt engineering" not in body
    chinese = client.get(reverse("talent:index"), HTTP_ACCEPT_LANGUAGE="zh-hans").content.decode()
    assert "培训" in chinese


def test_enrol_never_shown_where_one_cannot_enrol_and_says_why(client):
    course = make_course()
    make_cohort(course, audience=Audience.STUDENTS, name="Students cohort")
    page = client.get(reverse("talent:course_detail", args=[course.slug])).content.decode()
    assert "Sign in or create an account to enrol." in page and ">Enrol<" not in page
    client.force_login(UserFactory())
    page = client.get(reverse("talent:course_detail", args=[course.slug])).content.decode()
    assert "students only" in page and "verified university" in page
    assert ">Enrol<" not in page


def test_enrol_flow_and_waitlist_position_on_my_page(client):
    course = make_course()
    cohort = make_cohort(course, capacity=1)
    first, second = UserFactory(), UserFactory()
    client.force_login(first)
    page = client.get(reverse("talent:cohort_detail", args=[cohort.pk])).content.decode()
    assert ">Enrol</button>" in page
    response = client.post(reverse("talent:cohort_enrol", args=[cohort.pk]))
    assert response.status_code == 302 and response["Location"] == reverse("talent:my_enrolments")
    page = client.get(reverse("talent:my_enrolments")).content.decode()
    assert course.title_en in page and "Enrolled" in page
    # Enrolling twice: a clear message, nothing changed.
    response = client.post(reverse("talent:cohort_enrol", args=[cohort.pk]), follow=True)
    assert "already in this cohort" in response.content.decode()
    assert Enrolment.objects.filter(user=first).count() == 1
    client.force_login(second)
    page = client.get(reverse("talent:cohort_detail", args=[cohort.pk])).content.decode()
    assert "Join the waitlist" in page and ">Enrol</button>" not in page
    response = client.post(reverse("talent:cohort_enrol", args=[cohort.pk]), follow=True)
    assert "number 1 on the waitlist" in response.content.decode()
    assert "Number 1 on the waitlist" in client.get(reverse("dashboard")).content.decode()


def test_wrong_code_on_the_page_changes_nothing(client):
    cohort = make_cohort(access=Access.CODE)
    client.force_login(UserFactory())
    response = client.post(reverse("talent:cohort_enrol", args=[cohort.pk]), {"code": "nope"}, follow=True)
    assert "enrolment code is not right" in response.content.decode()
    assert not Enrolment.objects.exists()


def test_withdraw_and_accept_offer_pages_only_for_the_person(client):
    cohort = make_cohort(capacity=1)
    (first,) = fill(cohort, 1)
    (second,) = fill(cohort, 1)
    client.force_login(second.user)
    assert client.post(reverse("talent:enrolment_withdraw", args=[first.pk])).status_code == 404
    client.force_login(first.user)
    client.post(reverse("talent:enrolment_withdraw", args=[first.pk]))
    client.force_login(second.user)
    page = client.get(reverse("talent:my_enrolments")).content.decode()
    assert "Accept the seat" in page
    client.post(reverse("talent:enrolment_accept", args=[second.pk]))
    second.refresh_from_db()
    assert second.status == S.ENROLLED


def test_draft_cohorts_and_courses_are_not_public(client, mfa):
    course = make_course(published=False)
    cohort = make_cohort(make_course(), status=CohortStatus.DRAFT)
    assert client.get(reverse("talent:course_detail", args=[course.slug])).status_code == 404
    assert client.get(reverse("talent:cohort_detail", args=[cohort.pk])).status_code == 404
    client.force_login(mfa(make_supervisor()))
    assert client.get(reverse("talent:cohort_detail", args=[cohort.pk])).status_code == 200


def test_programme_page(client):
    programme = make_programme(title_en="AI engineer")
    make_course(programme=programme, title_en="Deep learning 101")
    page = client.get(reverse("talent:programme_detail", args=[programme.slug])).content.decode()
    assert "Deep learning 101" in page


def test_ics_download_has_the_sessions(client):
    cohort = make_cohort(sessions=2)
    (enrolment,) = fill(cohort, 1)
    client.force_login(enrolment.user)
    response = client.get(reverse("talent:schedule_ics"))
    assert response["Content-Type"].startswith("text/calendar")
    text = response.content.decode()
    assert text.count("BEGIN:VEVENT") == 2 and "Session 1" in text and text.endswith("END:VCALENDAR\r\n")
    assert client.get(reverse("talent:schedule_ics")).status_code == 200
    client.logout()
    assert client.get(reverse("talent:schedule_ics")).status_code == 302


@pytest.mark.parametrize("size", [1, 8])
def test_my_page_and_dashboard_query_counts_are_constant(client, django_assert_max_num_queries, size):
    person = UserFactory()
    for _ in range(size):
        cohort = make_cohort(sessions=2)
        enrol(cohort, user=person)
    client.force_login(person)
    client.get("/")  # a session's first request records it (allauth.usersessions): paid before counting
    with django_assert_max_num_queries(12):
        assert client.get(reverse("talent:my_enrolments")).status_code == 200
    with django_assert_max_num_queries(30):
        assert client.get(reverse("dashboard")).status_code == 200


def test_operator_pages_create_a_course_and_cohort(client, mfa):
    operator = mfa(make_operator())
    teacher = make_instructor()
    client.force_login(operator)
    assert client.get(reverse("talent:manage")).status_code == 200
    response = client.post(
        reverse("talent:course_create"),
        {
            "slug": "llm-apps",
            "title_zh": "大模型应用",
            "title_en": "LLM applications",
            "description_zh": "介绍",
            "description_en": "Intro",
            "category": "large_models",
            "level": "beginner",
            "instructors": [teacher.pk],
            "is_published": "on",
        },
    )
    assert response.status_code == 302, response.content.decode()[:3000]
    course = Course.objects.get(slug="llm-apps")
    now = timezone.localtime()
    data = {
        "course": course.pk,
        "name": "Spring",
        "starts_on": (now + timedelta(days=10)).date().isoformat(),
        "ends_on": (now + timedelta(days=12)).date().isoformat(),
        "capacity": 20,
        "enrolment_opens_at": now.strftime("%Y-%m-%dT%H:%M"),
        "enrolment_closes_at": (now + timedelta(days=9)).strftime("%Y-%m-%dT%H:%M"),
        "audience": "open",
        "access": "code",
        "enrolment_code": "",
        "min_attendance_percent": 80,
        "instructors": [teacher.pk],
    }
    response = client.post(reverse("talent:cohort_create"), data)
    assert response.status_code == 200 and "Give the code people enrol with." in response.content.decode()
    assert not Cohort.objects.exists()
    data["enrolment_code"] = "SPRING"
    response = client.post(reverse("talent:cohort_create"), data)
    cohort = Cohort.objects.get()
    assert response.status_code == 302 and cohort.status == CohortStatus.DRAFT
    assert list(cohort.instructors.all()) == [teacher]
    response = client.post(
        reverse("talent:session_create", args=[cohort.pk]),
        {
            "title": "Kick-off",
            "starts_at": (now + timedelta(days=10)).strftime("%Y-%m-%dT09:00"),
            "ends_at": (now + timedelta(days=10)).strftime("%Y-%m-%dT08:00"),
            "place": "",
            "online_url": "",
        },
    )
    assert response.status_code == 200 and "must end after it starts" in response.content.decode()
    client.post(reverse("talent:cohort_status", args=[cohort.pk]), {"status": "published"})
    cohort.refresh_from_db()
    assert cohort.status == CohortStatus.PUBLISHED
    assert client.get(reverse("talent:cohort_edit", args=[cohort.pk])).status_code == 200
    # Non-operators are refused.
    client.force_login(teacher)
    assert client.get(reverse("talent:course_create")).status_code == 403
    client.force_login(mfa(make_supervisor()))
    assert client.get(reverse("talent:manage")).status_code == 200
    assert (
        client.post(reverse("talent:cohort_status", args=[cohort.pk]), {"status": "draft"}).status_code == 403
    )


@pytest.mark.parametrize("size", [1, 6])
def test_staff_lists_and_roster_query_counts_are_constant(client, mfa, django_assert_max_num_queries, size):
    teacher = make_instructor()
    cohorts = [make_cohort(instructors=[teacher], sessions=2) for _ in range(size)]
    for cohort in cohorts:
        fill(cohort, size)
    client.force_login(teacher)
    client.get("/")  # a session's first request records it (allauth.usersessions): paid before counting
    with django_assert_max_num_queries(12):
        assert client.get(reverse("talent:teaching")).status_code == 200
    with django_assert_max_num_queries(16):
        assert client.get(reverse("talent:roster", args=[cohorts[0].pk])).status_code == 200
    with django_assert_max_num_queries(14):
        assert (
            client.get(reverse("talent:attendance", args=[cohorts[0].sessions.first().pk])).status_code == 200
        )
    client.force_login(mfa(make_operator()))
    client.get("/")  # a session's first request records it (allauth.usersessions): paid before counting
    with django_assert_max_num_queries(16):
        assert client.get(reverse("talent:manage")).status_code == 200
    client.force_login(UserFactory())
    client.get("/")  # a session's first request records it (allauth.usersessions): paid before counting
    with django_assert_max_num_queries(14):
        assert client.get(reverse("talent:course_detail", args=[cohorts[0].course.slug])).status_code == 200


def test_manage_counts_seats_and_waiting_lists_per_cohort(client, mfa):
    full = make_cohort(capacity=2)
    fill(full, 5)  # two seats taken, three people waiting
    other = make_cohort(capacity=4)
    fill(other, 1)
    rows = {c.pk: c for c in Cohort.objects.with_seats().with_waiting()}
    assert (rows[full.pk].seats_taken, rows[full.pk].waiting) == (2, 3)
    assert (rows[other.pk].seats_taken, rows[other.pk].waiting) == (1, 0)
    client.force_login(mfa(make_operator()))
    page = client.get(reverse("talent:manage"))
    assert [c.waiting for c in page.context["page"].object_list if c.pk in rows] == [0, 3]
