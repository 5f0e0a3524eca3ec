import pytest
from django.apps import apps
from django.contrib import admin
from django.urls import reverse

from accounts import services
from accounts.models import Organisation, VerificationStatus
from core.models import AuditEvent
from core.roles import SECRET_MODELS
from tests.accounts.factories import UserFactory, make_organisation

pytestmark = pytest.mark.django_db


def admin_urls(model, obj=None):
    opts = model._meta
    urls = [reverse(f"admin:{opts.app_label}_{opts.model_name}_changelist")]
    if obj is not None:
        urls.append(reverse(f"admin:{opts.app_label}_{opts.model_name}_change", args=[obj.pk]))
    return urls


def test_staff_need_mfa_before_the_back_office(client, supervisor):
    client.force_login(supervisor)
    response = client.get("/admin/")
    assert response.status_code == 302
    assert "/accounts/2fa/totp/activate" in response["Location"]


def test_supervisors_read_every_registered_model_and_change_none(client, supervisor, mfa, user):
    mfa(supervisor)
    org = make_organisation(user)
    client.force_login(supervisor)
    assert client.get("/admin/").status_code == 200
    checked = 0
    for model in admin.site._registry:
        opts = model._meta
        if (opts.app_label, opts.model_name) in SECRET_MODELS:
            continue
        changelist = reverse(f"admin:{opts.app_label}_{opts.model_name}_changelist")
        response = client.get(changelist)
        assert response.status_code == 200, f"{opts.label}: supervisors must read it ({response.status_code})"
        add = reverse(f"admin:{opts.app_label}_{opts.model_name}_add")
        assert client.get(add).status_code == 403, f"{opts.label}: supervisors must not add"
        assert client.post(add, {}).status_code == 403
        checked += 1
    assert checked >= 6
    change = reverse("admin:accounts_organisation_change", args=[org.pk])
    assert client.get(change).status_code == 200  # a read-only view
    response = client.post(change, {"name_zh": "改名", "kind": "enterprise", "sector": "other", "city": "x"})
    assert response.status_code == 403
    delete = reverse("admin:accounts_organisation_delete", args=[org.pk])
    assert client.post(delete, {"post": "yes"}).status_code == 403
    org.refresh_from_db()
    assert org.name_zh != "改名"
    assert Organisation.objects.filter(pk=org.pk).exists()


def test_supervisors_cannot_read_secrets(client, supervisor, mfa):
    mfa(supervisor)
    client.force_login(supervisor)
    assert client.get("/admin/mfa/authenticator/").status_code == 403
    assert client.get("/admin/sessions/session/").status_code in (403, 404)
    # Single sign-on: providers' client secrets and people's provider tokens.
    assert client.get("/admin/socialaccount/socialapp/").status_code == 403
    assert client.get("/admin/socialaccount/socialtoken/").status_code == 403


def test_every_portal_model_is_in_the_admin_with_search_and_filters():
    for app_label in ("accounts", "portal", "compute", "projects", "alliance", "talent"):
        for model in apps.get_app_config(app_label).get_models():
            model_admin = admin.site._registry.get(model)
            assert model_admin is not None, f"{model._meta.label} is not in the admin"
            assert model_admin.search_fields, f"{model._meta.label} has no search"
            assert model_admin.list_filter, f"{model._meta.label} has no filters"


def test_operator_verifies_from_the_admin_through_the_service(client, operator, mfa, user):
    mfa(operator)
    org = make_organisation(user)
    services.submit_organisation_for_verification(org, by=user)
    client.force_login(operator)
    response = client.post(
        reverse("admin:accounts_organisation_changelist"),
        {"action": "verify_selected", "_selected_action": [org.pk]},
    )
    assert response.status_code == 302
    org.refresh_from_db()
    assert org.verification_status == VerificationStatus.VERIFIED

    assert AuditEvent.objects.filter(action="organisation.verify", actor=operator).exists()


def test_plain_members_have_no_back_office(client):
    person = UserFactory()
    client.force_login(person)
    response = client.get("/admin/")
    assert response.status_code == 302 and "/admin/login/" in response["Location"]
