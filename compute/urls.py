from django.urls import path

from compute import views

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
    path("operator/requests/", views.review_queue, name="review_queue"),
    path("operator/capacity/", views.capacity, name="capacity"),
    path("operator/reconcile/", views.reconcile_report, name="reconcile_report"),
    path("operator/reconcile/run/", views.reconcile_run, name="reconcile_run"),
]
