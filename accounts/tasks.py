from celery import shared_task

from accounts import services


@shared_task(acks_late=True)
def expire_invitations_task() -> int:
    return services.expire_overdue_invitations()
