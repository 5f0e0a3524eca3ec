"""Admission by domain: an organisation's verified domains let people with a verified address ask to join."""

import re

import pytest
from allauth.account.models import EmailAddress
from django.core import mail

from accounts import onboarding
from accounts.models import AdmissionRequest, AdmissionStatus, DomainStatus, Membership, MembershipRole
from core.exceptions import Conflict, DomainError, NotAllowed
from core.models import AuditEvent
from tests.accounts.factories import UserFactory, add_member, make_organisation

pytestmark = pytest.mark.django_db


@pytest.fixture
def owner():
    return UserFactory(name="Zhang Min", email="zhang.min@harbour.example.cn")


@pytest.fixture
def organisation(owner):
    return make_organisation(owner, name_en="Harbour Robotics Ltd.")


@pytest.fixture
def verified_domain(organisation, owner, operator):
    entry = onboarding.add_domain(organisation, by=owner, domain="harbour.example.cn")
    return onboarding.verify_domain_by_operator(entry, by=operator)


def _link(body: str) -> str:
    return re.search(r"http://testserver(/\S+)", body).group(1)


def test_a_manager_adds_a_domain_that_counts_only_once_verified(owner, organisation):
    entry = onboarding.add_domain(organisation, by=owner, domain=" @Harbour.Example.CN. ")
    assert entry.domain == "harbour.example.cn" and entry.status == DomainStatus.PENDING
    person = UserFactory(email="li@harbour.example.cn")
    assert onboarding.join_offers(person) == []
    assert AuditEvent.objects.filter(action="organisation_domain.add", target_id=str(entry.pk)).exists()


@pytest.mark.parametrize(
    ("domain", "message"),
    [
        ("qq.com", "public mail service"),
        ("not a domain", "such as"),
        ("localhost", "such as"),
        ("", "such as"),
    ],
)
def test_public_and_malformed_domains_are_refused(owner, organisation, domain, message):
    with pytest.raises(DomainError, match=message):
        onboarding.add_domain(organisation, by=owner, domain=domain)


def test_only_managers_add_and_only_operators_verify(owner, organisation):
    member = add_member(organisation).user
    with pytest.raises(NotAllowed):
        onboarding.add_domain(organisation, by=member, domain="harbour.example.cn")
    entry = onboarding.add_domain(organisation, by=owner, domain="harbour.example.cn")
    with pytest.raises(NotAllowed):
        onboarding.verify_domain_by_operator(entry, by=owner)
    with pytest.raises(Conflict):
        onboarding.add_domain(organisation, by=owner, domain="harbour.example.cn")


def test_a_domain_verified_for_one_organisation_cannot_be_claimed_by_another(verified_domain, operator):
    rival_owner = UserFactory()
    rival = make_organisation(rival_owner)
    with pytest.raises(Conflict, match="another organisation"):
        onboarding.add_domain(rival, by=rival_owner, domain="harbour.example.cn")


def test_the_manager_proves_control_with_a_link_mailed_to_an_address_on_the_domain(
    client, owner, organisation, django_capture_on_commit_callbacks
):
    entry = onboarding.add_domain(organisation, by=owner, domain="harbour.example.cn")
    client.force_login(owner)
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(f"/domains/{entry.pk}/proof/", {"local_part": "it-office"})
    assert response.status_code == 302
    (message,) = [m for m in mail.outbox if m.to == ["it-office@harbour.example.cn"]]
    path = _link(message.body)
    assert path.startswith("/domains/verify/")
    # A tampered link verifies nothing.
    assert client.get(path[:-3] + "xyz/").status_code == 404
    assert client.post(path[:-3] + "xyz/").status_code == 404
    client.logout()  # the person reading that mailbox need not have an account
    assert "harbour.example.cn" in client.get(path).content.decode()
    entry.refresh_from_db()
    assert entry.status == DomainStatus.PENDING  # opening the link changes nothing; the button does
    with django_capture_on_commit_callbacks(execute=True):
        assert client.post(path).status_code == 200
    entry.refresh_from_db()
    assert entry.status == DomainStatus.VERIFIED and entry.verified_address == "it-office@harbour.example.cn"
    assert any(m.to == [owner.email] and "is verified" in m.subject for m in mail.outbox)


def test_a_person_with_a_verified_address_asks_and_a_manager_approves(
    client, owner, organisation, verified_domain, django_capture_on_commit_callbacks
):
    person = UserFactory(name="Li Lei", email="li.lei@harbour.example.cn")
    client.force_login(person)
    dashboard = client.get("/dashboard/").content.decode()
    assert "lets you ask to join Harbour Robotics Ltd." in dashboard
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post("/organisations/join/", {"organisation": organisation.pk})
    assert response.status_code == 302
    admission = AdmissionRequest.objects.get()
    assert admission.user == person and admission.status == AdmissionStatus.PENDING
    assert any(m.to == [owner.email] and "request to join" in m.subject for m in mail.outbox)
    assert "Asked: waiting for a manager" in client.get("/organisations/join/").content.decode()
    with pytest.raises(Conflict):
        onboarding.request_admission(organisation, user=person)

    client.force_login(owner)
    assert (
        "li.lei@harbour.example.cn"
        in client.get(f"/organisations/{organisation.pk}/domains/").content.decode()
    )
    mail.outbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(f"/admissions/{admission.pk}/decide/", {"decision": "approve"})
    assert response.status_code == 302
    assert Membership.objects.get(organisation=organisation, user=person).role == MembershipRole.MEMBER
    admission.refresh_from_db()
    assert admission.status == AdmissionStatus.APPROVED and admission.decided_by == owner
    (approved,) = [m for m in mail.outbox if m.to == [person.email]]
    assert approved.subject.endswith("You are now a member of Harbour Robotics Ltd.")
    assert AuditEvent.objects.filter(action="admission.approve", target_id=str(admission.pk)).exists()
    assert onboarding.join_offers(person) == []  # a member is offered nothing


def test_a_declined_request_is_mailed_and_creates_no_membership(
    owner, organisation, verified_domain, django_capture_on_commit_callbacks
):
    person = UserFactory(email="han@harbour.example.cn")
    admission = onboarding.request_admission(organisation, user=person)
    mail.outbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        onboarding.decide_admission(admission, by=owner, approve=False)
    assert not Membership.objects.filter(user=person).exists()
    assert any("declined" in m.subject for m in mail.outbox if m.to == [person.email])
    with pytest.raises(Conflict):
        onboarding.decide_admission(admission, by=owner, approve=True)


def test_an_unverified_address_or_another_domain_gives_no_right_to_ask(organisation, verified_domain):
    unverified = UserFactory(email="ghost@harbour.example.cn", verified=False)
    EmailAddress.objects.create(user=unverified, email=unverified.email, verified=False, primary=True)
    assert onboarding.join_offers(unverified) == []
    with pytest.raises(NotAllowed):
        onboarding.request_admission(organisation, user=unverified)
    # A second, verified address on the domain counts.
    EmailAddress.objects.create(user=unverified, email="ghost.work@harbour.example.cn", verified=True)
    assert [o.organisation for o in onboarding.join_offers(unverified)] == [organisation]
    outsider = UserFactory(email="someone@elsewhere.example.cn")
    with pytest.raises(NotAllowed):
        onboarding.request_admission(organisation, user=outsider)


def test_only_the_organisations_managers_decide(client, owner, organisation, verified_domain):
    person = UserFactory(email="wu@harbour.example.cn")
    admission = onboarding.request_admission(organisation, user=person)
    member = add_member(organisation).user
    for someone in (member, person, UserFactory()):
        client.force_login(someone)
        assert client.post(f"/admissions/{admission.pk}/decide/", {"decision": "approve"}).status_code == 404
    admission.refresh_from_db()
    assert admission.status == AdmissionStatus.PENDING
    client.force_login(member)
    assert client.get(f"/organisations/{organisation.pk}/domains/").status_code == 404


def test_operators_verify_from_the_page_and_managers_remove(client, owner, organisation, operator, mfa):
    entry = onboarding.add_domain(organisation, by=owner, domain="harbour.example.cn")
    client.force_login(owner)
    assert client.post(f"/domains/{entry.pk}/verify/").status_code == 302
    entry.refresh_from_db()
    assert entry.status == DomainStatus.PENDING  # a manager cannot verify their own claim
    client.force_login(mfa(operator))
    page = client.get(f"/organisations/{organisation.pk}/domains/").content.decode()
    assert "Verify (operator)" in page
    client.post(f"/domains/{entry.pk}/verify/")
    entry.refresh_from_db()
    assert entry.status == DomainStatus.VERIFIED and entry.verified_by == operator
    client.force_login(owner)
    assert client.post(f"/domains/{entry.pk}/remove/").status_code == 302
    assert not organisation.domains.exists()
    assert AuditEvent.objects.filter(action="organisation_domain.remove").exists()


def test_the_join_page_says_what_to_do_when_nothing_is_offered(client):
    client.force_login(UserFactory(email="nobody@example.cn"))
    assert (
        "No organisation admits your verified addresses."
        in client.get("/organisations/join/").content.decode()
    )


def test_a_decision_must_be_approve_or_decline(client, owner, organisation, verified_domain):
    admission = onboarding.request_admission(organisation, user=UserFactory(email="qian@harbour.example.cn"))
    client.force_login(owner)
    response = client.post(f"/admissions/{admission.pk}/decide/", {"decision": "maybe"}, follow=True)
    assert "Choose approve or decline." in response.content.decode()
    admission.refresh_from_db()
    assert admission.status == AdmissionStatus.PENDING
