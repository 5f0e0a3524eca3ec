"""Members' needs, the matches suggested for them, and interest between members."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.db.models import prefetch_related_objects
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.functional import SimpleLazyObject
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from accounts.access import manages
from accounts.models import Organisation
from alliance import kept
from alliance.forms import InterestForm, NeedForm
from alliance.models import Interest, Need, NeedKind, Solution, SolutionStatus
from alliance.services import matching
from alliance.services import needs as need_services
from alliance.views.common import attempt, filtered_by, member_organisations, submit
from core.pagination import paginate
from core.roles import sees_all_organisations
from core.web import parse_id


@login_required
def need_list(request):
    needs = (
        Need.objects.for_user(request.user)
        .open()
        .select_related("organisation")
        .prefetch_related("capabilities")
    )
    needs, kind = filtered_by(request, needs, "kind", NeedKind.values)
    return render(
        request,
        "alliance/need_list.html",
        {
            "page": paginate(request, needs.order_by("-id")),
            "kind": kind,
            "kinds": NeedKind.choices,
            "can_post": member_organisations(request.user).exists(),
        },
    )


@login_required
def need_create(request):
    organisations = member_organisations(request.user)
    if not organisations.exists():
        messages.info(request, _("Owners and administrators of current alliance members post needs."))
        return redirect("alliance:mine")
    form = NeedForm(request.POST or None, organisations=organisations)
    if request.method == "POST" and form.is_valid():
        data = dict(form.cleaned_data)
        organisation = data.pop("organisation")
        done, need = submit(form, lambda: need_services.post_need(organisation, by=request.user, **data))
        if done:
            messages.success(
                request, _("The need is posted. Matching solutions and members are suggested below.")
            )
            return redirect(need)
    return render(request, "alliance/need_form.html", {"form": form})


@login_required
def need_detail(request, pk):
    """A need, its matches and the interest expressed. Who may see the need is checked on every request; the
    body is kept for the person while what it shows is unchanged (alliance/kept.py: NEED), and its context is
    lazy, so a kept page computes no match and reads none of its rows."""
    need = get_object_or_404(Need.objects.for_user(request.user), pk=pk)
    parts = SimpleLazyObject(lambda: _need_parts(request, need))
    context = {
        name: SimpleLazyObject(lambda name=name: parts[name])
        for name in ("capabilities", "matches", "manages_need", "interests", "invited", "offer_form")
    }
    context["need"] = need
    context["body_key"] = kept.NEED.personal_body_key(request)
    return render(request, "alliance/need_detail.html", context)


def _need_parts(request, need) -> dict:
    """What the need's page shows the person."""
    prefetch_related_objects([need], "organisation", "capabilities")
    manages_need = manages(request.user, need.organisation_id)
    offering = member_organisations(request.user).exclude(pk=need.organisation_id)
    interests = list(need.interests.select_related("organisation", "solution", "created_by"))
    visible_interests = (
        interests
        if (manages_need or sees_all_organisations(request.user))
        else [i for i in interests if i.organisation_id in set(offering.values_list("pk", flat=True))]
    )
    return {
        "capabilities": list(need.capabilities.all()),
        "matches": matching.matches_for(need) if need.status == "open" else [],
        "manages_need": manages_need,
        "interests": visible_interests,
        "invited": {i.organisation_id for i in interests if i.direction == Interest.Direction.INVITE},
        "offer_form": InterestForm(
            organisations=offering,
            solutions=Solution.objects.filter(organisation__in=offering, status=SolutionStatus.PUBLISHED),
        )
        if offering.exists() and not manages_need
        else None,
    }


@login_required
@require_POST
def need_action(request, pk, action):
    need = get_object_or_404(Need.objects.for_user(request.user), pk=pk)
    moves = {"close": need_services.close_need, "reopen": need_services.reopen_need}
    if action not in moves:
        raise Http404
    attempt(request, lambda: moves[action](need, by=request.user), _("Done."))
    return redirect(need)


@login_required
@require_POST
def interest_create(request, pk):
    need = get_object_or_404(Need.objects.for_user(request.user), pk=pk)
    organisation_id = parse_id(request.POST.get("organisation", ""))
    organisation = Organisation.objects.filter(pk=organisation_id).first() if organisation_id else None
    solution_id = parse_id(request.POST.get("solution", ""))
    solution = (
        Solution.objects.filter(pk=solution_id, status=SolutionStatus.PUBLISHED).first()
        if solution_id
        else None
    )
    if organisation is None:
        messages.error(request, _("Choose the organisation."))
        return redirect(need)
    message = request.POST.get("message", "")[:2000]
    attempt(
        request,
        lambda: need_services.express_interest(
            need, by=request.user, organisation=organisation, solution=solution, message=message
        ),
        _("Interest sent; the other side has been notified by email."),
    )
    return redirect(need)
