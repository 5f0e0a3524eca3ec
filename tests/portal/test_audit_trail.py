import pytest

from accounts import services
from core.models import AuditEvent
from tests.accounts.factories import UserFactory, make_organisation

pytestmark = pytest.mark.django_db


def test_audit_events_are_append_only(user):
    make_organisation(user)
    event = AuditEvent.objects.first()
    event.action = "something.else"
    with pytest.raises(ValueError):
        event.save()
    with pytest.raises(ValueError):
        event.delete()


def test_supervisor_filters_and_exports_the_trail(client, supervisor, mfa, user):
    org = make_organisation(user, name_zh="审计测试公司")
    services.submit_organisation_for_verification(org, by=user)
    other_actor = UserFactory(email="someone.else@example.cn")
    make_organisation(other_actor)
    mfa(supervisor)
    client.force_login(supervisor)
    page = client.get("/oversight/audit/", {"actor": user.email}).content.decode()
    assert "organisation.submit_for_verification" in page
    assert "Submitted for verification" in page
    assert "someone.else@example.cn" not in page
    response = client.get("/oversight/audit/", {"organisation": org.pk, "format": "csv"})
    assert response["Content-Type"].startswith("text/csv")
    rows = b"".join(response.streaming_content).decode().strip().splitlines()
    assert rows[0].startswith("id,time,actor")
    actions = {row.split(",")[4] for row in rows[1:]}
    assert actions == {"organisation.create", "membership.create", "organisation.submit_for_verification"}
    assert any("verification_status: unverified -> pending" in row for row in rows)


def test_members_cannot_read_the_trail(client, user):
    client.force_login(user)
    assert client.get("/oversight/audit/").status_code == 403


def test_organisation_history_is_shown_to_its_managers(client, user):
    org = make_organisation(user)
    services.submit_organisation_for_verification(org, by=user)
    client.force_login(user)
    page = client.get(org.get_absolute_url()).content.decode()
    assert "Submitted for verification" in page
    assert "Pending verification" in page  # the status label, not its code
