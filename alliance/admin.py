from django.contrib import admin

from alliance.models import (
    AllianceMembership,
    AllianceProfile,
    CapabilityTag,
    DirectoryEntry,
    Interest,
    MembershipRenewal,
    Need,
    ProfileRevision,
    Solution,
)
from core import audit
from core.admin import PortalModelAdmin, ReadOnlyModelAdmin


@admin.register(CapabilityTag)
class CapabilityTagAdmin(PortalModelAdmin):
    """Operators keep the capability taxonomy here (it holds no workflow state)."""

    list_display = ["slug", "name_zh", "name_en", "is_active"]
    list_filter = ["is_active"]
    search_fields = ["slug", "name_zh", "name_en"]

    def save_model(self, request, obj, form, change):
        before = {}
        if change:
            old = CapabilityTag.objects.get(pk=obj.pk)
            before = {name: str(getattr(old, name)) for name in form.changed_data}
        super().save_model(request, obj, form, change)
        audit.record(
            "capability.update" if change else "capability.create",
            obj,
            actor=request.user,
            changes={name: (before.get(name), str(getattr(obj, name))) for name in form.changed_data},
        )


@admin.register(AllianceMembership)
class AllianceMembershipAdmin(ReadOnlyModelAdmin):
    """Decisions are made on the alliance pages (one service for page, API and admin)."""

    list_display = ["id", "organisation", "tier", "status", "start_date", "end_date", "applied_at"]
    list_filter = ["status", "tier"]
    search_fields = ["organisation__name_zh", "organisation__name_en"]
    list_select_related = ["organisation"]


@admin.register(MembershipRenewal)
class MembershipRenewalAdmin(ReadOnlyModelAdmin):
    list_display = ["id", "membership", "status", "requested_at", "new_end_date"]
    list_filter = ["status"]
    search_fields = ["membership__organisation__name_zh"]
    list_select_related = ["membership__organisation"]


@admin.register(AllianceProfile)
class AllianceProfileAdmin(ReadOnlyModelAdmin):
    list_display = ["organisation", "website", "updated_at"]
    list_filter = ["updated_at"]
    search_fields = ["organisation__name_zh", "organisation__name_en"]
    list_select_related = ["organisation"]


@admin.register(ProfileRevision)
class ProfileRevisionAdmin(ReadOnlyModelAdmin):
    list_display = ["id", "organisation", "status", "submitted_at", "decided_at"]
    list_filter = ["status"]
    search_fields = ["organisation__name_zh"]
    list_select_related = ["organisation"]


@admin.register(DirectoryEntry)
class DirectoryEntryAdmin(ReadOnlyModelAdmin):
    list_display = ["name_zh", "name_en", "tier", "kind", "sector", "city", "is_listed", "listed_until"]
    list_filter = ["is_listed", "tier", "kind", "sector"]
    search_fields = ["name_zh", "name_en"]


@admin.register(Solution)
class SolutionAdmin(ReadOnlyModelAdmin):
    list_display = ["title", "organisation", "scenario", "status", "submitted_at"]
    list_filter = ["status", "scenario"]
    search_fields = ["title", "organisation__name_zh"]
    list_select_related = ["organisation"]


@admin.register(Need)
class NeedAdmin(ReadOnlyModelAdmin):
    list_display = ["title", "organisation", "kind", "scenario", "people", "status", "created_at"]
    list_filter = ["status", "kind", "scenario"]
    search_fields = ["title", "skills", "organisation__name_zh"]
    list_select_related = ["organisation"]


@admin.register(Interest)
class InterestAdmin(ReadOnlyModelAdmin):
    list_display = ["id", "need", "organisation", "direction", "created_at"]
    list_filter = ["direction"]
    search_fields = ["need__title", "organisation__name_zh"]
    list_select_related = ["need", "organisation"]
