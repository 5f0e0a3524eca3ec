"""Providers the site has not configured: their sign-in and callback URLs are pages that do not exist."""

import pytest
from allauth.socialaccount.models import SocialApp
from django.contrib.sites.models import Site

pytestmark = pytest.mark.django_db

PROVIDERS = ["weixin", "dingtalk", "feishu"]


@pytest.mark.parametrize("provider", PROVIDERS)
@pytest.mark.parametrize("suffix", ["login/", "login/callback/", "login/callback/?code=x&state=y"])
def test_an_unconfigured_provider_is_a_404_not_a_server_error(client, provider, suffix):
    assert not SocialApp.objects.filter(provider=provider).exists()
    response = client.get(f"/accounts/{provider}/{suffix}")
    assert response.status_code == 404


def test_a_configured_provider_starts_its_sign_in(client):
    app = SocialApp.objects.create(provider="weixin", name="WeChat", client_id="wx-client", secret="s")
    app.sites.add(Site.objects.get_current())
    response = client.post("/accounts/weixin/login/")
    assert response.status_code == 302
    assert "appid=wx-client" in response["Location"]
