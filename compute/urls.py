from django.urls import include, path

from compute.jobs import template_views
from compute.views import allocations, members, operations, public, requests, review
from compute.vouchers import views as voucher_views

app_name = "compute"

urlpatterns = [
    path("", public.index, name="index"),
    path("partitions/", public.partition_list, name="partition_list"),
    path("requests/", requests.request_list, name="request_list"),
    path("requests/new/", requests.request_create, name="request_create"),
    path("requests/estimate/", requests.request_estimate, name="request_estimate"),
    path("requests/<int:pk>/", requests.request_detail, name="request_detail"),
    path("requests/<int:pk>/edit/", requests.request_edit, name="request_edit"),
    path("requests/<int:pk>/submit/", requests.request_submit, name="request_submit"),
    path("requests/<int:pk>/withdraw/", requests.request_withdraw, name="request_withdraw"),
    path("requests/<int:pk>/decide/", review.request_decide, name="request_decide"),
    path("allocations/", allocations.allocation_list, name="allocation_list"),
    path("allocations/<int:pk>/", allocations.allocation_detail, name="allocation_detail"),
    path("allocations/<int:pk>/status/", allocations.allocation_status, name="allocation_status"),
    path("allocations/<int:pk>/retry/", allocations.allocation_retry, name="allocation_retry"),
    path("allocations/<int:pk>/suspend/", allocations.allocation_suspend, name="allocation_suspend"),
    path("allocations/<int:pk>/resume/", allocations.allocation_resume, name="allocation_resume"),
    path("allocations/<int:pk>/close/", allocations.allocation_close, name="allocation_close"),
    path("allocations/<int:pk>/people/", members.allocation_people, name="allocation_people"),
    path("allocations/<int:pk>/people/add/", members.allocation_member_add, name="allocation_member_add"),
    path(
        "allocations/<int:pk>/people/username/",
        members.allocation_member_username,
        name="allocation_member_username",
    ),
    path(
        "allocations/<int:pk>/people/<int:member_pk>/remove/",
        members.allocation_member_remove,
        name="allocation_member_remove",
    ),
    path(
        "allocations/<int:pk>/people/<int:member_pk>/cap/",
        members.allocation_member_cap,
        name="allocation_member_cap",
    ),
    # Cluster identities and SSH keys ("My cluster access"), compute/identities/urls.py.
    path("access/", include("compute.identities.urls")),
    # The algorithm catalogue (compute/jobs/template_views.py).
    path("jobs/templates/", template_views.job_template_list, name="job_template_list"),
    path("jobs/templates/<slug:slug>/", template_views.job_template_detail, name="job_template_detail"),
    path("operator/job-templates/", template_views.job_template_operations, name="job_template_operations"),
    path("operator/job-templates/new/", template_views.job_template_form, name="job_template_create"),
    path("operator/job-templates/<int:pk>/edit/", template_views.job_template_form, name="job_template_edit"),
    path(
        "operator/job-templates/<int:pk>/publish/",
        template_views.job_template_publish,
        name="job_template_publish",
    ),
    path(
        "operator/job-templates/<int:pk>/retire/",
        template_views.job_template_retire,
        name="job_template_retire",
    ),
    # Jobs from the browser: the queue, the job form, a job's page and output (compute/jobs/urls.py).
    path("jobs/", include("compute.jobs.urls")),
    path("vouchers/", voucher_views.voucher_index, name="voucher_index"),
    path("vouchers/<int:pk>/", voucher_views.voucher_detail, name="voucher_detail"),
    path("vouchers/<int:pk>/reverse/", voucher_views.voucher_reverse, name="voucher_reverse"),
    path("vouchers/schemes/<int:scheme_pk>/apply/", voucher_views.voucher_apply, name="voucher_apply"),
    path(
        "vouchers/applications/<int:pk>/withdraw/",
        voucher_views.voucher_application_withdraw,
        name="voucher_application_withdraw",
    ),
    path("statements/<str:month>/", voucher_views.statement, name="statement"),
    path("operator/vouchers/", voucher_views.voucher_operations, name="voucher_operations"),
    path(
        "operator/vouchers/applications/<int:pk>/decide/",
        voucher_views.voucher_application_decide,
        name="voucher_application_decide",
    ),
    path("operator/vouchers/schemes/new/", voucher_views.scheme_form, name="scheme_create"),
    path("operator/vouchers/schemes/<int:pk>/edit/", voucher_views.scheme_form, name="scheme_edit"),
    path("operator/vouchers/grant/", voucher_views.voucher_grant, name="voucher_grant"),
    path("operator/requests/", review.review_queue, name="review_queue"),
    path("operator/capacity/", operations.capacity, name="capacity"),
    path("operator/reconcile/", operations.reconcile_report, name="reconcile_report"),
    path("operator/reconcile/run/", operations.reconcile_run, name="reconcile_run"),
]
