"""The warm-up of kept pages (core/pagecache.py: warm): a page read lately is rendered again by a task after a
change and as each minute begins, as the person who read it, so the next visitor finds it ready (issue #17)."""

import pytest
from django.contrib.auth.models import Group
from django.core.cache import cache
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from core import pagecache
from core.tasks import warm_kept_pages_task
from tests.accounts.factories import UserFactory
from tests.compute.factories import make_allocation

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("steady_minute")]

ALLOCATIONS = "compute-allocations"
REVIEW = "compute-review"


@pytest.fixture
def warming(settings):
    settings.KEPT_PAGES_WARM = True


def _compute_queries(client, url) -> tuple[str, list[str]]:
    with CaptureQueriesContext(connection) as queries:
        response = client.get(url)
    assert response.status_code == 200
    return response.content.decode(), [q["sql"] for q in queries.captured_queries if "compute_" in q["sql"]]


def test_a_change_renders_the_pages_read_lately_before_anyone_asks(
    client, operator, mfa, warming, django_capture_on_commit_callbacks
):
    first = make_allocation(UserFactory(), amount=100)
    url = reverse("compute:allocation_list")
    client.force_login(mfa(operator))
    page, _queries = _compute_queries(client, url)
    assert first.account_name in page
    with django_capture_on_commit_callbacks(execute=True):
        second = make_allocation(UserFactory(), amount=50)  # a new generation, and the warm-up task (eager)
    page, queries = _compute_queries(client, url)
    assert queries == []  # rendered by the task, not by this request
    assert second.account_name in page and first.account_name in page


def test_as_each_minute_begins_the_pages_read_lately_are_rendered_for_it(
    client, operator, mfa, warming, steady_minute
):
    allocation = make_allocation(UserFactory(), amount=100)
    url = reverse("compute:allocation_list")
    client.force_login(mfa(operator))
    _compute_queries(client, url)
    steady_minute("next")
    assert warm_kept_pages_task() >= 1  # on beat, every listed generation
    page, queries = _compute_queries(client, url)
    assert queries == [] and allocation.account_name in page
    # The warm-up's own renders do not keep a page alive: only a visitor's read does.
    cache.delete(f"pagecache:{ALLOCATIONS}:recent")
    steady_minute("later")
    assert warm_kept_pages_task(ALLOCATIONS) == 0
    page, queries = _compute_queries(client, url)
    assert queries != []


def test_a_reader_who_lost_access_or_left_gets_nothing_rendered(
    client, operator, mfa, warming, steady_minute
):
    url = reverse("compute:review_queue")  # for staff only
    client.force_login(mfa(operator))
    _compute_queries(client, url)
    steady_minute("next")
    assert warm_kept_pages_task(REVIEW) == 1
    # Rendered again with the reader's rights of the moment: without them, nothing is rendered or kept.
    operator.groups.remove(Group.objects.get(name="operator"))
    steady_minute("later")
    assert warm_kept_pages_task(REVIEW) == 0
    operator.groups.add(Group.objects.get(name="operator"))
    operator.is_active = False
    operator.save()
    assert warm_kept_pages_task(REVIEW) == 0


def test_pages_are_remembered_only_when_the_warm_up_is_on(client, operator, mfa, settings):
    settings.KEPT_PAGES_WARM = False  # as with a per-process cache, which no worker's render would reach
    client.force_login(mfa(operator))
    client.get(reverse("compute:allocation_list"))
    assert cache.get(f"pagecache:{ALLOCATIONS}:recent") is None
    settings.KEPT_PAGES_WARM = True
    pagecache.Generation.listed[ALLOCATIONS].forget()
    client.get(reverse("compute:allocation_list"))
    (entry,) = cache.get(f"pagecache:{ALLOCATIONS}:recent")
    assert entry[:3] == [reverse("compute:allocation_list"), "en", operator.pk]


@pytest.mark.parametrize("name", [5, ["compute-allocations"], "no-such-generation"])
def test_the_task_refuses_what_is_not_a_generation(name, warming):
    assert warm_kept_pages_task(name) == 0


def test_a_body_kept_before_the_change_is_committed_is_not_served_after_it(
    client, operator, mfa, django_capture_on_commit_callbacks
):
    # Another process reading between the save and the commit sees the rows as they were, under the new
    # generation: the commit starts another one, so such a body is never served as current.
    url = reverse("compute:allocation_list")
    client.force_login(mfa(operator))
    with django_capture_on_commit_callbacks(execute=True):
        make_allocation(UserFactory(), amount=100)
        _compute_queries(client, url)  # kept under the generation the save started
        _page, queries = _compute_queries(client, url)
        assert queries == []
    _page, queries = _compute_queries(client, url)
    assert queries != []  # rendered anew after the commit
