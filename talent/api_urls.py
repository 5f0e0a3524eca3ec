"""The talent platform's REST API, mounted under /api/v1/ by portal/api_urls.py."""

from django.urls import path
from rest_framework.routers import SimpleRouter

from talent import api

router = SimpleRouter()
router.register("talent/courses", api.CourseViewSet, basename="talent-course")
router.register("talent/cohorts", api.CohortViewSet, basename="talent-cohort")
router.register("talent/my-enrolments", api.MyEnrolmentViewSet, basename="talent-my-enrolment")
router.register("talent/teaching/cohorts", api.TeachingCohortViewSet, basename="talent-teaching-cohort")
router.register("talent/teaching/sessions", api.TeachingSessionViewSet, basename="talent-teaching-session")

extra_urlpatterns = [
    path(
        "talent/certificates/<str:code>/",
        api.CertificateVerifyView.as_view(),
        name="talent-certificate-verify",
    ),
]
