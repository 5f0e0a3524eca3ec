"""The operators' health page: work that is stuck (with its age) and the outbox's backlog."""

from django.contrib.auth.decorators import login_required
from django.core.cache import cache
from django.core.exceptions import PermissionDenied
from django.shortcuts import render
from django.utils import timezone
from django.utils.functional import SimpleLazyObject
from django.utils.translation import get_language
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache

from core import outbox, pagecache, sweepers
from core.roles import is_operator, is_supervisor


@never_cache
@login_required
def health(request):
    if not (is_operator(request.user) or is_supervisor(request.user)):
        raise PermissionDenied(_("The health page is for the center's operators and supervisors."))
    waiting, oldest = outbox.backlog()
    stuck = SimpleLazyObject(_stuck_work)
    return render(
        request,
        "portal/health.html",
        {
            # The stuck work's section is kept rendered for the minute (however many items it lists); the
            # outbox's backlog above it stays live.
            "stuck": stuck,
            "stuck_key": _stuck_key(),
            "outbox_waiting": waiting,
            "outbox_oldest_minutes": int((oldest or 0) // 60),
        },
    )


def _stuck_key() -> str:
    return f"health:stuck:{pagecache.minute()}:{get_language()}"


def _stuck_work() -> dict:
    """The stuck items as rows of plain strings (kind, object, minutes waiting) and when they were found, kept for
    the current minute: ages are shown in minutes, every platform's search for stuck work runs at most once a
    minute however often operators look, and the backlog of the outbox above stays live."""
    key = _stuck_key()
    kept = cache.get(key)
    if kept is None:
        now = timezone.now()
        rows = [
            (str(item.label), str(item.object), int(item.age.total_seconds() // 60))
            for item in sweepers.stuck_work(now)
        ]
        kept = {"items": rows, "as_of": now}
        cache.set(key, kept, pagecache.BODY_SECONDS)
    return kept
