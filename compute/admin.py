from django.contrib import admin

from compute.identities import admin as identity_admin  # noqa: F401  (registers the identities' admin)
from compute.jobs import admin as job_admin  # noqa: F401  (registers the job submissions' admin)
from compute.jobs import template_admin  # noqa: F401  (registers the job templates' admin)
from compute.models import (
    Allocation,
    AllocationMember,
    DailyUsage,
    EndReminder,
    Job,
    MonthlyUsage,
    Partition,
    QuotaRequest,
    QuotaRequestMember,
    ReconcileRun,
)
from compute.vouchers import admin as voucher_admin  # noqa: F401  (registers the voucher models' admin)
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


class ClusterUserInline(admin.TabularInline):
    """The cluster users of a request or an allocation, as they were given (changed through the services)."""

    extra = 0
    readonly_fields = ["user", "cluster_username"]
    can_delete = False


class QuotaRequestMemberInline(ClusterUserInline):
    model = QuotaRequestMember


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


class AllocationMemberInline(ClusterUserInline):
    model = AllocationMember
    readonly_fields = [*ClusterUserInline.readonly_fields, "limit_amount", "added_at", "removed_at"]


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


@admin.register(MonthlyUsage)
class MonthlyUsageAdmin(ReadOnlyModelAdmin):
    list_display = ["allocation", "month", "units", "jobs"]
    list_filter = ["month"]
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
    list_display = ["cluster_username", "user", "allocation", "limit_amount", "added_at", "removed_at"]
    list_filter = ["allocation__status", "removed_at"]
    search_fields = ["cluster_username", "user__email", "allocation__account_name"]
    list_select_related = ["user", "allocation"]


@admin.register(EndReminder)
class EndReminderAdmin(ReadOnlyModelAdmin):
    list_display = ["allocation", "end_date", "days_before", "sent_at"]
    list_filter = ["days_before", "sent_at"]
    search_fields = ["allocation__account_name"]
    list_select_related = ["allocation"]
