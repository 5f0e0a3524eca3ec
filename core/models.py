from django.conf import settings
from django.contrib.contenttypes.models import ContentType
from django.db import models
from django.utils.translation import gettext_lazy as _

from core.roles import can_read_audit_trail


class AuditEventQuerySet(models.QuerySet):
    def for_user(self, user) -> "AuditEventQuerySet":
        """Supervisors and operators read the whole trail; everybody else sees nothing here."""
        if can_read_audit_trail(user):
            return self
        return self.none()

    def for_target(self, obj) -> "AuditEventQuerySet":
        return self.filter(target_type=ContentType.objects.get_for_model(obj), target_id=str(obj.pk))


class AuditEvent(models.Model):
    """One state change anywhere in the portal: who, when, what, from what to what.

    Written only by services through ``core.audit.record``; never changed afterwards. The table keeps the name
    it had when the model lived in ``portal`` (moved without touching a row: see core/migrations/0001).
    """

    created_at = models.DateTimeField(_("when"), auto_now_add=True, db_index=True)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("who"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    actor_label = models.CharField(_("who (as recorded)"), max_length=254, blank=True)
    platform = models.CharField(_("platform"), max_length=32, db_index=True)
    action = models.CharField(_("action"), max_length=64, db_index=True)
    target_type = models.ForeignKey(ContentType, on_delete=models.PROTECT, related_name="+")
    target_id = models.CharField(max_length=64)
    target_label = models.CharField(_("object"), max_length=255)
    organisation = models.ForeignKey(
        "accounts.Organisation",
        verbose_name=_("organisation"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    changes = models.JSONField(_("changes"), default=dict, blank=True)
    reason = models.TextField(_("reason"), blank=True)
    # The tamper-evident chain (see core/audit.py): entries are sealed in commit order, each with the
    # hash of the one before it. ``seq`` is the place in the chain; unsealed entries have none yet.
    seq = models.PositiveBigIntegerField(_("chain position"), null=True, blank=True, unique=True)
    prev_hash = models.CharField(_("previous entry's hash"), max_length=64, blank=True)
    entry_hash = models.CharField(_("entry hash"), max_length=64, blank=True)

    objects = AuditEventQuerySet.as_manager()

    class Meta:
        db_table = "portal_auditevent"
        verbose_name = _("audit event")
        verbose_name_plural = _("audit events")
        ordering = ["-id"]
        indexes = [
            models.Index(fields=["target_type", "target_id"], name="audit_target_idx"),
            models.Index(fields=["organisation", "-id"], name="audit_org_idx"),
            models.Index(fields=["actor", "-id"], name="audit_actor_idx"),
            models.Index(fields=["id"], condition=models.Q(seq__isnull=True), name="audit_unsealed_idx"),
        ]

    def __str__(self):
        return f"{self.created_at:%Y-%m-%d %H:%M} {self.actor_label or '-'} {self.action} {self.target_label}"

    def save(self, *args, **kwargs):
        if self.pk is not None and not kwargs.pop("_allow_update", False):
            raise ValueError("audit events are append-only")
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        raise ValueError("audit events are append-only")

    @property
    def change_list(self) -> list[tuple[str, object, object]]:
        return [
            (field, change.get("from"), change.get("to")) for field, change in (self.changes or {}).items()
        ]

    @property
    def action_label(self) -> str:
        from core.audit import action_label  # core.audit imports this module

        return action_label(self.action)

    @property
    def readable_changes(self) -> list[tuple[str, object, object]]:
        """(field label, before, after) with choice values shown as their labels in the active language."""
        model = self.target_type.model_class() if self.target_type_id else None
        rows = []
        for name, before, after in self.change_list:
            label, choices = name.replace("_", " "), {}
            if model is not None:
                try:
                    field = model._meta.get_field(name)
                except Exception:  # noqa: BLE001 - a field that no longer exists keeps its raw name
                    field = None
                if field is not None:
                    label = str(getattr(field, "verbose_name", label))
                    choices = {k: str(v) for k, v in (getattr(field, "flatchoices", None) or [])}
            rows.append((label, _choice(choices, before), _choice(choices, after)))
        return rows


def _choice(choices: dict, value):
    return choices.get(value, value) if isinstance(value, str) else value


class OutboxKind(models.TextChoices):
    MAIL = "mail", _("Mail")
    TASK = "task", _("Task")


class OutboxMessageQuerySet(models.QuerySet):
    def undelivered(self) -> "OutboxMessageQuerySet":
        return self.filter(delivered_at__isnull=True)

    def due(self, now) -> "OutboxMessageQuerySet":
        return self.undelivered().filter(next_attempt_at__lte=now)


class OutboxMessage(models.Model):
    """A side effect that must happen after a change: written in the change's own transaction.

    ``core.outbox`` writes and delivers these rows: a task is handed to the broker, a mail to the mail
    server. A row is delivered once (``delivered_at``); until then the relay retries it with backoff.
    """

    kind = models.CharField(_("kind"), max_length=8, choices=OutboxKind.choices)
    # The task's dotted name (``compute.tasks.sync_allocation_task``); empty for a mail.
    name = models.CharField(_("task"), max_length=200, blank=True)
    payload = models.JSONField(_("payload"), default=dict)
    key = models.CharField(_("idempotency key"), max_length=200, unique=True)
    created_at = models.DateTimeField(_("created"), auto_now_add=True)
    attempts = models.PositiveIntegerField(_("attempts"), default=0)
    last_error = models.TextField(_("last error"), blank=True)
    next_attempt_at = models.DateTimeField(_("next attempt"))
    delivered_at = models.DateTimeField(_("delivered"), null=True, blank=True)

    objects = OutboxMessageQuerySet.as_manager()

    class Meta:
        verbose_name = _("outbox message")
        verbose_name_plural = _("outbox messages")
        ordering = ["id"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(kind__in=[OutboxKind.MAIL, OutboxKind.TASK]), name="outbox_kind_valid"
            ),
            models.CheckConstraint(
                condition=~models.Q(kind=OutboxKind.TASK) | ~models.Q(name=""), name="outbox_task_has_name"
            ),
        ]
        indexes = [
            models.Index(
                fields=["next_attempt_at"],
                condition=models.Q(delivered_at__isnull=True),
                name="outbox_due_idx",
            ),
        ]

    def __str__(self):
        if self.kind == OutboxKind.TASK:
            return self.name
        return f"{self.payload.get('subject', '')} → {', '.join(self.payload.get('to') or [])}"
