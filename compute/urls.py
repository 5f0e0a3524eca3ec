from django.urls import path

from compute import views, voucher_views

app_name = "compute"

urlpatterns = [
    path("", views.index, name="index"),
    path("partitions/", views.partition_list, name="partition_list"),
    path("requests/", views.request_list, name="request_list"),
    path("requests/new/", views.request_create, name="request_create"),
    path("requests/estimate/", views.request_estimate, name="request_estimate"),
    path("requests/<int:pk>/", views.request_detail, name="request_detail"),
    path("requests/<int:pk>/edit/", views.request_edit, name="request_edit"),
    path("requests/<int:pk>/submit/", views.request_submit, name="request_submit"),
    path("requests/<int:pk>/withdraw/", views.request_withdraw, name="request_withdraw"),
    path("requests/<int:pk>/decide/", views.request_decide, name="request_decide"),
    path("allocations/", views.allocation_list, name="allocation_list"),
    path("allocations/<int:pk>/", views.allocation_detail, name="allocation_detail"),
    path("allocations/<int:pk>/status/", views.allocation_status, name="allocation_status"),
    path("allocations/<int:pk>/retry/", views.allocation_retry, name="allocation_retry"),
    path("allocations/<int:pk>/suspend/", views.allocation_suspend, name="allocation_suspend"),
    path("allocations/<int:pk>/resume/", views.allocation_resume, name="allocation_resume"),
    path("allocations/<int:pk>/close/", views.allocation_close, name="allocation_close"),
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
    path("operator/requests/", views.review_queue, name="review_queue"),
    path("operator/capacity/", views.capacity, name="capacity"),
    path("operator/reconcile/", views.reconcile_report, name="reconcile_report"),
    path("operator/reconcile/run/", views.reconcile_run, name="reconcile_run"),
]
