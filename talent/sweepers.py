"""Stuck training work for the kernel's sweeper: free seats nobody was offered.

A freed seat is offered to the waitlist in the transaction that frees it; a seat freed another way (more
capacity, a seat pool given back through the back office) or an offer run that failed leaves people waiting
beside an empty seat. The sweeper offers those seats again.
"""

from datetime import datetime

from django.db.models import Exists, OuterRef, Subquery
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from core import sweepers
from core.sweepers import StuckItem
from talent.models import Cohort, CohortStatus, Enrolment, EnrolmentStatus
from talent.services.common import lock_cohort
from talent.services.enrolment import fill_free_seats


def unoffered_seats(now: datetime) -> list[StuckItem]:
    # Only cohorts with someone waiting for a general seat since before the threshold get their seats counted
    # (an indexed EXISTS first): counting seats and waiting times of every published cohort took 20 ms.
    waiting = Enrolment.objects.filter(
        cohort=OuterRef("pk"), status=EnrolmentStatus.WAITLISTED, seat_pool__isnull=True
    )
    cohorts = (
        Cohort.objects.filter(status=CohortStatus.PUBLISHED, ends_on__gte=timezone.localdate())
        .filter(Exists(waiting.filter(waitlisted_at__lte=sweepers.stuck_before(now))))
        .with_seats()
        .filter(seats_left__gt=0)
        .annotate(waiting_since=Subquery(waiting.order_by("waitlisted_at").values("waitlisted_at")[:1]))
        .select_related("course")
        .order_by("waiting_since")[: sweepers.LIMIT]
    )
    return [
        StuckItem(
            _("Free seat not offered to the waitlist"), cohort, now - cohort.waiting_since, _offer(cohort)
        )
        for cohort in cohorts
    ]


def _offer(cohort: Cohort):
    return lambda: fill_free_seats(lock_cohort(cohort))
