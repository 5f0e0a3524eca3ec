"""The audit trail is tamper-evident: a hash chain sealed after commit, checked by verify_audit_trail."""

import pytest
from django.core.management import CommandError, call_command
from django.db import connection

from accounts import privacy, services
from core import audit
from core.models import AuditEvent
from tests.accounts.factories import UserFactory, make_organisation

pytestmark = pytest.mark.django_db


def _trail(user, n=3):
    org = make_organisation(user)
    for i in range(n):
        services.update_organisation(org, by=user, city=f"滨海{i}")
    return org


def test_events_are_sealed_after_commit_in_a_chain(user, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        _trail(user)
    # One seal per transaction, however many events it recorded.
    assert sum(cb.__name__ == "_seal_quietly" for cb in callbacks) >= 1
    events = list(AuditEvent.objects.order_by("seq"))
    assert [e.seq for e in events] == list(range(1, len(events) + 1))
    assert events[0].prev_hash == audit.GENESIS
    for before, after in zip(events, events[1:], strict=False):
        assert after.prev_hash == before.entry_hash
    assert all(len(e.entry_hash) == 64 for e in events)
    report = audit.verify_chain()
    assert report.intact and report.checked == len(events) and report.unsealed == 0
    assert report.head_hash == events[-1].entry_hash


def test_an_edited_event_is_reported_as_the_first_broken_link(user):
    _trail(user, n=4)
    audit.seal_pending()
    victim = AuditEvent.objects.order_by("seq")[2]
    AuditEvent.objects.filter(pk=victim.pk).update(changes={"city": {"from": "x", "to": "forged"}})
    report = audit.verify_chain()
    assert report.broken.pk == victim.pk
    assert "content was changed" in report.problem
    assert report.checked == 2
    with pytest.raises(CommandError, match=f"audit event #{victim.pk} "):
        call_command("verify_audit_trail")


def test_a_removed_event_breaks_the_link_of_the_next_one(user):
    _trail(user, n=4)
    audit.seal_pending()
    victim, following = AuditEvent.objects.order_by("seq")[1:3]
    # The model refuses deletes: an attacker goes around it.
    with connection.cursor() as cursor:
        cursor.execute("DELETE FROM portal_auditevent WHERE id = %s", [victim.pk])
    report = audit.verify_chain()
    assert report.broken.pk == following.pk
    assert "missing" in report.problem


def test_a_changed_reason_or_actor_is_detected(user):
    _trail(user, n=1)
    audit.seal_pending()
    event = AuditEvent.objects.order_by("seq").last()
    AuditEvent.objects.filter(pk=event.pk).update(actor=UserFactory())
    assert audit.verify_chain().broken.pk == event.pk


def test_pseudonymising_a_deleted_account_keeps_the_chain_intact(user):
    helper = UserFactory()
    org = make_organisation(helper)
    invitation = services.invite_member(org, by=helper, email=user.email, role="member")
    services.accept_invitation(invitation, user=user)
    audit.seal_pending()
    email = user.email
    privacy.delete_account(user)
    audit.seal_pending()
    assert not AuditEvent.objects.filter(actor_label=email).exists()
    report = audit.verify_chain()
    assert report.intact, report.problem
    assert report.checked == AuditEvent.objects.count()


def test_the_command_reports_an_intact_chain_and_its_head(user, capsys):
    _trail(user, n=2)
    call_command("verify_audit_trail", "--seal")
    out = capsys.readouterr().out
    total = AuditEvent.objects.count()
    assert f"Checked {total} events: the chain is intact." in out
    assert AuditEvent.objects.get(seq=total).entry_hash in out


def test_sealing_continues_the_chain_and_skips_nothing(user):
    _trail(user, n=1)
    first = audit.seal_pending()
    _trail(UserFactory(), n=2)
    second = audit.seal_pending(batch=2)  # several batches
    assert first + second == AuditEvent.objects.count()
    assert audit.seal_pending() == 0
    assert audit.verify_chain().intact


def test_the_csv_export_carries_each_event_s_place_and_hash(client, supervisor, mfa, user):
    _trail(user, n=1)
    audit.seal_pending()
    mfa(supervisor)
    client.force_login(supervisor)
    response = client.get("/oversight/audit/", {"format": "csv"})
    text = b"".join(response.streaming_content).decode()
    assert text.splitlines()[0].endswith("chain_position,entry_hash")
    for event in AuditEvent.objects.all():
        assert f",{event.seq},{event.entry_hash}" in text
