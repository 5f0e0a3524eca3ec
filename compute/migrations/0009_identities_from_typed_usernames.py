"""Hand-typed cluster user names become cluster identities (issue 14).

Before identities, managers typed a "cluster username" for each person on requests and allocations. A name is
kept as the person's identity where that is unambiguous: the person used exactly one name, nobody else ever
used it, and it is a valid, unreserved identity name. Everything else becomes a ``UsernameConflict`` for an
operator (several people on one name, one person with several names, a name the rules refuse): those people
get an identity when an operator resolves the conflict, or a derived name at their next access.

The new identities are not published here (a migration sends nothing): the stuck-work sweeper and the next
allocation sync publish every identity changed and not published. People without current access start the
grace period before their identity locks.
"""

import re
from collections import defaultdict
from datetime import timedelta

from django.conf import settings
from django.db import migrations
from django.utils import timezone

NAME_RE = re.compile(r"^[a-z][a-z0-9_-]{2,31}$")
COUNTER = "posix"
LIVE = ("pending", "provisioning", "active", "suspended", "exhausted", "expired")


def _problem(name: str) -> str:
    if not NAME_RE.fullmatch(name):
        return "not a valid user name (3 to 32 lower-case letters, digits, _ or -, starting with a letter)"
    if name in settings.CLUSTER_RESERVED_USERNAMES or name.startswith(settings.CLUSTER_ACCOUNT_PREFIX):
        return "a reserved name"
    return ""


def forwards(apps, schema_editor):
    AllocationMember = apps.get_model("compute", "AllocationMember")  # noqa: N806 - historical models
    QuotaRequestMember = apps.get_model("compute", "QuotaRequestMember")  # noqa: N806
    ClusterIdentity = apps.get_model("compute", "ClusterIdentity")  # noqa: N806
    IdCounter = apps.get_model("compute", "IdCounter")  # noqa: N806
    UsernameConflict = apps.get_model("compute", "UsernameConflict")  # noqa: N806

    names_of: dict[int, set[str]] = defaultdict(set)
    people_of: dict[str, set[int]] = defaultdict(set)
    for model in (AllocationMember, QuotaRequestMember):
        for user_id, name in model.objects.exclude(cluster_username="").values_list(
            "user_id", "cluster_username"
        ):
            if user_id is None:
                people_of[name]  # a deleted person's name: used, never given again  # noqa: B018
                continue
            names_of[user_id].add(name)
            people_of[name].add(user_id)
    if not names_of:
        return
    has_identity = set(ClusterIdentity.objects.values_list("user_id", flat=True))
    identity_names = set(ClusterIdentity.objects.values_list("username", flat=True))
    deleted_names = {
        name
        for model in (AllocationMember, QuotaRequestMember)
        for name in model.objects.filter(user__isnull=True).values_list("cluster_username", flat=True)
    }
    counter, _created = IdCounter.objects.get_or_create(
        name=COUNTER, defaults={"next_value": settings.CLUSTER_UID_MIN}
    )
    taken_ids = set(ClusterIdentity.objects.values_list("uid", flat=True))
    taken_ids |= set(apps.get_model("compute", "ClusterGroup").objects.values_list("gid", flat=True))
    next_value = max(counter.next_value, settings.CLUSTER_UID_MIN)
    now = timezone.now()
    with_access = set(
        AllocationMember.objects.filter(removed_at__isnull=True, allocation__status__in=LIVE).values_list(
            "user_id", flat=True
        )
    )
    conflicts: dict[str, tuple[set[int], list[str]]] = {}

    def conflict(name: str, people: set[int], why: str) -> None:
        entry = conflicts.setdefault(name, (set(), []))
        entry[0].update(people)
        if why not in entry[1]:
            entry[1].append(why)

    for name, people in sorted(people_of.items()):
        if len(people) > 1:
            conflict(name, people, f"used by {len(people)} people")
        elif name in deleted_names and people:
            conflict(name, people, "also used by a deleted account")
    for user_id, names in sorted(names_of.items()):
        if user_id in has_identity:
            continue
        if len(names) > 1:
            for name in sorted(names):
                conflict(name, {user_id}, "this person used several names: " + ", ".join(sorted(names)))
            continue
        (name,) = names
        if name in conflicts:
            continue
        problem = _problem(name)
        if problem:
            conflict(name, {user_id}, problem)
            continue
        if name in identity_names:
            conflict(name, {user_id}, "already another person's identity")
            continue
        while next_value in taken_ids:
            next_value += 1
        if next_value > settings.CLUSTER_UID_MAX:
            conflict(name, {user_id}, "no uid left in the configured range")
            continue
        ClusterIdentity.objects.create(
            user_id=user_id,
            username=name,
            uid=next_value,
            home=f"{settings.CLUSTER_HOME_ROOT.rstrip('/')}/{name}",
            shell=settings.CLUSTER_LOGIN_SHELL,
            created_at=now,
            changed_at=now,
            lock_due_at=None
            if user_id in with_access
            else now + timedelta(days=settings.IDENTITY_LOCK_GRACE_DAYS),
        )
        identity_names.add(name)
        taken_ids.add(next_value)
        next_value += 1
    counter.next_value = next_value
    counter.save(update_fields=["next_value"])
    for name, (people, reasons) in sorted(conflicts.items()):
        row = UsernameConflict.objects.create(username=name[:32], detail="; ".join(reasons), found_at=now)
        row.people.set(sorted(people))


def backwards(apps, schema_editor):
    """Identities this migration made (a person's only typed name, no keys) and the conflicts go again."""
    AllocationMember = apps.get_model("compute", "AllocationMember")  # noqa: N806
    QuotaRequestMember = apps.get_model("compute", "QuotaRequestMember")  # noqa: N806
    ClusterIdentity = apps.get_model("compute", "ClusterIdentity")  # noqa: N806
    UsernameConflict = apps.get_model("compute", "UsernameConflict")  # noqa: N806
    IdCounter = apps.get_model("compute", "IdCounter")  # noqa: N806
    typed = set(AllocationMember.objects.values_list("user_id", "cluster_username")) | set(
        QuotaRequestMember.objects.values_list("user_id", "cluster_username")
    )
    for identity in ClusterIdentity.objects.filter(keys__isnull=True, user__isnull=False):
        if (identity.user_id, identity.username) in typed:
            identity.delete()
    UsernameConflict.objects.all().delete()
    highest = ClusterIdentity.objects.order_by("-uid").values_list("uid", flat=True).first()
    if highest is None:
        IdCounter.objects.filter(name=COUNTER).delete()
    else:
        IdCounter.objects.filter(name=COUNTER).update(next_value=highest + 1)


class Migration(migrations.Migration):
    dependencies = [("compute", "0008_cluster_identities")]

    operations = [migrations.RunPython(forwards, backwards)]
