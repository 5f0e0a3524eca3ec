import pytest

from accounts.models import Invitation, InvitationStatus, Organisation, VerificationStatus
from core.exceptions import InvalidTransition
from tests.factories import OrganisationFactory, UserFactory

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
    from django.db import IntegrityError, transaction

    org = OrganisationFactory()
    with pytest.raises(IntegrityError), transaction.atomic():
        Organisation.objects.filter(pk=org.pk).update(verification_status="approved")


def test_database_refuses_an_enterprise_without_credit_code():
    from django.db import IntegrityError, transaction

    with pytest.raises(IntegrityError), transaction.atomic():
        OrganisationFactory(uscc="")


def test_invitation_cannot_be_answered_twice():
    org = OrganisationFactory()
    invitation = Invitation.objects.create(organisation=org, email="a@example.cn")
    invitation.decline()
    assert invitation.status == InvitationStatus.DECLINED
    with pytest.raises(InvalidTransition):
        invitation.accept(user=None)
