from datetime import timedelta

import pytest
from django.core import mail
from django.core.exceptions import ValidationError
from django.utils import timezone

from accounts import services
from accounts.models import (
    Invitation,
    InvitationStatus,
    Membership,
    MembershipRole,
    Organisation,
    VerificationStatus,
)
from accounts.uscc import random_uscc
from core.exceptions import Conflict, DomainError, InvalidTransition, NotAllowed
from core.models import AuditEvent
from core.signals import member_left
from tests.accounts.factories import UserFactory, add_member, make_operator, make_organisation

pytestmark = pytest.mark.django_db


def events(action):
    return list(AuditEvent.objects.filter(action=action).order_by("id"))


def test_creating_an_organisation_makes_the_creator_owner_and_is_audited(user):
    org = make_organisation(user, name_zh="星河智能科技有限公司", uscc="91350100M000100Y43")
    assert Membership.objects.get(organisation=org, user=user).role == MembershipRole.OWNER
    assert org.verification_status == VerificationStatus.UNVERIFIED
    [event] = events("organisation.create")
    assert event.actor == user and event.organisation == org
    assert event.changes == {"verification_status": {"from": None, "to": "unverified"}}


def test_a_wrong_credit_code_creates_nothing(user):
    with pytest.raises(ValidationError) as info:
        make_organisation(user, uscc="91350100M000100Y44")
    assert "uscc" in info.value.message_dict
    assert not Organisation.objects.exists()
    assert not AuditEvent.objects.exists()


def test_a_credit_code_is_registered_once(user):
    make_organisation(user, uscc="91350100M000100Y43")
    with pytest.raises((ValidationError, Conflict)):
        make_organisation(UserFactory(), uscc="91350100M000100Y43")
    assert Organisation.objects.count() == 1


def test_verification_round_trip_mails_the_managers(user, operator, django_capture_on_commit_callbacks):
    org = make_organisation(user)
    services.submit_organisation_for_verification(org, by=user)
    with django_capture_on_commit_callbacks(execute=True):
        services.reject_organisation(org, by=operator, reason="The credit code belongs to another company.")
    org.refresh_from_db()
    assert org.verification_status == VerificationStatus.REJECTED
    assert org.verification_decided_by == operator
    assert len(mail.outbox) == 1
    assert mail.outbox[0].to == [user.email]
    assert "another company" in mail.outbox[0].body

    services.submit_organisation_for_verification(org, by=user)
    with django_capture_on_commit_callbacks(execute=True):
        services.verify_organisation(org, by=operator)
    org.refresh_from_db()
    assert org.verification_status == VerificationStatus.VERIFIED
    assert org.verification_reason == ""
    assert len(mail.outbox) == 2
    transitions = [
        (e.action, e.changes["verification_status"]["from"], e.changes["verification_status"]["to"], e.actor)
        for e in AuditEvent.objects.filter(changes__has_key="verification_status").order_by("id")
    ]
    assert transitions == [
        ("organisation.create", None, "unverified", user),
        ("organisation.submit_for_verification", "unverified", "pending", user),
        ("organisation.reject", "pending", "rejected", operator),
        ("organisation.submit_for_verification", "rejected", "pending", user),
        ("organisation.verify", "pending", "verified", operator),
    ]


def test_only_operators_verify(user):
    org = make_organisation(user)
    services.submit_organisation_for_verification(org, by=user)
    with pytest.raises(NotAllowed):
        services.verify_organisation(org, by=user)
    org.refresh_from_db()
    assert org.verification_status == VerificationStatus.PENDING


def test_rejecting_without_reason_changes_nothing(user, operator):
    org = make_organisation(user)
    services.submit_organisation_for_verification(org, by=user)
    with pytest.raises(InvalidTransition):
        services.reject_organisation(org, by=operator, reason="")
    org.refresh_from_db()
    assert org.verification_status == VerificationStatus.PENDING
    assert not events("organisation.reject")


def test_members_cannot_submit_or_edit(user):
    org = make_organisation(user)
    member = UserFactory()
    add_member(org, member)
    with pytest.raises(NotAllowed):
        services.submit_organisation_for_verification(org, by=member)
    with pytest.raises(NotAllowed):
        services.update_organisation(org, by=member, city="上海")
    org.refresh_from_db()
    assert org.city == "滨海"


def test_changing_identity_of_a_verified_organisation_sends_it_back(user, operator):
    org = make_organisation(user)
    services.submit_organisation_for_verification(org, by=user)
    services.verify_organisation(org, by=operator)
    services.update_organisation(org, by=user, city="厦门", description="new text")
    org.refresh_from_db()
    assert org.verification_status == VerificationStatus.VERIFIED  # not identity

    new_code = random_uscc()
    services.update_organisation(org, by=user, uscc=new_code)
    org.refresh_from_db()
    assert org.uscc == new_code
    assert org.verification_status == VerificationStatus.UNVERIFIED
    last = AuditEvent.objects.filter(action="organisation.update").first()
    assert last.changes["verification_status"] == {"from": "verified", "to": "unverified"}
    assert last.changes["uscc"]["to"] == new_code


# --- invitations and memberships -----------------------------------------------------------------


def test_invitation_mail_and_acceptance(user, django_capture_on_commit_callbacks):
    org = make_organisation(user)
    with django_capture_on_commit_callbacks(execute=True):
        invitation = services.invite_member(org, by=user, email="New.Person@Example.cn", role="admin")
    assert invitation.email == "new.person@example.cn"
    assert len(mail.outbox) == 1
    assert mail.outbox[0].to == ["new.person@example.cn"]
    assert f"/invitations/{invitation.token}/" in mail.outbox[0].body

    invitee = UserFactory(email="new.person@example.cn")
    membership = services.accept_invitation(invitation, user=invitee)
    assert membership.role == MembershipRole.ADMIN
    invitation.refresh_from_db()
    assert invitation.status == InvitationStatus.ACCEPTED
    assert invitation.accepted_by == invitee
    with pytest.raises(InvalidTransition):
        services.accept_invitation(invitation, user=invitee)


def test_someone_else_cannot_accept_an_invitation(user):
    org = make_organisation(user)
    invitation = services.invite_member(org, by=user, email="invited@example.cn", role="member")
    with pytest.raises(NotAllowed):
        services.accept_invitation(invitation, user=UserFactory(email="intruder@example.cn"))
    assert not Membership.objects.filter(user__email="intruder@example.cn").exists()


def test_expired_invitation_cannot_be_accepted(user):
    org = make_organisation(user)
    invitation = services.invite_member(org, by=user, email="late@example.cn", role="member")
    Invitation.objects.filter(pk=invitation.pk).update(expires_at=timezone.now() - timedelta(minutes=1))
    with pytest.raises(DomainError):
        services.accept_invitation(invitation, user=UserFactory(email="late@example.cn"))
    invitation.refresh_from_db()
    assert invitation.status == InvitationStatus.EXPIRED
    assert not Membership.objects.filter(user__email="late@example.cn").exists()


def test_duplicate_invitations_and_existing_members_are_refused(user):
    org = make_organisation(user)
    services.invite_member(org, by=user, email="x@example.cn", role="member")
    with pytest.raises(Conflict):
        services.invite_member(org, by=user, email="X@example.cn", role="member")
    with pytest.raises(Conflict):
        services.invite_member(org, by=user, email=user.email, role="member")
    assert Invitation.objects.count() == 1


def test_only_owners_invite_owners(user):
    org = make_organisation(user)
    admin = UserFactory()
    add_member(org, admin, role=MembershipRole.ADMIN)
    with pytest.raises(NotAllowed):
        services.invite_member(org, by=admin, email="boss@example.cn", role="owner")
    services.invite_member(org, by=admin, email="staff@example.cn", role="member")
    assert list(Invitation.objects.values_list("email", flat=True)) == ["staff@example.cn"]


def test_outsiders_cannot_invite(user):
    org = make_organisation(user)
    with pytest.raises(NotAllowed):
        services.invite_member(org, by=UserFactory(), email="x@example.cn", role="member")
    assert not Invitation.objects.exists()


def test_expire_overdue_invitations(user):
    org = make_organisation(user)
    old = services.invite_member(org, by=user, email="old@example.cn", role="member")
    fresh = services.invite_member(org, by=user, email="fresh@example.cn", role="member")
    Invitation.objects.filter(pk=old.pk).update(expires_at=timezone.now() - timedelta(hours=1))
    assert services.expire_overdue_invitations() == 1
    old.refresh_from_db()
    fresh.refresh_from_db()
    assert (old.status, fresh.status) == (InvitationStatus.EXPIRED, InvitationStatus.PENDING)
    assert events("invitation.expire")[0].changes == {"status": {"from": "pending", "to": "expired"}}
    # An expired invitation does not block a new one.
    services.invite_member(org, by=user, email="old@example.cn", role="member")


def test_the_last_owner_can_neither_leave_nor_be_demoted(user):
    org = make_organisation(user)
    owner_membership = Membership.objects.get(organisation=org, user=user)
    with pytest.raises(Conflict):
        services.remove_member(owner_membership, by=user)
    with pytest.raises(Conflict):
        services.change_member_role(owner_membership, by=user, role="member")
    owner_membership.refresh_from_db()
    assert owner_membership.role == MembershipRole.OWNER


def test_ownership_can_be_handed_over(user):
    org = make_organisation(user)
    successor = UserFactory()
    m = add_member(org, successor)
    services.change_member_role(m, by=user, role="owner")
    services.remove_member(Membership.objects.get(organisation=org, user=user), by=user)
    assert list(Membership.objects.filter(organisation=org).values_list("user", "role")) == [
        (successor.pk, "owner")
    ]
    assert [e.action for e in AuditEvent.objects.filter(organisation=org).order_by("id")][-2:] == [
        "membership.change_role",
        "membership.leave",
    ]


def test_admins_cannot_touch_owners(user):
    org = make_organisation(user)
    admin = UserFactory()
    add_member(org, admin, role=MembershipRole.ADMIN)
    owner_membership = Membership.objects.get(organisation=org, user=user)
    with pytest.raises(NotAllowed):
        services.remove_member(owner_membership, by=admin)
    with pytest.raises(NotAllowed):
        services.change_member_role(owner_membership, by=admin, role="member")
    member = add_member(org)
    with pytest.raises(NotAllowed):
        services.change_member_role(member, by=admin, role="owner")
    services.change_member_role(member, by=admin, role="admin")
    member.refresh_from_db()
    assert member.role == MembershipRole.ADMIN


def test_members_can_leave(user):
    org = make_organisation(user)
    member = UserFactory()
    m = add_member(org, member)
    services.remove_member(m, by=member)
    assert not Membership.objects.filter(user=member).exists()


def test_site_roles_give_back_office_access_and_are_audited():
    person = UserFactory()
    services.set_site_roles(person, by=None, roles={"supervisor"})
    person.refresh_from_db()
    assert person.is_staff
    assert person.has_perm("accounts.view_organisation")
    assert not person.has_perm("accounts.change_organisation")
    person = type(person).objects.get(pk=person.pk)
    services.set_site_roles(person, by=None, roles=set())
    person.refresh_from_db()
    assert not person.is_staff
    assert [e.changes["site_roles"] for e in events("user.set_site_roles")] == [
        {"from": [], "to": ["supervisor"]},
        {"from": ["supervisor"], "to": []},
    ]


def test_operator_permissions_exclude_secrets():
    operator = make_operator()
    assert operator.has_perm("accounts.verify_organisation")
    assert operator.has_perm("accounts.change_organisation")
    assert not operator.has_perm("accounts.change_user")
    assert not operator.has_perm("mfa.view_authenticator")
    assert not operator.has_perm("accounts.view_apitoken")


def test_platforms_hear_when_a_member_leaves_or_is_removed(user):
    org = make_organisation(user)
    leaver, removed = UserFactory(), UserFactory()
    add_member(org, leaver)
    add_member(org, removed)
    heard = []

    def receiver(sender, *, organisation, user, by, **kwargs):
        heard.append((organisation.pk, user.pk, by.pk))

    member_left.connect(receiver)
    try:
        services.remove_member(Membership.objects.get(organisation=org, user=leaver), by=leaver)
        services.remove_member(Membership.objects.get(organisation=org, user=removed), by=user)
    finally:
        member_left.disconnect(receiver)
    assert heard == [(org.pk, leaver.pk, leaver.pk), (org.pk, removed.pk, user.pk)]
