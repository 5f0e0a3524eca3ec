"""The status-machine base: one transitions map, one move_to, decisions with reasons, one audited save."""

import pytest
from django.contrib.auth import get_user_model
from django.db import IntegrityError, connection, models, transaction

from core.exceptions import InvalidTransition
from core.models import AuditEvent
from core.states import Decided, StatusMachine, save_transition


class Status(models.TextChoices):
    DRAFT = "draft", "Draft"
    SUBMITTED = "submitted", "Submitted"
    APPROVED = "approved", "Approved"
    REJECTED = "rejected", "Rejected"


TRANSITIONS = {
    Status.DRAFT: {Status.SUBMITTED},
    Status.SUBMITTED: {Status.APPROVED, Status.REJECTED},
}


# Two concrete pipelines on the bases. They are registered under the kernel's label for the test session
# only (no migration knows them); the tests that save them create their tables inside the test transaction.
class Ticket(StatusMachine):
    TRANSITIONS = TRANSITIONS
    STATUS_STAMP = "moved_at"
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.DRAFT)
    moved_at = models.DateTimeField(null=True)
    note = models.CharField(max_length=20, blank=True)

    class Meta:
        app_label = "core"


class Claim(Decided):
    TRANSITIONS = TRANSITIONS
    TRANSITION_ERROR = "A claim cannot go from “%(old)s” to “%(new)s”."
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.DRAFT)

    class Meta(Decided.Meta):
        app_label = "core"


@pytest.fixture
def pipeline_models():
    return Ticket, Claim


@pytest.fixture
def tables(db):
    with connection.schema_editor() as editor:
        editor.create_model(Ticket)
        editor.create_model(Claim)
    return Ticket, Claim


def test_move_to_follows_the_map_and_stamps(pipeline_models):
    Ticket, _ = pipeline_models
    ticket = Ticket(status=Status.DRAFT)
    assert ticket.allowed_moves == {Status.SUBMITTED}
    assert ticket.move_to(Status.SUBMITTED) == Status.DRAFT
    assert ticket.status == Status.SUBMITTED and ticket.moved_at is not None
    with pytest.raises(InvalidTransition) as refused:
        ticket.move_to(Status.DRAFT)
    assert "“Submitted”" in str(refused.value) and "“Draft”" in str(refused.value)
    assert ticket.status == Status.SUBMITTED  # a refused move changes nothing


def test_moving_to_the_same_status_only_when_asked(pipeline_models):
    Ticket, _ = pipeline_models
    ticket = Ticket(status=Status.SUBMITTED)
    with pytest.raises(InvalidTransition):
        ticket.move_to(Status.SUBMITTED)
    assert ticket.move_to(Status.SUBMITTED, same_is_fine=True) == Status.SUBMITTED


def test_a_model_keeps_its_own_wording_of_a_refused_move(pipeline_models):
    _, Claim = pipeline_models
    with pytest.raises(InvalidTransition, match="A claim cannot go from “Draft” to “Approved”."):
        Claim(status=Status.DRAFT).move_to(Status.APPROVED)


def test_a_rejection_needs_a_reason(pipeline_models):
    _, Claim = pipeline_models
    user = get_user_model()(email="op@example.cn")
    claim = Claim(status=Status.SUBMITTED)
    with pytest.raises(InvalidTransition):
        claim.decide(Status.REJECTED, by=user, reason="   ")
    assert claim.status == Status.SUBMITTED and claim.decided_by is None
    assert claim.decide(Status.REJECTED, by=user, reason=" out of scope ") == Status.SUBMITTED
    assert claim.decision_reason == "out of scope" and claim.decided_by is user and claim.decided_at


def test_the_database_refuses_a_rejection_without_a_reason(tables):
    _, Claim = tables
    assert any(c.name == "claim_rejection_has_reason" for c in Claim._meta.constraints)
    with pytest.raises(IntegrityError), transaction.atomic():
        Claim.objects.create(status=Status.REJECTED, decision_reason="")


def test_save_transition_saves_what_moved_and_audits_it(tables, django_user_model):
    Ticket, Claim = tables
    operator = django_user_model.objects.create_user(email="op@example.cn", password="x")
    ticket = Ticket.objects.create(note="before")
    ticket.note = "not saved: the move did not touch it"
    old = ticket.move_to(Status.SUBMITTED)
    save_transition(ticket, old, by=operator, action="ticket.submit", changes={"priority": (1, 2)})
    ticket.refresh_from_db()
    assert ticket.status == Status.SUBMITTED and ticket.moved_at is not None and ticket.note == "before"
    event = AuditEvent.objects.get(action="ticket.submit")
    assert event.actor == operator and event.target_id == str(ticket.pk)
    assert event.changes == {
        "status": {"from": "draft", "to": "submitted"},
        "priority": {"from": 1, "to": 2},
    }

    claim = Claim.objects.create(status=Status.SUBMITTED)
    old = claim.decide(Status.REJECTED, by=operator, reason="incomplete")
    save_transition(claim, old, by=operator, action="claim.reject", reason="incomplete")
    claim.refresh_from_db()
    assert (claim.status, claim.decided_by, claim.decision_reason) == (
        Status.REJECTED,
        operator,
        "incomplete",
    )
    assert AuditEvent.objects.get(action="claim.reject").reason == "incomplete"
