"""The public catalogue: programmes, courses and cohorts, with seats left and whether (and why not) one may enrol."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.db.models import Exists, OuterRef, Prefetch, Q, prefetch_related_objects
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.utils.functional import SimpleLazyObject
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from accounts.models import Organisation
from core import pagecache
from core.exceptions import DomainError
from core.pagination import paginate
from core.web import show_error
from talent import kept
from talent.forms import CatalogueFilterForm, EnrolForm
from talent.models import Cohort, CohortStatus, Course, Enrolment, EnrolmentStatus, Programme
from talent.services.eligibility import eligibility
from talent.services.enrolment import enrol, waitlist_position
from talent.views.common import facts_for

CATALOGUE_PAGE_SIZE = 20
# The public catalogue's body: anew after any change of what it shows (followed in talent/hooks.py).
CATALOGUE = pagecache.Generation("talent-catalogue")


def _upcoming_cohorts():
    return Cohort.objects.published().upcoming().with_seats().order_by("starts_on", "id")


def index(request):
    """The catalogue: published courses, searchable and filtered by their upcoming cohorts.

    The page's body comes from the cache while the catalogue is unchanged (core/pagecache.py): the
    context is lazy, so a page seen in the last minute asks the database nothing for it."""
    form = CatalogueFilterForm(request.GET or None)
    return render(
        request,
        "talent/catalogue.html",
        {
            "page": SimpleLazyObject(lambda: _catalogue_page(request, form)),
            "form": form,
            "programmes": SimpleLazyObject(
                lambda: list(Programme.objects.filter(is_published=True).order_by("slug"))
            ),
            "filtered": bool(request.GET.urlencode()),
            "body_key": CATALOGUE.body_key(request),
            "body_seconds": pagecache.BODY_SECONDS,
        },
    )


def _catalogue_page(request, form):
    courses = Course.objects.published().select_related("programme").order_by("slug")
    cohort_filter = Q()
    filtering_cohorts = False
    if form.is_valid():
        data = form.cleaned_data
        if data["q"]:
            q = data["q"].strip()
            courses = courses.filter(
                Q(title_zh__icontains=q)
                | Q(title_en__icontains=q)
                | Q(description_zh__icontains=q)
                | Q(description_en__icontains=q)
            )
        if data["category"]:
            courses = courses.filter(category=data["category"])
        if data["level"]:
            courses = courses.filter(level=data["level"])
        if data["audience"]:
            cohort_filter &= Q(audience=data["audience"])
            filtering_cohorts = True
        if data["starts_after"]:
            cohort_filter &= Q(starts_on__gte=data["starts_after"])
            filtering_cohorts = True
        if data["starts_before"]:
            cohort_filter &= Q(starts_on__lte=data["starts_before"])
            filtering_cohorts = True
        if data["seats"]:
            cohort_filter &= Q(seats_left__gt=0, enrolment_closes_at__gt=timezone.now())
            filtering_cohorts = True
    cohorts = _upcoming_cohorts().filter(cohort_filter)
    if filtering_cohorts:
        courses = courses.filter(Exists(cohorts.filter(course=OuterRef("pk"))))
    courses = courses.prefetch_related(Prefetch("cohorts", queryset=cohorts, to_attr="upcoming_cohorts"))
    return paginate(request, courses, per_page=CATALOGUE_PAGE_SIZE)


def programme_detail(request, slug):
    programme = get_object_or_404(Programme.objects.filter(is_published=True), slug=slug)
    courses = (
        Course.objects.published()
        .filter(programme=programme)
        .prefetch_related(Prefetch("cohorts", queryset=_upcoming_cohorts(), to_attr="upcoming_cohorts"))
    )
    return render(request, "talent/programme_detail.html", {"programme": programme, "courses": courses})


def _cohort_rows(request, cohorts) -> list[dict]:
    """Each cohort with what the person may do there (and why not), in a constant number of queries."""
    facts = facts_for(request)
    mine = {}
    if facts.signed_in:
        mine = {
            e.cohort_id: e
            for e in Enrolment.objects.active()
            .with_waitlist_position()
            .filter(user=request.user, cohort__in=[c.pk for c in cohorts])
        }
    rows = []
    for cohort in cohorts:
        current = mine.get(cohort.pk)
        verdict = eligibility(cohort, facts, current=current, seats_left=cohort.seats_left)
        rows.append({"cohort": cohort, "verdict": verdict, "enrolment": current})
    return rows


def course_detail(request, slug):
    """A course with its upcoming cohorts and what the person may do in each. Who may see the course is checked
    on every request; the body is kept for the person (or for every visitor) while what it shows is unchanged
    (talent/kept.py: COURSE), and its context is lazy, so a kept page reads none of its rows."""
    course = get_object_or_404(Course.objects.for_user(request.user).select_related("programme"), slug=slug)
    return render(
        request,
        "talent/course_detail.html",
        {
            "course": course,
            "rows": SimpleLazyObject(lambda: _cohort_rows(request, _course_cohorts(request, course))),
            "body_key": kept.course_page_key(request),
        },
    )


def _course_cohorts(request, course) -> list:
    return list(
        Cohort.objects.visible_to(request.user)
        .filter(course=course)
        .exclude(status=CohortStatus.CANCELLED)
        .upcoming()
        .with_seats()
        .prefetch_related("instructors", "sessions")
        .order_by("starts_on", "id")
    )


# What ``CohortQuerySet.with_seats`` annotates.
SEATS = ("seats_taken", "seats_reserved", "seats_left")


def cohort_detail(request, pk):
    """A cohort, its schedule and the person's way in (or why not); kept like a course's page."""
    # Found once for this reader while the courses' state and what they may see are unchanged.
    cohort = pagecache.kept_lookup(
        request,
        f"talent-cohort:{int(pk)}",
        kept.COURSE,
        lambda: get_object_or_404(Cohort.objects.visible_to(request.user).select_related("course"), pk=pk),
    )
    return render(
        request,
        "talent/cohort_detail.html",
        {
            "cohort": cohort,
            "course": cohort.course,
            "row": SimpleLazyObject(lambda: _cohort_row(request, cohort)),
            "enrol_form": EnrolForm(),
            "manages": SimpleLazyObject(lambda: _managed_for_seats(request, cohort)),
            "runs": SimpleLazyObject(
                lambda: (
                    facts_for(request).signed_in
                    and Cohort.objects.taught_by(request.user).filter(pk=cohort.pk).exists()
                )
            ),
            "body_key": kept.course_page_key(request),
        },
    )


def _cohort_row(request, cohort) -> dict:
    """The cohort's row, read for the body only: its seats (the template shows ``row.cohort``'s), who teaches it
    (which eligibility asks too) and its sessions."""
    seats = Cohort.objects.with_seats().values(*SEATS).get(pk=cohort.pk)
    for name in SEATS:
        setattr(cohort, name, seats[name])
    prefetch_related_objects([cohort], "instructors", "sessions")
    return _cohort_rows(request, [cohort])[0]


def _managed_for_seats(request, cohort) -> list:
    """The verified organisations the person manages, who may reserve seats while enrolment is open."""
    if facts_for(request).signed_in and cohort.status == CohortStatus.PUBLISHED and cohort.is_enrolment_open:
        return list(Organisation.objects.managed_by(request.user).verified().order_by("name_zh"))
    return []


@login_required
@require_POST
def cohort_enrol(request, pk):
    cohort = get_object_or_404(Cohort.objects.visible_to(request.user), pk=pk)
    form = EnrolForm(request.POST)
    code = form.cleaned_data["code"] if form.is_valid() else ""
    try:
        enrolment = enrol(cohort, user=request.user, code=code)
    except DomainError as error:
        show_error(request, error)
        return redirect(cohort)
    if enrolment.status == EnrolmentStatus.ENROLLED:
        messages.success(request, _("You are enrolled. The schedule is on your learning page."))
    elif enrolment.status == EnrolmentStatus.WAITLISTED:
        messages.info(
            request,
            _(
                "The cohort is full: you are number %(position)s on the waitlist. We email you when a seat is yours."
            )
            % {"position": waitlist_position(enrolment)},
        )
    else:
        messages.info(request, _("Your request is sent. The instructor decides, and you will get an email."))
    return redirect("talent:my_enrolments")
