"""The operators' health page: work that is stuck (with its age) and the outbox's backlog."""

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.shortcuts import render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache

from core import outbox, sweepers
from core.roles import is_operator, is_supervisor


@never_cache
@login_required
def health(request):
    if not (is_operator(request.user) or is_supervisor(request.user)):
        raise PermissionDenied(_("The health page is for the center's operators and supervisors."))
    waiting, oldest = outbox.backlog()
    now = timezone.now()
    return render(
        request,
        "portal/health.html",
        {
            "items": [
                (item.label, item.object, int(item.age.total_seconds() // 60))
                for item in sweepers.stuck_work(now)
            ],
            "outbox_waiting": waiting,
            "outbox_oldest_minutes": int((oldest or 0) // 60),
        },
    )
