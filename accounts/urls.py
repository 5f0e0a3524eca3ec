from django.urls import path

from accounts import onboarding_views, phone_views, views

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
    # Bulk onboarding and admission by domain (accounts/onboarding_views.py).
    path("organisations/<int:pk>/onboarding/", onboarding_views.batch_list, name="onboarding_batches"),
    path("organisations/<int:pk>/domains/", onboarding_views.domains, name="onboarding_domains"),
    path("organisations/<int:pk>/domains/add/", onboarding_views.domain_add, name="onboarding_domain_add"),
    path("organisations/join/", onboarding_views.join, name="onboarding_join"),
    path("onboarding/<int:pk>/", onboarding_views.batch_detail, name="onboarding_batch"),
    path("onboarding/<int:pk>/progress/", onboarding_views.batch_progress, name="onboarding_progress"),
    path("onboarding/<int:pk>/confirm/", onboarding_views.batch_confirm, name="onboarding_confirm"),
    path("onboarding/<int:pk>/discard/", onboarding_views.batch_discard, name="onboarding_discard"),
    path("onboarding/<int:pk>/resend/", onboarding_views.batch_resend, name="onboarding_resend"),
    path("onboarding/<int:pk>/revoke/", onboarding_views.batch_revoke, name="onboarding_revoke"),
    path("domains/<int:pk>/proof/", onboarding_views.domain_send_proof, name="onboarding_domain_proof"),
    path("domains/<int:pk>/verify/", onboarding_views.domain_verify, name="onboarding_domain_verify"),
    path("domains/<int:pk>/remove/", onboarding_views.domain_remove, name="onboarding_domain_remove"),
    path("domains/verify/<str:token>/", onboarding_views.domain_proof, name="domain_proof"),
    path("admissions/<int:pk>/decide/", onboarding_views.admission_decide, name="admission_decide"),
    path(
        "invitations/mobile/<str:token>/",
        onboarding_views.mobile_invitation_respond,
        name="mobile_invitation_respond",
    ),
    path("accounts/signup/phone/", phone_views.signup_by_phone, name="signup_by_phone"),
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
