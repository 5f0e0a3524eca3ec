"""The one way the portal records a state change (who, when, what, before -> after)."""

from django.contrib.contenttypes.models import ContentType
from django.db import models
from django.utils.translation import gettext_lazy as _

from portal.models import AuditEvent


def _plain(value):
    if isinstance(value, models.Model):
        return str(value)
    if value is None or isinstance(value, bool | int | float | str):
        return value
    if isinstance(value, list | tuple | set):
        return [_plain(v) for v in value]
    return str(value)


def record(
    action: str,
    target: models.Model,
    *,
    actor=None,
    changes: dict[str, tuple[object, object]] | None = None,
    organisation=None,
    reason: str = "",
) -> AuditEvent:
    """Append an audit event. ``changes`` maps a field name to its ``(before, after)`` values."""
    if organisation is None and target.__class__.__name__ == "Organisation":
        organisation = target
    actor = actor if getattr(actor, "is_authenticated", False) else None
    return AuditEvent.objects.create(
        actor=actor,
        actor_label=actor.email if actor else "system",
        platform=target._meta.app_label,
        action=action,
        target_type=ContentType.objects.get_for_model(target),
        target_id=str(target.pk),
        target_label=str(target)[:255],
        organisation=organisation,
        changes={
            k: {"from": _plain(before), "to": _plain(after)} for k, (before, after) in (changes or {}).items()
        },
        reason=reason or "",
    )


# What people read for each action; apps add their own actions here as they gain them.
ACTION_LABELS = {
    "organisation.create": _("Organisation registered"),
    "organisation.update": _("Profile changed"),
    "organisation.submit_for_verification": _("Submitted for verification"),
    "organisation.verify": _("Verified"),
    "organisation.reject": _("Verification rejected"),
    "membership.create": _("Member joined"),
    "membership.change_role": _("Role changed"),
    "membership.remove": _("Member removed"),
    "membership.leave": _("Member left"),
    "invitation.create": _("Invitation sent"),
    "invitation.accept": _("Invitation accepted"),
    "invitation.decline": _("Invitation declined"),
    "invitation.revoke": _("Invitation withdrawn"),
    "invitation.expire": _("Invitation expired"),
    "user.set_site_roles": _("Site roles changed"),
    "user.export_personal_data": _("Personal data downloaded"),
    "user.delete": _("Account deleted"),
    "quota_request.create": _("Quota request drafted"),
    "quota_request.update": _("Quota request edited"),
    "quota_request.submit": _("Quota request submitted"),
    "quota_request.withdraw": _("Quota request withdrawn"),
    "quota_request.approve": _("Quota request approved"),
    "quota_request.reject": _("Quota request rejected"),
    "quota_request.request_changes": _("Changes requested"),
    "allocation.create": _("Allocation created"),
    "allocation.change": _("Allocation changed"),
    "allocation.provisioning": _("Provisioning started"),
    "allocation.activate": _("Allocation active on the cluster"),
    "allocation.cluster_sync": _("Cluster updated"),
    "allocation.active": _("Allocation resumed"),
    "allocation.suspended": _("Allocation suspended"),
    "allocation.expired": _("Allocation expired"),
    "allocation.closed": _("Allocation closed"),
    "allocation.exhausted": _("Quota used up"),
    "allocation.reconcile_repair": _("Drift repaired"),
    "allocation.retry_sync": _("Cluster update retried"),
    "allocation.remove_cluster_user": _("Cluster user removed"),
    "partition.update": _("Partition changed"),
    "reconcile.run": _("Cluster reconciled"),
    "partition.create": _("Partition created"),
    "consent.give": _("Consent given"),
    "consent.withdraw": _("Consent withdrawn"),
}


def register_action_labels(labels: dict) -> None:
    """Add an app's action labels (call it from the app's ``AppConfig.ready``); an action keeps its first label."""
    for action, label in labels.items():
        ACTION_LABELS.setdefault(action, label)
