from django.contrib import admin

from core import audit
from core.admin import PortalModelAdmin, ReadOnlyModelAdmin
from projects.models import (
    Application,
    ApplicationRevision,
    Attachment,
    Call,
    CoApplicant,
    Criterion,
    CriterionScore,
    Milestone,
    Programme,
    ProgressReport,
    Project,
    ProjectBenefit,
    ReviewAssignment,
)


class AuditedConfigAdmin(PortalModelAdmin):
    """Programmes and calls are configured here (they hold no workflow state); each change is audited."""

    def save_model(self, request, obj, form, change):
        before = {}
        if change:
            old = type(obj).objects.get(pk=obj.pk)
            before = {name: str(getattr(old, name)) for name in form.changed_data}
        super().save_model(request, obj, form, change)
        name = obj._meta.model_name
        audit.record(
            f"{name}.update" if change else f"{name}.create",
            obj,
            actor=request.user,
            changes={field: (before.get(field), str(getattr(obj, field))) for field in form.changed_data},
        )


class CriterionInline(admin.TabularInline):
    model = Criterion
    extra = 0


@admin.register(Programme)
class ProgrammeAdmin(AuditedConfigAdmin):
    list_display = ["slug", "title_zh", "title_en", "theme", "voucher_amount", "is_published"]
    list_filter = ["theme", "is_published"]
    search_fields = ["slug", "title_zh", "title_en"]
    inlines = [CriterionInline]


@admin.register(Criterion)
class CriterionAdmin(AuditedConfigAdmin):
    list_display = ["name_zh", "name_en", "programme", "weight", "position"]
    list_filter = ["programme"]
    search_fields = ["name_zh", "name_en"]


@admin.register(Call)
class CallAdmin(AuditedConfigAdmin):
    list_display = ["title_zh", "programme", "opens_at", "closes_at", "review_deadline"]
    list_filter = ["programme", "opens_at"]
    search_fields = ["title_zh", "title_en", "programme__title_zh"]
    list_select_related = ["programme"]


class CoApplicantInline(admin.TabularInline):
    model = CoApplicant
    extra = 0
    fields = ["user", "created_at"]
    readonly_fields = fields
    can_delete = False


@admin.register(Application)
class ApplicationAdmin(ReadOnlyModelAdmin):
    """Applications change only through the operator pages and the API (each change audited)."""

    list_display = ["id", "title", "organisation", "call", "status", "submitted_at"]
    list_filter = ["status", "call__programme"]
    search_fields = ["title", "organisation__name_zh", "organisation__name_en"]
    list_select_related = ["organisation", "call"]
    inlines = [CoApplicantInline]


@admin.register(CoApplicant)
class CoApplicantAdmin(ReadOnlyModelAdmin):
    list_display = ["application", "user", "created_at"]
    search_fields = ["user__email", "application__title"]
    list_filter = ["created_at"]


@admin.register(Attachment)
class AttachmentAdmin(ReadOnlyModelAdmin):
    list_display = ["original_name", "application", "size", "uploaded_at"]
    search_fields = ["original_name", "application__title"]
    list_filter = ["uploaded_at"]
    exclude = ["file"]  # served only by the permission-checked download page


@admin.register(ApplicationRevision)
class ApplicationRevisionAdmin(ReadOnlyModelAdmin):
    list_display = ["application", "number", "created_at"]
    search_fields = ["application__title"]
    list_filter = ["created_at"]


@admin.register(ReviewAssignment)
class ReviewAssignmentAdmin(ReadOnlyModelAdmin):
    list_display = ["application", "reviewer", "status", "recommendation", "weighted_score", "reminded_at"]
    list_filter = ["status", "recommendation"]
    search_fields = ["reviewer__email", "application__title"]
    list_select_related = ["application", "reviewer"]


@admin.register(CriterionScore)
class CriterionScoreAdmin(ReadOnlyModelAdmin):
    list_display = ["assignment", "criterion", "score"]
    list_filter = ["score"]
    search_fields = ["assignment__application__title"]


@admin.register(Project)
class ProjectAdmin(ReadOnlyModelAdmin):
    list_display = ["title", "organisation", "programme", "status", "publish_consent", "started_at"]
    list_filter = ["status", "programme", "publish_consent"]
    search_fields = ["title", "organisation__name_zh"]
    list_select_related = ["organisation", "programme"]


@admin.register(ProjectBenefit)
class ProjectBenefitAdmin(ReadOnlyModelAdmin):
    list_display = ["project", "kind", "amount", "granted_at"]
    list_filter = ["kind"]
    search_fields = ["project__title"]


@admin.register(Milestone)
class MilestoneAdmin(ReadOnlyModelAdmin):
    list_display = ["title", "project", "due_date", "status"]
    list_filter = ["status", "due_date"]
    search_fields = ["title", "project__title"]
    exclude = ["evidence"]


@admin.register(ProgressReport)
class ProgressReportAdmin(ReadOnlyModelAdmin):
    list_display = ["project", "period_end", "submitted_at"]
    list_filter = ["period_end"]
    search_fields = ["project__title"]
