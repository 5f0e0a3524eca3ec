"""Pages of jobs: "My jobs" (the live queue, polled by htmx while something is pending or running), the job
form (from a template of the catalogue or a script of one's own, with the quota it can use estimated as the
person types), a job's page (its state, resources, cost, the tail of its output, cancel) and the download of
its whole output. Each page starts from who asks; a job that is not theirs to see is a 404."""

import hashlib
from decimal import Decimal

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import FileResponse, Http404, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils.functional import SimpleLazyObject
from django.utils.translation import get_language
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from compute import kept
from compute.identities.services import identity_of
from compute.jobs import output, queue, services
from compute.jobs.forms import JobForm
from compute.jobs.services import estimate
from compute.models import JobTemplate
from core import pagecache
from core.exceptions import DomainError
from core.pagination import page_number, paginate
from core.roles import is_operator
from core.web import show_error

JOBS_PER_PAGE = 25


def _poll_attributes(request, url: str, active: bool) -> dict:
    """htmx polling while something is pending or running, for at most JOB_QUEUE_POLL_MINUTES."""
    try:
        polls = max(int(request.GET.get("polls", 0)), 0)
    except ValueError:
        polls = 0
    most = settings.JOB_QUEUE_POLL_MINUTES * 60 // max(settings.JOB_QUEUE_POLL_SECONDS, 1)
    return {
        "poll": active and polls < most,
        "poll_url": f"{url}{'&' if '?' in url else '?'}polls={polls + 1}",
        "poll_seconds": settings.JOB_QUEUE_POLL_SECONDS,
    }


@login_required
@require_GET
def job_list(request):
    """The queue as the viewer may see it. What they were shown is kept until the scheduler's answer it came
    from expires (``queue.shown``), so a page that polls itself, or a reload, costs no more than a bare page."""
    scope = request.GET.get("scope", "mine")
    scope = scope if scope in queue.SCOPES else "mine"
    number = page_number(request)
    language = get_language()
    shown, check = queue.shown(request.user, scope, number, language)
    if shown is None:
        shown = _show(request, scope, number)
        queue.keep_shown(request.user, scope, number, language, shown["page"], check, shown["queue"])
        shown = shown["page"]
        list_url = reverse("compute:job_list") + f"?scope={shown['scope']}&page={number}"
        pagecache.remember_page(request, queue.SHOWN, list_url)
    queue_url = reverse("compute:job_queue") + f"?scope={shown['scope']}&page={number}"
    context = {**shown, **_poll_attributes(request, queue_url, shown["active"])}
    template = "compute/jobs/partials/queue.html" if request.htmx else "compute/jobs/job_list.html"
    return render(request, template, context)


def _show(request, scope: str, number: int) -> dict:
    """The queue's page ``number`` in ``scope`` for this viewer: the table rendered, and what the rest of the
    page needs to know (the scopes they have, whether a job is active, which clusters did not answer)."""
    scopes = queue.allowed_scopes(request.user)
    scope = scope if scope in scopes else "mine"
    identity = identity_of(request.user)
    jobs = queue.queue_for(request.user, scope, scopes=scopes, identity=identity)
    page = paginate(request, jobs.entries, per_page=JOBS_PER_PAGE)
    page.object_list = jobs.rows_for(page.object_list)
    page.query_string = f"scope={scope}"
    table = (
        render_to_string("compute/jobs/partials/queue_table.html", {"page": page, "scope": scope})
        if page.object_list
        else ""
    )
    return {
        "queue": jobs,
        "page": {
            "scope": scope,
            "scopes": scopes,
            "table": table,  # a SafeString, kept as one in the cache
            "active": jobs.any_active,
            "unreachable": jobs.unreachable,
            "has_identity": identity is not None,
            "can_submit": services.usable_allocations(request.user).exists(),
        },
    }


@login_required
@require_GET
def job_queue(request):
    """htmx: the queue, which polls itself while a job is pending or running."""
    if not request.htmx:
        return redirect(
            reverse("compute:job_list")
            + (f"?scope={request.GET['scope']}" if request.GET.get("scope") in queue.SCOPES else "")
        )
    return job_list(request)


def _template_from(request):
    slug = request.GET.get("template") or request.POST.get("template") or ""
    if not slug:
        return None
    return get_object_or_404(JobTemplate.objects.published().prefetch_related("partitions"), slug=slug)


@login_required
@require_http_methods(["GET", "POST"])
def job_submit(request):
    template = _template_from(request)
    form = JobForm(request.POST or None, user=request.user, template=template)
    if request.GET.get("allocation") and not request.POST:
        form.fields["allocation"].initial = request.GET["allocation"]
    if request.method == "POST" and form.is_valid():
        try:
            record = services.submit_job(form.job_request(), by=request.user)
        except DomainError as error:
            status = getattr(error, "status_code", 400)
            form.add_error(None, str(error))
            return _form_page(request, form, template, status=status if status in (429, 503) else 400)
        queue.forget(record.cluster, record.allocation.organisation_id)
        messages.success(
            request,
            _("Job %(job)s submitted. Its state updates on this page by itself.") % {"job": record.job_id},
        )
        return redirect("compute:job_detail", cluster=record.cluster, job_id=record.job_id)
    return _form_page(request, form, template, status=400 if request.method == "POST" else 200)


def _form_page(request, form, template, *, status: int = 200):
    # The empty form (a GET) is the same for its person while what it offers is: their identity and allocations
    # (their own generation), the allocations, partitions and organisations named in the choices (ALLOCATIONS)
    # and the templates (TEMPLATES). It is kept for them (core/pagecache.py) and then asks the database nothing;
    # a form that comes back with its errors is never kept.
    body_key = ""
    if request.method == "GET":
        body_key = f"{kept.ALLOCATIONS.personal_body_key(request)}:{kept.TEMPLATES.current()}"
    return render(
        request,
        "compute/jobs/job_form.html",
        {
            "form": form,
            "template": template,
            "identity": SimpleLazyObject(lambda: identity_of(request.user)),
            # The choices once read serve both this and the select (forms.AllocationChoiceField).
            "has_allocations": SimpleLazyObject(lambda: bool(form.fields["allocation"].queryset)),
            "estimate_url": reverse("compute:job_estimate"),
            "body_key": body_key,
        },
        status=status,
    )


@login_required
@require_GET
def job_estimate(request):
    """The most the job on the form can use, and what is left of the allocation (htmx, as the person types)."""
    if not request.htmx:
        return redirect("compute:job_submit")
    allocation = (
        services.usable_allocations(request.user).filter(pk=_int(request.GET.get("allocation"))).first()
    )
    values = {
        key: _int(request.GET.get(key))
        for key in ("nodes", "cards_per_node", "cpus_per_node", "memory_gb", "time_limit_minutes")
    }
    context = {"allocation": allocation, "most": None}
    if allocation is not None and all(value is not None and value >= 0 for value in values.values()):
        context["most"] = estimate(
            allocation.partition,
            nodes=values["nodes"],
            cards=values["cards_per_node"],
            cpus=values["cpus_per_node"],
            memory_gb=values["memory_gb"],
            minutes=values["time_limit_minutes"],
        )
        context["left"] = allocation.remaining_amount.quantize(Decimal("0.01"))
        context["fits"] = context["most"] <= allocation.remaining_amount
    return render(request, "compute/jobs/partials/estimate.html", context)


def _int(value):
    try:
        number = int(str(value).strip())
    except (TypeError, ValueError):
        return None
    return number if -(2**31) < number < 2**31 else None


def _find(request, cluster: str, job_id: str):
    try:
        return queue.find_job(request.user, cluster, job_id)
    except LookupError:
        raise Http404(_("No such job, or not one of yours.")) from None


@login_required
@require_GET
def job_detail(request, cluster: str, job_id: str):
    row = _find(request, cluster, job_id)
    readable = queue.may_read_output(request.user, row.job, row.allocation, standing=row.standing)
    tails = {}
    if readable:
        for stream in ("stdout", "stderr"):
            tails[stream] = output.tail_of(row, stream)
    context = {
        "row": row,
        "job": row.job,
        "readable": readable,
        "tails": tails,
        "may_cancel": SimpleLazyObject(lambda: services.may_cancel(request.user, row.job, row.allocation)),
        "own": SimpleLazyObject(lambda: _runs_as(request.user, row.job)),
        "is_operator": is_operator(request.user),
        "accounting": SimpleLazyObject(
            lambda: (
                row.allocation.jobs.filter(cluster=cluster, job_id=job_id).first() if row.allocation else None
            )
        ),
        **_poll_attributes(request, reverse("compute:job_detail", args=[cluster, job_id]), row.is_active),
    }
    if request.htmx:
        return render(request, "compute/jobs/partials/job_status.html", context)
    context["body_key"] = _job_body_key(request, row, tails)
    return render(request, "compute/jobs/job_detail.html", context)


def _runs_as(user, job) -> bool:
    return (identity := identity_of(user)) is not None and identity.username == job.user


def _job_body_key(request, row, tails: dict) -> str:
    """The job's page is kept for the person (core/pagecache.py: what they may do with it follows their roles,
    memberships and identity) and for what it shows now: the scheduler's answer just read, the portal's record
    of the submission, the output's tails just read. So it is never older than the page made now would be. The
    allocation, its partition and prices and the accounting record (written with the usage) follow ALLOCATIONS."""
    submission = row.submission
    shown = repr(
        (
            row.job,
            row.allocation.pk if row.allocation else None,
            submission and sorted((k, v) for k, v in vars(submission).items() if not k.startswith("_")),
            sorted((stream, vars(tail)) for stream, tail in tails.items()),
        )
    )
    digest = hashlib.sha256(shown.encode()).hexdigest()[:24]
    return f"{kept.ALLOCATIONS.personal_body_key(request)}:{digest}"


@login_required
@require_GET
def job_output(request, cluster: str, job_id: str, stream: str):
    if stream not in ("stdout", "stderr"):
        raise Http404()
    row = _find(request, cluster, job_id)
    if not queue.may_read_output(request.user, row.job, row.allocation, standing=row.standing):
        raise Http404(_("No such job, or not one of yours."))
    try:
        handle, size, filename = output.open_whole(row, stream)
    except output.OutputUnavailable as problem:
        return HttpResponse(str(problem), status=404, content_type="text/plain; charset=utf-8")
    response = FileResponse(
        handle, as_attachment=True, filename=filename, content_type="text/plain; charset=utf-8"
    )
    response["Content-Length"] = str(size)
    return response


@login_required
@require_POST
def job_cancel(request, cluster: str, job_id: str):
    row = _find(request, cluster, job_id)
    try:
        services.cancel_job(
            row.job,
            cluster=cluster,
            allocation=row.allocation,
            by=request.user,
            reason=request.POST.get("reason", ""),
        )
    except DomainError as error:
        show_error(request, error)
    else:
        queue.forget(cluster, row.allocation.organisation_id)
        messages.success(request, _("Job %(job)s cancelled.") % {"job": job_id})
    return redirect("compute:job_detail", cluster=cluster, job_id=job_id)
