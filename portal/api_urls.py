from django.urls import include, path
from rest_framework.routers import DefaultRouter

from accounts import api as accounts_api
from compute import api as compute_api
from compute import voucher_api

router = DefaultRouter()
router.register("organisations", accounts_api.OrganisationViewSet, basename="organisation")
router.register("memberships", accounts_api.MembershipViewSet, basename="membership")
router.register("invitations", accounts_api.InvitationViewSet, basename="invitation")
router.register("partitions", compute_api.PartitionViewSet, basename="partition")
router.register("quota-requests", compute_api.QuotaRequestViewSet, basename="quota-request")
router.register("allocations", compute_api.AllocationViewSet, basename="allocation")
router.register("reconcile-runs", compute_api.ReconcileRunViewSet, basename="reconcile-run")
router.register("voucher-schemes", voucher_api.VoucherSchemeViewSet, basename="voucher-scheme")
router.register("vouchers", voucher_api.VoucherViewSet, basename="voucher")
router.register("voucher-applications", voucher_api.VoucherApplicationViewSet, basename="voucher-application")
router.register("settlements", voucher_api.SettlementViewSet, basename="settlement")

app_name = "api"

urlpatterns = [
    path("me/", accounts_api.MeView.as_view(), name="me"),
    path("", include(router.urls)),
    path("", include("projects.api_urls")),
    path("", include("alliance.api_urls")),
    path("", include("talent.api_urls")),
]
