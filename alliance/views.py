"""Pages of the industry alliance: the public directory and profiles, membership, solutions, needs, matches.

Views parse input, call one service or QuerySet method and present the result. Objects of other organisations
are found through ``for_user`` querysets, so they are 404 here.
"""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import Prefetch
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from accounts.models import Membership, MembershipRole, Organisation
from alliance import directory, matching, profiles, services
from alliance.forms import (
    ApplyForm,
    DecisionForm,
    InterestForm,
    NeedForm,
    ProfileForm,
    ReasonForm,
    RenewalForm,
    SolutionForm,
)
from alliance.models import (
    PROFILE_FIELDS,
    AllianceMembership,
    AllianceProfile,
    CapabilityTag,
    DirectoryEntry,
    Interest,
    MembershipRenewal,
    MembershipStatus,
    Need,
    NeedKind,
    ProfileRevision,
    RenewalStatus,
    RevisionStatus,
    Solution,
    SolutionStatus,
)
from core.exceptions import DomainError
from core.pagination import paginate, safe_next
from core.roles import is_operator, sees_all_organisations

DIRECTORY_PAGE_SIZE = 24


# --- who may do what ---------------------------------------------------------------------------------


def _require_operator(request) -> None:
    if not is_operator(request.user):
        raise PermissionDenied(_("Only the center's operators may do this."))


def _require_staff(request) -> None:
    if not sees_all_organisations(request.user):
        raise PermissionDenied(_("This page is for the center's operators and supervisors."))


def _managed_organisations(user):
    return Organisation.objects.managed_by(user).order_by("name_zh")


def _show_errors(request, error: Exception) -> None:
    if isinstance(error, ValidationError):
        for message in error.messages:
            messages.error(request, message)
    else:
        messages.error(request, str(error))


def _apply_errors(form, error: ValidationError) -> None:
    if hasattr(error, "error_dict"):
        for name, errors in error.message_dict.items():
            form.add_error(name if name in form.fields else None, errors)
    else:
        form.add_error(None, error.messages)


# --- public pages ------------------------------------------------------------------------------------


def index(request):
    """The public directory: facets with counts, keyword search, statistics and the member list."""
    query = directory.DirectoryQuery.from_params(request.GET)
    page = paginate(request, directory.entries(query), per_page=DIRECTORY_PAGE_SIZE)
    state = directory.generation()
    stats = directory.statistics(state)
    charts = [
        (_("Members by type"), directory.bar_chart(stats["by_kind"])),
        (_("Members by sector"), directory.bar_chart(stats["by_sector"][:8])),
        (_("Joins per year"), directory.bar_chart(stats["joins_per_year"][-8:])),
    ]
    return render(
        request,
        "alliance/directory.html",
        {
            "query": query,
            "page": page,
            "facets": directory.facets(query, state=state),
            "stats": stats,
            "charts": charts,
            "params": request.GET,
        },
    )


def member_profile(request, organisation_id):
    """A member's public profile: what the viewer may see of it, with its published solutions."""
    entry = get_object_or_404(DirectoryEntry.objects.select_related("organisation"), pk=organisation_id)
    audience = profiles.audience(request.user, organisation_id)
    if not entry.is_listed and audience != "own":
        raise Http404
    profile = (
        AllianceProfile.objects.filter(organisation_id=organisation_id)
        .prefetch_related(Prefetch("capabilities", queryset=CapabilityTag.objects.order_by("slug")))
        .first()
    )
    solutions = (
        Solution.objects.filter(organisation_id=organisation_id, status=SolutionStatus.PUBLISHED)
        .prefetch_related("capabilities")
        .order_by("-id")[:20]
    )
    can_edit = Membership.objects.filter(
        organisation_id=organisation_id,
        user_id=getattr(request.user, "pk", None),
        role__in=MembershipRole.managing(),
    ).exists()
    return render(
        request,
        "alliance/member_profile.html",
        {
            "entry": entry,
            "shown": profiles.visible_profile(profile, audience),
            "audience": audience,
            "solutions": solutions,
            "can_edit": can_edit,
        },
    )


def solution_detail(request, pk):
    solution = get_object_or_404(
        Solution.objects.for_user(request.user)
        .select_related("organisation")
        .prefetch_related("capabilities"),
        pk=pk,
    )
    can_manage = Membership.objects.filter(
        organisation_id=solution.organisation_id,
        user_id=getattr(request.user, "pk", None),
        role__in=MembershipRole.managing(),
    ).exists()
    return render(
        request,
        "alliance/solution_detail.html",
        {
            "solution": solution,
            "can_manage": can_manage,
            "is_operator": is_operator(request.user),
            "decision_form": DecisionForm(),
        },
    )


# --- my alliance -------------------------------------------------------------------------------------


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
    managed = set(
        Membership.objects.filter(user=request.user, role__in=MembershipRole.managing()).values_list(
            "organisation_id", flat=True
        )
    )
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
    organisations = _managed_organisations(request.user).verified()
    if not organisations.exists():
        messages.info(request, _("Only owners and administrators of verified organisations apply to join."))
        return redirect("alliance:mine")
    form = ApplyForm(request.POST or None, organisations=organisations)
    if request.method == "POST" and form.is_valid():
        try:
            membership = services.apply_for_membership(
                form.cleaned_data["organisation"],
                by=request.user,
                tier=form.cleaned_data["tier"],
                statement=form.cleaned_data["statement"],
            )
        except DomainError as error:
            form.add_error(None, str(error))
        else:
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
    manages = Membership.objects.filter(
        organisation_id=membership.organisation_id, user=request.user, role__in=MembershipRole.managing()
    ).exists()
    return render(
        request,
        "alliance/membership_detail.html",
        {
            "membership": membership,
            "computed_status": membership.computed_status(),
            "renewals": renewals,
            "pending_renewal": next((r for r in renewals if r.status == RenewalStatus.PENDING), None),
            "manages": manages,
            "is_operator": is_operator(request.user),
            "decision_form": DecisionForm(),
            "reason_form": ReasonForm(),
            "renewal_form": RenewalForm(),
        },
    )


def _membership_action(request, pk, action, success):
    membership = _visible_membership(request, pk)
    back = safe_next(request, membership.get_absolute_url())
    form = ReasonForm(request.POST)
    reason = form.cleaned_data["reason"] if form.is_valid() else ""
    try:
        action(membership, reason)
    except (ValidationError, DomainError) as error:
        _show_errors(request, error)
    else:
        messages.success(request, success)
    return redirect(back)


@login_required
@require_POST
def membership_decide(request, pk):
    _require_operator(request)
    membership = _visible_membership(request, pk)
    back = safe_next(request, membership.get_absolute_url())
    form = DecisionForm(request.POST)
    if not form.is_valid():
        messages.error(request, _("Choose approve or reject."))
        return redirect(back)
    try:
        if form.cleaned_data["decision"] == DecisionForm.APPROVE:
            services.approve_membership(membership, by=request.user)
            messages.success(request, _("The membership is approved; the organisation is in the directory."))
        else:
            services.reject_membership(membership, by=request.user, reason=form.cleaned_data["reason"])
            messages.success(request, _("The application is rejected."))
    except (ValidationError, DomainError) as error:
        _show_errors(request, error)
    return redirect(back)


@login_required
@require_POST
def membership_suspend(request, pk):
    _require_operator(request)
    return _membership_action(
        request,
        pk,
        lambda m, reason: services.suspend_membership(m, by=request.user, reason=reason),
        _("The membership is suspended."),
    )


@login_required
@require_POST
def membership_reinstate(request, pk):
    _require_operator(request)
    return _membership_action(
        request,
        pk,
        lambda m, reason: services.reinstate_membership(m, by=request.user, reason=reason),
        _("The membership is reinstated."),
    )


@login_required
@require_POST
def membership_withdraw(request, pk):
    return _membership_action(
        request,
        pk,
        lambda m, reason: services.withdraw_membership(m, by=request.user, reason=reason),
        _("The membership is withdrawn."),
    )


@login_required
@require_POST
def renewal_request(request, pk):
    membership = _visible_membership(request, pk)
    form = RenewalForm(request.POST)
    try:
        services.request_renewal(membership, by=request.user, note=form.data.get("note", "")[:2000])
    except (ValidationError, DomainError) as error:
        _show_errors(request, error)
    else:
        messages.success(request, _("The renewal is requested. The operators will decide it."))
    return redirect(membership)


@login_required
@require_POST
def renewal_decide(request, pk):
    _require_operator(request)
    renewal = get_object_or_404(MembershipRenewal.objects.select_related("membership"), pk=pk)
    back = safe_next(request, renewal.membership.get_absolute_url())
    form = DecisionForm(request.POST)
    if not form.is_valid():
        messages.error(request, _("Choose approve or reject."))
        return redirect(back)
    try:
        if form.cleaned_data["decision"] == DecisionForm.APPROVE:
            services.approve_renewal(renewal, by=request.user)
            messages.success(request, _("The membership is renewed."))
        else:
            services.reject_renewal(renewal, by=request.user, reason=form.cleaned_data["reason"])
            messages.success(request, _("The renewal is rejected."))
    except (ValidationError, DomainError) as error:
        _show_errors(request, error)
    return redirect(back)


# --- profile -----------------------------------------------------------------------------------------


@login_required
def profile_edit(request, organisation_id):
    organisation = get_object_or_404(_managed_organisations(request.user), pk=organisation_id)
    profile = profiles.get_profile(organisation)
    pending = ProfileRevision.objects.filter(organisation=organisation, status=RevisionStatus.PENDING).first()
    source = {
        "description": profile.description,
        "website": profile.website,
        "contact_name": profile.contact_name,
        "contact_email": profile.contact_email,
        "contact_phone": profile.contact_phone,
        "capabilities": list(profile.capabilities.values_list("pk", flat=True)),
    }
    if pending is not None:
        source.update(pending.data)
    initial = {**source, **{f"visibility_{n}": profile.level(n) for n in PROFILE_FIELDS}}
    form = ProfileForm(request.POST or None, request.FILES or None, initial=initial)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            profiles.set_visibility(organisation, by=request.user, visibility=form.visibility())
            revision = profiles.propose_profile_change(
                organisation,
                by=request.user,
                values={n: data[n] for n in profiles.TEXT_FIELDS},
                capabilities=data["capabilities"],
                logo=data["logo"] or None,
            )
        except ValidationError as error:
            _apply_errors(form, error)
        except DomainError as error:
            form.add_error(None, str(error))
        else:
            if revision is None:
                messages.success(request, _("Saved. Who sees each field has changed at once."))
            else:
                messages.success(
                    request, _("Saved. The changes show in the directory once an operator has approved them.")
                )
            return redirect("alliance:profile_edit", organisation_id=organisation.pk)
    return render(
        request,
        "alliance/profile_form.html",
        {"organisation": organisation, "form": form, "pending": pending, "profile": profile},
    )


@login_required
@require_POST
def revision_decide(request, pk):
    _require_operator(request)
    revision = get_object_or_404(ProfileRevision, pk=pk)
    back = safe_next(request, reverse("alliance:queue"))
    form = DecisionForm(request.POST)
    if not form.is_valid():
        messages.error(request, _("Choose approve or reject."))
        return redirect(back)
    try:
        if form.cleaned_data["decision"] == DecisionForm.APPROVE:
            profiles.approve_revision(revision, by=request.user)
            messages.success(request, _("The profile changes are published."))
        else:
            profiles.reject_revision(revision, by=request.user, reason=form.cleaned_data["reason"])
            messages.success(request, _("The profile changes are rejected."))
    except (ValidationError, DomainError) as error:
        _show_errors(request, error)
    return redirect(back)


# --- solutions ---------------------------------------------------------------------------------------


def _member_organisations(user):
    return _managed_organisations(user).filter(
        pk__in=AllianceMembership.objects.current().values("organisation")
    )


@login_required
def solution_create(request, organisation_id):
    organisation = get_object_or_404(_member_organisations(request.user), pk=organisation_id)
    form = SolutionForm(request.POST or None, request.FILES or None)
    if request.method == "POST" and form.is_valid():
        try:
            solution = matching.create_solution(organisation, by=request.user, **form.cleaned_data)
        except ValidationError as error:
            _apply_errors(form, error)
        except DomainError as error:
            form.add_error(None, str(error))
        else:
            messages.success(
                request, _("The solution is submitted; it is published once an operator approves it.")
            )
            return redirect(solution)
    return render(request, "alliance/solution_form.html", {"form": form, "organisation": organisation})


@login_required
def solution_edit(request, pk):
    solution = get_object_or_404(Solution.objects.own(request.user).select_related("organisation"), pk=pk)
    initial = {
        "title": solution.title,
        "scenario": solution.scenario,
        "description": solution.description,
        "outcome": solution.outcome,
        "capabilities": list(solution.capabilities.values_list("pk", flat=True)),
    }
    form = SolutionForm(request.POST or None, request.FILES or None, initial=initial)
    if request.method == "POST" and form.is_valid():
        data = dict(form.cleaned_data)
        image = data.pop("image") or None
        try:
            matching.update_solution(solution, by=request.user, image=image, **data)
        except ValidationError as error:
            _apply_errors(form, error)
        except DomainError as error:
            form.add_error(None, str(error))
        else:
            messages.success(request, _("Saved. The solution waits for moderation."))
            return redirect(solution)
    return render(
        request,
        "alliance/solution_form.html",
        {"form": form, "organisation": solution.organisation, "solution": solution},
    )


@login_required
@require_POST
def solution_action(request, pk, action):
    solution = get_object_or_404(Solution.objects.for_user(request.user), pk=pk)
    try:
        if action == "submit":
            matching.submit_solution(solution, by=request.user)
        elif action == "withdraw":
            matching.withdraw_solution(solution, by=request.user)
        elif action == "decide":
            _require_operator(request)
            form = DecisionForm(request.POST)
            if not form.is_valid():
                raise DomainError(_("Choose approve or reject."))
            if form.cleaned_data["decision"] == DecisionForm.APPROVE:
                matching.publish_solution(solution, by=request.user)
            else:
                matching.reject_solution(solution, by=request.user, reason=form.cleaned_data["reason"])
        else:
            raise Http404
    except (ValidationError, DomainError) as error:
        _show_errors(request, error)
    else:
        messages.success(request, _("Done."))
    return redirect(safe_next(request, solution.get_absolute_url()))


# --- needs and matches -------------------------------------------------------------------------------


@login_required
def need_list(request):
    needs = (
        Need.objects.for_user(request.user)
        .open()
        .select_related("organisation")
        .prefetch_related("capabilities")
    )
    kind = request.GET.get("kind", "")
    if kind in NeedKind.values:
        needs = needs.filter(kind=kind)
    return render(
        request,
        "alliance/need_list.html",
        {
            "page": paginate(request, needs.order_by("-id")),
            "kind": kind,
            "kinds": NeedKind.choices,
            "can_post": _member_organisations(request.user).exists(),
        },
    )


@login_required
def need_create(request):
    organisations = _member_organisations(request.user)
    if not organisations.exists():
        messages.info(request, _("Owners and administrators of current alliance members post needs."))
        return redirect("alliance:mine")
    form = NeedForm(request.POST or None, organisations=organisations)
    if request.method == "POST" and form.is_valid():
        data = dict(form.cleaned_data)
        organisation = data.pop("organisation")
        try:
            need = matching.post_need(organisation, by=request.user, **data)
        except ValidationError as error:
            _apply_errors(form, error)
        except DomainError as error:
            form.add_error(None, str(error))
        else:
            messages.success(
                request, _("The need is posted. Matching solutions and members are suggested below.")
            )
            return redirect(need)
    return render(request, "alliance/need_form.html", {"form": form})


@login_required
def need_detail(request, pk):
    need = get_object_or_404(
        Need.objects.for_user(request.user).select_related("organisation").prefetch_related("capabilities"),
        pk=pk,
    )
    manages_need = Membership.objects.filter(
        organisation_id=need.organisation_id, user=request.user, role__in=MembershipRole.managing()
    ).exists()
    offering = _member_organisations(request.user).exclude(pk=need.organisation_id)
    interests = list(need.interests.select_related("organisation", "solution", "created_by"))
    visible_interests = (
        interests
        if (manages_need or sees_all_organisations(request.user))
        else [i for i in interests if i.organisation_id in set(offering.values_list("pk", flat=True))]
    )
    return render(
        request,
        "alliance/need_detail.html",
        {
            "need": need,
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
        },
    )


@login_required
@require_POST
def need_action(request, pk, action):
    need = get_object_or_404(Need.objects.for_user(request.user), pk=pk)
    try:
        if action == "close":
            matching.close_need(need, by=request.user)
        elif action == "reopen":
            matching.reopen_need(need, by=request.user)
        else:
            raise Http404
    except (ValidationError, DomainError) as error:
        _show_errors(request, error)
    else:
        messages.success(request, _("Done."))
    return redirect(need)


@login_required
@require_POST
def interest_create(request, pk):
    need = get_object_or_404(Need.objects.for_user(request.user), pk=pk)
    organisation = (
        Organisation.objects.filter(pk=request.POST.get("organisation") or 0).first()
        if str(request.POST.get("organisation", "")).isdigit()
        else None
    )
    solution_id = request.POST.get("solution", "")
    solution = (
        Solution.objects.filter(pk=solution_id, status=SolutionStatus.PUBLISHED).first()
        if str(solution_id).isdigit()
        else None
    )
    if organisation is None:
        messages.error(request, _("Choose the organisation."))
        return redirect(need)
    try:
        matching.express_interest(
            need,
            by=request.user,
            organisation=organisation,
            solution=solution,
            message=request.POST.get("message", "")[:2000],
        )
    except (ValidationError, DomainError) as error:
        _show_errors(request, error)
    else:
        messages.success(request, _("Interest sent; the other side has been notified by email."))
    return redirect(need)


# --- operators ---------------------------------------------------------------------------------------


@login_required
def queue(request):
    """What waits for an operator: applications, renewals, profile changes and solutions."""
    _require_staff(request)
    return render(
        request,
        "alliance/queue.html",
        {
            "applications": AllianceMembership.objects.awaiting_decision()
            .select_related("organisation", "applied_by")
            .order_by("applied_at")[:50],
            "renewals": MembershipRenewal.objects.filter(status=RenewalStatus.PENDING)
            .select_related("membership__organisation", "requested_by")
            .order_by("requested_at")[:50],
            "revisions": ProfileRevision.objects.filter(status=RevisionStatus.PENDING)
            .select_related("organisation", "submitted_by")
            .order_by("submitted_at")[:50],
            "solutions": Solution.objects.filter(status=SolutionStatus.PENDING)
            .select_related("organisation")
            .order_by("submitted_at")[:50],
            "is_operator": is_operator(request.user),
            "decision_form": DecisionForm(),
        },
    )


@login_required
def membership_list(request):
    _require_staff(request)
    memberships = AllianceMembership.objects.select_related("organisation").order_by("-id")
    status = request.GET.get("status", "")
    if status in MembershipStatus.values:
        memberships = memberships.filter(status=status)
    return render(
        request,
        "alliance/membership_list.html",
        {"page": paginate(request, memberships), "status": status, "statuses": MembershipStatus.choices},
    )


@login_required
def talent_needs(request):
    """Open talent needs of members, for the talent platform's operators to plan training."""
    _require_staff(request)
    needs = list(matching.talent_needs_summary().prefetch_related("training_courses")[:500])
    by_skill: dict[str, dict] = {}
    for need in needs:
        for skill in [s.strip() for s in need.skills.replace("，", ",").split(",") if s.strip()] or ["—"]:
            row = by_skill.setdefault(skill.lower(), {"skill": skill, "people": 0, "organisations": set()})
            row["people"] += need.people
            row["organisations"].add(need.organisation.display_name)
    rows = sorted(by_skill.values(), key=lambda r: (-r["people"], r["skill"]))
    return render(request, "alliance/talent_needs.html", {"needs": needs, "rows": rows})
