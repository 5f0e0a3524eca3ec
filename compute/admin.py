from django.contrib import admin

from compute.models import (
    Allocation,
    AllocationMember,
    DailyUsage,
    Job,
    LedgerEntry,
    Partition,
    QuotaRequest,
    QuotaRequestMember,
    ReconcileRun,
    Settlement,
    Voucher,
    VoucherApplication,
    VoucherScheme,
)
from core import audit
from core.admin import PortalModelAdmin, ReadOnlyModelAdmin


@admin.register(Partition)
class PartitionAdmin(PortalModelAdmin):
    """Operators configure partitions here (they hold no workflow state)."""

    list_display = [
        "slug",
        "name_en",
        "name_zh",
        "tres",
        "unit",
        "capacity_per_month",
        "price_per_unit",
        "is_active",
    ]
    list_filter = ["is_active", "unit", "cluster"]
    search_fields = ["slug", "name_en", "name_zh", "slurm_partition"]

    def save_model(self, request, obj, form, change):
        before = {}
        if change:
            old = Partition.objects.get(pk=obj.pk)
            before = {name: str(getattr(old, name)) for name in form.changed_data}
        super().save_model(request, obj, form, change)
        audit.record(
            "partition.update" if change else "partition.create",
            obj,
            actor=request.user,
            changes={name: (before.get(name), str(getattr(obj, name))) for name in form.changed_data},
        )


class QuotaRequestMemberInline(admin.TabularInline):
    model = QuotaRequestMember
    extra = 0
    readonly_fields = ["user", "cluster_username"]
    can_delete = False


@admin.register(QuotaRequest)
class QuotaRequestAdmin(ReadOnlyModelAdmin):
    """Decisions are made on the operator pages (one service for page, API and admin)."""

    list_display = [
        "id",
        "organisation",
        "partition",
        "kind",
        "amount",
        "status",
        "submitted_at",
        "decided_at",
    ]
    list_filter = ["status", "kind", "partition"]
    search_fields = ["organisation__name_zh", "organisation__name_en", "purpose"]
    list_select_related = ["organisation", "partition"]
    inlines = [QuotaRequestMemberInline]


class AllocationMemberInline(admin.TabularInline):
    model = AllocationMember
    extra = 0
    readonly_fields = ["user", "cluster_username"]
    can_delete = False


@admin.register(Allocation)
class AllocationAdmin(ReadOnlyModelAdmin):
    list_display = [
        "account_name",
        "organisation",
        "partition",
        "granted_amount",
        "used_amount",
        "status",
        "end_date",
    ]
    list_filter = ["status", "partition"]
    search_fields = ["account_name", "organisation__name_zh", "organisation__name_en"]
    list_select_related = ["organisation", "partition"]
    inlines = [AllocationMemberInline]


@admin.register(Job)
class JobAdmin(ReadOnlyModelAdmin):
    list_display = ["job_id", "cluster", "account", "cluster_user", "state", "start_at", "end_at", "units"]
    list_filter = ["state", "cluster", "partition"]
    search_fields = ["job_id", "account", "cluster_user"]


@admin.register(DailyUsage)
class DailyUsageAdmin(ReadOnlyModelAdmin):
    list_display = ["allocation", "day", "units", "jobs"]
    list_filter = ["day"]
    search_fields = ["allocation__account_name"]
    list_select_related = ["allocation"]


@admin.register(ReconcileRun)
class ReconcileRunAdmin(ReadOnlyModelAdmin):
    list_display = ["started_at", "finished_at", "drift_count", "error"]
    list_filter = ["started_at"]
    search_fields = ["error"]


@admin.register(QuotaRequestMember)
class QuotaRequestMemberAdmin(ReadOnlyModelAdmin):
    list_display = ["cluster_username", "user", "request"]
    list_filter = ["request__status"]
    search_fields = ["cluster_username", "user__email"]
    list_select_related = ["user", "request"]


@admin.register(AllocationMember)
class AllocationMemberAdmin(ReadOnlyModelAdmin):
    list_display = ["cluster_username", "user", "allocation"]
    list_filter = ["allocation__status"]
    search_fields = ["cluster_username", "user__email", "allocation__account_name"]
    list_select_related = ["user", "allocation"]


# --- vouchers: money moves only through compute/vouchers.py, so the back office reads them ---------------


@admin.register(VoucherScheme)
class VoucherSchemeAdmin(ReadOnlyModelAdmin):
    """Schemes are created and changed on the vouchers pages (audited with what changed)."""

    list_display = [
        "name_en",
        "name_zh",
        "issuer",
        "subsidy_ratio",
        "total_budget",
        "valid_from",
        "valid_until",
    ]
    list_filter = ["issuer", "is_active", "small_enterprises_only", "for_incubated_projects"]
    search_fields = ["name_en", "name_zh", "issuer_name"]


@admin.register(Voucher)
class VoucherAdmin(ReadOnlyModelAdmin):
    list_display = ["code", "organisation", "scheme", "amount", "granted_on", "expires_on", "source"]
    list_filter = ["source", "scheme", "expires_on"]
    search_fields = ["code", "organisation__name_zh", "organisation__name_en"]
    list_select_related = ["organisation", "scheme"]


@admin.register(LedgerEntry)
class LedgerEntryAdmin(ReadOnlyModelAdmin):
    list_display = ["created_at", "voucher", "kind", "amount", "settlement", "note"]
    list_filter = ["kind", "created_at"]
    search_fields = ["voucher__code", "note"]
    list_select_related = ["voucher", "settlement"]


@admin.register(Settlement)
class SettlementAdmin(ReadOnlyModelAdmin):
    list_display = ["month", "allocation", "organisation", "units", "cost", "subsidy", "payable"]
    list_filter = ["month"]
    search_fields = ["allocation__account_name", "organisation__name_zh", "organisation__name_en"]
    list_select_related = ["allocation", "organisation"]


@admin.register(VoucherApplication)
class VoucherApplicationAdmin(ReadOnlyModelAdmin):
    list_display = ["created_at", "organisation", "scheme", "amount", "status", "decided_at"]
    list_filter = ["status", "scheme"]
    search_fields = ["organisation__name_zh", "organisation__name_en", "statement"]
    list_select_related = ["organisation", "scheme"]
