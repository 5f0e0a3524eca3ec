"""Back office of jobs (registered by compute/admin.py): the portal's submissions, read-only (a submission is a
fact; cancelling is done on the job's page, where it is checked, audited and mailed). Templates are managed on
the operators' catalogue pages; the back office shows them too."""

from django.contrib import admin

from compute.jobs.models import Submission
from core.admin import ReadOnlyModelAdmin


@admin.register(Submission)
class SubmissionAdmin(ReadOnlyModelAdmin):
    list_display = [
        "job_id",
        "cluster",
        "name",
        "cluster_user",
        "allocation",
        "template",
        "submitted_at",
        "cancelled_at",
    ]
    list_filter = ["cluster", "partition", "submitted_at", "cancelled_at"]
    search_fields = ["job_id", "name", "cluster_user", "allocation__account_name", "submitted_by__email"]
    list_select_related = ["allocation", "template"]
    date_hierarchy = "submitted_at"
