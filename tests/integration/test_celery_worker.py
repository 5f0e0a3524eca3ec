"""Tasks go through a real broker (Redis) to a real Celery worker process, and their effects are checked."""

from datetime import timedelta

import pytest
from django.utils import timezone

from accounts import services
from accounts.models import Invitation, InvitationStatus
from accounts.tasks import expire_invitations_task
from tests.accounts.factories import UserFactory, make_organisation
from tests.integration.conftest import wait_for

pytestmark = pytest.mark.integration


def test_invitation_mail_is_delivered_by_the_worker(celery_worker_process):
    owner = UserFactory()
    organisation = make_organisation(owner, name_zh="工人测试公司")
    # The service commits, then the mail task is sent to Redis; the worker renders nothing, it delivers.
    invitation = services.invite_member(organisation, by=owner, email="colleague@example.cn", role="member")
    mail_dir = celery_worker_process["mail_dir"]
    files = wait_for(lambda: list(mail_dir.iterdir()))
    assert files, "no mail delivered:\n" + celery_worker_process["log"].read_text()[-3000:]
    text = files[0].read_text()
    assert "To: colleague@example.cn" in text
    assert f"http://testserver/invitations/{invitation.token}/" in text


def test_beat_task_runs_on_the_worker_and_changes_the_database(celery_worker_process):
    owner = UserFactory()
    organisation = make_organisation(owner)
    invitation = services.invite_member(organisation, by=owner, email="late@example.cn", role="member")
    Invitation.objects.filter(pk=invitation.pk).update(expires_at=timezone.now() - timedelta(days=1))
    expire_invitations_task.delay()

    def expired():
        invitation.refresh_from_db()
        return invitation.status == InvitationStatus.EXPIRED

    assert wait_for(expired), celery_worker_process["log"].read_text()[-3000:]
