"""The compute service's REST API, mounted under /api/v1/ by portal/api_urls.py."""

from django.urls import path, re_path
from rest_framework.routers import SimpleRouter

from compute.api import allocations, partitions, reconcile, requests
from compute.identities import api as identity_api
from compute.jobs import api as job_api
from compute.jobs import template_api
from compute.jobs.urls import CLUSTER, JOB
from compute.vouchers import api as voucher_api

JOB_PATH = f"{CLUSTER}/{JOB}"

router = SimpleRouter()
router.register("partitions", partitions.PartitionViewSet, basename="partition")
router.register("job-templates", template_api.JobTemplateViewSet, basename="job-template")
router.register("quota-requests", requests.QuotaRequestViewSet, basename="quota-request")
router.register("allocations", allocations.AllocationViewSet, basename="allocation")
router.register("reconcile-runs", reconcile.ReconcileRunViewSet, basename="reconcile-run")
router.register("voucher-schemes", voucher_api.VoucherSchemeViewSet, basename="voucher-scheme")
router.register("vouchers", voucher_api.VoucherViewSet, basename="voucher")
router.register("voucher-applications", voucher_api.VoucherApplicationViewSet, basename="voucher-application")
router.register("settlements", voucher_api.SettlementViewSet, basename="settlement")
# Cluster identities and SSH keys (compute/identities/api.py).
router.register("ssh-keys", identity_api.SshKeyViewSet, basename="ssh-key")
router.register("cluster-identities", identity_api.OrganisationIdentityViewSet, basename="cluster-identity")

extra_urlpatterns = [
    path("cluster-access/", identity_api.ClusterAccessView.as_view(), name="cluster-access"),
    # Jobs (compute/jobs/api.py): the queue and submission, one job, its cancellation and output.
    path("jobs/", job_api.JobListView.as_view(), name="job-list"),
    re_path(rf"^jobs/{JOB_PATH}/$", job_api.JobDetailView.as_view(), name="job-detail"),
    re_path(rf"^jobs/{JOB_PATH}/cancel/$", job_api.JobCancelView.as_view(), name="job-cancel"),
    re_path(rf"^jobs/{JOB_PATH}/output/$", job_api.JobOutputView.as_view(), name="job-output"),
]
