"""The compute service's REST API, mounted under /api/v1/ by portal/api_urls.py."""

from rest_framework.routers import SimpleRouter

from compute.api import allocations, partitions, reconcile, requests
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
