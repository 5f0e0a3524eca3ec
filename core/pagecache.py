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
"""

import hashlib

from django.core.cache import cache
from django.db.models.signals import post_delete, post_save
from django.utils import timezone
from django.utils.crypto import get_random_string
from django.utils.translation import get_language
from rest_framework.response import Response

BODY_SECONDS = 60


def minute() -> str:
    """The current minute: part of every kept page's key, so what time changes (and what a bulk update changes
    without a signal) shows within it."""
    return timezone.now().strftime("%Y%m%d%H%M")


class Generation:
    def __init__(self, name: str):
        self.key = f"pagecache:{name}:generation"
        self.name = name

    def current(self) -> str:
        value = cache.get(self.key)
        if value is None:
            cache.add(self.key, get_random_string(12), None)
            value = cache.get(self.key, "")
        return value

    def forget(self, sender=None, **kwargs) -> None:
        cache.set(self.key, get_random_string(12), None)

    def follow(self, *models) -> None:
        """Start a new generation whenever one of ``models`` is saved or deleted."""
        for model in models:
            for signal, verb in ((post_save, "saved"), (post_delete, "deleted")):
                signal.connect(
                    self.forget, sender=model, dispatch_uid=f"pagecache.{self.name}.{model.__name__}.{verb}"
                )

    def body_key(self, request) -> str:
        """The body's key for this request: generation, minute, language, the path and the whole query string."""
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


# What one person may see (their memberships, site roles, cluster identity, allocations) has a generation too:
# a page kept for that person stores the generation it was made with and is shown again only while it is the
# same. ``forget_person`` is called wherever those change (core/chrome.py: forget, compute/hooks.py).
def person(user_id) -> Generation:
    return Generation(f"person:{user_id}")


def forget_person(user_id) -> None:
    person(user_id).forget()


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
