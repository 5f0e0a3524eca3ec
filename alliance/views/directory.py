"""The public directory and members' profiles."""

from django.db.models import Prefetch
from django.http import Http404
from django.shortcuts import get_object_or_404, render
from django.utils import timezone
from django.utils.functional import SimpleLazyObject
from django.utils.translation import get_language
from django.utils.translation import gettext as _

from accounts.access import manages
from alliance.models import AllianceProfile, CapabilityTag, DirectoryEntry, Solution, SolutionStatus
from alliance.services import directory, profiles
from core import pagecache
from core.pagination import paginate

DIRECTORY_PAGE_SIZE = 24


def index(request):
    """The public directory: facets with counts, keyword search, statistics and the member list.

    The page's body is the same for everyone in one state of the directory, language and query (signed in or
    not): the template keeps it in the cache (``{% cache %}`` with ``body_key``) and the context is lazy, so a
    visit of a known page asks the database only for the directory's state."""
    query = directory.DirectoryQuery.from_params(request.GET)
    state = directory.generation()
    stats = SimpleLazyObject(lambda: directory.statistics(state))
    return render(
        request,
        "alliance/directory.html",
        {
            "query": query,
            "page": SimpleLazyObject(
                lambda: paginate(request, directory.entries(query), per_page=DIRECTORY_PAGE_SIZE)
            ),
            "facets": SimpleLazyObject(lambda: directory.facets(query, state=state)),
            "stats": stats,
            "charts": SimpleLazyObject(lambda: _charts(stats)),
            "params": request.GET,
            "body_key": directory.page_key(state, request.GET.urlencode(), request.user.is_authenticated),
            "body_seconds": directory.CACHE_SECONDS,
        },
    )


def _charts(stats) -> list:
    return [
        (_("Members by type"), directory.bar_chart(stats["by_kind"])),
        (_("Members by sector"), directory.bar_chart(stats["by_sector"][:8])),
        (_("Joins per year"), directory.bar_chart(stats["joins_per_year"][-8:])),
    ]


# A visitor's view of a member's profile is kept per generation (a save of an entry, profile, solution,
# capability tag or organisation starts a new one: followed in alliance/hooks.py), the entry's last sync (bulk
# changes go through sync_entry), day and language; so is the listed entry a visitor's page is made for, within
# the minute (pagecache.kept_lookup): a profile seen before asks the database nothing.
PROFILES = pagecache.Generation("alliance-profiles")


def _listed_entry(organisation_id):
    entry = get_object_or_404(DirectoryEntry.objects, pk=organisation_id)
    if not entry.is_listed:
        raise Http404
    return entry


def member_profile(request, organisation_id):
    """A member's public profile: what the viewer may see of it, with its published solutions."""
    visitor = not request.user.is_authenticated
    audience = profiles.audience(request.user, organisation_id)
    if visitor:
        # The body is kept: the organisation (a wide row the body alone shows) is read only to render it.
        entry = pagecache.kept_lookup(
            request, f"alliance-entry:{organisation_id}", PROFILES, lambda: _listed_entry(organisation_id)
        )
    else:
        entry = get_object_or_404(DirectoryEntry.objects.select_related("organisation"), pk=organisation_id)
        if not entry.is_listed and audience != "own":
            raise Http404

    def profile():
        return (
            AllianceProfile.objects.filter(organisation_id=organisation_id)
            .prefetch_related(Prefetch("capabilities", queryset=CapabilityTag.objects.order_by("slug")))
            .first()
        )

    return render(
        request,
        "alliance/member_profile.html",
        {
            "entry": entry,
            "shown": SimpleLazyObject(lambda: profiles.visible_profile(profile(), audience)),
            "audience": audience,
            "solutions": SimpleLazyObject(
                lambda: list(
                    Solution.objects.filter(organisation_id=organisation_id, status=SolutionStatus.PUBLISHED)
                    .prefetch_related("capabilities")
                    .order_by("-id")[:20]
                )
            ),
            "can_edit": not visitor and manages(request.user, organisation_id),
            "body_key": (
                f"{PROFILES.current()}:{entry.updated_at.isoformat()}:{timezone.localdate()}:{get_language()}:"
                f"{organisation_id}"
                if visitor
                else None
            ),
            "body_seconds": directory.CACHE_SECONDS,
        },
    )
