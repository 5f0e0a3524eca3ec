"""Site roles: Django groups with permissions (organisation roles are memberships, see models)."""

from django.apps import apps
from django.conf import settings
from django.contrib.auth.models import Group, Permission
from django.core.cache import cache
from django.db import models, transaction
from django.utils.translation import gettext_lazy as _


class SiteRole(models.TextChoices):
    OPERATOR = "operator", _("Operator")
    SUPERVISOR = "supervisor", _("Supervisor")
    REVIEWER = "reviewer", _("Reviewer")
    INSTRUCTOR = "instructor", _("Instructor")
    MENTOR = "mentor", _("Mentor")


# Roles that reach the back office; they must use MFA before they do.
STAFF_ROLES = {SiteRole.OPERATOR, SiteRole.SUPERVISOR}

# Apps whose models operators manage in the back office (view/add/change); supervisors view everything.
OPERATOR_MANAGED_APPS = ("accounts", "compute", "projects", "alliance", "talent")
OPERATOR_EXTRA_PERMISSIONS = ("accounts.verify_organisation", "portal.view_auditevent")
# Secrets no role reads, not even in the back office: API tokens, MFA secrets, sessions.
SECRET_MODELS = {
    ("accounts", "apitoken"),
    ("mfa", "authenticator"),
    ("sessions", "session"),
    # Single sign-on: the providers' client secrets and people's provider tokens.
    ("socialaccount", "socialapp"),
    ("socialaccount", "socialtoken"),
    # One-time codes and the SAML replay store are credentials too.
    ("accounts", "samlassertion"),
}


# Every page asks for the roles (menus, MFA, read-only supervisors): kept in a shared cache between requests
# (settings.SITE_ROLES_CACHE_SECONDS) and forgotten as soon as the person's groups change (forget_site_roles,
# connected in core/apps.py).


def _roles_key(user_id) -> str:
    return f"site-roles:v1:{user_id}"


def site_roles(user) -> frozenset[str]:
    """The names of the user's site roles, read once per request object (and cached between requests)."""
    if not getattr(user, "is_authenticated", False):
        return frozenset()
    cached = getattr(user, "_site_roles_cache", None)
    if cached is None:
        seconds = settings.SITE_ROLES_CACHE_SECONDS
        key = _roles_key(user.pk)
        stored = cache.get(key) if seconds > 0 else None
        if not isinstance(stored, (frozenset, set, tuple, list)):
            stored = frozenset(user.groups.values_list("name", flat=True))
            if seconds > 0:
                cache.set(key, tuple(sorted(stored)), seconds)
        cached = user._site_roles_cache = frozenset(stored)
    return cached


def forget_site_roles(sender=None, instance=None, action="", pk_set=None, **kwargs) -> None:
    """``m2m_changed`` of ``User.groups`` (from either side) and ``pre_delete`` of a Group: drop the cached
    roles (and page chrome) of everyone concerned, now and again once the change is committed (so that a
    request reading the old roles meanwhile cannot keep them)."""
    from core import chrome  # chrome imports this module

    if action not in {"", "post_add", "post_remove", "pre_clear"}:
        return
    if isinstance(instance, Group):
        if action in {"post_add", "post_remove"}:
            user_ids = set(pk_set or ())
        else:
            user_ids = set(instance.user_set.values_list("pk", flat=True))
    else:
        user_ids = {instance.pk}
        instance.__dict__.pop("_site_roles_cache", None)

    def forget():
        cache.delete_many([_roles_key(pk) for pk in user_ids])
        for pk in user_ids:
            chrome.forget(pk)

    forget()
    transaction.on_commit(forget)


def has_site_role(user, role: str) -> bool:
    return role in site_roles(user)


def is_operator(user) -> bool:
    return bool(getattr(user, "is_superuser", False)) or has_site_role(user, SiteRole.OPERATOR)


def is_supervisor(user) -> bool:
    return has_site_role(user, SiteRole.SUPERVISOR)


def is_read_only(user) -> bool:
    """Supervisors read everything and change nothing (unless they are also operators)."""
    return is_supervisor(user) and not is_operator(user)


def sees_all_organisations(user) -> bool:
    return is_operator(user) or is_supervisor(user)


def can_read_audit_trail(user) -> bool:
    return is_operator(user) or is_supervisor(user)


def requires_mfa(user) -> bool:
    return bool(getattr(user, "is_superuser", False)) or bool(site_roles(user) & STAFF_ROLES)


def sync_role_permissions(using: str = "default") -> None:
    """Give each site role its permissions; safe to run after every migrate (new models are covered)."""
    # The data migration creates the groups; recreate any that a flush (tests) or an admin removed.
    # Apps whose models operators manage in the back office (view/add/change); supervisors view everything.
    managed_apps = {c.label for c in apps.get_app_configs() if getattr(c, "operator_managed", False)}
    extra = set(OPERATOR_EXTRA_PERMISSIONS) | {
        f"{c.label}.{codename}"
        for c in apps.get_app_configs()
        for codename in getattr(c, "operator_permissions", ())
    }
    groups = {name: Group.objects.using(using).get_or_create(name=name)[0] for name in SiteRole.values}
    permissions = Permission.objects.using(using).select_related("content_type")
    supervisor, operator = [], []
    for perm in permissions:
        app = perm.content_type.app_label
        if (app, perm.content_type.model) in SECRET_MODELS:
            continue
        if perm.codename.startswith("view_"):
            supervisor.append(perm)
        verb = perm.codename.split("_", 1)[0]
        # Operators read people but never edit accounts: that would let them grant themselves roles.
        managed = app in managed_apps and perm.content_type.model != "user"
        if (managed and verb in {"view", "add", "change"}) or (app in managed_apps and verb == "view"):
            operator.append(perm)
        if f"{app}.{perm.codename}" in extra:
            operator.append(perm)
    if SiteRole.SUPERVISOR in groups:
        groups[SiteRole.SUPERVISOR].permissions.set(supervisor)
    if SiteRole.OPERATOR in groups:
        groups[SiteRole.OPERATOR].permissions.set(operator)
