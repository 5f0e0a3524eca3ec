"""Changes the benchmark makes to the data before it times "the first request after a change" of an endpoint.

Issue #17: nothing may be slow when cold. A cache that a page relies on must be rebuilt by the task its change
schedules, not by the first visitor. Each function here makes one realistic change through the portal's own
services, then runs in this process what a Celery worker would run for it (the harness starts no worker), so the
server's next request shows what a visitor meets right after a change. An endpoint names its change with
``after_change``.
"""


def directory_changed() -> str:
    """A listed member's entry is synced again (a profile or membership change), then the warm-up task runs."""
    from alliance.models import DirectoryEntry
    from alliance.services import directory
    from alliance.tasks import warm_directory_task

    entry = DirectoryEntry.objects.filter(is_listed=True).order_by("pk").first()
    DirectoryEntry.objects.filter(pk=entry.pk).update(summary=entry.summary + " ")
    directory.STATE.forget()  # an update sends no signal
    directory.sync_entry(entry.pk)  # back as it was, saved: a new state of the directory
    warm_directory_task()
    return f"directory entry {entry.pk} synced, warm-up task run"


def member_joined_an_organisation() -> str:
    """The member persona's memberships change (its chrome is forgotten): the next page renders it again."""
    from accounts.models import Membership, User
    from bench.data import PERSONAS

    member = User.objects.get(email=PERSONAS["member"].email)
    membership = Membership.objects.filter(user=member).order_by("pk").first()
    membership.save()  # the signal of a membership change
    return f"membership {membership.pk} saved"


def job_submitted() -> str:
    """A job of the member's organisation was submitted or cancelled through the portal: the scheduler's kept
    answer and every job list made from it are forgotten, and the warm-up task that schedules asks the scheduler
    again and makes the lists read lately anew (compute/jobs/queue.py)."""
    from accounts.models import Organisation, User
    from bench.data import PERSONAS
    from compute.jobs import queue
    from compute.models import Allocation
    from core.tasks import warm_kept_pages_task

    member = User.objects.get(email=PERSONAS["member"].email)
    allocation = (
        Allocation.objects.filter(
            organisation__in=Organisation.objects.for_user(member), account_name__isnull=False
        )
        .select_related("partition")
        .order_by("pk")
        .first()
    )
    queue.forget(allocation.partition.cluster, allocation.organisation_id)
    warmed = warm_kept_pages_task(queue.SHOWN.name)
    return (
        f"queue of {allocation.partition.cluster} for organisation {allocation.organisation_id} forgotten, "
        f"warm-up task run ({warmed} pages)"
    )


def allocation_changed() -> str:
    """An allocation is saved (a decision, a suspension, new usage): the kept allocation lists start anew, and
    the warm-up task their new generation schedules renders again the pages read lately (core/pagecache.py)."""
    from compute import kept
    from compute.models import Allocation
    from core.tasks import warm_kept_pages_task

    allocation = Allocation.objects.order_by("-pk").first()
    allocation.save()
    warmed = sum(warm_kept_pages_task(g.name) for g in (kept.ALLOCATIONS, kept.REVIEW))
    return f"allocation {allocation.pk} saved, warm-up task run ({warmed} pages)"


def request_submitted() -> str:
    """A quota request is saved (submitted, decided): the kept review queue and request lists start anew, and
    the warm-up task renders again the pages read lately."""
    from compute import kept
    from compute.models import QuotaRequest
    from core.tasks import warm_kept_pages_task

    quota_request = QuotaRequest.objects.order_by("-pk").first()
    quota_request.save()
    warmed = sum(warm_kept_pages_task(g.name) for g in (kept.REQUESTS, kept.REVIEW))
    return f"quota request {quota_request.pk} saved, warm-up task run ({warmed} pages)"


def transparency_refreshed() -> str:
    """Beat's refresh of the transparency page (every ten minutes): the figures are made anew and the page
    rendered for visitors by the task, so the next visitor meets neither the aggregates nor a cold body."""
    from portal.tasks import refresh_transparency_task

    rendered = refresh_transparency_task()
    return f"transparency figures made anew, page rendered in {rendered} languages"


def organisation_saved() -> str:
    """An organisation is saved (verified, renamed): the task its commit schedules counts the home page's figures
    anew (portal/home.py), run here as a worker would."""
    from accounts.models import Organisation
    from portal.tasks import refresh_home_stats_task

    organisation = Organisation.objects.order_by("pk").first()
    organisation.save()
    stats = refresh_home_stats_task()
    return f"organisation {organisation.pk} saved, home figures counted anew ({stats['organisations']:,})"


CHANGES = {
    "allocation": allocation_changed,
    "request": request_submitted,
    "directory": directory_changed,
    "membership": member_joined_an_organisation,
    "queue": job_submitted,
    "transparency": transparency_refreshed,
    "organisation": organisation_saved,
}
