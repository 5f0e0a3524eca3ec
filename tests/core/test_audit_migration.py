"""The audit trail moved from ``portal`` to ``core`` without touching a row: a database migrated from the
schema before the move, with a sealed chain in it, keeps its events, its chain and its permissions."""

import pytest
from django.contrib.auth.models import Group, Permission
from django.contrib.contenttypes.models import ContentType
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

from core import audit
from core.models import AuditEvent

BEFORE_THE_MOVE = [("portal", "0002_audit_hash_chain"), ("core", None)]


def _migrate(targets):
    executor = MigrationExecutor(connection)
    executor.loader.build_graph()
    return executor.migrate(targets).apps


def _latest():
    executor = MigrationExecutor(connection)
    # Every app's leaf: migrating core back to zero also unapplies what depends on it (accounts' later
    # migrations among them), and the way forward must bring all of it back.
    return executor.loader.graph.leaf_nodes()


@pytest.mark.django_db(transaction=True)
def test_events_chain_and_permissions_survive_the_move(django_user_model):
    latest = _latest()
    old_apps = _migrate(BEFORE_THE_MOVE)
    try:
        OldEvent = old_apps.get_model("portal", "AuditEvent")  # noqa: N806 - a historical model
        OldContentType = old_apps.get_model("contenttypes", "ContentType")  # noqa: N806
        OldPermission = old_apps.get_model("auth", "Permission")  # noqa: N806
        OldGroup = old_apps.get_model("auth", "Group")  # noqa: N806
        # What an existing database has: the model's content type under "portal", a group holding its
        # view permission, and a sealed chain of events.
        event_type, _ = OldContentType.objects.get_or_create(app_label="portal", model="auditevent")
        view, _ = OldPermission.objects.get_or_create(
            content_type=event_type, codename="view_auditevent", defaults={"name": "Can view audit event"}
        )
        readers = OldGroup.objects.create(name="audit readers")
        readers.permissions.add(view)
        actor = django_user_model.objects.create_user(email="op@example.cn", password="x")
        user_type = OldContentType.objects.get(app_label="accounts", model="user")
        prev = audit.GENESIS
        for seq in range(1, 4):
            event = OldEvent.objects.create(
                actor_id=actor.pk,
                actor_label=actor.email,
                platform="accounts",
                action="user.set_site_roles",
                target_type=user_type,
                target_id=str(actor.pk),
                target_label=actor.email,
                changes={"roles": {"from": [], "to": [f"role{seq}"]}},
            )
            event.seq, event.prev_hash = seq, prev
            event.entry_hash = prev = audit.entry_digest(event, seq=seq, prev_hash=prev)
            event.save()
    finally:
        _migrate(latest)

    assert AuditEvent.objects.count() == 3
    report = audit.verify_chain()
    assert report.intact and report.checked == 3 and report.head_hash == prev
    moved = ContentType.objects.get(app_label="core", model="auditevent")
    assert not ContentType.objects.filter(app_label="portal", model="auditevent").exists()
    assert Permission.objects.get(content_type=moved, codename="view_auditevent") in (
        Group.objects.get(name="audit readers").permissions.all()
    )
    # New events join the same chain after the move.
    audit.record("user.set_site_roles", actor, actor=actor, changes={"roles": ([], ["operator"])})
    audit.seal_pending()
    assert audit.verify_chain().checked == 4
