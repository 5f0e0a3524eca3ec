"""Public API lists kept like the public pages' bodies (core.pagecache.KeptPublicList): a page asked for again
asks the database nothing but its state, and a change of what it shows is on the next page."""

from datetime import timedelta
from unittest import mock

import pytest
from django.urls import reverse
from django.utils import timezone

from alliance.models import DirectoryEntry
from tests.alliance.factories import make_member_organisation
from tests.projects.factories import make_call
from tests.talent.factories import fill, make_cohort

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("steady_minute")]


def test_the_course_list_is_kept_until_the_catalogue_changes(client, django_assert_num_queries):
    cohort = make_cohort(capacity=10)
    url = reverse("api:talent-course-list")
    (course,) = client.get(url).json()["results"]
    assert course["cohorts"][0]["seats_left"] == 10
    with django_assert_num_queries(0):
        again = client.get(url)
    assert again.json() == client.get(url).json()
    fill(cohort, 3)  # enrolments: seats taken
    (course,) = client.get(url).json()["results"]
    assert course["cohorts"][0]["seats_left"] == 7
    # Each query string is a page of its own: a bad cursor is an error, never a kept page.
    assert client.get(url, {"cursor": "not-a-cursor"}).status_code == 404
    assert client.get(url, {"page_size": 1}).json()["results"][0]["slug"] == cohort.course.slug


def test_the_course_list_follows_the_language(client):
    cohort = make_cohort()
    url = reverse("api:talent-course-list")
    english = client.get(url, HTTP_ACCEPT_LANGUAGE="en").json()["results"][0]
    chinese = client.get(url, HTTP_ACCEPT_LANGUAGE="zh-hans").json()["results"][0]
    assert english["title"] == cohort.course.title_en
    assert chinese["title"] == cohort.course.title_zh


def test_the_open_calls_are_kept_until_a_call_changes_and_close_on_time(
    client, django_assert_num_queries, steady_minute
):
    call = make_call()
    url = reverse("api:incubation-call-list")
    assert [c["id"] for c in client.get(url).json()["results"]] == [call.pk]
    with django_assert_num_queries(0):
        client.get(url)
    other = make_call()
    assert {c["id"] for c in client.get(url).json()["results"]} == {call.pk, other.pk}
    other.closes_at = timezone.now() - timedelta(hours=1)
    other.save()
    assert [c["id"] for c in client.get(url).json()["results"]] == [call.pk]
    # A call that closes by the clock, with nothing saved, is gone once the minute is over.
    later = call.closes_at + timedelta(minutes=1)
    with mock.patch("django.utils.timezone.now", return_value=later):
        # Within the same minute the kept page is still shown; the next minute's is built anew.
        assert [c["id"] for c in client.get(url).json()["results"]] == [call.pk]
        steady_minute("the next minute")
        assert client.get(url).json()["results"] == []


def test_the_directory_list_is_kept_per_state_of_the_directory(client, django_assert_num_queries):
    first = make_member_organisation()
    url = reverse("api:alliance-directory-list")
    assert [e["organisation"] for e in client.get(url).json()["results"]] == [first.pk]
    with django_assert_num_queries(0):  # the directory's state is in the cache too
        client.get(url)
    second = make_member_organisation()
    assert {e["organisation"] for e in client.get(url).json()["results"]} == {first.pk, second.pk}
    assert DirectoryEntry.objects.count() == 2
