"""Operators' pages: the catalogue (programmes, courses, cohorts, sessions) and bulk enrolment from CSV;
organisation administrators' seat pools."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import Count
from django.shortcuts import get_object_or_404, redirect, render
from django.template.defaultfilters import date as date_filter
from django.urls import reverse
from django.utils.formats import localize
from django.utils.functional import SimpleLazyObject
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from django.views.decorators.http import require_POST

from accounts.models import Membership, Organisation, User
from core import rows
from core.exceptions import DomainError
from core.pagination import paginate
from core.roles import is_operator, sees_all_organisations
from core.web import show_error
from talent import kept
from talent.forms import (
    AssignSeatForm,
    BulkForm,
    CohortForm,
    CourseForm,
    ProgrammeForm,
    SeatPoolForm,
    SessionForm,
)
from talent.models import Cohort, CohortStatus, Course, Programme, SeatPool, Session
from talent.services.bulk import bulk_enrol
from talent.services.catalogue import save_catalogue_object, save_cohort, set_cohort_status
from talent.services.eligibility import seats_left_in
from talent.services.pools import assign_pool_seat, reserve_seats


def _require_operator(request) -> None:
    if not is_operator(request.user):
        raise PermissionDenied(_("Only the center's operators manage the catalogue."))


@login_required
def manage(request):
    """The cohorts, courses and programmes, for the operators (who change them) and supervisors (who read).

    The body comes from the cache while nothing it shows changes (talent/kept.py): the context is lazy, so a
    page seen in the last minute asks the database nothing for it."""
    if not sees_all_organisations(request.user):
        raise PermissionDenied(_("This page is for the center's operators and supervisors."))
    status = request.GET.get("status", "")
    if status not in CohortStatus.values:
        status = ""
    # The querysets too are built only when the body is rendered (their annotations take milliseconds to build).
    page = SimpleLazyObject(lambda: paginate(request, _cohorts(status)))
    can_change = is_operator(request.user)
    return render(
        request,
        "talent/manage.html",
        {
            "page": page,
            "cohort_rows": SimpleLazyObject(lambda: _cohort_rows(page.object_list)),
            "status": status,
            "statuses": CohortStatus.choices,
            "programmes": SimpleLazyObject(
                lambda: list(Programme.objects.annotate(n=Count("courses")).order_by("slug"))
            ),
            "course_rows": SimpleLazyObject(
                lambda: _course_rows(
                    Course.objects.select_related("programme")
                    .annotate(n=Count("cohorts"))
                    .order_by("slug")[:200]
                )
            ),
            "can_change": can_change,
            # The same for every operator (and, without the edit links, every supervisor).
            "body_key": f"{kept.MANAGE.body_key(request)}:{int(can_change)}",
        },
    )


def _cohorts(status: str):
    cohorts = (
        Cohort.objects.select_related("course").with_seats().with_waiting().order_by("-starts_on", "-id")
    )
    return cohorts.filter(status=status) if status else cohorts


def _cohort_rows(cohorts) -> list[dict]:
    """The page's cohorts as the strings their rows show (core.rows: the template only prints them)."""
    detail, roster, edit = (
        rows.UrlOf("talent:cohort_detail"),
        rows.UrlOf("talent:roster"),
        rows.UrlOf("talent:cohort_edit"),
    )
    return [
        {
            "name": cohort.name,
            "title": f"{cohort.course.title} · {cohort.name}",
            "url": detail(cohort.pk),
            "roster_url": roster(cohort.pk),
            "edit_url": edit(cohort.pk),
            "dates": f"{date_filter(cohort.starts_on, 'Y-m-d')} – {date_filter(cohort.ends_on, 'Y-m-d')}",
            "seats": f"{localize(cohort.seats_left)} / {localize(cohort.capacity)}",
            "waiting": localize(cohort.waiting),
            "badge": rows.talent_badge(cohort.status),
            "status": cohort.get_status_display(),
        }
        for cohort in cohorts
    ]


def _course_rows(courses) -> list[dict]:
    """The courses with their number of cohorts, as their list items show them."""
    detail, edit = rows.UrlOf(Course.URL_NAME), rows.UrlOf("talent:course_edit")
    new_cohort = reverse("talent:cohort_create")
    return [
        {
            "title": course.title,
            "url": detail(course.slug),
            "edit_url": edit(course.pk),
            "new_cohort_url": f"{new_cohort}?course={course.pk}",
            "cohorts": ngettext("%(n)s cohort", "%(n)s cohorts", course.n) % {"n": localize(course.n)},
            "is_published": course.is_published,
        }
        for course in courses
    ]


def _save(
    request, form, *, title: str, back: str, m2m: tuple = (), template="talent/manage_form.html", extra=None
):
    if request.method == "POST" and form.is_valid():
        instance = form.save(commit=False)
        try:
            if isinstance(instance, Cohort):
                save_cohort(
                    instance,
                    by=request.user,
                    changed=form.changed_data,
                    instructors=list(form.cleaned_data["instructors"]),
                )
            else:
                save_catalogue_object(
                    instance,
                    by=request.user,
                    changed=form.changed_data,
                    m2m={name: list(form.cleaned_data[name]) for name in m2m},
                )
        except (DomainError, ValidationError) as error:
            show_error(request, error)
        else:
            messages.success(request, _("Saved."))
            if isinstance(instance, Cohort):
                return redirect("talent:cohort_edit", instance.pk)
            return redirect(back)
    return render(request, template, {"form": form, "title": title, "back": back, **(extra or {})})


@login_required
def programme_form(request, pk=None):
    _require_operator(request)
    instance = get_object_or_404(Programme, pk=pk) if pk else None
    form = ProgrammeForm(request.POST or None, instance=instance)
    return _save(request, form, title=_("Edit programme") if pk else _("New programme"), back="talent:manage")


@login_required
def course_form(request, pk=None):
    _require_operator(request)
    instance = get_object_or_404(Course, pk=pk) if pk else None
    form = CourseForm(request.POST or None, request.FILES or None, instance=instance)
    return _save(
        request,
        form,
        title=_("Edit course") if pk else _("New course"),
        back="talent:manage",
        m2m=("instructors", "answers_needs"),
    )


@login_required
def cohort_form(request, pk=None):
    _require_operator(request)
    instance = get_object_or_404(Cohort.objects.select_related("course"), pk=pk) if pk else None
    initial = {}
    if instance is None and request.GET.get("course", "").isdigit():
        initial["course"] = request.GET["course"]
    form = CohortForm(request.POST or None, instance=instance, initial=initial)
    if instance is None:
        return _save(request, form, title=_("New cohort"), back="talent:manage")
    return _save(
        request,
        form,
        title=_("Edit cohort"),
        back="talent:manage",
        template="talent/cohort_edit.html",
        extra={
            "cohort": instance,
            "sessions": Session.objects.filter(cohort=instance),
            "next_statuses": [
                (s, CohortStatus(s).label)
                for s in sorted(instance.allowed_moves)
                if s != CohortStatus.FINISHED
            ],
        },
    )


@login_required
@require_POST
def cohort_status(request, pk):
    _require_operator(request)
    cohort = get_object_or_404(Cohort, pk=pk)
    try:
        set_cohort_status(
            cohort,
            status=request.POST.get("status", ""),
            by=request.user,
            reason=request.POST.get("reason", ""),
        )
    except (DomainError, ValueError) as error:
        show_error(request, error if isinstance(error, DomainError) else DomainError(_("Choose a status.")))
    else:
        messages.success(request, _("Cohort status changed."))
    return redirect("talent:cohort_edit", cohort.pk)


@login_required
def session_form(request, cohort_pk=None, pk=None):
    _require_operator(request)
    instance = get_object_or_404(Session.objects.select_related("cohort"), pk=pk) if pk else None
    cohort = instance.cohort if instance else get_object_or_404(Cohort, pk=cohort_pk)
    form = SessionForm(request.POST or None, instance=instance or Session(cohort=cohort))
    if request.method == "POST" and form.is_valid():
        try:
            save_catalogue_object(form.save(commit=False), by=request.user, changed=form.changed_data)
        except (DomainError, ValidationError) as error:
            show_error(request, error)
        else:
            messages.success(request, _("Session saved."))
            return redirect("talent:cohort_edit", cohort.pk)
    return render(
        request,
        "talent/manage_form.html",
        {"form": form, "title": _("Edit session") if pk else _("New session"), "cohort": cohort},
    )


@login_required
def cohort_bulk(request, pk):
    _require_operator(request)
    cohort = get_object_or_404(Cohort.objects.select_related("course"), pk=pk)
    form = BulkForm(request.POST or None, request.FILES or None)
    report = None
    if request.method == "POST" and form.is_valid():
        try:
            report = bulk_enrol(cohort, data=form.cleaned_data["file"].read(), by=request.user)
        except DomainError as error:
            form.add_error("file", str(error))
    return render(request, "talent/cohort_bulk.html", {"cohort": cohort, "form": form, "report": report})


# --- organisation seat pools ----------------------------------------------------------------------------------


@login_required
def seat_pools(request, pk):
    cohort = get_object_or_404(Cohort.objects.published().select_related("course"), pk=pk)
    organisations = list(Organisation.objects.managed_by(request.user).verified().order_by("name_zh"))
    if not organisations:
        raise PermissionDenied(_("Owners and administrators of verified organisations reserve seats."))
    pools = {
        p.organisation_id: p
        for p in SeatPool.objects.filter(cohort=cohort, organisation__in=organisations).prefetch_related(
            "enrolments__user"
        )
    }
    if request.method == "POST":
        organisation = next((o for o in organisations if str(o.pk) == request.POST.get("organisation")), None)
        if organisation is None:
            messages.error(request, _("Choose one of your organisations."))
            return redirect("talent:seat_pools", cohort.pk)
        try:
            if request.POST.get("action") == "assign":
                form = AssignSeatForm(request.POST)
                pool = pools.get(organisation.pk)
                if not form.is_valid() or pool is None:
                    raise DomainError(_("Reserve seats first, then give a member's email address."))
                person = User.objects.filter(
                    email__iexact=form.cleaned_data["email"], memberships__organisation=organisation
                ).first()
                if person is None:
                    raise DomainError(_("No member of the organisation has this email address."))
                assign_pool_seat(pool, user=person, by=request.user)
                messages.success(request, _("Seat assigned to %(person)s.") % {"person": person})
            else:
                form = SeatPoolForm(request.POST)
                if not form.is_valid():
                    raise DomainError(_("Give the number of seats as a whole number from 0."))
                reserve_seats(
                    cohort, organisation=organisation, seats=form.cleaned_data["seats"], by=request.user
                )
                messages.success(request, _("Seats reserved."))
        except DomainError as error:
            show_error(request, error)
        return redirect("talent:seat_pools", cohort.pk)
    rows = []
    for organisation in organisations:
        pool = pools.get(organisation.pk)
        assigned = [e for e in pool.enrolments.all() if e.holds_seat] if pool else []
        rows.append(
            {
                "organisation": organisation,
                "pool": pool,
                "assigned": assigned,
                "free": (pool.seats - len(assigned)) if pool else 0,
                "members": Membership.objects.filter(organisation=organisation).count(),
            }
        )
    return render(
        request,
        "talent/seat_pools.html",
        {
            "cohort": cohort,
            "rows": rows,
            "seats_left": seats_left_in(cohort),
            "reserve_form": SeatPoolForm(),
            "assign_form": AssignSeatForm(),
        },
    )
