"""The compute service's REST API, mounted under /api/v1/ by portal/api_urls.py."""

from django.urls import path
from rest_framework.routers import SimpleRouter

from compute.api import allocations, partitions, reconcile, requests
from compute.identities import api as identity_api
from compute.vouchers import api as voucher_api

router = SimpleRouter()
router.register("partitions", partitions.PartitionViewSet, basename="partition")
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

extra_urlpatterns = [path("cluster-access/", identity_api.ClusterAccessView.as_view(), name="cluster-access")]
