"""The projects platform's REST API, mounted under /api/v1/ by portal/api_urls.py."""

from rest_framework.routers import SimpleRouter

from projects import api

router = SimpleRouter()
router.register("incubation/calls", api.CallViewSet, basename="incubation-call")
router.register("incubation/applications", api.ApplicationViewSet, basename="incubation-application")
router.register(
    "incubation/review-assignments", api.ReviewAssignmentViewSet, basename="incubation-review-assignment"
)
router.register("incubation/projects", api.ProjectViewSet, basename="incubation-project")
