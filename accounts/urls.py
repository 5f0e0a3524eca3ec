from django.urls import path

from accounts import views

app_name = "accounts"

urlpatterns = [
    path("organisations/", views.organisation_list, name="organisation_list"),
    path("organisations/new/", views.organisation_create, name="organisation_create"),
    path("organisations/<int:pk>/", views.organisation_detail, name="organisation_detail"),
    path("organisations/<int:pk>/edit/", views.organisation_edit, name="organisation_edit"),
    path(
        "organisations/<int:pk>/verification/",
        views.organisation_submit_verification,
        name="organisation_submit",
    ),
    path("organisations/<int:pk>/invite/", views.organisation_invite, name="organisation_invite"),
    path("memberships/<int:pk>/role/", views.membership_change_role, name="membership_role"),
    path("memberships/<int:pk>/remove/", views.membership_remove, name="membership_remove"),
    path("invitations/<int:pk>/revoke/", views.invitation_revoke, name="invitation_revoke"),
    path("invitations/<str:token>/", views.invitation_respond, name="invitation_respond"),
    path("account/privacy/", views.privacy_settings, name="privacy_settings"),
    path("account/privacy/export/", views.privacy_export, name="privacy_export"),
    path("account/delete/", views.account_delete, name="account_delete"),
    path("account/tokens/", views.api_tokens, name="api_tokens"),
    path("account/tokens/new/", views.api_token_create, name="api_token_create"),
    path("account/tokens/<int:pk>/revoke/", views.api_token_revoke, name="api_token_revoke"),
    path("account/sessions/end/", views.sessions_end, name="sessions_end"),
    path("operator/tokens/", views.api_token_oversight, name="api_token_oversight"),
    path("operator/verifications/", views.verification_queue, name="verification_queue"),
    path("operator/verifications/<int:pk>/", views.verification_decide, name="verification_decide"),
]
