"""Pages of the compute vouchers: an organisation's vouchers, applications and monthly statements; the
operators' schemes, decisions and grants. Rules live in compute/vouchers/services/."""

import csv
from datetime import date

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.db.models import Count, DecimalField, Sum
from django.db.models.functions import Coalesce
from django.http import Http404, HttpResponse, StreamingHttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.utils.functional import SimpleLazyObject
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from accounts.access import require_operator
from accounts.models import Organisation
from compute import kept
from compute.views.common import perform, require_staff
from compute.vouchers.forms import (
    DecideApplicationForm,
    GrantForm,
    ReverseForm,
    VoucherApplicationForm,
    VoucherSchemeForm,
)
from compute.vouchers.models import (
    EntryKind,
    LedgerEntry,
    Settlement,
    Voucher,
    VoucherApplication,
    VoucherApplicationStatus,
    VoucherScheme,
    VoucherSource,
)
from compute.vouchers.services import applications, ledger, statements
from compute.vouchers.statement_pdf import render_statement
from core.exceptions import DomainError
from core.pagination import paginate
from core.roles import is_operator, sees_all_organisations
from core.web import parse_id

MONTHS_SHOWN = 12
JOBS_SHOWN = 50


def _my_organisations(user):
    return Organisation.objects.filter(memberships__user=user)


@login_required
def voucher_index(request):
    """An organisation's vouchers with their balances, the schemes it may apply to, its applications and
    the months it has statements for."""
    today = timezone.localdate()

    def index() -> dict:
        mine = _my_organisations(request.user)
        organisation_list = list(mine.order_by("name_zh"))
        voucher_list = list(
            Voucher.objects.filter(organisation__in=mine)
            .with_balance()
            .select_related("scheme", "organisation")
            .order_by("expires_on", "pk")[:100]
        )
        managed = Organisation.objects.managed_by(request.user).verified().order_by("name_zh")
        managed_list = list(managed)
        schemes = []
        for scheme in VoucherScheme.objects.open_on(today).order_by("-subsidy_ratio", "pk"):
            problems = [applications.eligibility_problem(scheme, org, today=today) for org in managed_list]
            eligible = [o for o, p in zip(managed_list, problems, strict=True) if not p]
            schemes.append((scheme, eligible, problems))
        application_list = list(
            VoucherApplication.objects.filter(organisation__in=mine)
            .select_related("scheme", "organisation", "voucher")
            .order_by("-id")[:50]
        )
        months = list(
            Settlement.objects.filter(organisation__in=mine)
            .values("organisation", "organisation__name_zh", "organisation__name_en", "month")
            .annotate(cost=Sum("cost"), subsidy=Sum("subsidy"), payable=Sum("payable"))
            .order_by("-month", "organisation")[: MONTHS_SHOWN * max(1, len(organisation_list))]
        )
        return {
            "vouchers": voucher_list,
            "schemes": schemes,
            "applications": application_list,
            "months": months,
            "has_organisation": bool(organisation_list),
            "manages": bool(managed_list),
        }

    return render(
        request,
        "compute/vouchers/index.html",
        {
            "index": SimpleLazyObject(index),
            "sees_all": sees_all_organisations(request.user),
            "today": today,
            # Kept for the person alone while their organisations' vouchers, schemes, applications and
            # settlements, and what they may see, are unchanged (compute/kept.py).
            "body_key": kept.VOUCHERS.personal_body_key(request),
        },
    )


@login_required
def voucher_detail(request, pk):
    voucher = get_object_or_404(
        Voucher.objects.for_user(request.user)
        .with_balance()
        .select_related("scheme", "organisation", "project"),
        pk=pk,
    )
    entries = voucher.entries.select_related("settlement__allocation", "created_by").order_by(
        "created_at", "pk"
    )
    return render(
        request,
        "compute/vouchers/detail.html",
        {
            "voucher": voucher,
            "entries": entries,
            "can_operate": is_operator(request.user),
            "reverse_form": ReverseForm(),
        },
    )


@login_required
@require_POST
def voucher_reverse(request, pk):
    require_operator(request.user)
    voucher = get_object_or_404(Voucher, pk=pk)
    form = ReverseForm(request.POST)
    if form.is_valid():
        perform(
            request,
            lambda: ledger.reverse_voucher(voucher, by=request.user, reason=form.cleaned_data["reason"]),
            _("The voucher's balance was taken back."),
        )
    else:
        messages.error(request, _("Give the reason for taking the voucher back."))
    return redirect("compute:voucher_detail", pk=pk)


@login_required
def voucher_apply(request, scheme_pk):
    scheme = get_object_or_404(VoucherScheme.objects.open_on(timezone.localdate()), pk=scheme_pk)
    organisations = Organisation.objects.managed_by(request.user).verified().order_by("name_zh")
    if not organisations.exists():
        raise PermissionDenied(
            _("Only the owners and administrators of a verified organisation apply for vouchers.")
        )
    form = VoucherApplicationForm(request.POST or None, organisations=organisations)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            applications.apply_for_voucher(
                scheme,
                data["organisation"],
                by=request.user,
                amount=data["amount"],
                statement=data["statement"],
            )
        except DomainError as error:
            form.add_error(None, error.message)
        else:
            messages.success(
                request, _("Your application was sent. The operators decide it and you will be told.")
            )
            return redirect("compute:voucher_index")
    return render(request, "compute/vouchers/apply.html", {"scheme": scheme, "form": form})


@login_required
@require_POST
def voucher_application_withdraw(request, pk):
    application = get_object_or_404(VoucherApplication.objects.for_user(request.user), pk=pk)
    perform(
        request,
        lambda: applications.withdraw_voucher_application(application, by=request.user),
        _("The application was withdrawn."),
    )
    return redirect("compute:voucher_index")


# --- statements -----------------------------------------------------------------------------------------


def _month(text: str) -> date:
    try:
        year, month = (int(part) for part in text.split("-"))
        return date(year, month, 1)
    except ValueError:
        raise Http404(_("Not a month.")) from None


@login_required
def statement(request, month):
    first = _month(month)
    organisations = Organisation.objects.for_user(request.user)
    organisation_id = parse_id(request.GET.get("organisation", ""))
    if organisation_id is not None:
        organisation = organisations.filter(pk=organisation_id).first()
    else:
        # No organisation named: the first of one's own that has a statement for the month, else the first.
        settled = organisations.filter(settlements__month=first).order_by("name_zh").first()
        organisation = settled or organisations.order_by("name_zh").first()
    if organisation is None:
        raise Http404(_("Choose one of your organisations."))
    report = statements.statement(organisation, first)
    jobs = statements.statement_jobs(organisation, first)
    if request.GET.get("format") == "csv":
        return _jobs_csv(jobs, f"jobs-{first:%Y-%m}-{organisation.pk}.csv")
    if request.GET.get("format") == "pdf":
        response = HttpResponse(render_statement(report, jobs), content_type="application/pdf")
        response["Content-Disposition"] = (
            f'attachment; filename="statement-{first:%Y-%m}-{organisation.pk}.pdf"'
        )
        return response
    shown = list(jobs[:JOBS_SHOWN])
    for job in shown:
        job.cost = job.allocation.partition.cost(job.units)
    return render(
        request,
        "compute/vouchers/statement.html",
        {"report": report, "month": first, "jobs": shown, "job_count": jobs.count()},
    )


def _jobs_csv(jobs, filename: str) -> StreamingHttpResponse:
    """Every job of the statement with its usage and its cost at the partition's price."""

    class Echo:
        def write(self, value):
            return value

    writer = csv.writer(Echo())

    def rows():
        yield "\ufeff"
        yield writer.writerow(
            [
                "job",
                "allocation",
                "cluster_user",
                "state",
                "started",
                "ended",
                "hours",
                "used",
                "unit",
                "price",
                "cost",
            ]
        )
        for job in jobs.iterator(chunk_size=2000):
            partition = job.allocation.partition
            yield writer.writerow(
                [
                    job.job_id,
                    job.allocation.account_name,
                    job.cluster_user,
                    job.state,
                    job.start_at.isoformat() if job.start_at else "",
                    job.end_at.isoformat() if job.end_at else "",
                    round(job.elapsed_seconds / 3600, 2),
                    job.units,
                    partition.unit,
                    partition.price_per_unit,
                    partition.cost(job.units),
                ]
            )

    response = StreamingHttpResponse(rows(), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response


# --- operators ------------------------------------------------------------------------------------------


@login_required
def voucher_operations(request):
    """Operators: applications to decide, schemes with their budget used, projects waiting for vouchers."""
    require_staff(request)
    can_operate = is_operator(request.user)

    def operations() -> dict:
        today = timezone.localdate()
        queue = list(
            VoucherApplication.objects.filter(status=VoucherApplicationStatus.SUBMITTED)
            .select_related("organisation", "scheme", "created_by")
            .order_by("created_at")[:50]
        )
        schemes = list(
            VoucherScheme.objects.annotate(
                granted=Coalesce(Sum("vouchers__amount"), 0, output_field=DecimalField()),
                voucher_count=Count("vouchers"),
            ).order_by("-valid_until", "pk")
        )
        for scheme in schemes:
            scheme.used_percent = (
                round(100 * scheme.granted / scheme.total_budget) if scheme.total_budget else 0
            )
            scheme.open = scheme.is_active and scheme.valid_from <= today <= scheme.valid_until
        spent = LedgerEntry.objects.filter(kind=EntryKind.REDEMPTION).aggregate(
            total=Coalesce(Sum("amount"), 0, output_field=DecimalField())
        )
        page = paginate(
            request,
            Voucher.objects.with_balance().select_related("scheme", "organisation").order_by("-id"),
            per_page=25,
        )
        return {
            "queue": queue,
            "schemes": schemes,
            "page": page,
            "waiting": list(applications.projects_waiting_for_vouchers().order_by("pk")[:50]),
            "redeemed": -spent["total"],
        }

    return render(
        request,
        "compute/vouchers/operations.html",
        {
            "operations": SimpleLazyObject(operations),
            "decide_form": DecideApplicationForm(),
            "can_operate": can_operate,
            # The same for every operator (and, without the forms, every supervisor): kept while nothing it
            # shows changes (compute/kept.py).
            "body_key": f"{kept.VOUCHERS.body_key(request)}:{int(can_operate)}",
        },
    )


@login_required
@require_POST
def voucher_application_decide(request, pk):
    require_operator(request.user)
    application = get_object_or_404(VoucherApplication, pk=pk)
    form = DecideApplicationForm(request.POST)
    if not form.is_valid():
        for errors in form.errors.values():
            for error in errors:
                messages.error(request, error)
        return redirect("compute:voucher_operations")
    data = form.cleaned_data
    if data["decision"] == form.APPROVE:
        perform(
            request,
            lambda: applications.approve_voucher_application(
                application, by=request.user, amount=data.get("amount"), reason=data["reason"]
            ),
            _("Approved: the voucher was granted and the organisation told."),
        )
    else:
        perform(
            request,
            lambda: applications.reject_voucher_application(
                application, by=request.user, reason=data["reason"]
            ),
            _("Rejected: the organisation was told why."),
        )
    return redirect("compute:voucher_operations")


@login_required
def scheme_form(request, pk=None):
    require_operator(request.user)
    scheme = get_object_or_404(VoucherScheme, pk=pk) if pk else None
    form = VoucherSchemeForm(request.POST or None, instance=scheme)
    if request.method == "POST" and form.is_valid():
        before = {name: str(getattr(scheme, name)) for name in form.changed_data} if scheme else {}
        saved = applications.save_scheme(form, by=request.user, before=before)
        messages.success(request, _("The scheme “%(name)s” was saved.") % {"name": saved.display_name})
        return redirect("compute:voucher_operations")
    return render(request, "compute/vouchers/scheme_form.html", {"form": form, "scheme": scheme})


def _waiting_project(data):
    """The project named by ``project=<id>`` in ``data`` when it is waiting for its voucher; None otherwise."""
    pk = parse_id(data.get("project", ""))
    return applications.projects_waiting_for_vouchers().filter(pk=pk).first() if pk else None


@login_required
def voucher_grant(request):
    require_operator(request.user)
    today = timezone.localdate()
    initial = {}
    project = _waiting_project(request.GET)
    if project is not None:
        initial = {"organisation": project.organisation_id, "amount": project.programme.voucher_amount}
        scheme = VoucherScheme.objects.open_on(today).filter(for_incubated_projects=True).first()
        if scheme:
            initial["scheme"] = scheme.pk
    form = GrantForm(request.POST or None, today=today, initial=initial)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        if parse_id(request.POST.get("project", "")):
            project = _waiting_project(request.POST)
        try:
            voucher = ledger.grant_voucher(
                data["scheme"],
                data["organisation"],
                amount=data["amount"],
                by=request.user,
                source=VoucherSource.INCUBATION if project else VoucherSource.OPERATOR,
                project=project if project and project.organisation_id == data["organisation"].pk else None,
            )
        except DomainError as error:
            form.add_error(None, error.message)
        else:
            messages.success(request, _("Voucher %(code)s was granted.") % {"code": voucher.code})
            return redirect("compute:voucher_detail", pk=voucher.pk)
    return render(request, "compute/vouchers/grant.html", {"form": form, "project": project})
