from allauth.account.decorators import reauthentication_required
from allauth.usersessions.models import UserSession
from django.contrib import messages
from django.contrib.auth import logout
from django.contrib.auth.decorators import login_required
from django.db.models import Q
from django.http import Http404, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.functional import SimpleLazyObject
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from accounts import kept, privacy, security, services
from accounts import tokens as api_token_services
from accounts.access import require_manager, require_operator
from accounts.forms import (
    AccountDeletionForm,
    ApiTokenForm,
    ConsentForm,
    InvitationForm,
    OrganisationForm,
    RejectionForm,
    RoleForm,
)
from accounts.models import (
    ApiToken,
    Consent,
    ConsentPurpose,
    Invitation,
    InvitationStatus,
    Membership,
    MembershipRole,
    Organisation,
    OrganisationKind,
    Sector,
    VerificationStatus,
)
from core.exceptions import DomainError
from core.models import AuditEvent
from core.pagination import paginate, safe_next
from core.roles import is_operator, sees_all_organisations
from core.web import parse_id, show_error


def _visible_organisation(request, pk) -> tuple[Organisation, Membership | None]:
    """The organisation if the user may see it (404 otherwise: existence itself is private)."""
    organisation = get_object_or_404(Organisation.objects.for_user(request.user), pk=pk)
    membership = Membership.objects.filter(organisation=organisation, user=request.user).first()
    return organisation, membership


def _managed_organisation(request, pk) -> tuple[Organisation, Membership]:
    """The organisation and the user's managing membership; 404 to strangers, 403 to other members."""
    organisation, membership = _visible_organisation(request, pk)
    if membership is None and not sees_all_organisations(request.user):
        raise Http404
    return organisation, require_manager(organisation, request.user)


def _attempt(request, action, success: str) -> bool:
    """Run one service call: its refusal becomes an error message on the next page, its success ``success``."""
    try:
        action()
    except DomainError as error:
        show_error(request, error)
        return False
    messages.success(request, success)
    return True


@login_required
def dashboard(request):
    return render(request, "accounts/dashboard.html", services.dashboard_summary(request.user))


@login_required
def organisation_list(request):
    organisations = Organisation.objects.for_user(request.user)
    query = request.GET.get("q", "").strip()
    if query:
        organisations = organisations.filter(
            Q(name_zh__icontains=query)
            | Q(name_en__icontains=query)
            | Q(uscc__iexact=query)
            | Q(city__icontains=query)
        )
    filters = {}
    for field, choices in (("kind", OrganisationKind), ("sector", Sector), ("status", VerificationStatus)):
        value = request.GET.get(field, "")
        if value in choices.values:
            filters[field] = value
            organisations = organisations.filter(
                **{"verification_status" if field == "status" else field: value}
            )

    def labelled_page():
        page = paginate(request, organisations.order_by("-id"))
        _label_rows(page.object_list)
        return page

    sees_all = sees_all_organisations(request.user)
    return render(
        request,
        "accounts/organisation_list.html",
        {
            "page": SimpleLazyObject(labelled_page),
            "query": query,
            "filters": filters,
            "kinds": _choices(OrganisationKind),
            "sectors": _choices(Sector),
            "statuses": _choices(VerificationStatus),
            "sees_all": sees_all,
            # Staff who see all see the same page, kept while no organisation changes (accounts/kept.py); anyone
            # else their own, also while their memberships are unchanged.
            "body_key": kept.ORGANISATIONS.body_key(request)
            if sees_all
            else kept.ORGANISATIONS.personal_body_key(request),
        },
    )


def _choices(choices) -> list[tuple[str, str]]:
    return [(value, str(label)) for value, label in choices.choices]


def _label_rows(organisations: list[Organisation]) -> None:
    """Give each row its labels and URL once: get_FOO_display() and reverse() per row cost more than the query."""
    kinds, sectors, statuses = (dict(_choices(c)) for c in (OrganisationKind, Sector, VerificationStatus))
    url = reverse("accounts:organisation_detail", args=[0])
    for organisation in organisations:
        organisation.kind_label = kinds.get(organisation.kind, organisation.kind)
        organisation.sector_label = sectors.get(organisation.sector, organisation.sector)
        organisation.status_label = statuses.get(
            organisation.verification_status, organisation.verification_status
        )
        organisation.url = url.replace("/0/", f"/{organisation.pk}/")


@login_required
def organisation_create(request):
    form = OrganisationForm(request.POST or None, request.FILES or None)
    if request.method == "POST" and form.is_valid():
        try:
            organisation = services.create_organisation(by=request.user, **form.cleaned_data)
        except DomainError as error:
            form.add_error(None, str(error))
        else:
            messages.success(
                request,
                _("%(name)s is registered. Ask for verification when its details are complete.")
                % {"name": organisation.display_name},
            )
            return redirect(organisation)
    return render(request, "accounts/organisation_form.html", {"form": form, "creating": True})


@login_required
def organisation_detail(request, pk):
    organisation, membership = _visible_organisation(request, pk)
    can_manage = membership is not None and membership.can_manage
    members = list(organisation.memberships.select_related("user").order_by("role", "user__email"))
    invitations = (
        organisation.invitations.pending().select_related("invited_by")
        if can_manage
        else Invitation.objects.none()
    )
    history = AuditEvent.objects.for_target(organisation).select_related("actor")[:20]
    return render(
        request,
        "accounts/organisation_detail.html",
        {
            "organisation": organisation,
            "membership": membership,
            "can_manage": can_manage,
            "is_owner": membership is not None and membership.role == MembershipRole.OWNER,
            "is_sole_owner": membership is not None
            and membership.role == MembershipRole.OWNER
            and sum(1 for m in members if m.role == MembershipRole.OWNER) == 1,
            "members": members,
            "invitations": invitations,
            "invitation_form": InvitationForm(),
            "role_choices": MembershipRole.choices,
            "history": history if (can_manage or sees_all_organisations(request.user)) else [],
            "can_decide": is_operator(request.user)
            and organisation.verification_status == VerificationStatus.PENDING,
            "rejection_form": RejectionForm(),
        },
    )


@login_required
def organisation_edit(request, pk):
    organisation, _membership = _managed_organisation(request, pk)
    form = OrganisationForm(request.POST or None, request.FILES or None, instance=organisation)
    if request.method == "POST" and form.is_valid():
        # The ModelForm has already applied the values to ``organisation``: reload so the service sees the change.
        fresh = Organisation.objects.get(pk=organisation.pk)
        try:
            services.update_organisation(fresh, by=request.user, **form.cleaned_data)
        except DomainError as error:
            form.add_error(None, str(error))
        else:
            messages.success(request, _("The organisation's profile is saved."))
            return redirect(fresh)
    return render(request, "accounts/organisation_form.html", {"form": form, "organisation": organisation})


@login_required
@require_POST
def organisation_submit_verification(request, pk):
    organisation, _membership = _managed_organisation(request, pk)
    _attempt(
        request,
        lambda: services.submit_organisation_for_verification(organisation, by=request.user),
        _("Submitted for verification. An operator will check the details."),
    )
    return redirect(organisation)


@login_required
@require_POST
def organisation_invite(request, pk):
    organisation, _membership = _managed_organisation(request, pk)
    form = InvitationForm(request.POST)
    if form.is_valid():
        _attempt(
            request,
            lambda: services.invite_member(organisation, by=request.user, **form.cleaned_data),
            _("Invitation sent to %(email)s.") % {"email": form.cleaned_data["email"]},
        )
    else:
        for errors in form.errors.values():
            for error in errors:
                messages.error(request, error)
    return redirect(organisation)


@login_required
@require_POST
def membership_change_role(request, pk):
    membership = get_object_or_404(
        Membership.objects.for_user(request.user).select_related("organisation"), pk=pk
    )
    form = RoleForm(request.POST)
    if not form.is_valid():
        messages.error(request, _("Choose a valid role."))
    else:
        _attempt(
            request,
            lambda: services.change_member_role(membership, by=request.user, role=form.cleaned_data["role"]),
            _("Role changed."),
        )
    return redirect(membership.organisation)


@login_required
@require_POST
def membership_remove(request, pk):
    membership = get_object_or_404(
        Membership.objects.for_user(request.user).select_related("organisation"), pk=pk
    )
    organisation = membership.organisation
    leaving = membership.user_id == request.user.pk
    try:
        services.remove_member(membership, by=request.user)
    except DomainError as error:
        show_error(request, error)
        return redirect(organisation)
    if leaving:
        messages.success(request, _("You have left %(name)s.") % {"name": organisation.display_name})
        return redirect("dashboard")
    messages.success(request, _("Member removed."))
    return redirect(organisation)


@login_required
@require_POST
def invitation_revoke(request, pk):
    invitation = get_object_or_404(
        Invitation.objects.filter(organisation__in=Organisation.objects.managed_by(request.user)), pk=pk
    )
    _attempt(
        request, lambda: services.revoke_invitation(invitation, by=request.user), _("Invitation withdrawn.")
    )
    return redirect(invitation.organisation)


@login_required
def invitation_respond(request, token):
    invitation = get_object_or_404(
        Invitation.objects.select_related("organisation", "invited_by"), token=token
    )
    if invitation.email.lower() != request.user.email.lower():
        # Do not reveal the organisation to someone else who got hold of the link.
        return render(
            request, "accounts/invitation_wrong_user.html", {"invitation_email": invitation.email}, status=403
        )
    if request.method == "POST":
        try:
            if request.POST.get("answer") == "accept":
                services.accept_invitation(invitation, user=request.user)
                messages.success(
                    request,
                    _("You are now a member of “%(name)s”.") % {"name": invitation.organisation.display_name},
                )
                return redirect(invitation.organisation)
            services.decline_invitation(invitation, user=request.user)
            messages.info(request, _("Invitation declined."))
            return redirect("dashboard")
        except DomainError as error:
            show_error(request, error)
            invitation.refresh_from_db()
    return render(
        request,
        "accounts/invitation_respond.html",
        {"invitation": invitation, "is_open": invitation.is_open, "statuses": InvitationStatus},
    )


# --- operators -----------------------------------------------------------------------------------


def _require_operator(request):
    require_operator(request.user, _("This page is for the center's operators."))


@login_required
def verification_queue(request):
    _require_operator(request)
    organisations = (
        Organisation.objects.awaiting_verification().select_related("created_by").order_by("updated_at")
    )
    return render(
        request,
        "accounts/verification_queue.html",
        {"page": paginate(request, organisations), "rejection_form": RejectionForm()},
    )


@login_required
@require_POST
def verification_decide(request, pk):
    _require_operator(request)
    organisation = get_object_or_404(Organisation, pk=pk)
    decision = request.POST.get("decision")
    try:
        if decision == "verify":
            services.verify_organisation(organisation, by=request.user)
            messages.success(request, _("%(name)s is verified.") % {"name": organisation.display_name})
        elif decision == "reject":
            form = RejectionForm(request.POST)
            if not form.is_valid():
                messages.error(
                    request, _("Give a reason for the rejection: the organisation needs to know what to fix.")
                )
                return redirect(safe_next(request, "accounts:verification_queue"))
            services.reject_organisation(organisation, by=request.user, reason=form.cleaned_data["reason"])
            messages.success(request, _("%(name)s is rejected.") % {"name": organisation.display_name})
        else:
            messages.error(request, _("Choose verify or reject."))
    except DomainError as error:
        show_error(request, error)
    return redirect(safe_next(request, "accounts:verification_queue"))


# --- API tokens ----------------------------------------------------------------------------------


@login_required
def api_tokens(request):
    """The person's own tokens: live ones first, then the ended ones they may still want to recognise."""
    tokens = ApiToken.objects.filter(user=request.user).order_by("revoked_at", "-created_at")[:100]
    return render(request, "accounts/api_tokens.html", {"tokens": tokens, "now": timezone.now()})


@login_required
@reauthentication_required
def api_token_create(request):
    """A new token; its secret is shown on the answer to this POST and never again."""
    form = ApiTokenForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            token, secret = api_token_services.create_api_token(request.user, **form.cleaned_data)
        except DomainError as error:
            show_error(request, error)
        else:
            messages.success(request, _("The token was created. Copy it now: it is shown only once."))
            return render(request, "accounts/api_token_created.html", {"token": token, "secret": secret})
    return render(request, "accounts/api_token_form.html", {"form": form})


@login_required
@require_POST
def api_token_revoke(request, pk):
    token = get_object_or_404(ApiToken.objects.for_user(request.user), pk=pk)
    try:
        api_token_services.revoke_api_token(token, by=request.user)
        messages.success(request, _("The token “%(name)s” is revoked.") % {"name": token.name})
    except DomainError as error:
        show_error(request, error)
    default = "accounts:api_tokens" if token.user_id == request.user.pk else "accounts:api_token_oversight"
    return redirect(safe_next(request, default))


@login_required
def api_token_oversight(request):
    """Operators: everybody's live tokens, to revoke one that leaked or whose owner left."""
    require_operator(request.user)
    tokens = ApiToken.objects.for_user(request.user).active().select_related("user")
    owner = request.GET.get("owner", "").strip()
    if owner:
        tokens = tokens.filter(user__email__icontains=owner)
    return render(
        request, "accounts/api_token_oversight.html", {"page": paginate(request, tokens), "owner": owner}
    )


# --- sessions (the list is allauth's usersessions page, templates/usersessions/) -----------------------


@login_required
@require_POST
@reauthentication_required
def sessions_end(request):
    """End one of the person's sessions (``session``: its id) or all the others (``session=others``), after
    the person proved again who they are (ASVS 7.5.2: a stolen session cannot throw the owner out)."""
    sessions = UserSession.objects.filter(user=request.user)
    choice = request.POST.get("session", "")
    if choice != "others":
        sessions = [get_object_or_404(sessions, pk=parse_id(choice) or 0)]
    if security.end_user_sessions(request, [s for s in sessions if choice != "others" or not s.is_current()]):
        return redirect("home")
    messages.success(request, _("The sessions you chose are ended: those browsers are signed out."))
    return redirect("usersessions_list")


# --- privacy (PIPL rights) -----------------------------------------------------------------------


@login_required
def privacy_settings(request):
    active = set(Consent.objects.active().filter(user=request.user).values_list("purpose", flat=True))
    # An empty POST is meaningful here (every box unticked): bind the form on any POST.
    form = ConsentForm(request.POST if request.method == "POST" else None, active=active)
    if request.method == "POST" and form.is_valid():
        for purpose, given in form.cleaned_data.items():
            privacy.set_consent(request.user, purpose=purpose, given=given)
        messages.success(request, _("Your choices are saved."))
        return redirect("accounts:privacy_settings")
    history = Consent.objects.filter(user=request.user)
    return render(
        request,
        "accounts/privacy_settings.html",
        {"form": form, "history": history, "purposes": dict(ConsentPurpose.choices)},
    )


@login_required
def privacy_export(request):
    archive = privacy.export_archive(request.user)
    response = HttpResponse(archive, content_type="application/zip")
    filename = f"my-data-{timezone.localdate():%Y%m%d}.zip"
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response


@login_required
def account_delete(request):
    form = AccountDeletionForm(request.POST or None, user=request.user)
    if request.method == "POST" and form.is_valid():
        try:
            privacy.delete_account(request.user)
        except DomainError as error:
            form.add_error(None, str(error))
        else:
            logout(request)
            messages.success(request, _("Your account is deleted. Thank you for using the portal."))
            return redirect("home")
    return render(request, "accounts/account_delete.html", {"form": form})
