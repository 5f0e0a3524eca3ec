"""Back office of the algorithm catalogue (imported by compute/admin.py): job templates, read only. They are
kept on the operators' catalogue pages, where every change is checked whole and audited, and publishing and
retiring are moves of the template's status."""

from django.contrib import admin

from compute.models import JobTemplate
from core.admin import ReadOnlyModelAdmin


@admin.register(JobTemplate)
class JobTemplateAdmin(ReadOnlyModelAdmin):
    list_display = ["slug", "name_en", "name_zh", "kind", "status", "updated_at", "updated_by"]
    list_filter = ["status", "kind", "partitions"]
    search_fields = ["slug", "name_en", "name_zh", "summary_en", "summary_zh"]
    list_select_related = ["updated_by"]
