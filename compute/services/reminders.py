"""Reminders before an allocation ends: 30, 7 and 1 days before, each once, with the way to extend it."""

from datetime import date, timedelta
from urllib.parse import urlencode

from django.conf import settings
from django.db import IntegrityError, transaction
from django.urls import reverse
from django.utils import timezone

from compute.models import Allocation, AllocationMember, AllocationStatus, EndReminder, RequestKind
from compute.services import allocations  # imported as a module: it imports compute.tasks, which imports this
from core import audit
from core.mail import send_templated_mail

# Days before the end; the most urgent that applies is the one due.
REMINDER_DAYS = (30, 7, 1)
# Allocations that still run (or will once resumed or raised) until their end.
LIVE = (AllocationStatus.ACTIVE, AllocationStatus.SUSPENDED, AllocationStatus.EXHAUSTED)


def due_reminder(allocation: Allocation, today: date) -> int | None:
    """Which reminder is due today, if any: the smallest of 30/7/1 that the days left have reached.

    A reminder whose day was missed (the task did not run) is still sent when it runs later, unless a later
    one is due by then: four days before the end only the 7-day reminder goes, not the 30-day one too. A
    reminder whose day falls before the start (a 20-day allocation has no 30-day reminder) is never due.
    """
    left = (allocation.end_date - today).days
    if left < 1 or allocation.start_date > today:
        return None
    due = [
        days
        for days in REMINDER_DAYS
        if left <= days and allocation.end_date - timedelta(days) >= allocation.start_date
    ]
    return min(due) if due else None


def send_end_reminders(*, today: date | None = None) -> int:
    """Send every reminder due today that was not sent for the allocation's current end date; return how many.

    Idempotent: one ``EndReminder`` row per (allocation, end date, days) — a second run sends nothing, and
    an extension (a new end date) gets its own reminders."""
    today = today or timezone.localdate()
    candidates = (
        Allocation.objects.filter(
            status__in=LIVE,
            start_date__lte=today,
            end_date__gt=today,
            end_date__lte=today + timedelta(days=max(REMINDER_DAYS)),
        )
        .select_related("organisation", "partition")
        .order_by("pk")
    )
    sent = 0
    for allocation in candidates:
        days = due_reminder(allocation, today)
        if days is not None and _send_once(allocation, days, today):
            sent += 1
    return sent


def _send_once(allocation: Allocation, days: int, today: date) -> bool:
    try:
        with transaction.atomic():
            EndReminder.objects.create(allocation=allocation, end_date=allocation.end_date, days_before=days)
            audit.record(
                "allocation.end_reminder",
                allocation,
                organisation=allocation.organisation,
                changes={"end_date": (None, str(allocation.end_date)), "days_before": (None, days)},
            )
    except IntegrityError:
        return False  # sent already (by this run's twin or an earlier one)
    send_templated_mail(
        "compute/email/end_reminder",
        to=[*allocations.manager_emails(allocation.organisation), *_cluster_user_emails(allocation)],
        context={
            "allocation": allocation,
            "days_left": (allocation.end_date - today).days,
            "url": settings.SITE_URL + allocation.get_absolute_url(),
            "extend_url": extension_url(allocation),
        },
    )
    return True


def _cluster_user_emails(allocation: Allocation) -> list[str]:
    return list(
        AllocationMember.objects.current()
        .filter(allocation=allocation, user__isnull=False, user__is_active=True)
        .values_list("user__email", flat=True)
    )


def extension_url(allocation: Allocation) -> str:
    """The request form, opened as an extension of this allocation."""
    query = urlencode({"kind": RequestKind.EXTENSION, "allocation": allocation.pk})
    return f"{settings.SITE_URL}{reverse('compute:request_create')}?{query}"
