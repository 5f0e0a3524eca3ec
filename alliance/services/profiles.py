"""Alliance profiles: edits of published fields go through a moderated revision; privacy applies at once."""

from django.core.exceptions import ValidationError
from django.core.validators import EmailValidator, URLValidator
from django.db import transaction
from django.urls import reverse
from django.utils.translation import gettext as _

from accounts.models import Membership, Organisation, User
from alliance.models import (
    DEFAULT_VISIBILITY,
    PROFILE_FIELDS,
    AllianceProfile,
    CapabilityTag,
    ProfileRevision,
    RevisionStatus,
    Visibility,
    is_alliance_member,
)
from alliance.services import directory
from alliance.services.inputs import clean_capabilities, clean_image
from alliance.services.mail import notify_managers
from alliance.services.membership import operator_move, require_alliance_manager, require_alliance_operator
from core import audit
from core.exceptions import DomainError
from core.roles import is_operator, sees_all_organisations
from core.states import save_transition

TEXT_FIELDS = ("description", "website", "contact_name", "contact_email", "contact_phone")
MAX_LENGTHS = {
    "description": 5000,
    "website": 200,
    "contact_name": 100,
    "contact_email": 254,
    "contact_phone": 40,
}


def get_profile(organisation: Organisation) -> AllianceProfile:
    profile, _created = AllianceProfile.objects.get_or_create(organisation=organisation)
    return profile


def _clean_values(values: dict) -> dict:
    cleaned, errors = {}, {}
    for name in TEXT_FIELDS:
        if name not in values:
            continue
        value = (
            " ".join(str(values[name] or "").split())
            if name != "description"
            else str(values[name] or "").strip()
        )
        if len(value) > MAX_LENGTHS[name]:
            errors[name] = [_("At most %(n)d characters.") % {"n": MAX_LENGTHS[name]}]
            continue
        try:
            if value and name == "website":
                URLValidator(schemes=["http", "https"])(value)
            if value and name == "contact_email":
                EmailValidator()(value)
        except ValidationError:
            errors[name] = [
                _("Enter a valid web address.") if name == "website" else _("Enter a valid email address.")
            ]
            continue
        cleaned[name] = value
    if errors:
        raise ValidationError(errors)
    return cleaned


@transaction.atomic
def set_visibility(organisation: Organisation, *, by: User, visibility: dict) -> AllianceProfile:
    """Who sees each field: applies at once (hiding something never waits for moderation)."""
    require_alliance_manager(organisation, by)
    profile = AllianceProfile.objects.select_for_update().filter(organisation=organisation).first()
    profile = profile or get_profile(organisation)
    new = dict(profile.visibility or {})
    changes = {}
    for name, level in (visibility or {}).items():
        if name not in PROFILE_FIELDS or level not in Visibility.values:
            raise DomainError(_("Choose who sees each field from the list."))
        before = new.get(name, str(DEFAULT_VISIBILITY[name]))
        if before != level:
            changes[f"visibility.{name}"] = (before, level)
            new[name] = str(level)
    if changes:
        profile.visibility = new
        profile.save(update_fields=["visibility", "updated_at"])
        audit.record("alliance_profile.visibility", organisation, actor=by, changes=changes)
        directory.sync_entry(organisation.pk)
    return profile


@transaction.atomic
def propose_profile_change(
    organisation: Organisation, *, by: User, values: dict, capabilities=None, logo=None
) -> ProfileRevision | None:
    """Propose new values for the published fields; they show once an operator approves. A newer proposal
    replaces a pending one. Returns None when nothing differs from what is published."""
    require_alliance_manager(organisation, by)
    Organisation.objects.select_for_update().get(pk=organisation.pk)
    profile = get_profile(organisation)
    cleaned = _clean_values(values)
    if logo is not None:
        clean_image(logo, "logo")
    data = {name: value for name, value in cleaned.items() if getattr(profile, name) != value}
    if capabilities is not None:
        ids = sorted(tag.pk for tag in clean_capabilities(capabilities))
        if ids != sorted(profile.capabilities.values_list("pk", flat=True)):
            data["capabilities"] = ids
    if not data and logo is None:
        return None
    pending = ProfileRevision.objects.select_for_update().filter(
        organisation=organisation, status=RevisionStatus.PENDING
    )
    for old in pending:
        old.supersede()
        old.save(update_fields=["status", "decided_at", "decided_by", "decision_reason"])
    revision = ProfileRevision(organisation=organisation, data=data, submitted_by=by)
    if logo is not None:
        revision.logo.save(logo.name, logo, save=False)
    revision.save()
    audit.record(
        "alliance_profile.propose",
        revision,
        actor=by,
        organisation=organisation,
        changes=dict.fromkeys([*data, *(["logo"] if logo is not None else [])], (None, "…")),
    )
    return revision


def _notify_revision(revision: ProfileRevision) -> None:
    notify_managers(
        revision.organisation_id,
        "revision_decision",
        path=reverse("alliance:member_profile", args=[revision.organisation_id]),
        revision=revision,
        organisation=revision.organisation,
    )


def _locked(revision: ProfileRevision) -> ProfileRevision:
    return ProfileRevision.objects.select_for_update().select_related("organisation").get(pk=revision.pk)


@transaction.atomic
def approve_revision(revision: ProfileRevision, *, by: User) -> ProfileRevision:
    require_alliance_operator(by)
    revision = _locked(revision)
    old = revision.approve(by=by)
    profile = get_profile(revision.organisation)
    changes = {}
    for name in TEXT_FIELDS:
        if name in revision.data:
            changes[name] = (getattr(profile, name), revision.data[name])
            setattr(profile, name, revision.data[name])
    if revision.logo:
        changes["logo"] = (profile.logo.name or None, revision.logo.name)
        profile.logo = revision.logo.name
    profile.save()
    if "capabilities" in revision.data:
        before = sorted(profile.capabilities.values_list("slug", flat=True))
        profile.capabilities.set(CapabilityTag.objects.filter(pk__in=revision.data["capabilities"]))
        changes["capabilities"] = (before, sorted(profile.capabilities.values_list("slug", flat=True)))
    save_transition(revision, old, by=by, action="alliance_profile.approve", changes=changes)
    directory.sync_entry(revision.organisation_id)
    _notify_revision(revision)
    return revision


@transaction.atomic
def reject_revision(revision: ProfileRevision, *, by: User, reason: str) -> ProfileRevision:
    revision = operator_move(
        revision,
        lambda r: r.reject(by=by, reason=reason),
        lock=_locked,
        by=by,
        action="alliance_profile.reject",
        reason=reason,
    )
    _notify_revision(revision)
    return revision


def audience(user, organisation_id: int) -> str:
    """Which values of an organisation's profile a person sees: "own", "members" or "public"."""
    if not getattr(user, "is_authenticated", False):
        return "public"
    if sees_all_organisations(user) or is_operator(user):
        return "own"
    if Membership.objects.filter(organisation_id=organisation_id, user=user).exists():
        return "own"
    return "members" if is_alliance_member(user) else "public"


def visible_profile(profile: AllianceProfile | None, viewer_audience: str) -> dict:
    """The profile's values this audience may see; hidden fields are absent (not empty)."""
    if profile is None:
        return {}
    shown = {}
    for name in TEXT_FIELDS:
        if profile.shows(name, viewer_audience) and getattr(profile, name):
            shown[name] = getattr(profile, name)
    if profile.shows("logo", viewer_audience) and profile.logo:
        shown["logo"] = profile.logo
    if profile.shows("capabilities", viewer_audience):
        shown["capabilities"] = list(profile.capabilities.all())
    return shown
