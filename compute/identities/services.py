"""Cluster identities: names, ids, publishing to the directory, and the lifecycle of a person's POSIX account.

One identity per person, created when they first get access to an allocation (``ensure_identity``) or when
they choose their user name beforehand (``claim_username``). A user name and a uid are never given twice: the
rows outlive the accounts. Every change bumps ``changed_at`` and publishes after commit
(``compute.identities.tasks.publish_identity_task``); the allocation sync publishes its members synchronously
before Slurm sees their names (``publish_for_allocation``).

Lifecycle: losing the last allocation sets ``lock_due_at`` (the grace period), regaining one clears it;
``lock_due_identities`` locks the due ones. An operator's suspension and a deactivated account lock at once;
account deletion removes the keys, locks the identity and lets go of the person (the row stays).
"""

import logging
import re
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import IntegrityError, connection, transaction
from django.db.models import F, Q
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy as _lazy

from accounts.models import User
from compute.identities.directory import get_directory
from compute.identities.directory.base import Change, DesiredGroup, DesiredPerson, DirectoryError
from compute.identities.models import (
    ClusterGroup,
    ClusterIdentity,
    IdCounter,
    IdentityStatus,
    LockReason,
    SshKey,
    UsernameConflict,
    validate_identity_username,
)
from compute.models import Allocation, AllocationMember, AllocationStatus, QuotaRequestMember
from core import audit
from core.exceptions import Conflict, DomainError
from core.mail import send_templated_mail
from core.outbox import enqueue_task

logger = logging.getLogger(__name__)

COUNTER = "posix"
PUBLISH_IDENTITY_TASK = "compute.identities.tasks.publish_identity_task"
PUBLISH_GROUP_TASK = "compute.identities.tasks.publish_group_task"
# Allocations whose account no longer exists on the cluster: their group goes from the directory too.
GROUP_GONE = (AllocationStatus.CLOSED,)


class IdRangeExhausted(DomainError):
    """Every uid of CLUSTER_UID_MIN..CLUSTER_UID_MAX has been given: an operator must widen the range."""

    status_code = 503
    code = "uid_range_exhausted"


# --- names ---------------------------------------------------------------------------------------------


def identity_of(user: User | None) -> ClusterIdentity | None:
    """The person's identity, or None (also for an anonymous or unsaved user)."""
    if user is None or not getattr(user, "pk", None):
        return None
    return ClusterIdentity.objects.filter(user=user).first()


def username_taken(name: str, *, user: User | None = None) -> bool:
    """Whether ``name`` is (or ever was) someone else's: an identity's name, or a hand-typed name of the
    portal's history given to another person. Names are never reused, also after an account's deletion."""
    identities = ClusterIdentity.objects.filter(username=name)
    if user is not None and user.pk:
        identities = identities.exclude(user=user)
    if identities.exists():
        return True
    others = Q(cluster_username=name)
    history = [AllocationMember.objects.filter(others), QuotaRequestMember.objects.filter(others)]
    for queryset in history:
        if user is not None and user.pk:
            queryset = queryset.exclude(user=user)
        if queryset.exists():
            return True
    return False


def username_problem(name: str, *, user: User | None = None) -> str | None:
    """Why ``name`` cannot be ``user``'s cluster user name (format, reserved, taken or ever used), or None.

    A check for forms and the live check of the page; ``claim_username`` decides under a lock."""
    try:
        validate_identity_username(name)
    except ValidationError as error:
        return " ".join(error.messages)
    if username_taken(name, user=user):
        return _("“%(name)s” is taken: user names are never given twice. Choose another one.") % {
            "name": name
        }
    return None


def suggest_username(user: User, *, avoid: set[str] | frozenset[str] = frozenset()) -> str:
    """A free, valid user name for ``user`` derived from their email's local part (``ada.lovelace@`` ->
    ``adalovelace``), padded or suffixed with digits until it is valid, not reserved and never used (nor in
    ``avoid``: names planned for others in the same request)."""
    local = (user.email or "").split("@", 1)[0].lower()
    base = re.sub(r"[^a-z0-9_-]", "", local)
    base = re.sub(r"^[^a-z]+", "", base)[:28] or "user"
    if len(base) < 3:
        base = (base + "user")[:4] if len(base) < 2 else base + "0"
    candidates = [base] + [f"{base[:28]}{n}" for n in range(1, 10000)]
    for candidate in candidates:
        if candidate not in avoid and username_problem(candidate, user=user) is None:
            return candidate
    raise Conflict(_("No free cluster user name could be derived; choose one on “My cluster access”."))


def _lock_name(name: str) -> None:
    """Two people claiming the same name at once: the second waits, then is refused."""
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock(hashtext(%s))", [f"cluster_username:{name}"])


# --- ids -----------------------------------------------------------------------------------------------


def allocate_id() -> int:
    """The next free uid/gid of the configured range (under a row lock: never given twice).

    Raises ``IdRangeExhausted`` when the range is used up (nothing is taken then)."""
    with transaction.atomic():
        counter = IdCounter.objects.select_for_update().filter(name=COUNTER).first()
        if counter is None:
            IdCounter.objects.get_or_create(name=COUNTER, defaults={"next_value": settings.CLUSTER_UID_MIN})
            counter = IdCounter.objects.select_for_update().get(name=COUNTER)
        value = max(counter.next_value, settings.CLUSTER_UID_MIN)
        taken = set(ClusterIdentity.objects.filter(uid__gte=value).values_list("uid", flat=True)) | set(
            ClusterGroup.objects.filter(gid__gte=value).values_list("gid", flat=True)
        )
        while value in taken:
            value += 1
        if value > settings.CLUSTER_UID_MAX:
            raise IdRangeExhausted(
                _(
                    "No uid is left in the range %(low)s–%(high)s. An operator must widen CLUSTER_UID_MAX "
                    "before anyone else can get cluster access."
                )
                % {"low": settings.CLUSTER_UID_MIN, "high": settings.CLUSTER_UID_MAX}
            )
        counter.next_value = value + 1
        counter.save(update_fields=["next_value"])
        return value


# --- identities ----------------------------------------------------------------------------------------


def _create(user: User, name: str, *, by: User | None, how: str) -> ClusterIdentity:
    uid = allocate_id()
    identity = ClusterIdentity.objects.create(
        user=user,
        username=name,
        uid=uid,
        home=f"{settings.CLUSTER_HOME_ROOT.rstrip('/')}/{name}",
        shell=settings.CLUSTER_LOGIN_SHELL,
    )
    audit.record(
        "cluster_identity.create",
        identity,
        actor=by,
        changes={"username": (None, name), "uid": (None, uid)},
        reason=how,
    )
    _review_lock(identity, user)
    request_publish(identity)
    _mail(identity, "created")
    return identity


@transaction.atomic
def claim_username(user: User, name: str) -> ClusterIdentity:
    """The person chooses their user name once: creates their identity with it.

    Raises ``ValidationError({"username": [...]})`` for a bad, reserved, taken or ever-used name, and
    ``Conflict`` when they already have an identity with another name (a name is kept for ever). Claiming the
    name they already have returns their identity unchanged."""
    name = (name or "").strip()
    existing = ClusterIdentity.objects.select_for_update().filter(user=user).first()
    if existing is not None:
        if existing.username == name:
            return existing
        raise Conflict(
            _("You already have the cluster user name “%(name)s”; it cannot change.")
            % {"name": existing.username}
        )
    try:
        validate_identity_username(name)
    except ValidationError as error:
        raise ValidationError({"username": error.messages}) from None
    _lock_name(name)
    problem = username_problem(name, user=user)
    if problem:
        raise ValidationError({"username": [problem]})
    try:
        with transaction.atomic():
            return _create(user, name, by=user, how="chosen by the person")
    except IntegrityError:
        raise ValidationError(
            {"username": [_("“%(name)s” was taken a moment ago. Choose another one.") % {"name": name}]}
        ) from None


@transaction.atomic
def ensure_identity(user: User, *, by: User | None = None, preferred: str = "") -> ClusterIdentity:
    """The person's identity, created if they have none (they are getting access to an allocation) with
    ``preferred`` (the name a request planned for them) when it is still free, else a name derived from their
    email. An identity waiting to lock (or locked for lack of an allocation) is brought back when the person
    has access again; the change is published after commit."""
    identity = ClusterIdentity.objects.select_for_update().filter(user=user).first()
    if identity is None:
        for attempt in range(5):
            name = preferred if attempt == 0 and preferred else suggest_username(user)
            _lock_name(name)
            if username_problem(name, user=user) is not None:
                continue
            try:
                with transaction.atomic():
                    return _create(user, name, by=by, how="derived from the email address")
            except IntegrityError:
                continue
        raise Conflict(_("No free cluster user name could be given; try again."))
    _review_lock(identity, user)
    return identity


def request_publish(identity: ClusterIdentity) -> None:
    """The directory must see the identity's change: bump ``changed_at``, publish after commit."""
    identity.changed_at = timezone.now()
    ClusterIdentity.objects.filter(pk=identity.pk).update(changed_at=identity.changed_at)
    enqueue_task(PUBLISH_IDENTITY_TASK, args=[identity.pk])


def request_group_publish(group: ClusterGroup) -> None:
    group.changed_at = timezone.now()
    ClusterGroup.objects.filter(pk=group.pk).update(changed_at=group.changed_at)
    enqueue_task(PUBLISH_GROUP_TASK, args=[group.pk])


def has_access(user: User | None) -> bool:
    """Whether the person may use any allocation now (a current member of one that is not closed)."""
    if user is None:
        return False
    return (
        AllocationMember.objects.current()
        .filter(user=user)
        .exclude(allocation__status__in=GROUP_GONE)
        .exists()
    )


# --- directory entries ---------------------------------------------------------------------------------


def _ascii(text: str) -> str:
    return "".join(c for c in text if 32 <= ord(c) < 127).strip()


def desired_person(identity: ClusterIdentity, now: datetime | None = None) -> DesiredPerson:
    """What the directory should hold for the identity: its current keys, or none and the locked shell."""
    user = identity.user
    display = ""
    if user is not None:
        display = (user.get_full_name() or "").strip() or (user.email or "")
    display = display or identity.username
    if identity.is_locked:
        keys: tuple[str, ...] = ()
        shell = settings.CLUSTER_LOCKED_SHELL
    else:
        keys = tuple(
            SshKey.objects.filter(identity=identity)
            .current(now)
            .order_by("created_at", "id")
            .values_list("public_key", flat=True)
        )
        shell = identity.shell
    return DesiredPerson(
        username=identity.username,
        uid=identity.uid,
        gid=identity.gid,
        home=identity.home,
        shell=shell,
        display_name=display,
        gecos=_ascii(display) or identity.username,
        keys=keys,
        locked=identity.is_locked,
    )


def desired_private_group(identity: ClusterIdentity) -> DesiredGroup:
    """The person's own group: their name, gid == uid."""
    return DesiredGroup(name=identity.username, gid=identity.gid, members=frozenset())


def group_members(group: ClusterGroup) -> frozenset[str]:
    return frozenset(
        AllocationMember.objects.current()
        .filter(allocation_id=group.allocation_id, user__cluster_identity__isnull=False)
        .values_list("user__cluster_identity__username", flat=True)
    )


def desired_group(group: ClusterGroup) -> DesiredGroup:
    """An allocation account's group: its current members' user names."""
    return DesiredGroup(name=group.name, gid=group.gid, members=group_members(group))


def ensure_group(allocation: Allocation) -> ClusterGroup:
    """The allocation account's group (created with a gid from the counter at provisioning)."""
    group = ClusterGroup.objects.filter(allocation=allocation).first()
    if group is not None:
        return group
    with transaction.atomic():
        group = ClusterGroup.objects.create(
            allocation=allocation, name=allocation.account_name, gid=allocate_id()
        )
        audit.record(
            "cluster_group.create",
            group,
            organisation=allocation.organisation,
            changes={"name": (None, group.name), "gid": (None, group.gid)},
        )
    return group


def close_group(allocation: Allocation) -> ClusterGroup | None:
    """The allocation closed: its group leaves the directory (the row stays, its gid never reused)."""
    group = ClusterGroup.objects.filter(allocation=allocation, deleted_at__isnull=True).first()
    if group is None:
        return None
    group.deleted_at = timezone.now()
    group.save(update_fields=["deleted_at"])
    audit.record(
        "cluster_group.delete",
        group,
        organisation=allocation.organisation,
        changes={"name": (group.name, None)},
    )
    request_group_publish(group)
    return group


# --- name conflicts from before identities -------------------------------------------------------------


@transaction.atomic
def resolve_conflict(conflict: UsernameConflict, *, by: User, person: User | None) -> ClusterIdentity | None:
    """An operator settles a hand-typed name the migration could not keep: ``person`` (one of the conflict's
    people, without an identity yet) gets the name as their identity; ``None`` gives it to nobody (the people
    get a derived name at their next access, the name stays unused for ever). Audited; the person is mailed."""
    conflict = UsernameConflict.objects.select_for_update().get(pk=conflict.pk)
    if conflict.resolved_at is not None:
        raise Conflict(_("This conflict is already resolved."))
    identity = None
    if person is not None:
        if not conflict.people.filter(pk=person.pk).exists():
            raise ValidationError({"person": [_("Choose one of the people of this conflict.")]})
        if identity_of(person) is not None:
            raise ValidationError(
                {
                    "person": [
                        _("%(person)s already has a cluster identity.")
                        % {"person": person.email or str(person)}
                    ]
                }
            )
        try:
            validate_identity_username(conflict.username)
        except ValidationError as error:
            raise ValidationError({"person": error.messages}) from None
        _lock_name(conflict.username)
        if ClusterIdentity.objects.filter(username=conflict.username).exists():
            raise ValidationError(
                {"person": [_("“%(name)s” is already an identity's name.") % {"name": conflict.username}]}
            )
        identity = _create(person, conflict.username, by=by, how="name conflict resolved by an operator")
    conflict.resolved_at = timezone.now()
    conflict.resolved_by = by
    conflict.save(update_fields=["resolved_at", "resolved_by"])
    audit.record(
        "cluster_identity.resolve_conflict",
        conflict,
        actor=by,
        changes={"username": (conflict.username, identity.username if identity else None)},
        reason=person.email if person is not None else "given to nobody",
    )
    return identity


# --- publishing ----------------------------------------------------------------------------------------


def publish_identity(identity_id: int) -> list[Change]:
    """Converge the directory to one identity (its entry and its own group). Raises ``DirectoryError``
    (recorded in ``publish_error``) for the task to retry. Idempotent."""
    identity = ClusterIdentity.objects.select_related("user").filter(pk=identity_id).first()
    if identity is None:
        return []
    started = timezone.now()
    desired = desired_person(identity, started)
    directory = get_directory()
    try:
        changes = directory.converge_group(desired_private_group(identity))
        changes += directory.converge_person(desired)
    except DirectoryError as error:
        ClusterIdentity.objects.filter(pk=identity.pk).update(publish_error=str(error)[:2000])
        raise
    ClusterIdentity.objects.filter(pk=identity.pk).update(published_at=started, publish_error="")
    # Current keys were written; removed or expired ones were taken out.
    SshKey.objects.filter(identity=identity).filter(
        Q(public_key__in=desired.keys, removed_at__isnull=True)
        | Q(removed_at__isnull=False, published_at__isnull=True)
        | Q(removed_at__isnull=False, published_at__lt=F("removed_at"))
        | Q(expires_at__lte=started, published_at__lt=F("expires_at"))
    ).update(published_at=started)
    return changes


def publish_group(group_id: int) -> list[Change]:
    """Converge the directory to one allocation group (deleted once the allocation is closed)."""
    group = ClusterGroup.objects.filter(pk=group_id).first()
    if group is None:
        return []
    started = timezone.now()
    directory = get_directory()
    if group.deleted_at is not None:
        changes = directory.delete_group(group.name)
    else:
        changes = directory.converge_group(desired_group(group))
    ClusterGroup.objects.filter(pk=group.pk).update(published_at=started)
    return changes


def publish_for_allocation(allocation: Allocation) -> list[Change]:
    """Before Slurm hears of its users: publish the current members' identities and the allocation's group.

    Called by the allocation sync in the same task; a ``DirectoryError`` propagates (the sync retries)."""
    changes: list[Change] = []
    users = (
        AllocationMember.objects.current()
        .filter(allocation=allocation, user__isnull=False)
        .values_list("user_id", flat=True)
    )
    for identity in ClusterIdentity.objects.filter(user_id__in=list(users)).order_by("id"):
        if not identity.is_published:
            changes += publish_identity(identity.pk)
    if allocation.status in GROUP_GONE:
        group = close_group(allocation)
        group = group or ClusterGroup.objects.filter(allocation=allocation).first()
    else:
        group = ensure_group(allocation)
        ClusterGroup.objects.filter(pk=group.pk).update(changed_at=timezone.now())
    if group is not None:
        changes += publish_group(group.pk)
    return changes


# --- lifecycle -----------------------------------------------------------------------------------------


def _set_status(
    identity: ClusterIdentity, *, status: str, reason: str, by: User | None, why: str = ""
) -> None:
    before = (identity.status, identity.lock_reason)
    identity.status = status
    identity.lock_reason = reason
    identity.locked_at = timezone.now() if status == IdentityStatus.LOCKED else None
    identity.lock_due_at = None
    identity.save(update_fields=["status", "lock_reason", "locked_at", "lock_due_at"])
    audit.record(
        "cluster_identity.lock" if status == IdentityStatus.LOCKED else "cluster_identity.unlock",
        identity,
        actor=by,
        changes={"status": (before[0], status), "lock_reason": (before[1], reason)},
        reason=why,
    )
    request_publish(identity)


def _review_lock(identity: ClusterIdentity, user: User | None, *, notify: bool = True) -> None:
    """Grace period: no access -> lock_due_at is set; access again -> cleared (or unlocked if locked for
    lack of an allocation)."""
    if has_access(user):
        if identity.lock_due_at is not None:
            identity.lock_due_at = None
            identity.save(update_fields=["lock_due_at"])
            audit.record("cluster_identity.keep", identity, changes={"lock_due_at": ("set", None)})
        if identity.is_locked and identity.lock_reason == LockReason.NO_ALLOCATION:
            _set_status(identity, status=IdentityStatus.ACTIVE, reason=LockReason.NONE, by=None)
            _mail(identity, "unlocked")
        return
    if user is not None and not AllocationMember.objects.filter(user=user).exists():
        return  # never had access (a name chosen early, a request still pending): nothing to lose
    if not identity.is_locked and identity.lock_due_at is None:
        identity.lock_due_at = timezone.now() + timedelta(days=settings.IDENTITY_LOCK_GRACE_DAYS)
        identity.save(update_fields=["lock_due_at"])
        audit.record(
            "cluster_identity.lock_due", identity, changes={"lock_due_at": (None, identity.lock_due_at)}
        )
        if notify:
            _mail(identity, "lock_due")


def review_access(user: User | None, *, notify: bool = True) -> None:
    """The person's allocations changed: start or stop the grace period before their identity locks.

    ``notify=False`` when the caller's own mail already says when the login locks."""
    if user is None:
        return
    identity = ClusterIdentity.objects.select_for_update().filter(user=user).first()
    if identity is not None:
        _review_lock(identity, user, notify=notify)


def review_allocation(allocation: Allocation) -> int:
    """An allocation ended: review every person who had access to it. Returns how many."""
    users = User.objects.filter(
        pk__in=AllocationMember.objects.filter(allocation=allocation).values("user_id")
    ).distinct()
    count = 0
    for user in users:
        review_access(user)
        count += 1
    return count


def lock_due_identities(now: datetime | None = None) -> int:
    """Lock the identities whose grace period is over (no allocation since). Returns how many."""
    now = now or timezone.now()
    count = 0
    due = ClusterIdentity.objects.filter(status=IdentityStatus.ACTIVE, lock_due_at__lte=now).values_list(
        "pk", flat=True
    )
    for pk in list(due):
        with transaction.atomic():
            identity = (
                ClusterIdentity.objects.select_for_update(of=("self",)).select_related("user").get(pk=pk)
            )
            if identity.is_locked or identity.lock_due_at is None or identity.lock_due_at > now:
                continue
            if has_access(identity.user):
                _review_lock(identity, identity.user)
                continue
            _set_status(
                identity,
                status=IdentityStatus.LOCKED,
                reason=LockReason.NO_ALLOCATION,
                by=None,
                why="no allocation for the grace period",
            )
            _mail(identity, "locked")
            count += 1
    return count


@transaction.atomic
def suspend_identity(identity: ClusterIdentity, *, by: User | None, reason: str) -> ClusterIdentity:
    """An operator locks the identity at once (no login, files kept). ``reason`` is audited and mailed.
    Suspending a suspended identity changes nothing; a deleted one cannot be suspended."""
    identity = (
        ClusterIdentity.objects.select_for_update(of=("self",)).select_related("user").get(pk=identity.pk)
    )
    reason = (reason or "").strip()
    if by is not None and not reason:
        raise ValidationError({"reason": [_("Say why the identity is suspended; the person is told.")]})
    if identity.lock_reason == LockReason.DELETED:
        raise Conflict(_("This identity belongs to a deleted account; it stays locked."))
    if identity.lock_reason == LockReason.SUSPENDED:
        return identity
    _set_status(identity, status=IdentityStatus.LOCKED, reason=LockReason.SUSPENDED, by=by, why=reason)
    _mail(identity, "suspended", reason=reason)
    return identity


@transaction.atomic
def unsuspend_identity(identity: ClusterIdentity, *, by: User | None) -> ClusterIdentity:
    """Lift an operator's suspension: active again if the person still has access (or an account that is
    active and in the grace period), otherwise locked for lack of an allocation."""
    identity = (
        ClusterIdentity.objects.select_for_update(of=("self",)).select_related("user").get(pk=identity.pk)
    )
    if identity.lock_reason != LockReason.SUSPENDED:
        raise Conflict(_("This identity is not suspended."))
    user = identity.user
    if user is None or not user.is_active:
        raise Conflict(_("The person's account is deactivated or deleted; the identity stays locked."))
    if has_access(user):
        _set_status(identity, status=IdentityStatus.ACTIVE, reason=LockReason.NONE, by=by, why="unsuspended")
    else:
        _set_status(
            identity, status=IdentityStatus.LOCKED, reason=LockReason.NO_ALLOCATION, by=by, why="unsuspended"
        )
    _mail(identity, "unsuspended")
    return identity


def on_account_deleting(sender, *, user, by=None, **kwargs) -> None:
    """Receiver of ``core.signals.account_deleting``: keys removed, identity locked for ever and let go of
    the person (the name and uid stay taken), published."""
    identity = ClusterIdentity.objects.select_for_update().filter(user=user).first()
    if identity is None:
        return
    from compute.identities import keys  # keys imports this module (cycle)

    keys.remove_all_keys(identity, by=None, reason="account deleted")
    if identity.lock_reason != LockReason.DELETED:
        _set_status(
            identity, status=IdentityStatus.LOCKED, reason=LockReason.DELETED, by=None, why="account deleted"
        )
    identity.user = None
    identity.save(update_fields=["user"])
    request_publish(identity)


def on_user_saved(sender, *, instance, created=False, **kwargs) -> None:
    """Receiver of the user model's ``post_save``: a deactivated account's identity locks at once."""
    if created or instance.is_active:
        return
    identity = ClusterIdentity.objects.filter(user=instance, status=IdentityStatus.ACTIVE).first()
    if identity is None:
        return
    with transaction.atomic():
        identity = ClusterIdentity.objects.select_for_update().get(pk=identity.pk)
        if not identity.is_locked:
            _set_status(
                identity,
                status=IdentityStatus.LOCKED,
                reason=LockReason.SUSPENDED,
                by=None,
                why="account deactivated",
            )
            _mail(identity, "suspended", reason=_("Your account on the portal has been deactivated."))


# --- reconcile -----------------------------------------------------------------------------------------


@dataclass
class DirectoryReport:
    """What the hourly reconcile found: entries repaired, entries the portal does not know (never deleted)."""

    repaired: list[str] = field(default_factory=list)
    unknown: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)

    @property
    def drift_count(self) -> int:
        return len(self.repaired) + len(self.unknown)


def _person_matches(desired: DesiredPerson, state) -> bool:
    return (
        state is not None
        and state.uid == desired.uid
        and state.gid == desired.gid
        and state.home == desired.home
        and state.shell == desired.shell
        and bool(state.locked) == desired.locked
        and sorted(state.keys) == sorted(desired.keys)
    )


def reconcile_directory() -> DirectoryReport:
    """Compare every portal identity and group with the directory (the portal's subtree only), converge what
    drifted and report it; entries the portal does not know are reported, never deleted. Raises
    ``DirectoryError`` when the directory cannot be read at all."""
    report = DirectoryReport()
    directory = get_directory()
    people = directory.people()
    groups = directory.groups()
    now = timezone.now()
    known_people: set[str] = set()
    known_groups: set[str] = set()
    for identity in ClusterIdentity.objects.select_related("user").order_by("id"):
        known_people.add(identity.username)
        known_groups.add(identity.username)
        desired = desired_person(identity, now)
        own = desired_private_group(identity)
        state_group = groups.get(own.name)
        if _person_matches(desired, people.get(identity.username)) and (
            state_group is not None and state_group.gid == own.gid
        ):
            continue
        try:
            publish_identity(identity.pk)
        except DirectoryError as error:
            report.errors.append(f"{identity.username}: {error}")
            continue
        report.repaired.append(f"person {identity.username}")
        audit.record("cluster_identity.repair", identity, reason="the directory differed from the portal")
    for group in ClusterGroup.objects.select_related("allocation__organisation").order_by("id"):
        known_groups.add(group.name)
        state = groups.get(group.name)
        if group.deleted_at is not None:
            if state is None:
                continue
        else:
            desired_g = desired_group(group)
            if state is not None and state.gid == desired_g.gid and state.members == desired_g.members:
                continue
        try:
            publish_group(group.pk)
        except DirectoryError as error:
            report.errors.append(f"{group.name}: {error}")
            continue
        report.repaired.append(f"group {group.name}")
        audit.record(
            "cluster_group.repair",
            group,
            organisation=group.allocation.organisation,
            reason="the directory differed from the portal",
        )
    report.unknown = sorted(
        [f"person {name}" for name in people if name not in known_people]
        + [f"group {name}" for name in groups if name not in known_groups]
    )
    for line in report.repaired:
        logger.warning("directory reconcile: repaired %s", line)
    for line in report.unknown:
        logger.warning("directory reconcile: %s is in the portal's subtree but unknown to the portal", line)
    return report


# --- stuck work ----------------------------------------------------------------------------------------


def unpublished(cutoff: datetime):
    """Identities changed before ``cutoff`` and not published since (for STUCK_WORK)."""
    return ClusterIdentity.objects.filter(changed_at__lte=cutoff).filter(
        Q(published_at__isnull=True) | Q(published_at__lt=F("changed_at"))
    )


def republish(identity: ClusterIdentity) -> None:
    """The operators' "try again" for a stuck identity."""
    enqueue_task(PUBLISH_IDENTITY_TASK, args=[identity.pk])


# --- mail ----------------------------------------------------------------------------------------------


def _mail(identity: ClusterIdentity, event: str, **extra) -> None:
    """Tell the person what changed for their cluster identity and what to do now."""
    user = identity.user
    if user is None or not user.email:
        return
    send_templated_mail(
        f"compute/email/cluster_identity_{event}",
        to=[user.email],
        context={
            "identity": identity,
            "grace_days": settings.IDENTITY_LOCK_GRACE_DAYS,
            "login_host": settings.CLUSTER_LOGIN_HOST,
            "url": settings.SITE_URL + reverse("compute:cluster_access"),
            **extra,
        },
    )


AUDIT_LABELS = {
    "cluster_identity.create": _lazy("Cluster identity created"),
    "cluster_identity.lock": _lazy("Cluster identity locked"),
    "cluster_identity.unlock": _lazy("Cluster identity unlocked"),
    "cluster_identity.lock_due": _lazy("Cluster identity will lock (no allocation)"),
    "cluster_identity.keep": _lazy("Cluster identity kept (access again)"),
    "cluster_identity.repair": _lazy("Directory entry repaired"),
    "cluster_identity.resolve_conflict": _lazy("Cluster user name conflict resolved"),
    "cluster_group.create": _lazy("Cluster group created"),
    "cluster_group.delete": _lazy("Cluster group deleted"),
    "cluster_group.repair": _lazy("Directory group repaired"),
}
