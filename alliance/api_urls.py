"""The alliance platform's REST API, mounted under /api/v1/ by portal/api_urls.py."""

from rest_framework.routers import SimpleRouter

from alliance import api

router = SimpleRouter()
router.register("alliance/directory", api.DirectoryViewSet, basename="alliance-directory")
router.register("alliance/memberships", api.MembershipViewSet, basename="alliance-membership")
router.register("alliance/solutions", api.SolutionViewSet, basename="alliance-solution")
router.register("alliance/needs", api.NeedViewSet, basename="alliance-need")
