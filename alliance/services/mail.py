"""Emails of the alliance: they go to the owners and administrators of the organisation concerned."""

from django.conf import settings

from accounts.models import Membership, MembershipRole
from core.mail import send_templated_mail


def managers_emails(organisation_id: int) -> list[str]:
    return list(
        Membership.objects.filter(
            organisation_id=organisation_id, role__in=MembershipRole.managing(), user__is_active=True
        ).values_list("user__email", flat=True)
    )


def notify_managers(organisation_id: int, template: str, *, path: str, **context) -> None:
    """Send ``alliance/email/<template>`` to the organisation's managers, linking to ``path`` on the site."""
    send_templated_mail(
        f"alliance/email/{template}",
        to=managers_emails(organisation_id),
        context={"url": settings.SITE_URL + path, **context},
    )
