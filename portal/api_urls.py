from django.urls import include, path
from rest_framework.routers import DefaultRouter

from accounts import api as accounts_api

router = DefaultRouter()
router.register("organisations", accounts_api.OrganisationViewSet, basename="organisation")
router.register("memberships", accounts_api.MembershipViewSet, basename="membership")
router.register("invitations", accounts_api.InvitationViewSet, basename="invitation")

app_name = "api"

urlpatterns = [
    path("me/", accounts_api.MeView.as_view(), name="me"),
    path("", include(router.urls)),
]
