"""The page chrome (core/chrome.py) is rendered once and reused, yet every page still shows the right person,
roles, section, CSRF token and way back after a change of language."""

import re

import pytest
from django.contrib.auth.models import Group
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from accounts.models import Membership
from core import chrome
from core.roles import SiteRole, is_operator
from tests.accounts.factories import OrganisationFactory, UserFactory, add_member

pytestmark = pytest.mark.django_db

STAFF_MENU = 'data-bs-toggle="dropdown" aria-expanded="false">Staff<'
CSRF_INPUT = re.compile(r'name="csrfmiddlewaretoken" value="([^"]+)"')
HTMX_CSRF = re.compile(r'"X-CSRFToken": "[^"]+"')
NEXT_INPUT = re.compile(r'<input name="next" type="hidden" value="([^"]*)">')


def header_key(user, active=""):
    return chrome._key("header", user.pk if user else 0, "en", active)


def test_the_second_page_reuses_the_chrome_and_runs_fewer_queries(client):
    person = UserFactory(name="Ada Lovelace")
    client.force_login(person)
    url = reverse("accounts:organisation_list")
    with CaptureQueriesContext(connection) as first:
        page_1 = client.get(url).content.decode()
    with CaptureQueriesContext(connection) as second:
        page_2 = client.get(url).content.decode()
    assert "Ada Lovelace" in page_1 and "Ada Lovelace" in page_2
    assert len(second) < len(first)  # the menus' own queries (the talent pool's, the roles) are not run again

    # Apart from the CSRF tokens (masked anew on each request), the pages are the same.
    def without_tokens(page):
        return HTMX_CSRF.sub("", CSRF_INPUT.sub("", page))

    assert without_tokens(page_1) == without_tokens(page_2)


def test_each_page_gets_its_own_csrf_token_and_it_works(client):
    person = UserFactory()
    client.force_login(person)
    client.get("/")
    page = client.get("/").content.decode()
    tokens = set(CSRF_INPUT.findall(page))
    assert tokens and not any(token.startswith("chrome-") for token in tokens)
    client.handler.enforce_csrf_checks = True
    token = CSRF_INPUT.findall(page)[-1]
    response = client.post(reverse("account_logout"), {"csrfmiddlewaretoken": token})
    assert response.status_code == 302
    assert "_auth_user_id" not in client.session


def test_a_chrome_cached_under_another_secret_key_is_rendered_again(client, settings):
    """After a rotation of SECRET_KEY (or another deployment sharing the cache) the stand-ins in a cached chrome
    are not this process's: it must not be served with them unfilled (the sign-out form would be refused)."""
    person = UserFactory()
    client.force_login(person)
    client.get("/")
    assert client.get("/").status_code == 200  # the header is now in the cache
    settings.SECRET_KEY_FALLBACKS = [settings.SECRET_KEY]  # a rotation: sessions stay valid
    settings.SECRET_KEY = "another key of the same deployment, " + "x" * 40
    chrome.marks.cache_clear()
    try:
        page = client.get("/").content.decode()
    finally:
        chrome.marks.cache_clear()
    assert person.get_short_name() in page  # still signed in, with the header from the cache's key
    assert "chrome-csrf-" not in page and "chrome-next-" not in page


def test_the_language_switch_comes_back_to_the_page_it_is_on(client):
    client.force_login(UserFactory())
    client.get("/")
    page = client.get(reverse("accounts:organisation_list") + "?q=a&b=<x>").content.decode()
    assert NEXT_INPUT.search(page).group(1) == "/organisations/?q=a&amp;b=%3Cx%3E"
    page = client.get("/").content.decode()
    assert NEXT_INPUT.search(page).group(1) == "/"


def test_the_current_platform_is_marked_in_each_section(client):
    client.get("/")  # anonymous chrome cached
    for url_name in ("compute:index", "alliance:index", "talent:index"):
        url = reverse(url_name)
        page = client.get(url).content.decode()
        current = re.findall(r'<a class="nav-link active" href="([^"]+)"\s+aria-current="page">', page)
        assert current == [url], url_name
    assert 'aria-current="page"' not in client.get("/").content.decode()


def test_people_never_see_each_others_chrome(client):
    ada, bob = UserFactory(name="Ada Lovelace"), UserFactory(name="Bob Builder")
    client.force_login(ada)
    assert "Ada Lovelace" in client.get("/").content.decode()
    client.force_login(bob)
    page = client.get("/").content.decode()
    assert "Bob Builder" in page and "Ada Lovelace" not in page
    client.logout()
    page = client.get("/").content.decode()
    assert "Bob Builder" not in page and reverse("account_login") in page


def test_a_new_role_or_name_shows_on_the_next_page(client):
    person = UserFactory(name="Ada Lovelace")
    client.force_login(person)
    assert STAFF_MENU not in client.get("/").content.decode()
    person.groups.add(Group.objects.get(name=SiteRole.OPERATOR))
    assert STAFF_MENU in client.get("/").content.decode()
    person.groups.clear()
    assert STAFF_MENU not in client.get("/").content.decode()
    person.name = "Ada King"
    person.save()
    page = client.get("/").content.decode()
    assert "Ada King" in page and "Ada Lovelace" not in page


def test_a_change_of_memberships_forgets_the_persons_chrome(client):
    person = UserFactory()
    client.force_login(person)
    client.get("/")
    assert chrome.cache.get(header_key(person)) is not None
    add_member(OrganisationFactory(), person)
    assert chrome.cache.get(header_key(person)) is None
    client.get("/")
    Membership.objects.filter(user=person).delete()
    assert chrome.cache.get(header_key(person)) is None


def test_the_chrome_can_be_switched_off(client, settings):
    settings.CHROME_CACHE_SECONDS = 0
    person = UserFactory(name="Ada Lovelace")
    client.force_login(person)
    page = client.get("/").content.decode()
    assert "Ada Lovelace" in page and CSRF_INPUT.search(page)
    assert chrome.cache.get(header_key(person)) is None


def test_site_roles_are_cached_and_forgotten_when_groups_change(django_assert_num_queries, settings):
    settings.SITE_ROLES_CACHE_SECONDS = 600  # as with a shared cache (the tests' is in memory)
    person = UserFactory()
    assert not is_operator(type(person).objects.get(pk=person.pk))
    with django_assert_num_queries(1):  # the user only: the roles come from the cache
        assert not is_operator(type(person).objects.get(pk=person.pk))
    operators = Group.objects.get(name=SiteRole.OPERATOR)
    operators.user_set.add(person)  # from the group's side
    assert is_operator(type(person).objects.get(pk=person.pk))
    person.groups.remove(operators)
    assert not is_operator(type(person).objects.get(pk=person.pk))
    person.groups.add(operators)
    assert is_operator(type(person).objects.get(pk=person.pk))
    operators.delete()
    assert not is_operator(type(person).objects.get(pk=person.pk))


def test_site_roles_are_not_cached_in_a_per_process_cache(settings, django_assert_num_queries):
    from django.conf import settings as live

    assert live.SHARED_CACHE is False and live.SITE_ROLES_CACHE_SECONDS == 0  # the tests' cache is in memory
    person = UserFactory()
    is_operator(type(person).objects.get(pk=person.pk))
    with django_assert_num_queries(2):  # the user and the roles: another process may have changed them
        is_operator(type(person).objects.get(pk=person.pk))
