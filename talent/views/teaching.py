"""Instructors' pages: their cohorts, the roster (requests, scores, completion), attendance and check-in codes.

An instructor finds only their own cohorts (404 for others); operators run every cohort; supervisors read.
"""

import qrcode
import qrcode.image.svg
from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.db.models import Count, Q
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.functional import SimpleLazyObject
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from core.exceptions import DomainError
from core.pagination import paginate
from core.roles import SiteRole, has_site_role, is_operator, is_supervisor
from core.web import parse_id, show_error
from talent import kept
from talent.forms import ReasonForm
from talent.models import Attendance, Certificate, Cohort, Enrolment, EnrolmentStatus, Session
from talent.services.certificates import revoke_certificate
from talent.services.eligibility import seats_left_in
from talent.services.enrolment import approve_request, decline_request, withdraw
from talent.services.running import (
    Progress,
    complete_cohort,
    mark_attendance,
    new_checkin_code,
    progress_by_enrolment,
    set_scores,
)
from talent.views.common import attempt


def _cohort(request, pk, *, change: bool = False) -> Cohort:
    cohort = get_object_or_404(
        Cohort.objects.readable_by_teacher(request.user).select_related("course"), pk=pk
    )
    if change and not Cohort.objects.taught_by(request.user).filter(pk=cohort.pk).exists():
        raise PermissionDenied(_("Supervisors read everything and change nothing."))
    return cohort


@login_required
def teaching(request):
    if not (
        has_site_role(request.user, SiteRole.INSTRUCTOR)
        or is_operator(request.user)
        or is_supervisor(request.user)
    ):
        raise PermissionDenied(_("This page is for instructors."))
    cohorts = (
        Cohort.objects.readable_by_teacher(request.user)
        .select_related("course")
        .annotate(
            enrolled=Count("enrolments", filter=Q(enrolments__status__in=EnrolmentStatus.holding_seat())),
            requested=Count("enrolments", filter=Q(enrolments__status=EnrolmentStatus.REQUESTED)),
            waiting=Count("enrolments", filter=Q(enrolments__status=EnrolmentStatus.WAITLISTED)),
        )
        .order_by("-starts_on", "-id")
    )
    return render(request, "talent/teaching.html", {"page": paginate(request, cohorts)})


@login_required
def roster(request, pk):
    """A cohort's sessions, requests, learners (attendance, scores, certificates) and waitlist.

    The body comes from the cache while nothing it shows changes (talent/kept.py), per cohort and audience:
    operators (forms and revoking), whoever else runs the cohort (forms), supervisors (no form). The context is
    lazy, so a roster seen in the last minute asks the database only who may see it."""
    cohort = _cohort(request, pk)
    runs = Cohort.objects.taught_by(request.user).filter(pk=cohort.pk).exists()
    can_revoke = is_operator(request.user)

    def people() -> dict[str, list[Enrolment]]:
        enrolments = list(
            Enrolment.objects.filter(cohort=cohort)
            .exclude(
                status__in=[
                    EnrolmentStatus.WITHDRAWN,
                    EnrolmentStatus.DECLINED,
                    EnrolmentStatus.OFFER_EXPIRED,
                ]
            )
            .with_waitlist_position()
            .select_related("user", "certificate", "seat_pool__organisation")
            .order_by("status", "waitlisted_at", "id")
        )
        progress = progress_by_enrolment(cohort)
        total = Session.objects.filter(cohort=cohort).count()
        for enrolment in enrolments:
            enrolment.progress = progress.get(enrolment.pk) or Progress(total, 0, 0)
        return {
            "requests": [e for e in enrolments if e.status == EnrolmentStatus.REQUESTED],
            "seated": [e for e in enrolments if e.holds_seat],
            "waiting": [e for e in enrolments if e.status == EnrolmentStatus.WAITLISTED],
        }

    rows = SimpleLazyObject(people)
    return render(
        request,
        "talent/roster.html",
        {
            "cohort": cohort,
            "course": cohort.course,
            "requests": SimpleLazyObject(lambda: rows["requests"]),
            "seated": SimpleLazyObject(lambda: rows["seated"]),
            "waiting": SimpleLazyObject(lambda: rows["waiting"]),
            "sessions": SimpleLazyObject(
                lambda: list(
                    Session.objects.filter(cohort=cohort).annotate(
                        present=Count("attendance", filter=Q(attendance__present=True))
                    )
                )
            ),
            "runs": runs,
            "can_revoke": can_revoke,
            "can_complete": runs and cohort.status == "published" and cohort.ends_on <= timezone.localdate(),
            "reason_form": ReasonForm(),
            "seats_left": SimpleLazyObject(lambda: seats_left_in(cohort)),
            # The same for everyone of one audience of this cohort (talent/kept.py).
            "body_key": f"{kept.ROSTER.body_key(request)}:{cohort.pk}:{int(runs)}{int(can_revoke)}",
        },
    )


def _roster_enrolment(request, pk) -> Enrolment:
    enrolment = get_object_or_404(Enrolment.objects.select_related("cohort"), pk=pk)
    if not Cohort.objects.readable_by_teacher(request.user).filter(pk=enrolment.cohort_id).exists():
        raise Http404
    return enrolment


@login_required
@require_POST
def enrolment_decide(request, pk):
    enrolment = _roster_enrolment(request, pk)
    decision = request.POST.get("decision")
    try:
        if decision == "approve":
            enrolment = approve_request(enrolment, by=request.user)
            messages.success(
                request, _("Request approved (%(status)s).") % {"status": enrolment.get_status_display()}
            )
        elif decision == "decline":
            decline_request(enrolment, by=request.user, reason=request.POST.get("reason", ""))
            messages.success(request, _("Request declined."))
        elif decision == "withdraw":
            withdraw(enrolment, by=request.user, reason=request.POST.get("reason", ""))
            messages.success(request, _("The person is taken off the cohort."))
        else:
            messages.error(request, _("Choose what to do with the request."))
    except DomainError as error:
        show_error(request, error)
    return redirect("talent:roster", enrolment.cohort_id)


@login_required
@require_POST
def roster_scores(request, pk):
    cohort = _cohort(request, pk, change=True)
    scores = {}
    for key, value in request.POST.items():
        if key.startswith("score-"):
            enrolment_id = parse_id(key.removeprefix("score-"))
            if enrolment_id is None:
                messages.error(request, _("The form was not understood; reload the page."))
                return redirect("talent:roster", cohort.pk)
            scores[enrolment_id] = value
    attempt(
        request,
        lambda: set_scores(cohort, by=request.user, scores=scores),
        lambda changed: _("Scores saved (%(count)s changed).") % {"count": changed},
    )
    return redirect("talent:roster", cohort.pk)


@login_required
@require_POST
def roster_complete(request, pk):
    cohort = _cohort(request, pk, change=True)
    attempt(
        request,
        lambda: complete_cohort(cohort, by=request.user),
        lambda counts: (
            _("Cohort completed: %(completed)s completed, %(failed)s not passed, %(no_show)s did not attend.")
            % counts
        ),
    )
    return redirect("talent:roster", cohort.pk)


def _session(request, pk, *, change: bool = False) -> Session:
    session = get_object_or_404(Session.objects.select_related("cohort__course"), pk=pk)
    _cohort(request, session.cohort_id, change=change)
    return session


def _qr_svg(text: str) -> str:
    image = qrcode.make(text, image_factory=qrcode.image.svg.SvgPathImage, box_size=12, border=2)
    return image.to_string(encoding="unicode")


@login_required
def attendance(request, pk):
    """Phone-friendly attendance: one row per seated learner, present or absent, saved at once."""
    session = _session(request, pk)
    cohort = session.cohort
    enrolments = list(
        Enrolment.objects.filter(cohort=cohort, status__in=EnrolmentStatus.holding_seat())
        .select_related("user")
        .order_by("user__name", "user__email")
    )
    marks = {a.enrolment_id: a for a in Attendance.objects.filter(session=session)}
    runs = Cohort.objects.taught_by(request.user).filter(pk=cohort.pk).exists()
    if request.method == "POST":
        if not runs:
            raise PermissionDenied(_("Supervisors read everything and change nothing."))
        present = {}
        for enrolment in enrolments:
            value = request.POST.get(f"present-{enrolment.pk}")
            if value in ("1", "0"):
                present[enrolment.pk] = value == "1"
        attempt(
            request,
            lambda: mark_attendance(session, by=request.user, present=present),
            lambda changed: _("Attendance saved (%(count)s changed).") % {"count": changed},
        )
        return redirect("talent:attendance", session.pk)
    rows = [{"enrolment": e, "mark": marks.get(e.pk)} for e in enrolments]
    checkin_url = (
        settings.SITE_URL
        + reverse("talent:session_checkin", args=[session.pk])
        + f"?code={session.checkin_code}"
    )
    return render(
        request,
        "talent/attendance.html",
        {
            "session": session,
            "cohort": cohort,
            "rows": rows,
            "runs": runs,
            "checkin_open": session.checkin_open(),
            "checkin_window": session.checkin_window(),
            "checkin_url": checkin_url,
            "qr_svg": _qr_svg(checkin_url) if runs and session.checkin_code else "",
        },
    )


@login_required
@require_POST
def session_new_code(request, pk):
    session = _session(request, pk, change=True)
    attempt(
        request,
        lambda: new_checkin_code(session, by=request.user),
        _("A new check-in code is shown; the old one no longer works."),
    )
    return redirect("talent:attendance", session.pk)


@login_required
@require_POST
def certificate_revoke(request, code):
    certificate = get_object_or_404(Certificate.objects.select_related("enrolment"), code=code)
    if not is_operator(request.user):
        raise PermissionDenied(_("Only the center's operators revoke certificates."))
    form = ReasonForm(request.POST)
    if not form.is_valid():
        messages.error(request, _("Say why the certificate is revoked; the verification page shows it."))
    else:
        attempt(
            request,
            lambda: revoke_certificate(certificate, by=request.user, reason=form.cleaned_data["reason"]),
            _("Certificate revoked. Its verification page says so."),
        )
    return redirect("talent:roster", certificate.enrolment.cohort_id)
