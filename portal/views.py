import csv
import time

from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.db import connection
from django.http import HttpResponse, JsonResponse, StreamingHttpResponse
from django.shortcuts import render
from django.utils.dateparse import parse_date
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache

from accounts.security import SECURITY_ACTIONS
from core import hooks
from core.apps import platform_configs
from core.models import AuditEvent
from core.pagination import paginate
from core.roles import can_read_audit_trail
from portal.celery import app as celery_app
from portal.home import home_stats


def home(request):
    return render(request, "portal/home.html", {"stats": home_stats()})


@never_cache
def healthz(request):
    """Liveness of a web host: its database and its broker (not the clusters: see readyz)."""
    return _health_response({"database": _database_check(), "broker": _broker_check(timeout=2)})


@never_cache
def readyz(request):
    """Readiness for monitors: the database, the broker and every check the apps register (compute: each
    cluster's controller), each within READINESS_TIMEOUT seconds. 503 names what failed; anonymous, so
    the answers carry no secrets and the costly ones are cached by the apps."""
    timeout = settings.READINESS_TIMEOUT
    checks = {"database": _database_check(), "broker": _broker_check(timeout=timeout)}
    for readiness_check in hooks.get(hooks.READINESS_CHECKS):
        try:
            checks.update(readiness_check.value(timeout))
        except Exception as exc:  # noqa: BLE001 - a failing check is a "not ready", never a 500
            checks[readiness_check.app] = f"error: {exc.__class__.__name__}"
    return _health_response(checks)


def _database_check() -> str:
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            cursor.fetchone()
    except Exception as exc:  # noqa: BLE001 - any failure means "not reachable"
        return f"error: {exc.__class__.__name__}"
    return "ok"


# A probe opens a new connection to the broker (1.6 ms on the bench machine, most of a probe's time); its answer
# is kept in the process for a second per broker address, so a flood of probes (a load balancer, several
# monitors) opens at most one a second, and a monitor polling every few seconds still sees a fresh answer.
BROKER_CHECK_SECONDS = 1.0
_broker_answers: dict[str, tuple[float, str]] = {}


def _broker_check(*, timeout: float) -> str:
    address = str(celery_app.conf.broker_write_url or celery_app.conf.broker_url)
    now = time.monotonic()
    kept = _broker_answers.get(address)
    if kept is not None and now - kept[0] < BROKER_CHECK_SECONDS:
        return kept[1]
    try:
        with celery_app.connection_for_write() as conn:
            conn.ensure_connection(max_retries=1, timeout=timeout)
    except Exception as exc:  # noqa: BLE001
        answer = f"error: {exc.__class__.__name__}"
    else:
        answer = "ok"
    _broker_answers[address] = (time.monotonic(), answer)
    return answer


def _health_response(checks: dict[str, str]) -> JsonResponse:
    healthy = all(value == "ok" for value in checks.values())
    return JsonResponse(
        {"status": "ok" if healthy else "error", "checks": checks}, status=200 if healthy else 503
    )


def _platform_labels() -> dict:
    return {config.label: config.label_for_people for config in platform_configs()}


def _audit_events(request):
    events = AuditEvent.objects.for_user(request.user).select_related("actor", "organisation", "target_type")
    filters = {}
    platform = request.GET.get("platform", "")
    if platform in _platform_labels():
        events = events.filter(platform=platform)
        filters["platform"] = platform
    organisation = request.GET.get("organisation", "")
    if organisation.isdigit():
        events = events.filter(organisation_id=int(organisation))
        filters["organisation"] = organisation
    if request.GET.get("kind") == "security":
        events = events.filter(action__in=SECURITY_ACTIONS)
        filters["kind"] = "security"
    actor = request.GET.get("actor", "").strip()
    if actor:
        events = events.filter(actor_label__icontains=actor)
        filters["actor"] = actor
    since, until = (
        parse_date(request.GET.get("since", "") or ""),
        parse_date(request.GET.get("until", "") or ""),
    )
    if since:
        events = events.filter(created_at__date__gte=since)
        filters["since"] = since.isoformat()
    if until:
        events = events.filter(created_at__date__lte=until)
        filters["until"] = until.isoformat()
    return events, filters


@login_required
def audit_trail(request):
    if not can_read_audit_trail(request.user):
        raise PermissionDenied(_("The audit trail is for supervisors and operators."))
    events, filters = _audit_events(request)
    if request.GET.get("format") == "csv":
        return _audit_csv(events)
    return render(
        request,
        "portal/audit_trail.html",
        {
            "page": paginate(request, events),
            "filters": filters,
            "platforms": _platform_labels().items(),
            "kinds": [("security", _("Sign-in, tokens and refusals"))],
        },
    )


class _Echo:
    def write(self, value):
        return value


def _audit_csv(events) -> HttpResponse:
    writer = csv.writer(_Echo())

    def rows():
        yield writer.writerow(
            [
                "id",
                "time",
                "actor",
                "platform",
                "action",
                "object",
                "organisation",
                "changes",
                "reason",
                "chain_position",
                "entry_hash",
            ]
        )
        for e in events.iterator(chunk_size=2000):
            changes = "; ".join(f"{f}: {b} -> {a}" for f, b, a in e.change_list)
            yield writer.writerow(
                [
                    e.pk,
                    e.created_at.isoformat(),
                    e.actor_label,
                    e.platform,
                    e.action,
                    e.target_label,
                    e.organisation_id or "",
                    changes,
                    e.reason,
                    e.seq or "",
                    e.entry_hash,
                ]
            )

    response = StreamingHttpResponse(rows(), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = 'attachment; filename="audit-trail.csv"'
    return response


def bench_minimal(request):
    """The smallest Django view: the benchmark's yardstick (served only when BENCH_ENDPOINTS is on)."""
    return HttpResponse("ok", content_type="text/plain")
