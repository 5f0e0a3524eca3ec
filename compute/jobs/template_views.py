"""The algorithm catalogue's pages: the published job templates for everyone signed in, one template's page,
and the operators' pages that keep them (compute/urls.py mounts them in the "compute" namespace)."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import NoReverseMatch, reverse
from django.utils.functional import SimpleLazyObject
from django.utils.http import urlencode
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST

from accounts.access import require_operator
from compute import kept
from compute.jobs import catalogue
from compute.jobs.template_forms import JobTemplateForm
from compute.models import JobKind, JobTemplate, Partition, TemplateStatus
from compute.views.common import history, perform, require_staff
from core import rows
from core.roles import is_operator, sees_all_organisations
from core.web import apply_errors


def submit_url(template: JobTemplate) -> str | None:
    """Where "Use this template" leads: the job form with the template chosen, when the job form exists and
    the template is in the catalogue."""
    if not template.is_published:
        return None
    try:
        return reverse("compute:job_submit") + "?" + urlencode({"template": template.slug})
    except NoReverseMatch:
        return None


@login_required
def job_template_list(request):
    """The catalogue: published templates, filtered by framework or application and by partition."""
    templates = (
        JobTemplate.objects.published().prefetch_related("partitions").order_by("kind", "name_en", "slug")
    )
    kind = request.GET.get("kind", "")
    kind = kind if kind in JobKind.values else ""
    if kind:
        templates = templates.filter(kind=kind)
    asked = request.GET.get("partition", "")

    def body() -> dict:
        """What the page's body shows (all but the operators' button), the same for everyone signed in."""
        partitions = list(Partition.objects.order_by("slug"))
        partition = asked if any(p.slug == asked for p in partitions) else ""
        chosen = templates.filter(partitions__slug=partition) if partition else templates
        shown = list(chosen.defer("script", "description_zh", "description_en"))
        url_of = rows.UrlOf("compute:job_template_detail")
        for template in shown:  # what each card shows, worked out once (core.rows)
            template.url = url_of(template.slug)
            template.partition_names = ", ".join(p.display_name for p in template.partitions.all())
        return {
            "templates": shown,
            "partition_choices": [(p.slug, p.display_name) for p in partitions],
            "partition": partition,
            "filtered": bool(kind or partition),
        }

    return render(
        request,
        "compute/jobs/template_list.html",
        {
            "shown": SimpleLazyObject(body),
            "kinds": JobKind.choices,
            "kind": kind,
            "can_operate": is_operator(request.user),
            # Kept for everyone alike while no template or partition changes (compute/kept.py).
            "body_key": kept.TEMPLATES.body_key(request),
        },
    )


@login_required
def job_template_detail(request, slug):
    """One template: its description, parameters and script. Operators and supervisors also see drafts and
    retired ones (to check them before publishing); anyone else only the catalogue's."""
    template = get_object_or_404(
        JobTemplate.objects.for_user(request.user).prefetch_related("partitions"), slug=slug
    )
    parameters = [
        {
            **spec,
            "label": catalogue.spec_label(spec),
            "help": catalogue.spec_help(spec),
            "limits": catalogue.describe_limits(spec),
        }
        for spec in template.parameters
    ]
    return render(
        request,
        "compute/jobs/template_detail.html",
        {
            "template": template,
            "parameters": parameters,
            "submit_url": submit_url(template),
            "can_operate": is_operator(request.user),
            "events": history(template, shown=sees_all_organisations(request.user)),
        },
    )


# --- operators -----------------------------------------------------------------------------------------


@login_required
def job_template_operations(request):
    """Operators (and supervisors, who change nothing): every template in every status."""
    require_staff(request)
    templates = (
        JobTemplate.objects.prefetch_related("partitions")
        .select_related("updated_by")
        .order_by("status", "kind", "slug")
    )
    status = request.GET.get("status", "")
    status = status if status in TemplateStatus.values else ""
    if status:
        templates = templates.filter(status=status)
    return render(
        request,
        "compute/jobs/template_operations.html",
        {
            "templates": SimpleLazyObject(lambda: list(templates)),
            "statuses": TemplateStatus.choices,
            "status": status,
            "can_operate": is_operator(request.user),
            # The same for all staff: kept while no template or partition changes (compute/kept.py).
            "body_key": kept.TEMPLATES.body_key(request),
        },
    )


@login_required
@require_http_methods(["GET", "POST"])
def job_template_form(request, pk=None):
    require_operator(request.user)
    template = get_object_or_404(JobTemplate, pk=pk) if pk else None
    form = JobTemplateForm(request.POST or None, instance=template)
    if request.method == "POST" and form.is_valid():
        try:
            if template is None:
                saved = catalogue.create_job_template(by=request.user, **form.service_fields())
            else:
                saved = catalogue.update_job_template(template, by=request.user, **form.service_fields())
        except ValidationError as error:
            if hasattr(error, "error_dict") and "parameters" in error.error_dict:
                error.error_dict["parameters_json"] = error.error_dict.pop("parameters")
            apply_errors(form, error)
        else:
            messages.success(
                request, _("The job template “%(name)s” was saved.") % {"name": saved.display_name}
            )
            return redirect("compute:job_template_detail", slug=saved.slug)
    status = 400 if request.method == "POST" else 200
    return render(
        request, "compute/jobs/template_form.html", {"form": form, "template": template}, status=status
    )


def _move(request, pk, service, success: str):
    require_operator(request.user)
    template = get_object_or_404(JobTemplate, pk=pk)
    perform(request, lambda: service(template, by=request.user), success)
    return redirect("compute:job_template_detail", slug=template.slug)


@login_required
@require_POST
def job_template_publish(request, pk):
    return _move(request, pk, catalogue.publish_job_template, _("The template is in the catalogue now."))


@login_required
@require_POST
def job_template_retire(request, pk):
    return _move(request, pk, catalogue.retire_job_template, _("The template left the catalogue."))
