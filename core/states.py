"""One way to write a status pipeline (django-oscar's single ``set_status``, made a base class).

A model lists its allowed moves in ``TRANSITIONS`` and names its moves as small methods that call
``move_to`` (and ``decide`` for decisions that need a decider and maybe a reason); none of them saves.
A service then calls ``save_transition`` once, which saves exactly the fields the move touched (plus any
the service names) and writes the audit record of who moved it from what to what::

    class QuotaRequest(Decided):
        TRANSITIONS = {Status.DRAFT: {Status.SUBMITTED}, Status.SUBMITTED: {Status.APPROVED, Status.REJECTED}}
        status = models.CharField(choices=Status.choices, ...)

        def reject(self, *, by, reason):
            return self.decide(Status.REJECTED, by=by, reason=reason, reason_required=True)

    old = request.reject(by=user, reason=text)
    save_transition(request, old, by=user, action="quota_request.reject", reason=text)
"""

from typing import ClassVar

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy

from core import audit
from core.exceptions import InvalidTransition


class StatusMachine(models.Model):
    """A model whose ``status`` moves only along ``TRANSITIONS`` (status -> the statuses it may move to).

    ``STATUS_FIELD`` names the status field when it is not ``status`` (the audit record uses that name too).
    ``STATUS_STAMP`` names a date-time field stamped on every move (``status_changed_at``), if any.
    ``TRANSITION_ERROR`` is the sentence shown when a move is refused; it gets ``%(old)s`` and ``%(new)s``.
    """

    TRANSITIONS: ClassVar[dict[str, set[str]]] = {}
    STATUS_FIELD: ClassVar[str] = "status"
    STATUS_STAMP: ClassVar[str | None] = None
    TRANSITION_ERROR: ClassVar = gettext_lazy("This cannot go from “%(old)s” to “%(new)s”.")

    class Meta:
        abstract = True

    # --- reading ---

    def status_label(self, value: str | None = None) -> str:
        value = self.current_status if value is None else value
        return str(dict(self._meta.get_field(self.STATUS_FIELD).flatchoices).get(value, value))

    @property
    def current_status(self) -> str:
        return getattr(self, self.STATUS_FIELD)

    def can_move_to(self, new_status: str) -> bool:
        return new_status in self.TRANSITIONS.get(self.current_status, ())

    @property
    def allowed_moves(self) -> set[str]:
        return set(self.TRANSITIONS.get(self.current_status, ()))

    # --- moving (nothing here saves) ---

    def touch(self, *fields: str) -> None:
        """Note fields that a transition method changed, so that ``save_transition`` saves them too."""
        self.__dict__.setdefault("_touched", set()).update(fields)

    def move_to(self, new_status: str, *, same_is_fine: bool = False) -> str:
        """Move to ``new_status`` or raise ``InvalidTransition``; returns the status it moved from."""
        old = self.current_status
        if same_is_fine and new_status == old:
            return old
        if not self.can_move_to(new_status):
            raise InvalidTransition(
                self.TRANSITION_ERROR % {"old": self.status_label(old), "new": self.status_label(new_status)}
            )
        setattr(self, self.STATUS_FIELD, new_status)
        self.touch(self.STATUS_FIELD)
        if self.STATUS_STAMP:
            setattr(self, self.STATUS_STAMP, timezone.now())
            self.touch(self.STATUS_STAMP)
        return old


def reason_required_unless(
    *statuses: str, field: str = "decision_reason", name: str = "%(class)s_rejection_has_reason"
):
    """The constraint "a move into ``statuses`` carries a reason" (named per model through ``%(class)s``)."""
    return models.CheckConstraint(condition=~Q(status__in=statuses) | ~Q(**{field: ""}), name=name)


class Decided(StatusMachine):
    """A pipeline whose moves are decisions by someone: who decided, when, and why.

    A rejection needs a reason; the constraint holds it in the database too (``Meta`` of a subclass keeps it
    by inheriting ``Decided.Meta``, or lists ``reason_required_unless(...)`` itself)."""

    REJECTED: ClassVar[str] = "rejected"
    REASON_MISSING: ClassVar = gettext_lazy("A rejection needs a reason the applicant can act on.")

    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=gettext_lazy("decided by"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    decided_at = models.DateTimeField(gettext_lazy("decided"), null=True, blank=True)
    decision_reason = models.TextField(gettext_lazy("reason"), blank=True)

    class Meta:
        abstract = True
        constraints = [reason_required_unless("rejected")]

    def decide(
        self, new_status: str, *, by, reason: str = "", reason_required: bool = False, missing_reason=None
    ) -> str:
        """Move to ``new_status`` as ``by``'s decision; a reason is required for rejections (or when asked)."""
        reason = (reason or "").strip()
        if (reason_required or new_status == self.REJECTED) and not reason:
            raise InvalidTransition(missing_reason or self.REASON_MISSING)
        old = self.move_to(new_status)
        self.decided_by, self.decided_at, self.decision_reason = by, timezone.now(), reason
        self.touch("decided_by", "decided_at", "decision_reason")
        return old


def save_transition(
    obj: StatusMachine,
    old: str | None,
    *,
    by,
    action: str,
    fields: tuple[str, ...] | list[str] = (),
    changes: dict | None = None,
    reason: str = "",
    organisation=None,
) -> None:
    """Save a moved object (the fields its move touched and ``fields``) and audit the move (as the change of
    its status field, ``status`` unless the model names another).

    ``changes`` adds other before/after pairs to the audit record; ``organisation`` defaults to the object's
    own ``organisation`` when it has one."""
    update_fields = sorted(obj.__dict__.pop("_touched", set()) | set(fields))
    if update_fields:
        obj.save(update_fields=update_fields)
    if organisation is None and any(f.name == "organisation" for f in obj._meta.concrete_fields):
        organisation = obj.organisation
    audit.record(
        action,
        obj,
        actor=by,
        organisation=organisation,
        changes={obj.STATUS_FIELD: (old, obj.current_status), **(changes or {})},
        reason=reason,
    )
