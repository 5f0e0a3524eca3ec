"""The alliance platform's REST API, mounted under /api/v1/ by portal/api_urls.py."""

from rest_framework.routers import SimpleRouter

from alliance.api import directory, matching, membership

router = SimpleRouter()
router.register("alliance/directory", directory.DirectoryViewSet, basename="alliance-directory")
router.register("alliance/memberships", membership.MembershipViewSet, basename="alliance-membership")
router.register("alliance/solutions", matching.SolutionViewSet, basename="alliance-solution")
router.register("alliance/needs", matching.NeedViewSet, basename="alliance-need")
