"""The industry alliance: memberships of organisations, their directory profiles, solutions, needs and matches.

Django finds the models here; each lives in the module of its part of the domain."""

from alliance.models.directory import DirectoryEntry, DirectoryEntryQuerySet
from alliance.models.matching import (
    Interest,
    InterestQuerySet,
    Need,
    NeedKind,
    NeedQuerySet,
    NeedStatus,
    Solution,
    SolutionQuerySet,
    SolutionStatus,
)
from alliance.models.membership import (
    AllianceMembership,
    AllianceMembershipQuerySet,
    MembershipRenewal,
    MembershipStatus,
    RenewalStatus,
    Tier,
    grace_days,
    is_alliance_member,
    status_for_dates,
    term_end,
)
from alliance.models.profiles import (
    DEFAULT_VISIBILITY,
    PROFILE_FIELDS,
    AllianceProfile,
    CapabilityTag,
    ProfileRevision,
    ProfileRevisionQuerySet,
    RevisionStatus,
    Scenario,
    Visibility,
    default_visibility,
)

__all__ = [
    "DEFAULT_VISIBILITY",
    "PROFILE_FIELDS",
    "AllianceMembership",
    "AllianceMembershipQuerySet",
    "AllianceProfile",
    "CapabilityTag",
    "DirectoryEntry",
    "DirectoryEntryQuerySet",
    "Interest",
    "InterestQuerySet",
    "MembershipRenewal",
    "MembershipStatus",
    "Need",
    "NeedKind",
    "NeedQuerySet",
    "NeedStatus",
    "ProfileRevision",
    "ProfileRevisionQuerySet",
    "RenewalStatus",
    "RevisionStatus",
    "Scenario",
    "Solution",
    "SolutionQuerySet",
    "SolutionStatus",
    "Tier",
    "Visibility",
    "default_visibility",
    "grace_days",
    "is_alliance_member",
    "status_for_dates",
    "term_end",
]
