"""Cluster access pages, mounted under /compute/access/ by compute/urls.py (in the "compute" namespace)."""

from django.urls import path

from compute.identities import views

urlpatterns = [
    path("", views.cluster_access, name="cluster_access"),
    path("status/", views.publishing_status, name="cluster_access_status"),
    path("username/", views.username_claim, name="cluster_username_claim"),
    path("username/check/", views.username_check, name="cluster_username_check"),
    path("keys/add/", views.key_add, name="ssh_key_add"),
    path("keys/<int:pk>/remove/", views.key_remove, name="ssh_key_remove"),
    path(
        "organisations/<int:organisation_pk>/", views.organisation_identities, name="organisation_identities"
    ),
    path("operator/", views.identity_list, name="identity_list"),
    path("operator/identities/<int:pk>/", views.identity_detail, name="identity_detail"),
    path("operator/identities/<int:pk>/suspend/", views.identity_suspend, name="identity_suspend"),
    path("operator/identities/<int:pk>/unsuspend/", views.identity_unsuspend, name="identity_unsuspend"),
    path("operator/keys/<int:pk>/revoke/", views.key_revoke, name="ssh_key_revoke"),
]
