"""The projects platform's REST API, mounted under /api/v1/ by portal/api_urls.py."""

from rest_framework.routers import SimpleRouter

from projects.api.applications import ApplicationViewSet
from projects.api.calls import CallViewSet
from projects.api.incubation import ProjectViewSet
from projects.api.review import ReviewAssignmentViewSet

router = SimpleRouter()
router.register("incubation/calls", CallViewSet, basename="incubation-call")
router.register("incubation/applications", ApplicationViewSet, basename="incubation-application")
router.register(
    "incubation/review-assignments", ReviewAssignmentViewSet, basename="incubation-review-assignment"
)
router.register("incubation/projects", ProjectViewSet, basename="incubation-project")
