"""The page chrome (header with its menus, footer) rendered once per person, language and section, then reused.

Every page pays for its chrome: about a hundred template nodes, thirty URL reversals, eighty translations and
the queries behind a few menu entries (the talent pool's, the sign-in providers'). None of it changes from one
page to the next, so ``{% chrome "header" %}...{% endchrome %}`` (core_tags) renders it once and keeps the HTML in
the cache (Redis in production: shared by every web process) for ``CHROME_CACHE_SECONDS``.

What differs between requests is put in by marks: the CSRF token of the two forms (a fresh masked token
each time, exactly as ``{% csrf_token %}`` gives) and the page to come back to after a change of language.
What differs between people is in the key (the user, the language, the platform the page belongs to) or
in a fingerprint stored with the HTML (site roles, the name shown, the banner): a change of role or name shows
on the next page. Menu entries that follow from data elsewhere (joining an organisation that is an alliance
member, say) show within ``CHROME_CACHE_SECONDS``; a change of memberships forgets the person's chrome at once.
"""

import hashlib
import time
from functools import cache as memoize

from django.conf import settings
from django.core.cache import cache
from django.middleware.csrf import get_token
from django.urls import NoReverseMatch, reverse
from django.utils.crypto import get_random_string, salted_hmac
from django.utils.html import escape
from django.utils.translation import get_language

from core import pagecache
from core.apps import platform_configs
from core.roles import site_roles

KEY_PREFIX = "chrome:v1"
# Bumped when something that changes everyone's chrome changes (a sign-in provider is configured, say): read with
# the chrome itself, in the same round trip, and part of its fingerprint.
GENERATION_KEY = f"{KEY_PREFIX}:generation"
# Parts that are the same for everyone (in one language) and change only with a new release: kept in each
# process's memory, without a trip to the cache.
SHARED_PARTS = {"footer"}
_shared: dict[tuple[str, str], tuple[float, str]] = {}


@memoize
def marks() -> tuple[str, str]:
    """Stand-ins for the CSRF token and the current path while the chrome is rendered for the cache: derived
    from SECRET_KEY, so the same in every process and never guessable (nobody can plant one in a name)."""
    digest = salted_hmac("core.chrome.marks", "marks").hexdigest()
    return f"chrome-csrf-{digest[:20]}", f"chrome-next-{digest[20:40]}"


def platform_paths() -> list[tuple[str, str]]:
    """(url name, path) of each platform's entry in the main navigation."""
    paths = []
    for config in platform_configs():
        if config.menu_url:
            try:
                paths.append((config.menu_url, reverse(config.menu_url)))
            except NoReverseMatch:
                continue
    return paths


def active_platform(path: str) -> str:
    """The url name of the platform a path belongs to ("" for none): its entry is marked current."""
    for name, platform_path in platform_paths():
        if path[:9] == platform_path[:9]:
            return name
    return ""


def _key(part: str, user_id, language: str, active: str) -> str:
    return f"{KEY_PREFIX}:{part}:{user_id}:{language}:{active}"


def _fingerprint(request, user, notices) -> str:
    if user is not None and user.is_authenticated:
        who = f"{user.pk}|{user.get_short_name()}|{','.join(sorted(site_roles(user)))}|{user.is_superuser}"
    else:
        who = "-"
    # The marks too: a chrome rendered by a process with another SECRET_KEY (before a key rotation, or another
    # deployment sharing the cache) holds marks this process would not fill in.
    return hashlib.blake2b(
        f"{who}|{'|'.join(map(str, notices))}|{marks()[0]}".encode(), digest_size=12
    ).hexdigest()


def render(part: str, context, render_nodes) -> str:
    """The chrome ``part`` for this request: from the cache when its fingerprint still matches, else rendered by
    ``render_nodes(context)`` (with the marks in place of the per-request values) and stored."""
    request = context.get("request")
    if request is None:
        return render_nodes(context)
    if part in SHARED_PARTS:
        return _render_shared(part, context, render_nodes, request)
    user = getattr(request, "user", None)
    active = active_platform(request.path)
    csrf_mark, next_mark = marks()
    seconds = settings.CHROME_CACHE_SECONDS
    html = None
    if seconds > 0:
        user_id = user.pk if user is not None and user.is_authenticated else 0
        key = _key(part, user_id, get_language() or settings.LANGUAGE_CODE, active)
        found = cache.get_many([key, GENERATION_KEY])
        stored, generation = found.get(key), found.get(GENERATION_KEY, "")
        fingerprint = _fingerprint(request, user, [generation, *(context.get("DEMO_NOTICES") or ())])
        if isinstance(stored, dict) and stored.get("fingerprint") == fingerprint:
            html = stored["html"]
    if html is None:
        with context.push(csrf_token=csrf_mark, CHROME_NEXT=next_mark, CHROME_ACTIVE=active):
            html = render_nodes(context)
        if seconds > 0:
            cache.set(key, {"fingerprint": fingerprint, "html": html}, seconds)
    return _fill_in(html, request)


def render_kept(key: str, seconds: int, context, render_nodes) -> str:
    """A page's body kept in the cache under ``key`` (core/pagecache.py), rendered by ``render_nodes`` when it is
    not there. Like the chrome, it is rendered with marks for the CSRF token and the current path, filled in for
    each request, so a kept body may hold forms."""
    request = context.get("request")
    html = cache.get(key)
    if html is None:
        csrf_mark, next_mark = marks()
        with context.push(csrf_token=csrf_mark, CHROME_NEXT=next_mark):
            html = render_nodes(context)
        cache.set(key, html, seconds)
        if request is not None:
            pagecache.remember(request)  # rendered again by the warm-up after a change and each minute
    return _fill_in(html, request) if request is not None else html


def _fill_in(html: str, request) -> str:
    csrf_mark, next_mark = marks()
    if csrf_mark in html:
        html = html.replace(csrf_mark, get_token(request))
    if next_mark in html:
        html = html.replace(next_mark, escape(request.get_full_path()))
    return html


def _render_shared(part: str, context, render_nodes, request) -> str:
    seconds = settings.CHROME_CACHE_SECONDS
    key = (part, get_language() or settings.LANGUAGE_CODE)
    now = time.monotonic()
    kept = _shared.get(key) if seconds > 0 else None
    if kept is not None and kept[0] > now:
        return _fill_in(kept[1], request)
    csrf_mark, next_mark = marks()
    with context.push(csrf_token=csrf_mark, CHROME_NEXT=next_mark, CHROME_ACTIVE=""):
        html = render_nodes(context)
    if seconds > 0:
        _shared[key] = (now + seconds, html)
    return _fill_in(html, request)


def forget_everyone(sender=None, **kwargs) -> None:
    """Every cached chrome is stale (a site-wide menu entry appeared or went): they are all rendered anew."""
    cache.set(GENERATION_KEY, get_random_string(12), None)


def forget(user_id) -> None:
    """Drop a person's cached chrome in every language and section (after a change of their memberships or
    roles), and every page kept for them (core/pagecache.py: forget_person)."""
    pagecache.forget_person(user_id)
    actives = ["", *(name for name, _path in platform_paths())]
    languages = [code for code, _name in settings.LANGUAGES]
    cache.delete_many(
        [
            _key(part, user_id, language, active)
            for part in ("header",)
            for language in languages
            for active in actives
        ]
    )
