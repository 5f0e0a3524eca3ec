"""People, organisations and who belongs where; Django finds every model of the app here."""

from accounts.models.consents import Consent, ConsentPurpose, ConsentQuerySet
from accounts.models.invitations import Invitation, InvitationQuerySet, InvitationStatus
from accounts.models.onboarding import (
    AdmissionRequest,
    AdmissionStatus,
    BatchSource,
    BatchStatus,
    DomainStatus,
    DomainVerification,
    OnboardingBatch,
    OnboardingRow,
    OrganisationDomain,
    RowError,
    RowKind,
    RowStatus,
)
from accounts.models.organisations import (
    EnterpriseSize,
    Membership,
    MembershipQuerySet,
    MembershipRole,
    Organisation,
    OrganisationKind,
    OrganisationQuerySet,
    OrganisationScopedQuerySet,
    Sector,
    VerificationStatus,
)
from accounts.models.phones import PhoneNumber
from accounts.models.saml import SamlAssertion, SamlAssertionQuerySet, SamlMembership
from accounts.models.tokens import ApiToken, ApiTokenQuerySet, TokenScope
from accounts.models.users import User, UserManager

__all__ = [
    "AdmissionRequest",
    "AdmissionStatus",
    "BatchSource",
    "BatchStatus",
    "DomainStatus",
    "DomainVerification",
    "OnboardingBatch",
    "OnboardingRow",
    "OrganisationDomain",
    "RowError",
    "RowKind",
    "RowStatus",
    "ApiToken",
    "ApiTokenQuerySet",
    "Consent",
    "ConsentPurpose",
    "ConsentQuerySet",
    "EnterpriseSize",
    "Invitation",
    "InvitationQuerySet",
    "InvitationStatus",
    "Membership",
    "MembershipQuerySet",
    "MembershipRole",
    "Organisation",
    "OrganisationKind",
    "OrganisationQuerySet",
    "OrganisationScopedQuerySet",
    "PhoneNumber",
    "Sector",
    "SamlAssertion",
    "SamlAssertionQuerySet",
    "SamlMembership",
    "TokenScope",
    "User",
    "UserManager",
    "VerificationStatus",
]
