"""The public directory: one denormalised entry per member organisation, kept in sync by the services.

The list is one indexed query on ``DirectoryEntry``, the facet counts one GROUP BY each, so a page costs the
same number of queries with ten members or a hundred thousand. Keyword search matches the lower-cased
``search_document`` with LIKE: on PostgreSQL a GIN trigram index (pg_trgm, migration 0002) serves it, on
SQLite it scans. Only public values are ever copied into an entry, so search cannot reveal private fields.
"""

import hashlib
from dataclasses import dataclass, field
from datetime import timedelta

from django.conf import settings
from django.core.cache import cache
from django.db import transaction
from django.db.models import Count, Exists, OuterRef, Prefetch
from django.db.models.functions import ExtractYear
from django.utils import timezone, translation
from django.utils.translation import get_language

from accounts.models import Organisation, OrganisationKind, Sector
from alliance.models import (
    AllianceMembership,
    AllianceProfile,
    CapabilityTag,
    DirectoryEntry,
    MembershipStatus,
    Solution,
    SolutionStatus,
    Tier,
    Visibility,
    grace_days,
)
from core import outbox, pagecache

TIER_RANK = {Tier.COUNCIL: 0, Tier.MEMBER: 1, Tier.OBSERVER: 2}
MAX_QUERY_LENGTH = 100
MAX_TERMS = 5
SUMMARY_LENGTH = 280
SOLUTIONS_IN_DOCUMENT = 20
# Facet counts and statistics are cached per state of the directory (``STATE``) and today's date (listing follows
# the dates), so they are never stale; the time limit bounds how long an unused state lingers in the cache.
CACHE_SECONDS = 600
# The unfiltered facets and the statistics, which every visit of the directory page needs, are computed by a
# task (warm) when the directory changes and each night, not by the first visitor after a change: they are kept
# for a day, the time until the next nightly warm-up.
WARM_SECONDS = 26 * 3600
WARM_PENDING_KEY = "alliance:directory:warm-pending"
WARM_DELAY_SECONDS = 5


# The directory's state: a generation started anew by every save or deletion of an entry and every change of an
# entry's capabilities (followed in alliance/hooks.py), so a visit asks the cache, not the database, which state
# the directory is in. Code that writes entries without a signal (``QuerySet.update``, a bulk load) calls
# ``STATE.forget()``. Not listed for the minute's warm-up: ``warm`` below makes what the directory's pages need.
STATE = pagecache.Generation("alliance-directory", listed=False)


def generation() -> str:
    return STATE.current()


def cached_for_state(name: str, key_parts: str, compute, state: str | None = None, *, seconds=CACHE_SECONDS):
    digest = hashlib.sha256(key_parts.encode()).hexdigest()[:24]
    key = f"alliance:directory:{name}:{state or generation()}:{timezone.localdate().isoformat()}:{digest}"
    value = cache.get(key)
    if value is None:
        value = compute()
        cache.set(key, value, seconds)
    return value


def page_key(state: str, query_string: str, signed_in: bool) -> str:
    """What the directory page's cached body depends on: the state, the day, the language, the whole query
    (pagination links repeat it) and whether the visitor is signed in (the page's buttons)."""
    digest = hashlib.sha256(query_string.encode()).hexdigest()[:24]
    return f"{state}:{timezone.localdate().isoformat()}:{get_language()}:{int(signed_in)}:{digest}"


def warm(state: str | None = None) -> str:
    """Compute what every directory visit needs (the unfiltered facets and the statistics, in each language) for
    the directory as it is now, so no visitor waits for it. Returns the state warmed."""
    state = state or generation()
    for language, _name in settings.LANGUAGES:
        with translation.override(language):
            statistics(state)  # computes and keeps the unfiltered facets too
    return state


def schedule_warm() -> None:
    """After a change of the directory is committed: warm it a few seconds later, once for a burst of changes."""
    from alliance.tasks import warm_directory_task  # tasks import this module

    transaction.on_commit(
        lambda: outbox.send_best_effort(
            warm_directory_task,
            countdown=WARM_DELAY_SECONDS,
            once_key=WARM_PENDING_KEY,
            once_seconds=WARM_DELAY_SECONDS * 12,
        )
    )


# --- keeping entries in sync -------------------------------------------------------------------------


def _search_document(organisation, profile, capabilities, solutions) -> str:
    parts = [organisation.name_zh, organisation.name_en, organisation.city]
    if profile is not None and profile.level("description") == Visibility.PUBLIC:
        parts.append(profile.description)
    for tag in capabilities:
        parts += [tag.name_zh, tag.name_en, tag.slug]
    for title, description in solutions:
        parts += [title, description]
    return " ".join(p for p in parts if p).lower()


def sync_entry(organisation_id: int) -> DirectoryEntry | None:
    """Bring the organisation's directory entry up to date with its membership and published profile.

    An organisation that never became a member has no entry; one that stops being a member keeps its row,
    unlisted, so it comes back with its history when it renews.
    """
    organisation = Organisation.objects.filter(pk=organisation_id).first()
    if organisation is None:
        return None
    memberships = AllianceMembership.objects.filter(organisation_id=organisation_id, start_date__isnull=False)
    latest = memberships.exclude(status=MembershipStatus.WITHDRAWN).order_by("-id").first()
    latest = latest or memberships.order_by("-id").first()
    entry = DirectoryEntry.objects.filter(pk=organisation_id).first()
    if latest is None:
        if entry is not None and entry.is_listed:
            entry.is_listed = False
            entry.save(update_fields=["is_listed", "updated_at"])
            schedule_warm()
        return entry
    profile = (
        AllianceProfile.objects.filter(organisation_id=organisation_id)
        .prefetch_related("capabilities")
        .first()
    )
    public_capabilities = []
    if profile is not None and profile.level("capabilities") == Visibility.PUBLIC:
        public_capabilities = list(profile.capabilities.all())
    solutions = list(
        Solution.objects.filter(organisation_id=organisation_id, status=SolutionStatus.PUBLISHED)
        .order_by("-id")
        .values_list("title", "description")[:SOLUTIONS_IN_DOCUMENT]
    )
    description = profile.description if profile and profile.level("description") == Visibility.PUBLIC else ""
    logo = (
        profile.logo.name if profile and profile.logo and profile.level("logo") == Visibility.PUBLIC else ""
    )
    first_start = memberships.exclude(status=MembershipStatus.REJECTED).order_by("start_date").first()
    values = {
        "name_zh": organisation.name_zh,
        "name_en": organisation.name_en,
        "kind": organisation.kind,
        "sector": organisation.sector,
        "city": organisation.city,
        "tier": latest.tier,
        "tier_rank": TIER_RANK.get(latest.tier, 9),
        "member_since": first_start.start_date if first_start else latest.start_date,
        "member_from": latest.start_date,
        "listed_until": latest.end_date + timedelta(days=grace_days()),
        "is_listed": latest.status in MembershipStatus.current() and organisation.is_verified,
        "summary": " ".join(description.split())[:SUMMARY_LENGTH],
        "logo": logo,
        "search_document": _search_document(organisation, profile, public_capabilities, solutions),
    }
    entry, _created = DirectoryEntry.objects.update_or_create(organisation=organisation, defaults=values)
    entry.capabilities.set(public_capabilities)
    schedule_warm()
    return entry


def resync_changed_entries() -> int:
    """Entries whose organisation changed since (a rename or a type change in accounts): sync them again."""
    stale = DirectoryEntry.objects.filter(
        Exists(
            Organisation.objects.filter(pk=OuterRef("organisation"), updated_at__gt=OuterRef("updated_at"))
        )
    ).values_list("organisation_id", flat=True)
    ids = list(stale[:5000])
    for organisation_id in ids:
        sync_entry(organisation_id)
    return len(ids)


# --- reading the directory ---------------------------------------------------------------------------


FACETS = ("kind", "tier", "sector", "city")


@dataclass
class DirectoryQuery:
    q: str = ""
    kind: str = ""
    tier: str = ""
    sector: str = ""
    city: str = ""
    capabilities: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)

    @classmethod
    def from_params(cls, params) -> "DirectoryQuery":
        """Parse filters from a query dict; unknown values are dropped (and named in ``errors``), never a 500."""
        query = cls()
        query.q = " ".join(str(params.get("q", "")).split())[:MAX_QUERY_LENGTH]
        for name, allowed in (
            ("kind", OrganisationKind.values),
            ("tier", Tier.values),
            ("sector", Sector.values),
        ):
            value = str(params.get(name, "") or "")
            if value and value not in allowed:
                query.errors.append(name)
                value = ""
            setattr(query, name, value)
        query.city = str(params.get("city", "") or "").strip()[:100]
        raw = params.getlist("capability") if hasattr(params, "getlist") else params.get("capability") or []
        if isinstance(raw, str):
            raw = [raw]
        query.capabilities = sorted({str(v)[:50] for v in raw if v})[:10]
        return query

    @property
    def terms(self) -> list[str]:
        return [t.lower() for t in self.q.split()][:MAX_TERMS]

    def cache_key(self) -> str:
        return repr((self.terms, self.kind, self.tier, self.sector, self.city, self.capabilities))

    @property
    def is_filtered(self) -> bool:
        return bool(self.q or self.kind or self.tier or self.sector or self.city or self.capabilities)

    def apply(self, queryset, *, skip: str = ""):
        for term in self.terms:
            queryset = queryset.filter(search_document__contains=term)
        for name in FACETS:
            value = getattr(self, name)
            if value and name != skip:
                queryset = queryset.filter(**{name: value})
        if skip != "capability":
            for slug in self.capabilities:
                queryset = queryset.filter(
                    Exists(
                        DirectoryEntry.capabilities.through.objects.filter(
                            directoryentry_id=OuterRef("pk"), capabilitytag__slug=slug
                        )
                    )
                )
        return queryset


def entries(query: DirectoryQuery):
    """Listed entries matching the query, in directory order (council members first, then by name)."""
    return (
        query.apply(DirectoryEntry.objects.listed())
        .prefetch_related(Prefetch("capabilities", queryset=CapabilityTag.objects.order_by("slug")))
        .order_by("tier_rank", "name_zh", "pk")
    )


@dataclass
class FacetValue:
    value: str
    label: str
    count: int
    selected: bool


def _labelled(rows, labels: dict, selected) -> list[FacetValue]:
    selected = set(selected if isinstance(selected, list) else [selected] if selected else [])
    return [
        FacetValue(value, str(labels.get(value, value)), count, value in selected)
        for value, count in sorted(rows, key=lambda r: (-r[1], str(labels.get(r[0], r[0]))))
        if value
    ]


def facets(
    query: DirectoryQuery, *, max_cities: int = 30, state: str | None = None
) -> dict[str, list[FacetValue]]:
    """Counts per value of each facet, given the other facets' filters (one GROUP BY per facet), cached until
    the directory changes."""
    key = f"{query.cache_key()} {max_cities} {get_language()}"
    seconds = CACHE_SECONDS if query.is_filtered else WARM_SECONDS
    return cached_for_state(
        "facets", key, lambda: _facets(query, max_cities=max_cities), state, seconds=seconds
    )


def _facets(query: DirectoryQuery, *, max_cities: int) -> dict[str, list[FacetValue]]:
    listed = DirectoryEntry.objects.listed()
    result = {}
    labels = {
        "kind": dict(OrganisationKind.choices),
        "tier": dict(Tier.choices),
        "sector": dict(Sector.choices),
        "city": {},
    }
    for name in FACETS:
        rows = (
            query.apply(listed, skip=name).order_by().values_list(name).annotate(n=Count("pk")).order_by("-n")
        )
        if name == "city":
            rows = rows[:max_cities]
        result[name] = _labelled(list(rows), labels[name], getattr(query, name))
    through = DirectoryEntry.capabilities.through
    counts = list(
        through.objects.filter(directoryentry__in=query.apply(listed, skip="capability").values("pk"))
        .order_by()
        .values_list("capabilitytag_id")
        .annotate(n=Count("pk"))
    )
    tags = {t.pk: t for t in CapabilityTag.objects.filter(pk__in=[pk for pk, _n in counts])}
    result["capability"] = _labelled(
        sorted(((tags[pk].slug, n) for pk, n in counts if pk in tags), key=lambda r: -r[1])[:40],
        {t.slug: t.display_name for t in tags.values()},
        query.capabilities,
    )
    return result


def statistics(state: str | None = None) -> dict:
    """Members by type, by sector and joins per year, for the directory page (three GROUP BYs, cached until the
    directory changes)."""
    state = state or generation()
    return cached_for_state(
        "statistics", get_language() or "", lambda: _statistics(state), state, seconds=WARM_SECONDS
    )


def _statistics(state: str) -> dict:
    # Members by type and sector are the unfiltered facet counts (cached too).
    unfiltered = facets(DirectoryQuery(), state=state)
    by_kind = [(f.label, f.count) for f in unfiltered["kind"]]
    by_sector = [(f.label, f.count) for f in unfiltered["sector"]]
    joins = (
        DirectoryEntry.objects.filter(is_listed=True)
        .order_by()
        .annotate(year=ExtractYear("member_since"))
        .values_list("year")
        .annotate(n=Count("pk"))
        .order_by("year")
    )
    return {
        "by_kind": sorted(by_kind, key=lambda r: -r[1]),
        "by_sector": sorted(by_sector, key=lambda r: -r[1]),
        "joins_per_year": [(str(y), n) for y, n in joins],
        "total": sum(n for _k, n in by_kind),
    }


def bar_chart(rows: list[tuple[str, int]], *, width: int = 320, bar: int = 18, gap: int = 6) -> dict:
    """Rows of an inline SVG horizontal bar chart (label, count, bar width, y)."""
    top = max((n for _l, n in rows), default=0) or 1
    label_width = 120
    span = width - label_width - 40
    return {
        "width": width,
        "height": max(len(rows), 1) * (bar + gap),
        "label_width": label_width,
        "rows": [
            {
                "label": label,
                "count": n,
                "y": i * (bar + gap),
                "w": max(int(span * n / top), 2),
                "text_x": label_width + max(int(span * n / top), 2) + 4,
                "bar": bar,
            }
            for i, (label, n) in enumerate(rows)
        ],
    }


def refresh_organisation(sender, *, organisation, **kwargs) -> None:
    """Receiver of ``core.signals.organisation_changed``: a listed member's copy follows its organisation."""
    if DirectoryEntry.objects.filter(pk=organisation.pk).exists():
        sync_entry(organisation.pk)
