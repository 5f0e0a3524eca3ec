"""A learner's own pages: enrolments with waitlist places and offers, schedule (.ics), check-in."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.db.models import Count, OuterRef, Q, Subquery, Value
from django.db.models.functions import Coalesce
from django.http import HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.utils.functional import SimpleLazyObject
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from core.exceptions import DomainError
from core.pagination import paginate
from talent import kept
from talent.calendar import sessions_ics
from talent.forms import CheckInForm
from talent.models import Attendance, Certificate, Enrolment, EnrolmentStatus, Session
from talent.pool import is_in_pool
from talent.services.enrolment import accept_offer, withdraw
from talent.services.running import check_in
from talent.views.common import attempt

SCHEDULE_SESSIONS = 20


def _count(queryset, field: str):
    return Coalesce(Subquery(queryset.order_by().values(field).annotate(n=Count("pk")).values("n")), Value(0))


def my_enrolments_queryset(user):
    sessions = Session.objects.filter(cohort=OuterRef("cohort"))
    present = Attendance.objects.filter(enrolment=OuterRef("pk"), present=True)
    return (
        Enrolment.objects.filter(user=user)
        .with_waitlist_position()
        .select_related("cohort__course", "certificate")
        .annotate(sessions_total=_count(sessions, "cohort"), sessions_present=_count(present, "enrolment"))
        .order_by("-id")
    )


def upcoming_sessions(user, *, limit: int = SCHEDULE_SESSIONS):
    return (
        Session.objects.filter(
            cohort__enrolments__user=user,
            cohort__enrolments__status=EnrolmentStatus.ENROLLED,
            ends_at__gte=timezone.now(),
        )
        .select_related("cohort__course")
        .order_by("starts_at")[:limit]
    )


@login_required
def my_enrolments(request):
    return render(
        request,
        "talent/my_enrolments.html",
        {
            "page": SimpleLazyObject(lambda: paginate(request, my_enrolments_queryset(request.user))),
            "sessions": upcoming_sessions(request.user),
            "certificates": Certificate.objects.filter(enrolment__user=request.user).order_by("-issued_on"),
            "in_pool": SimpleLazyObject(lambda: is_in_pool(request.user)),
            "now": timezone.now(),
            # Kept for the learner alone while nothing it shows changes (talent/kept.py); a session's check-in
            # button appears within the minute of its start.
            "body_key": kept.LEARNER.personal_body_key(request),
        },
    )


def _own(request, pk) -> Enrolment:
    return get_object_or_404(Enrolment.objects.filter(user=request.user).select_related("cohort"), pk=pk)


@login_required
@require_POST
def enrolment_accept(request, pk):
    enrolment = _own(request, pk)
    attempt(
        request, lambda: accept_offer(enrolment, by=request.user), _("The seat is yours: you are enrolled.")
    )
    return redirect("talent:my_enrolments")


@login_required
@require_POST
def enrolment_withdraw(request, pk):
    enrolment = _own(request, pk)
    attempt(
        request,
        lambda: withdraw(enrolment, by=request.user),
        _("You have withdrawn. If you held a seat, it goes to the next person waiting."),
    )
    return redirect("talent:my_enrolments")


@login_required
def schedule_ics(request):
    sessions = (
        Session.objects.filter(
            cohort__enrolments__user=request.user, cohort__enrolments__status=EnrolmentStatus.ENROLLED
        )
        .select_related("cohort__course")
        .order_by("starts_at")
    )
    response = HttpResponse(
        sessions_ics(sessions, name=_("My training")), content_type="text/calendar; charset=utf-8"
    )
    response["Content-Disposition"] = 'attachment; filename="training.ics"'
    return response


@login_required
def session_checkin(request, pk):
    session = get_object_or_404(
        Session.objects.select_related("cohort__course")
        .filter(Q(cohort__enrolments__user=request.user) | Q(cohort__instructors=request.user))
        .distinct(),
        pk=pk,
    )
    form = CheckInForm(request.POST or None, initial={"code": request.GET.get("code", "")[:8]})
    if request.method == "POST" and form.is_valid():
        try:
            check_in(session, user=request.user, code=form.cleaned_data["code"])
        except DomainError as error:
            form.add_error("code", str(error))
        else:
            messages.success(request, _("You are checked in. Enjoy the session."))
            return redirect("talent:my_enrolments")
    return render(request, "talent/session_checkin.html", {"session": session, "form": form})
