"""Pages whose body is the same for everyone of one audience and query: kept in the cache per generation.

A page's body depends on data that changes now and then (a catalogue, the open calls, the operators' lists).
A ``Generation`` names that data's current state: the models that hold it send ``post_save`` / ``post_delete``
to ``forget`` (connected in the app's hooks.py), which starts a new generation, so a change shows on the next
visit; code that writes in bulk calls ``forget`` itself. ``body_key`` also holds the current minute: what time
changes (a call closing, enrolment ending) and bulk updates that send no signal show within a minute. The
template wraps its body in ``{% kept body_key %}`` (layouts/list.html does, for every list that gives a key;
forms inside get their CSRF token per request) or ``{% cache %}``, and the view gives a lazy context
(``django.utils.functional.SimpleLazyObject``), so a page seen in the last minute asks the database nothing for
its body. A view gives a key only to an audience that sees the same page: visitors, everyone signed in, staff
who see all (operators and supervisors apart where forms differ), or one person (``personal_body_key``).
``KeptPublicList`` does the same for an API list's data.

Nothing is slow when cold: a kept body rendered for a visitor is remembered (its path, language and reader, for
``RECENT_SECONDS``), and when its generation starts anew (a change) and when a new minute begins (beat), a task
renders those pages again as their readers (``warm``), so the next visitor finds them ready (issue #17).
"""

import hashlib
import logging
from urllib.parse import urlsplit

from django.conf import settings
from django.core.cache import cache
from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.db.models.signals import post_delete, post_save
from django.http import Http404
from django.utils import timezone, translation
from django.utils.crypto import get_random_string
from django.utils.translation import get_language
from rest_framework.response import Response

logger = logging.getLogger(__name__)

BODY_SECONDS = 60
# A page read (rendered for a visitor) in the last RECENT_SECONDS is rendered again by the warm-up after a change
# and each minute; at most RECENT_LIMIT pages per generation (the latest read), so the warm-up stays bounded.
RECENT_SECONDS = 15 * 60
RECENT_LIMIT = 10
WARM_DELAY_SECONDS = 1


def minute() -> str:
    """The current minute: part of every kept page's key, so what time changes (and what a bulk update changes
    without a signal) shows within it."""
    return timezone.now().strftime("%Y%m%d%H%M")


class Generation:
    # Every named generation of the apps' kept.py, for the warm-up each minute (a person's is not listed).
    listed: dict[str, "Generation"] = {}

    def __init__(self, name: str, *, listed: bool = True, each_minute: bool = True):
        self.key = f"pagecache:{name}:generation"
        self.name = name
        # Warmed as each minute begins too (its pages' keys hold the minute); False for pages kept for less than
        # a minute (the job queue's), which only a change makes worth rendering again.
        self.each_minute = each_minute
        if listed:
            Generation.listed[name] = self

    def current(self) -> str:
        value = cache.get(self.key)
        if value is None:
            cache.add(self.key, get_random_string(12), None)
            value = cache.get(self.key, "")
        return value

    @staticmethod
    def current_many(*generations: "Generation") -> list[str]:
        """``current()`` of each of ``generations`` in one cache round trip (a missing one is started)."""
        found = cache.get_many([generation.key for generation in generations])
        return [found.get(generation.key) or generation.current() for generation in generations]

    def forget(self, sender=None, **kwargs) -> None:
        cache.set(self.key, get_random_string(12), None)
        if self.name in Generation.listed:
            schedule_warm(self.name)

    def follow(self, *models) -> None:
        """Start a new generation whenever one of ``models`` is saved or deleted."""
        for model in models:
            for signal, verb in ((post_save, "saved"), (post_delete, "deleted")):
                signal.connect(
                    self.changed, sender=model, dispatch_uid=f"pagecache.{self.name}.{model.__name__}.{verb}"
                )

    def changed(self, sender=None, **kwargs) -> None:
        """A followed row changed: a new generation now, and another once the change is committed, so a page
        rendered in between (from what was there before the commit) is not kept as if it were current."""
        self.forget()
        transaction.on_commit(self.forget)

    def body_key(self, request) -> str:
        """The body's key for this request: generation, minute, language, the path and the whole query string."""
        _note(request, self.name)
        digest = hashlib.sha256(f"{request.path}?{request.GET.urlencode()}".encode()).hexdigest()[:24]
        return f"{self.name}:{self.current()}:{minute()}:{get_language()}:{digest}"

    def audience_state(self, user, *, sees_all: bool) -> str:
        """``current()`` with the audience a page of it is for: staff who see all alike, anyone else alone (their
        id and generation, as in ``personal_body_key``). For ``KeptPublicList.kept_state``."""
        if sees_all:
            return f"{self.current()}:all"
        return f"{self.current()}:person:{user.pk}:{person(user.pk).current()}"

    def personal_body_key(self, request) -> str:
        """``body_key`` for a page that shows one person what they may see (their organisations' rows): also
        their id and their own generation (``person``), which starts anew when what they may see changes."""
        user_id = request.user.pk
        return f"{self.body_key(request)}:person:{user_id}:{person(user_id).current()}"


def kept_value(key: str, compute, seconds: int = BODY_SECONDS):
    """A small value a page shows outside its kept body (a button it offers), kept under a key made like the
    body's (``body_key``, ``personal_body_key``: it changes when the body's would) and computed when missing.
    ``compute`` must not return None."""
    value = cache.get(key)
    if value is None:
        value = compute()
        cache.set(key, value, seconds)
    return value


def kept_lookup(request, what: str, generation: "Generation", find, *, keep=None):
    """What a page looks up before its kept body for the person asking (the object, with their rights to it),
    kept for that reader while ``generation`` (the object's state) and the reader's own (what they may see:
    memberships, roles, ``person``) are the same, within the minute like a body (a change written without a
    signal shows in the next). ``what`` names the object (with its id). ``find()`` raises
    (a 404) for a reader who may not see it, and nothing is kept; ``keep(found)`` False keeps nothing either (an
    object whose state moves on by itself, read on every request)."""
    state, personal = Generation.current_many(generation, person(request.user.pk))
    key = f"pagecache:lookup:{what}:{request.user.pk}:{state}:{personal}:{minute()}"
    found = cache.get(key)
    if found is None:
        found = find()
        if keep is None or keep(found):
            cache.set(key, found, BODY_SECONDS)
    return found


# What one person may see (their memberships, site roles, cluster identity, allocations) has a generation too:
# a page kept for that person stores the generation it was made with and is shown again only while it is the
# same. ``forget_person`` is called wherever those change (core/chrome.py: forget, compute/hooks.py).
def person(user_id) -> Generation:
    return Generation(f"person:{user_id}", listed=False)


def forget_person(user_id) -> None:
    person(user_id).forget()


# --- the warm-up: pages read lately are rendered again by a task, not by the next visitor ----------------


def _note(request, name: str) -> None:
    """The request's page is kept under generation ``name``: remembered if its body is rendered (``remember``)."""
    names = getattr(request, "kept_generations", None)
    if names is None:
        names = request.kept_generations = set()
    names.add(name)


def _recent_key(name: str) -> str:
    return f"pagecache:{name}:recent"


def remember(request, *, path: str | None = None) -> None:
    """A kept body was rendered for this request (core/chrome.py: render_kept): remember the page (at ``path``,
    the request's own by default) under each of its generations so the warm-up renders it again. Not for the
    warm-up's own renders, so a page nobody reads is forgotten after RECENT_SECONDS."""
    if getattr(request, "kept_warming", False) or not settings.KEPT_PAGES_WARM:
        return
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return
    path = path or request.get_full_path()
    entry = [path, get_language() or settings.LANGUAGE_CODE, user.pk, request.get_host()]
    for name in getattr(request, "kept_generations", ()):
        if name not in Generation.listed:
            continue
        recent = [e for e in (cache.get(_recent_key(name)) or []) if e[:3] != entry[:3]]
        cache.set(_recent_key(name), [entry, *recent][:RECENT_LIMIT], RECENT_SECONDS)


def remember_page(request, generation: Generation, path: str) -> None:
    """A page kept its own way (not in ``{% kept %}``: the job queue's, compute/jobs/views.py) was made for this
    request: remember it under ``generation`` at ``path`` (the full page a fragment of it belongs to), so the
    warm-up makes it again after a change."""
    _note(request, generation.name)
    remember(request, path=path)


def schedule_warm(name: str) -> None:
    """After the change that started a new generation is committed: warm its pages read lately, a moment later,
    once for a burst of changes."""
    if not settings.KEPT_PAGES_WARM:
        return

    def enqueue():
        if cache.get(_recent_key(name)):
            from core import outbox  # noqa: PLC0415 - it imports models; this module loads before them
            from core.tasks import warm_kept_pages_task  # noqa: PLC0415 - tasks import this module

            outbox.send_best_effort(
                warm_kept_pages_task,
                args=(name,),
                countdown=WARM_DELAY_SECONDS,
                once_key=f"pagecache:{name}:warm-pending",
                once_seconds=30,
            )

    transaction.on_commit(enqueue)


def warm(names=None) -> int:
    """Render again the pages of ``names`` (when None: every listed generation warmed each minute) read in the
    last RECENT_SECONDS, each as the person who read it, so their bodies are kept for the current generation and
    minute before anyone asks. Returns how many pages were rendered; a page that fails (its reader lost access)
    is skipped."""
    rendered = 0
    if names is None:
        names = [name for name, generation in Generation.listed.items() if generation.each_minute]
    for name in names:
        if name not in Generation.listed:
            continue
        cache.delete(f"pagecache:{name}:warm-pending")
        for entry in cache.get(_recent_key(name)) or []:
            try:
                rendered += _render_again(*entry)
            except (PermissionDenied, Http404):
                continue  # the reader may no longer see it: nothing is rendered for them
            except Exception:  # noqa: BLE001 - one page that cannot be rendered must not hold back the others
                logger.warning("pagecache: could not warm %s for user %s", entry[0], entry[2], exc_info=True)
    return rendered


def render_for_visitors(path: str, languages=None) -> int:
    """Render the page at ``path`` as a visitor would ask for it, in each of ``languages`` (every language of the
    site by default), so that what it keeps (its body) is ready before the next visitor comes: for pages whose
    warm-up follows a change of their own (the directory's). Returns how many rendered; failures are logged."""
    host = next((name.lstrip(".") for name in settings.ALLOWED_HOSTS if name not in ("*", "")), "localhost")
    rendered = 0
    for language in languages or [code for code, _name in settings.LANGUAGES]:
        try:
            rendered += _render_again(path, language, None, host)
        except Exception:  # noqa: BLE001 - a warm-up that fails leaves the page to its first visitor
            logger.warning("pagecache: could not warm %s for visitors", path, exc_info=True)
    return rendered


def _render_again(path: str, language: str, user_id: int | None, host: str) -> int:
    from django.contrib.auth import get_user_model  # noqa: PLC0415
    from django.contrib.messages.storage.fallback import FallbackStorage  # noqa: PLC0415
    from django.contrib.sessions.backends.base import SessionBase  # noqa: PLC0415
    from django.test import RequestFactory  # noqa: PLC0415
    from django.urls import resolve  # noqa: PLC0415
    from django_htmx.middleware import HtmxDetails  # noqa: PLC0415

    if user_id is None:
        from django.contrib.auth.models import AnonymousUser  # noqa: PLC0415

        user = AnonymousUser()
    else:
        user = get_user_model().objects.filter(pk=user_id, is_active=True).first()
        if user is None:
            return 0
    request = RequestFactory().get(path, HTTP_HOST=host)
    request.user = user
    request.session = SessionBase()  # empty and never saved: the page is rendered for the cache, not sent
    request._messages = FallbackStorage(request)
    request.htmx = HtmxDetails(request)
    request.kept_warming = True
    match = resolve(urlsplit(path).path)
    with translation.override(language):
        request.LANGUAGE_CODE = language
        response = match.func(request, *match.args, **match.kwargs)
        if hasattr(response, "render") and not getattr(response, "is_rendered", True):
            response.render()
    return int(response.status_code == 200)


class KeptPublicList:
    """An API list (a DRF viewset mixin) whose pages are the same for every client, or for every client of one
    audience, which ``kept_state()`` then names too (``Generation.audience_state``). A page's data is kept like
    a page's body, per state of what it shows, minute, language, path, whole query string and the site address
    its links use, so a page asked for in the last minute asks the database nothing but its state. Errors (a bad
    cursor, a bad filter) are never kept."""

    def kept_state(self) -> str:
        raise NotImplementedError

    def list(self, request, *args, **kwargs):
        asked = f"{request.build_absolute_uri('/')}?{request.GET.urlencode()}"
        digest = hashlib.sha256(asked.encode()).hexdigest()[:24]
        key = f"pagecache:api:{self.basename}:{self.kept_state()}:{minute()}:{get_language()}:{digest}"
        data = cache.get(key)
        if data is not None:
            return Response(data)
        response = super().list(request, *args, **kwargs)
        if response.status_code == 200:
            cache.set(key, response.data, BODY_SECONDS)
        return response
