"""The person's alliance, applying to join, and a membership's page with its decisions and renewals."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST

from accounts.access import manages, require_operator
from accounts.models import Organisation
from alliance.forms import ApplyForm, DecisionForm, ReasonForm, RenewalForm
from alliance.models import AllianceMembership, Interest, MembershipRenewal, Need, RenewalStatus, Solution
from alliance.services import membership as membership_services
from alliance.views.common import attempt, decide, managed_organisations, submit
from core.pagination import safe_next
from core.roles import is_operator


@login_required
def mine(request):
    """Everything the person's organisations have in the alliance, and what to do next."""
    organisations = list(Organisation.objects.filter(memberships__user=request.user).order_by("name_zh"))
    ids = [o.pk for o in organisations]
    memberships = list(
        AllianceMembership.objects.filter(organisation__in=ids)
        .select_related("organisation")
        .order_by("-id")[:50]
    )
    managed = set(managed_organisations(request.user).values_list("pk", flat=True))
    return render(
        request,
        "alliance/mine.html",
        {
            "organisations": organisations,
            "managed": managed,
            "memberships": memberships,
            "solutions": Solution.objects.filter(organisation__in=ids).select_related("organisation")[:50],
            "needs": Need.objects.filter(organisation__in=ids).select_related("organisation")[:50],
            "interests": Interest.objects.for_user(request.user)
            .filter(need__organisation__in=ids)
            .select_related("need", "organisation", "solution")[:50],
            "offers": Interest.objects.filter(organisation__in=ids).select_related(
                "need__organisation", "organisation", "solution"
            )[:50],
            "can_apply": Organisation.objects.managed_by(request.user).verified().exists(),
        },
    )


@login_required
def apply(request):
    organisations = managed_organisations(request.user).verified()
    if not organisations.exists():
        messages.info(request, _("Only owners and administrators of verified organisations apply to join."))
        return redirect("alliance:mine")
    form = ApplyForm(request.POST or None, organisations=organisations)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        done, membership = submit(
            form,
            lambda: membership_services.apply_for_membership(
                data["organisation"], by=request.user, tier=data["tier"], statement=data["statement"]
            ),
        )
        if done:
            messages.success(request, _("The application is filed. The operators will decide it."))
            return redirect(membership)
    return render(request, "alliance/apply.html", {"form": form})


def _visible_membership(request, pk) -> AllianceMembership:
    return get_object_or_404(
        AllianceMembership.objects.for_user(request.user).select_related("organisation"), pk=pk
    )


@login_required
def membership_detail(request, pk):
    membership = _visible_membership(request, pk)
    renewals = list(membership.renewals.select_related("requested_by", "decided_by")[:10])
    manager = manages(request.user, membership.organisation_id)
    return render(
        request,
        "alliance/membership_detail.html",
        {
            "membership": membership,
            "computed_status": membership.computed_status(),
            "renewals": renewals,
            "pending_renewal": next((r for r in renewals if r.status == RenewalStatus.PENDING), None),
            "manages": manager,
            "is_operator": is_operator(request.user),
            "decision_form": DecisionForm(),
            "reason_form": ReasonForm(),
            "renewal_form": RenewalForm(),
        },
    )


def _membership_action(service, success: str, *, operators_only: bool):
    """A page action on a membership with an optional reason: ``service(membership, by=..., reason=...)``."""

    @login_required
    @require_POST
    def view(request, pk):
        if operators_only:
            require_operator(request.user)
        membership = _visible_membership(request, pk)
        form = ReasonForm(request.POST)
        reason = form.cleaned_data["reason"] if form.is_valid() else ""
        attempt(request, lambda: service(membership, by=request.user, reason=reason), success)
        return redirect(safe_next(request, membership.get_absolute_url()))

    return view


@login_required
@require_POST
def membership_decide(request, pk):
    require_operator(request.user)
    membership = _visible_membership(request, pk)
    return decide(
        request,
        membership,
        back=safe_next(request, membership.get_absolute_url()),
        approve=membership_services.approve_membership,
        reject=membership_services.reject_membership,
        approved=_("The membership is approved; the organisation is in the directory."),
        rejected=_("The application is rejected."),
    )


membership_suspend = _membership_action(
    membership_services.suspend_membership, gettext_lazy("The membership is suspended."), operators_only=True
)
membership_reinstate = _membership_action(
    membership_services.reinstate_membership,
    gettext_lazy("The membership is reinstated."),
    operators_only=True,
)
membership_withdraw = _membership_action(
    membership_services.withdraw_membership,
    gettext_lazy("The membership is withdrawn."),
    operators_only=False,
)


@login_required
@require_POST
def renewal_request(request, pk):
    membership = _visible_membership(request, pk)
    form = RenewalForm(request.POST)
    note = form.data.get("note", "")[:2000]
    attempt(
        request,
        lambda: membership_services.request_renewal(membership, by=request.user, note=note),
        _("The renewal is requested. The operators will decide it."),
    )
    return redirect(membership)


@login_required
@require_POST
def renewal_decide(request, pk):
    require_operator(request.user)
    renewal = get_object_or_404(MembershipRenewal.objects.select_related("membership"), pk=pk)
    return decide(
        request,
        renewal,
        back=safe_next(request, renewal.membership.get_absolute_url()),
        approve=membership_services.approve_renewal,
        reject=membership_services.reject_renewal,
        approved=_("The membership is renewed."),
        rejected=_("The renewal is rejected."),
    )
