"""Job pages, mounted under /compute/jobs/ by compute/urls.py (in the "compute" namespace)."""

from django.urls import path, re_path

from compute.jobs import views

# A cluster's name as settings and partitions write it; a Slurm job id (with an array or het suffix).
CLUSTER = r"(?P<cluster>[A-Za-z0-9][A-Za-z0-9_.-]{0,63})"
JOB = r"(?P<job_id>[0-9]{1,12}(?:[_+][0-9]{1,9})?)"

urlpatterns = [
    path("", views.job_list, name="job_list"),
    path("queue/", views.job_queue, name="job_queue"),
    path("new/", views.job_submit, name="job_submit"),
    path("new/estimate/", views.job_estimate, name="job_estimate"),
    re_path(rf"^{CLUSTER}/{JOB}/$", views.job_detail, name="job_detail"),
    re_path(rf"^{CLUSTER}/{JOB}/cancel/$", views.job_cancel, name="job_cancel"),
    re_path(rf"^{CLUSTER}/{JOB}/output/(?P<stream>stdout|stderr)/$", views.job_output, name="job_output"),
]
