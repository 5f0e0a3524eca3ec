from datetime import timedelta

import pytest
from django.utils import timezone

from alliance.models import AllianceMembership, MembershipStatus, Tier
from alliance.services import membership as membership_services
from alliance.tasks import recheck_memberships_task
from core.exceptions import Conflict, DomainError, InvalidTransition, NotAllowed
from core.models import AuditEvent
from tests.accounts.factories import UserFactory, make_organisation, make_verified_organisation
from tests.alliance.factories import apply_for, make_alliance_member

pytestmark = pytest.mark.django_db


def test_make_alliance_member_gives_a_current_membership(operator):
    org = make_verified_organisation(UserFactory())
    membership = make_alliance_member(org, operator=operator, tier=Tier.COUNCIL)
    assert membership.status == MembershipStatus.ACTIVE
    assert membership.tier == Tier.COUNCIL
    assert list(AllianceMembership.objects.current().values_list("organisation_id", flat=True)) == [org.pk]


def test_apply_needs_verified_organisation_and_manager(operator):
    owner = UserFactory()
    org = make_organisation(owner)
    with pytest.raises(NotAllowed):
        membership_services.apply_for_membership(org, by=owner, tier=Tier.MEMBER, statement="Hello")
    verified = make_verified_organisation(owner)
    with pytest.raises(NotAllowed):
        membership_services.apply_for_membership(
            verified, by=UserFactory(), tier=Tier.MEMBER, statement="Hello"
        )
    with pytest.raises(DomainError):
        membership_services.apply_for_membership(verified, by=owner, tier="gold", statement="Hello")
    with pytest.raises(DomainError):
        membership_services.apply_for_membership(verified, by=owner, tier=Tier.MEMBER, statement="  ")
    assert not AllianceMembership.objects.exists()
    apply_for(verified, by=owner)
    with pytest.raises(Conflict):
        apply_for(verified, by=owner)


def test_pending_and_rejected_are_not_current(operator):
    org = make_verified_organisation(UserFactory())
    membership = apply_for(org)
    assert not AllianceMembership.objects.current().exists()
    with pytest.raises(InvalidTransition):
        membership_services.reject_membership(membership, by=operator, reason=" ")
    membership_services.reject_membership(membership, by=operator, reason="Not an AI organisation")
    assert not AllianceMembership.objects.current().exists()
    assert AuditEvent.objects.filter(action="alliance_membership.reject").count() == 1


def test_status_is_computed_from_dates_before_the_recheck(operator, settings):
    settings.ALLIANCE_GRACE_DAYS = 30
    today = timezone.localdate()
    org = make_verified_organisation(UserFactory())
    membership = make_alliance_member(org, operator=operator)
    # The term ended 10 days ago: in grace by the dates, though the stored column still says active.
    AllianceMembership.objects.filter(pk=membership.pk).update(
        start_date=today - timedelta(days=375), end_date=today - timedelta(days=10)
    )
    membership.refresh_from_db()
    assert membership.status == MembershipStatus.ACTIVE
    assert membership.computed_status() == MembershipStatus.GRACE
    assert AllianceMembership.objects.current().filter(pk=membership.pk).exists()
    # 31 days after the end: expired by the dates, even before the task runs.
    AllianceMembership.objects.filter(pk=membership.pk).update(end_date=today - timedelta(days=31))
    assert not AllianceMembership.objects.current().exists()
    assert membership.status == MembershipStatus.ACTIVE


def test_daily_recheck_moves_status_and_audits_once(
    operator, settings, mailoutbox, django_capture_on_commit_callbacks
):

    settings.ALLIANCE_GRACE_DAYS = 30
    today = timezone.localdate()
    grace = make_alliance_member(make_verified_organisation(UserFactory()), operator=operator)
    expired = make_alliance_member(make_verified_organisation(UserFactory()), operator=operator)
    fine = make_alliance_member(make_verified_organisation(UserFactory()), operator=operator)
    AllianceMembership.objects.filter(pk=grace.pk).update(
        start_date=today - timedelta(days=366), end_date=today - timedelta(days=1)
    )
    AllianceMembership.objects.filter(pk=expired.pk).update(
        start_date=today - timedelta(days=500), end_date=today - timedelta(days=31)
    )
    mailoutbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        result = recheck_memberships_task.delay().get()
    assert result["changed"] == 2
    statuses = dict(AllianceMembership.objects.values_list("pk", "status"))
    assert statuses == {
        grace.pk: MembershipStatus.GRACE,
        expired.pk: MembershipStatus.EXPIRED,
        fine.pk: MembershipStatus.ACTIVE,
    }
    assert AuditEvent.objects.filter(action="alliance_membership.grace", target_id=str(grace.pk)).count() == 1
    assert (
        AuditEvent.objects.filter(action="alliance_membership.expired", target_id=str(expired.pk)).count()
        == 1
    )
    assert len(mailoutbox) == 2
    # Running it again changes nothing.
    assert membership_services.recheck_memberships()["changed"] == 0
    # Grace → active again after a renewal.
    assert AllianceMembership.objects.current().count() == 2


def test_renewal_reminder_once_per_term(operator, settings, mailoutbox, django_capture_on_commit_callbacks):
    settings.ALLIANCE_RENEWAL_REMINDER_DAYS = 30
    today = timezone.localdate()
    org = make_verified_organisation(UserFactory())
    membership = make_alliance_member(org, operator=operator)
    assert membership_services.recheck_memberships()["reminded"] == 0
    AllianceMembership.objects.filter(pk=membership.pk).update(end_date=today + timedelta(days=20))
    mailoutbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        assert membership_services.recheck_memberships()["reminded"] == 1
        assert membership_services.recheck_memberships()["reminded"] == 0
    assert len(mailoutbox) == 1
    assert "20" in mailoutbox[0].body
    # After a renewal, the next term is reminded again.
    owner = org.memberships.get().user
    renewal = membership_services.request_renewal(membership, by=owner, note="Another year")
    membership_services.approve_renewal(renewal, by=operator)
    membership.refresh_from_db()
    assert membership.end_date > today + timedelta(days=360)
    AllianceMembership.objects.filter(pk=membership.pk).update(end_date=today + timedelta(days=5))
    assert membership_services.recheck_memberships()["reminded"] == 1


def test_suspend_reinstate_withdraw(operator):
    org = make_verified_organisation(UserFactory())
    membership = make_alliance_member(org, operator=operator)
    with pytest.raises(NotAllowed):
        membership_services.suspend_membership(membership, by=org.memberships.get().user, reason="x")
    membership_services.suspend_membership(membership, by=operator, reason="Unpaid fee")
    assert not AllianceMembership.objects.current().exists()
    membership_services.reinstate_membership(membership, by=operator)
    assert AllianceMembership.objects.current().exists()
    membership_services.withdraw_membership(membership, by=org.memberships.get().user)
    assert not AllianceMembership.objects.current().exists()
    actions = set(AuditEvent.objects.filter(target_id=str(membership.pk)).values_list("action", flat=True))
    assert {
        "alliance_membership.suspend",
        "alliance_membership.reinstate",
        "alliance_membership.withdraw",
    } <= actions
