"""Pages of cluster access: "My cluster access" for every signed-in person (identity, keys, allocations, how to
log in), the managers' view of their organisation's people, and the operators' identity page (revoke a key,
suspend or unsuspend). Each page starts from who asks; another organisation's people are a 404."""

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import Count, OuterRef, Q, Subquery
from django.db.models.functions import Coalesce
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.functional import SimpleLazyObject
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from accounts import access
from accounts.models import Membership, Organisation, User
from compute import kept
from compute.identities import keys
from compute.identities import services as identity_services
from compute.identities.forms import ReasonForm, SshKeyForm, UsernameForm
from compute.identities.models import ClusterIdentity, LockReason, SshKey
from compute.models import AllocationMember
from compute.views.common import perform
from core.exceptions import DomainError
from core.pagination import paginate
from core.roles import is_operator, sees_all_organisations
from core.web import apply_errors


def _identity(user: User) -> ClusterIdentity | None:
    return identity_services.identity_of(user)


def _current_access(user: User):
    """The allocations the person may submit jobs under now, with their partitions."""
    return (
        AllocationMember.objects.current()
        .filter(user=user)
        .select_related("allocation__partition", "allocation__organisation")
        .order_by("allocation__account_name")
    )


def ssh_line(identity: ClusterIdentity | None) -> str:
    if identity is None:
        return ""
    port = "" if settings.CLUSTER_LOGIN_PORT == 22 else f" -p {settings.CLUSTER_LOGIN_PORT}"
    return f"ssh{port} {identity.username}@{settings.CLUSTER_LOGIN_HOST}"


def _sorted_keys(identity: ClusterIdentity | None) -> tuple[list, list]:
    """The identity's current keys, and its last 20 removed, revoked or expired ones."""
    current_keys = []
    past_keys = []
    if identity is not None:
        now = timezone.now()
        for key in identity.keys.all():
            if key.removed_at is None and (key.expires_at is None or key.expires_at > now):
                current_keys.append(key)
            else:
                past_keys.append(key)
        past_keys = sorted(past_keys, key=lambda k: k.removed_at or k.expires_at, reverse=True)[:20]
    return current_keys, past_keys


def _access_body_key(request, identity: ClusterIdentity | None) -> str:
    """The person's own page is kept for them (core/pagecache.py) while their identity, keys and memberships
    (IDENTITIES, their own generation), the allocations they may use and the organisations they manage
    (ALLOCATIONS) are unchanged. Publishing writes in bulk, without a signal: the identity's publishing state
    is in the key, so what the directory has is never shown older than it is."""
    state = ""
    if identity is not None:
        state = (
            f"{identity.changed_at.timestamp()}:{identity.published_at and identity.published_at.timestamp()}"
        )
        state += f":{bool(identity.publish_error)}"
    return f"{kept.IDENTITIES.personal_body_key(request)}:{kept.ALLOCATIONS.current()}:{state}"


def _access_page(request, *, username_form=None, key_form=None, status=200):
    identity = _identity(request.user)
    # A page with a form's errors (a POST) is never kept.
    body_key = _access_body_key(request, identity) if request.method == "GET" else ""
    keys_of = SimpleLazyObject(lambda: _sorted_keys(identity))
    if identity is None:
        username_form = username_form or UsernameForm()
        # The answer under the field as the person types (htmx; the claim itself decides).
        username_form.fields["username"].widget.attrs.update(
            {
                "hx-get": reverse("compute:cluster_username_check"),
                "hx-trigger": "input changed delay:400ms, change",
                "hx-target": "#username-check",
            }
        )
    managed = (
        Organisation.objects.managed_by(request.user).order_by("name_en", "id")
        if request.user.is_authenticated
        else []
    )
    return render(
        request,
        "compute/identities/cluster_access.html",
        {
            "identity": identity,
            "current_keys": SimpleLazyObject(lambda: keys_of[0]),
            "past_keys": SimpleLazyObject(lambda: keys_of[1]),
            "access_rows": SimpleLazyObject(lambda: list(_current_access(request.user))),
            "username_form": username_form if identity is None else None,
            "key_form": key_form or (SshKeyForm() if identity is not None else None),
            "can_add_keys": identity is not None
            and identity.lock_reason not in (LockReason.SUSPENDED, LockReason.DELETED),
            "login_host": settings.CLUSTER_LOGIN_HOST,
            "login_port": settings.CLUSTER_LOGIN_PORT,
            "ssh_line": ssh_line(identity),
            "managed_organisations": SimpleLazyObject(lambda: list(managed)),
            "body_key": body_key,
        },
        status=status,
    )


@login_required
@require_GET
def cluster_access(request):
    return _access_page(request)


@login_required
@require_GET
def publishing_status(request):
    """htmx: the publishing block, which polls itself while the directory has not seen the last change."""
    if not request.htmx:
        return redirect("compute:cluster_access")
    return render(
        request, "compute/identities/partials/publishing.html", {"identity": _identity(request.user)}
    )


@login_required
@require_GET
def username_check(request):
    """htmx: the live answer under the user name field."""
    if not request.htmx:
        return redirect("compute:cluster_access")
    name = (request.GET.get("username") or "").strip()[:64]
    return render(
        request,
        "compute/identities/partials/username_check.html",
        {
            "name": name,
            "problem": identity_services.username_problem(name, user=request.user) if name else None,
        },
    )


@login_required
@require_POST
def username_claim(request):
    form = UsernameForm(request.POST)
    if form.is_valid():
        try:
            identity = identity_services.claim_username(request.user, form.cleaned_data["username"])
        except ValidationError as error:
            apply_errors(form, error)
        except DomainError as error:
            form.add_error(None, str(error))
        else:
            messages.success(
                request,
                _("Your cluster user name is %(name)s. Now add an SSH key to log in.")
                % {"name": identity.username},
            )
            return redirect("compute:cluster_access")
    return _access_page(request, username_form=form, status=400)


@login_required
@require_POST
def key_add(request):
    form = SshKeyForm(request.POST, request.FILES)
    if form.is_valid():
        try:
            key = keys.add_key(
                request.user,
                form.cleaned_data["text"],
                name=form.cleaned_data["name"],
                expires_at=form.expires_at(),
            )
        except ValidationError as error:
            for message in apply_errors(form, error, elsewhere=("expires_at",)).get("expires_at", []):
                form.add_error("expires_on", message)
        except DomainError as error:
            if error.code == "no_identity":  # the page shows the user name form instead of this one
                messages.error(request, str(error))
                return redirect("compute:cluster_access")
            form.add_error(None, str(error))
        else:
            if key.identity.is_locked:
                done = _("The key “%(name)s” is added; it reaches the cluster when your login is unlocked.")
            else:
                done = _("The key “%(name)s” is added; it reaches the cluster within seconds.")
            messages.success(request, done % {"name": key.name})
            return redirect("compute:cluster_access")
    if keys.looks_private(request.POST.get("public_key", "")):
        # Never send a private key back to the browser: the form comes back empty, with its errors.
        form.data = form.data.copy()
        form.data["public_key"] = ""
    return _access_page(request, key_form=form, status=400)


def _own_key(request, pk) -> SshKey:
    return get_object_or_404(
        SshKey.objects.select_related("identity"), pk=pk, identity__user=request.user, removed_at__isnull=True
    )


@login_required
@require_http_methods(["GET", "POST"])
def key_remove(request, pk):
    """A confirmation page, then the removal."""
    key = _own_key(request, pk)
    if request.method == "POST":
        perform(
            request,
            lambda: keys.remove_key(key, by=request.user),
            _("The key “%(name)s” is removed; it leaves the cluster within seconds.") % {"name": key.name},
        )
        return redirect("compute:cluster_access")
    return render(request, "compute/identities/key_remove.html", {"key": key})


# --- managers ----------------------------------------------------------------------------------------


@login_required
@require_GET
def organisation_identities(request, organisation_pk):
    """The organisation's people with their cluster identities (its managers, and staff who see all)."""
    organisation = get_object_or_404(Organisation, pk=organisation_pk)
    if not (access.manages(request.user, organisation) or sees_all_organisations(request.user)):
        raise Http404
    operator = is_operator(request.user)
    now = timezone.now()
    memberships = (
        Membership.objects.filter(organisation=organisation)
        .select_related("user", "user__cluster_identity")
        .annotate(
            key_count=Count(
                "user__cluster_identity__keys",
                filter=Q(user__cluster_identity__keys__removed_at__isnull=True)
                & (
                    Q(user__cluster_identity__keys__expires_at__isnull=True)
                    | Q(user__cluster_identity__keys__expires_at__gt=now)
                ),
            )
        )
        .order_by("user__name", "user__email", "id")
    )
    page = SimpleLazyObject(lambda: paginate(request, memberships))
    return render(
        request,
        "compute/identities/organisation_identities.html",
        {
            "organisation": organisation,
            "page": page,
            "rows": SimpleLazyObject(lambda: _people_rows(organisation, page.object_list)),
            "is_operator": operator,
            # The same for the organisation's managers and the supervisors (operators' rows link to the identity
            # page), kept while no identity, key or membership (IDENTITIES) and no allocation or its users
            # (ALLOCATIONS) changes; a person's new name or email address shows within the minute.
            "body_key": f"{kept.IDENTITIES.body_key(request)}:{kept.ALLOCATIONS.current()}:"
            + ("operator" if operator else "reader"),
        },
    )


def _people_rows(organisation: Organisation, memberships) -> list[tuple]:
    """Each membership of the page with the organisation's allocations its person may use now."""
    people = [membership.user_id for membership in memberships]
    by_person: dict[int, list] = {}
    for member in (
        AllocationMember.objects.current()
        .filter(allocation__organisation=organisation, user_id__in=people)
        .select_related("allocation__partition")
        .order_by("allocation__account_name")
    ):
        by_person.setdefault(member.user_id, []).append(member.allocation)
    return [(membership, by_person.get(membership.user_id, [])) for membership in memberships]


# --- operators ---------------------------------------------------------------------------------------


def _require_operator(request) -> None:
    if not is_operator(request.user):
        raise PermissionDenied(_("Only the center's operators manage cluster identities."))


@login_required
@require_GET
def identity_list(request):
    """Operators find an identity by user name or email."""
    if not sees_all_organisations(request.user):
        raise PermissionDenied(_("This page is for the center's operators and supervisors."))
    query = (request.GET.get("q") or "").strip()[:100]
    # The count as a subquery, not a join and GROUP BY: the page's 50 rows are counted, not every identity.
    current_keys = (
        SshKey.objects.filter(identity=OuterRef("pk"), removed_at__isnull=True)
        .order_by()
        .values("identity")
        .annotate(n=Count("pk"))
        .values("n")
    )
    identities = ClusterIdentity.objects.select_related("user").annotate(
        key_count=Coalesce(Subquery(current_keys), 0)
    )
    if query:
        identities = identities.filter(Q(username__icontains=query) | Q(user__email__icontains=query))
    return render(
        request,
        "compute/identities/identity_list.html",
        {
            "page": SimpleLazyObject(lambda: paginate(request, identities.order_by("username"))),
            "query": query,
            # The same for all staff: kept while no identity or key changes (compute/kept.py); a person's new
            # email address shows within the minute.
            "body_key": kept.IDENTITIES.body_key(request),
        },
    )


@login_required
@require_GET
def identity_detail(request, pk):
    if not sees_all_organisations(request.user):
        raise PermissionDenied(_("This page is for the center's operators and supervisors."))
    identity = get_object_or_404(ClusterIdentity.objects.select_related("user"), pk=pk)
    return render(
        request,
        "compute/identities/identity_detail.html",
        {
            "identity": identity,
            "keys": list(identity.keys.select_related("removed_by").order_by("-created_at", "-id")),
            "access_rows": list(_current_access(identity.user)) if identity.user_id else [],
            "is_operator": is_operator(request.user),
            "reason_form": ReasonForm(),
            "now": timezone.now(),
        },
    )


def _detail_url(identity_pk) -> str:
    return reverse("compute:identity_detail", args=[identity_pk])


@login_required
@require_POST
def key_revoke(request, pk):
    _require_operator(request)
    key = get_object_or_404(SshKey, pk=pk)
    form = ReasonForm(request.POST)
    reason = form.cleaned_data["reason"] if form.is_valid() else ""
    perform(
        request,
        lambda: keys.revoke_key(key, by=request.user, reason=reason),
        _("The key “%(name)s” is revoked; its owner has been emailed.") % {"name": key.name},
    )
    return redirect(_detail_url(key.identity_id))


@login_required
@require_POST
def identity_suspend(request, pk):
    _require_operator(request)
    identity = get_object_or_404(ClusterIdentity, pk=pk)
    form = ReasonForm(request.POST)
    reason = form.cleaned_data["reason"] if form.is_valid() else ""
    if not reason:
        messages.error(request, _("Say why the identity is suspended: its owner reads it."))
    else:
        perform(
            request,
            lambda: identity_services.suspend_identity(identity, by=request.user, reason=reason),
            _("%(name)s is suspended: no login from now on; files are kept.") % {"name": identity.username},
        )
    return redirect(_detail_url(identity.pk))


@login_required
@require_POST
def identity_unsuspend(request, pk):
    _require_operator(request)
    identity = get_object_or_404(ClusterIdentity, pk=pk)
    perform(
        request,
        lambda: identity_services.unsuspend_identity(identity, by=request.user),
        _("%(name)s is no longer suspended.") % {"name": identity.username},
    )
    return redirect(_detail_url(identity.pk))
