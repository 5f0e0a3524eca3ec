import pytest
from django.db import IntegrityError, transaction

from accounts import services
from accounts.models import Invitation, InvitationStatus, Organisation, VerificationStatus
from core.exceptions import InvalidTransition
from core.models import AuditEvent
from tests.accounts.factories import OrganisationFactory, UserFactory, make_operator, make_organisation

pytestmark = pytest.mark.django_db


def test_verification_pipeline_happy_path():
    operator = UserFactory()
    org = OrganisationFactory()
    assert org.submit_for_verification() == VerificationStatus.UNVERIFIED
    assert org.verification_status == VerificationStatus.PENDING
    assert org.verify(by=operator) == VerificationStatus.PENDING
    assert org.verification_status == VerificationStatus.VERIFIED
    assert org.verification_decided_by == operator
    assert org.verification_decided_at is not None


@pytest.mark.parametrize(
    ("start", "move"),
    [
        (VerificationStatus.UNVERIFIED, "verify"),
        (VerificationStatus.UNVERIFIED, "reject"),
        (VerificationStatus.VERIFIED, "verify"),
        (VerificationStatus.VERIFIED, "submit_for_verification"),
        (VerificationStatus.REJECTED, "verify"),
        (VerificationStatus.PENDING, "submit_for_verification"),
        (VerificationStatus.PENDING, "reset_verification"),
    ],
)
def test_illegal_verification_moves_are_refused(start, move):
    org = OrganisationFactory.build(verification_status=start, verification_reason="x")
    kwargs = {}
    if move in {"verify", "reject"}:
        kwargs["by"] = None
    if move == "reject":
        kwargs["reason"] = "wrong code"
    with pytest.raises(InvalidTransition):
        getattr(org, move)(**kwargs)
    assert org.verification_status == start


def test_rejection_needs_a_reason():
    org = OrganisationFactory.build(verification_status=VerificationStatus.PENDING)
    with pytest.raises(InvalidTransition):
        org.reject(by=None, reason="   ")
    assert org.verification_status == VerificationStatus.PENDING


def test_database_refuses_an_unknown_status():
    org = OrganisationFactory()
    with pytest.raises(IntegrityError), transaction.atomic():
        Organisation.objects.filter(pk=org.pk).update(verification_status="approved")


def test_database_refuses_an_enterprise_without_credit_code():
    with pytest.raises(IntegrityError), transaction.atomic():
        OrganisationFactory(uscc="")


def test_invitation_cannot_be_answered_twice():
    org = OrganisationFactory()
    invitation = Invitation.objects.create(organisation=org, email="a@example.cn")
    invitation.decline()
    assert invitation.status == InvitationStatus.DECLINED
    with pytest.raises(InvalidTransition):
        invitation.accept(user=None)


def test_refused_moves_keep_their_wording():
    org = OrganisationFactory.build(verification_status=VerificationStatus.UNVERIFIED)
    with pytest.raises(InvalidTransition, match="An organisation cannot go from “Unverified” to “Verified”."):
        org.verify(by=None)
    assert org.allowed_moves == {VerificationStatus.PENDING}
    invitation = Invitation(organisation=org, email="a@example.cn", status=InvitationStatus.REVOKED)
    with pytest.raises(InvalidTransition, match="This invitation is already revoked."):
        invitation.accept(user=None)


def test_a_verification_decision_is_saved_and_audited_as_the_verification_status():
    operator = make_operator()
    org = make_organisation(UserFactory())
    services.submit_organisation_for_verification(org, by=org.memberships.get().user)
    services.reject_organisation(org, by=operator, reason="The code does not match the name.")
    org.refresh_from_db()
    assert (org.verification_status, org.verification_decided_by, org.verification_reason) == (
        VerificationStatus.REJECTED,
        operator,
        "The code does not match the name.",
    )
    event = AuditEvent.objects.filter(action="organisation.reject").get()
    assert event.changes == {"verification_status": {"from": "pending", "to": "rejected"}}
    assert event.reason == "The code does not match the name."
