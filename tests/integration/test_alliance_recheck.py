"""The daily membership recheck through a real Celery worker on Redis: statuses follow the dates, the directory
follows the statuses, and the renewal reminder is mailed once."""

from datetime import timedelta

import pytest
from django.utils import timezone

from alliance.models import AllianceMembership, DirectoryEntry, MembershipStatus
from alliance.tasks import recheck_memberships_task
from tests.accounts.factories import UserFactory, make_verified_organisation
from tests.alliance.factories import make_alliance_member, manager_of
from tests.integration.conftest import wait_for

pytestmark = pytest.mark.integration


def test_recheck_on_the_worker(celery_worker_process, settings):
    today = timezone.localdate()
    lapsed = make_alliance_member(make_verified_organisation(UserFactory()))
    ending = make_alliance_member(make_verified_organisation(UserFactory()))
    AllianceMembership.objects.filter(pk=lapsed.pk).update(
        start_date=today - timedelta(days=500),
        end_date=today - timedelta(days=settings.ALLIANCE_GRACE_DAYS + 5),
    )
    AllianceMembership.objects.filter(pk=ending.pk).update(end_date=today + timedelta(days=3))
    recheck_memberships_task.delay()

    def rechecked():
        return AllianceMembership.objects.get(pk=lapsed.pk).status == MembershipStatus.EXPIRED

    assert wait_for(rechecked), celery_worker_process["log"].read_text()[-3000:]
    assert not DirectoryEntry.objects.get(pk=lapsed.organisation_id).is_listed
    assert DirectoryEntry.objects.get(pk=ending.organisation_id).is_listed

    # Wait for the reminder itself: the approval mail of the set-up also goes to this manager and may be the
    # first file in the mail folder, before the recheck has reached this membership.
    def reminded_once():
        return AllianceMembership.objects.get(pk=ending.pk).reminder_sent_for == today + timedelta(days=3)

    assert wait_for(reminded_once), celery_worker_process["log"].read_text()[-3000:]
    mail_dir = celery_worker_process["mail_dir"]
    reminded = manager_of(ending.organisation).email
    assert wait_for(lambda: any(reminded in f.read_text() for f in mail_dir.iterdir())), (
        celery_worker_process["log"].read_text()[-3000:]
    )
