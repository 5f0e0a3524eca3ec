"""Who may enrol in a cohort, and how: the audience rules, the enrolment window and the seats left."""

from dataclasses import dataclass, field

from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.models import Membership, OrganisationKind, User, VerificationStatus
from alliance.models import AllianceMembership
from core.roles import SiteRole, has_site_role, sees_all_organisations
from talent.models import Access, Audience, Cohort, CohortStatus, Enrolment


@dataclass
class LearnerFacts:
    """What the audience rules need to know about a person, read once per request."""

    user: User | None
    is_student: bool = False
    is_member_employee: bool = False
    is_staff: bool = False
    is_instructor: bool = False
    member_organisation_ids: frozenset = field(default_factory=frozenset)

    @property
    def signed_in(self) -> bool:
        return self.user is not None


def current_alliance_organisation_ids(organisation_ids) -> set[int]:
    """Which of these organisations are current alliance members (active or in their grace period)."""
    return set(
        AllianceMembership.objects.current()
        .filter(organisation_id__in=list(organisation_ids))
        .values_list("organisation_id", flat=True)
    )


def learner_facts(user) -> LearnerFacts:
    if not getattr(user, "is_authenticated", False):
        return LearnerFacts(user=None)
    memberships = list(
        Membership.objects.filter(user=user).values_list(
            "organisation_id", "organisation__kind", "organisation__verification_status"
        )
    )
    organisation_ids = frozenset(m[0] for m in memberships)
    is_student = any(
        kind == OrganisationKind.UNIVERSITY and status == VerificationStatus.VERIFIED
        for _pk, kind, status in memberships
    )
    is_member_employee = bool(organisation_ids) and bool(current_alliance_organisation_ids(organisation_ids))
    return LearnerFacts(
        user=user,
        is_student=is_student,
        is_member_employee=is_member_employee,
        is_staff=sees_all_organisations(user),
        is_instructor=has_site_role(user, SiteRole.INSTRUCTOR),
        member_organisation_ids=organisation_ids,
    )


@dataclass(frozen=True)
class Verdict:
    """What the person may do on a cohort: ``action`` is enrol, request, waitlist or "" (with ``reason``)."""

    action: str
    reason: str = ""
    needs_code: bool = False

    @property
    def allowed(self) -> bool:
        return bool(self.action)


def audience_refusal(cohort: Cohort, facts: LearnerFacts) -> str:
    """Why the person is outside the cohort's audience ("" when they are inside it)."""
    if cohort.audience == Audience.STUDENTS and not facts.is_student:
        return _(
            "This cohort is for students only: members of a verified university on this portal. "
            "Join your university's organisation here (ask its administrator to invite you)."
        )
    if cohort.audience == Audience.MEMBER_EMPLOYEES and not facts.is_member_employee:
        return _(
            "This cohort is for employees of current alliance members. Your organisation must be a member of "
            "the industry alliance, and you a member of your organisation on this portal."
        )
    if cohort.audience == Audience.ALLOWLIST and not cohort.allowlisted(facts.user.email):
        return _("This cohort is by invitation: your email address is not on its list.")
    return ""


def eligibility(
    cohort: Cohort,
    facts: LearnerFacts,
    *,
    current: Enrolment | None = None,
    seats_left: int | None = None,
    now=None,
) -> Verdict:
    """Whether and how ``facts.user`` may enrol in ``cohort``; the reason is shown where "Enrol" would be."""
    if not facts.signed_in:
        return Verdict("", _("Sign in or create an account to enrol."))
    if current is not None and current.is_active:
        return Verdict(
            "",
            _("You are already in this cohort (%(status)s).") % {"status": current.get_status_display()},
        )
    if cohort.status != CohortStatus.PUBLISHED:
        return Verdict("", _("This cohort does not take enrolments."))
    if facts.is_staff:
        return Verdict("", _("Staff of the center do not take seats in cohorts."))
    if teaches(cohort, facts.user):
        return Verdict("", _("You teach this cohort; instructors do not take a seat."))
    window = cohort.window_state(now)
    if window == "not_yet":
        return Verdict(
            "",
            _("Enrolment opens on %(when)s.")
            % {"when": timezone.localtime(cohort.enrolment_opens_at).strftime("%Y-%m-%d %H:%M")},
        )
    if window == "closed":
        return Verdict("", _("Enrolment for this cohort has closed."))
    refusal = audience_refusal(cohort, facts)
    if refusal:
        return Verdict("", refusal)
    needs_code = cohort.access == Access.CODE
    if cohort.access == Access.APPROVAL:
        return Verdict("request", needs_code=False)
    if seats_left is None:
        seats_left = seats_left_in(cohort)
    if seats_left <= 0:
        return Verdict("waitlist", _("The cohort is full: you can join the waitlist."), needs_code=needs_code)
    return Verdict("enrol", needs_code=needs_code)


def teaches(cohort: Cohort, user) -> bool:
    """Whether the person is one of the cohort's instructors (uses prefetched instructors when present)."""
    prefetched = getattr(cohort, "_prefetched_objects_cache", {}).get("instructors")
    if prefetched is not None:
        return any(u.pk == user.pk for u in prefetched)
    return cohort.instructors.filter(pk=user.pk).exists()


def seats_left_in(cohort: Cohort) -> int:
    """General seats left (capacity minus organisation pools minus general seats held)."""
    return Cohort.objects.with_seats().values_list("seats_left", flat=True).get(pk=cohort.pk)
