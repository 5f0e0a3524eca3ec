"""Sign-in with WeChat, DingTalk and Feishu (accounts/chinese_apps.py) against the local fake of their OAuth
servers (tests/sso/chinese_oauth.py): the test client is the browser, the portal's token exchange goes over HTTP
to the fake, which records what the portal sent."""

import re
from urllib.parse import parse_qs, urlsplit

import pytest
from allauth.account.models import EmailAddress
from allauth.mfa.totp.internal.auth import TOTP, format_hotp_value, generate_totp_secret, hotp_value
from allauth.socialaccount.models import SocialAccount, SocialApp
from django.contrib.sites.models import Site
from django.core import mail
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from accounts import services
from accounts.chinese_apps import EndpointError, check_endpoint
from accounts.models import PhoneNumber, User
from core.models import AuditEvent
from tests.accounts.factories import UserFactory
from tests.sso import chinese_oauth as fake
from tests.sso.chinese_oauth import CREDENTIALS

chinese_oauth = fake.chinese_oauth  # the fixture

pytestmark = pytest.mark.django_db

PROVIDERS = ["weixin", "dingtalk", "feishu"]

PEOPLE = {
    "weixin": {
        "openid": "o6_bmjrPTlm6_2sgVt7hMZOPfL2M",
        "unionid": "o6_bmasdasdsad6_2sgVt7hMZOPfL",
        "nickname": "张伟",
        "sex": 1,
        "province": "广东",
        "city": "深圳",
        "country": "中国",
        "headimgurl": "https://thirdwx.qlogo.cn/mmopen/x/0",
        "privilege": [],
    },
    "dingtalk": {
        "nick": "王芳",
        "avatarUrl": "https://static.dingtalk.com/media/x.jpg",
        "mobile": "13800138000",
        "openId": "ding-open-123",
        "unionId": "ding-union-456",
        "email": "wangfang@example-enterprise.cn",
        "stateCode": "86",
    },
    "feishu": {
        "name": "李娜",
        "en_name": "Li Na",
        "avatar_url": "https://s1-imfile.feishucdn.com/x",
        "open_id": "ou_caecc734c2e3328a62489fe0648c4b98779515d3",
        "union_id": "on_d89jhsdhjsajkda7828enjdj328ydhhw3u43yjhdj",
        "user_id": "5d9bdxxx",
        "tenant_key": "736588c92lxf175d",
        "email": "lina@example-startup.cn",
        "mobile": "+8613900139000",
    },
}
NAMES = {"weixin": "张伟", "dingtalk": "王芳", "feishu": "李娜"}
UIDS = {
    "weixin": PEOPLE["weixin"]["openid"],
    "dingtalk": "ding-open-123",
    "feishu": PEOPLE["feishu"]["open_id"],
}
ID_PARAM = {"weixin": "appid", "dingtalk": "client_id", "feishu": "app_id"}


def query(url: str) -> dict:
    return {k: v[0] for k, v in parse_qs(urlsplit(url).query).items()}


def start(client, provider: str) -> str:
    answer = client.post(reverse(f"{provider}_login"), {"process": "login"})
    assert answer.status_code == 302, answer.content[:500]
    return answer["Location"]


def finish(client, callback: str):
    parts = urlsplit(callback)
    return client.get(f"{parts.path}?{parts.query}")


def signed_in_user(client) -> User | None:
    user_id = client.session.get("_auth_user_id")
    return User.objects.get(pk=user_id) if user_id else None


def callback_url(provider: str) -> str:
    return f"http://testserver/accounts/{provider}/login/callback/"


# --- the whole flow, for each app ---------------------------------------------------------------------------


@pytest.mark.parametrize("provider", PROVIDERS)
def test_the_sign_in_goes_to_the_configured_authorize_url_with_the_apps_id(client, chinese_oauth, provider):
    chinese_oauth.make_app(provider)
    authorize = start(client, provider)
    assert authorize.startswith(chinese_oauth.endpoints(provider)["authorize_url"] + "?")
    asked = query(authorize)
    assert asked[ID_PARAM[provider]] == CREDENTIALS[provider][0]
    assert asked["redirect_uri"] == callback_url(provider)
    assert len(asked["state"]) >= 8
    if provider == "weixin":
        assert asked["scope"] == "snsapi_login" and authorize.endswith("#wechat_redirect")
    if provider == "dingtalk":
        assert asked["response_type"] == "code" and asked["prompt"] == "consent"


def test_wechat_exchanges_the_code_as_documented_and_asks_for_an_email(
    client, chinese_oauth, django_capture_on_commit_callbacks
):
    chinese_oauth.make_app("weixin")
    chinese_oauth.people["weixin"] = PEOPLE["weixin"]
    authorize = start(client, "weixin")
    callback = chinese_oauth.sign_in(authorize)
    code = query(callback)["code"]

    page = finish(client, callback)
    [exchange] = chinese_oauth.requests_to("/sns/oauth2/access_token")
    assert exchange.method == "GET"
    assert exchange.query == {
        "appid": "wx-app-id",
        "secret": "wx-app-secret",
        "code": code,
        "grant_type": "authorization_code",
    }
    [profile] = chinese_oauth.requests_to("/sns/userinfo")
    assert profile.query["openid"] == PEOPLE["weixin"]["openid"] and profile.query["access_token"]

    # WeChat gives no email address and the portal requires one: the person gives it, then confirms it.
    assert page.status_code == 302 and page["Location"] == reverse("socialaccount_signup")
    assert not User.objects.exists()
    form = client.get(reverse("socialaccount_signup"))
    assert form.status_code == 200
    with django_capture_on_commit_callbacks(execute=True):
        done = client.post(reverse("socialaccount_signup"), {"email": "zhangwei@example.cn", "name": "张伟"})
    assert done.status_code == 302, done.content[:800]
    person = User.objects.get(email="zhangwei@example.cn")
    assert person.name == "张伟"
    assert not EmailAddress.objects.get(user=person).verified
    assert SocialAccount.objects.get(user=person).uid == PEOPLE["weixin"]["openid"]
    assert SocialAccount.objects.get(user=person).provider == "weixin"
    assert any("zhangwei@example.cn" in message.to for message in mail.outbox)  # the confirmation
    assert signed_in_user(client) is None  # not before the address is confirmed


@pytest.mark.parametrize("provider", ["dingtalk", "feishu"])
def test_dingtalk_and_feishu_create_the_account_with_the_name_and_an_unverified_email(
    client, chinese_oauth, provider, django_capture_on_commit_callbacks
):
    chinese_oauth.make_app(provider)
    chinese_oauth.people[provider] = PEOPLE[provider]
    callback = chinese_oauth.sign_in(start(client, provider))
    code = query(callback)["code"]
    with django_capture_on_commit_callbacks(execute=True):
        page = finish(client, callback)
    assert page.status_code == 302, page.content[:800]

    if provider == "dingtalk":
        [exchange] = chinese_oauth.requests_to("/v1.0/oauth2/userAccessToken")
        assert exchange.method == "POST" and exchange.headers["content-type"].startswith("application/json")
        assert exchange.json() == {
            "clientId": "ding-client-id",
            "clientSecret": "ding-client-secret",
            "code": code,
            "grantType": "authorization_code",
        }
        [profile] = chinese_oauth.requests_to("/v1.0/contact/users/me")
        assert profile.headers["x-acs-dingtalk-access-token"]
    else:
        [app_token] = chinese_oauth.requests_to("/open-apis/auth/v3/app_access_token/internal")
        assert app_token.json() == {"app_id": "cli_feishu_app", "app_secret": "feishu-app-secret"}
        [exchange] = chinese_oauth.requests_to("/open-apis/authen/v1/access_token")
        assert exchange.json() == {"grant_type": "authorization_code", "code": code}
        assert exchange.headers["authorization"].startswith("Bearer t-")
        [profile] = chinese_oauth.requests_to("/open-apis/authen/v1/user_info")
        assert profile.headers["authorization"].startswith("Bearer u-")

    person = User.objects.get(email=PEOPLE[provider]["email"])
    assert person.name == NAMES[provider]
    address = EmailAddress.objects.get(user=person)
    assert not address.verified  # neither app vouches for the address: the person confirms it
    assert any(PEOPLE[provider]["email"] in message.to for message in mail.outbox)
    assert signed_in_user(client) is None
    account = SocialAccount.objects.get(user=person)
    assert account.provider == provider and account.uid == UIDS[provider]
    # The mobile number is not taken as the person's.
    assert not PhoneNumber.objects.filter(user=person).exists()


def test_a_returning_person_with_a_confirmed_address_is_signed_in(client, chinese_oauth):
    chinese_oauth.make_app("feishu")
    person = UserFactory(email="lina@example-startup.cn")
    SocialAccount.objects.create(user=person, provider="feishu", uid=UIDS["feishu"])
    chinese_oauth.people["feishu"] = PEOPLE["feishu"]
    page = finish(client, chinese_oauth.sign_in(start(client, "feishu")))
    assert page.status_code == 302
    assert signed_in_user(client) == person
    assert AuditEvent.objects.filter(action="auth.sign_in", target_id=str(person.pk)).exists()


# --- refusals ----------------------------------------------------------------------------------------------


@pytest.mark.parametrize("provider", PROVIDERS)
def test_a_state_that_does_not_match_is_refused(client, chinese_oauth, provider):
    chinese_oauth.make_app(provider)
    chinese_oauth.people[provider] = PEOPLE[provider]
    callback = chinese_oauth.sign_in(start(client, provider))
    forged = re.sub(r"state=[^&]+", "state=forged-state-value", callback)
    page = finish(client, forged)
    assert page.status_code == 401  # allauth's authentication error page
    assert signed_in_user(client) is None
    assert not User.objects.exists()
    # The forged state got no code exchanged at all.
    assert not [r for r in chinese_oauth.received if r.method == "POST" or "access_token" in r.path]
    # A callback for a sign-in this browser never started is refused the same way.
    assert finish(Client(), callback).status_code == 401
    assert not User.objects.exists()


@pytest.mark.parametrize("provider", PROVIDERS)
def test_an_invalid_code_is_refused_with_a_clear_page(client, chinese_oauth, provider):
    chinese_oauth.make_app(provider)
    chinese_oauth.people[provider] = PEOPLE[provider]
    callback = chinese_oauth.sign_in(start(client, provider))
    bad = re.sub(r"(?<=[?&])(code|authCode)=[^&]+", r"\1=not-a-code", callback)
    page = finish(client, bad)
    assert page.status_code == 401
    assert "Third-Party Login Failure" in page.content.decode()  # allauth's page, in the person's language
    assert signed_in_user(client) is None
    assert not User.objects.exists()
    assert AuditEvent.objects.filter(action="auth.sso_failed").exists()


def test_a_code_used_twice_is_refused_by_the_provider_the_second_time(client, chinese_oauth):
    chinese_oauth.make_app("weixin")
    chinese_oauth.people["weixin"] = PEOPLE["weixin"]
    callback = chinese_oauth.sign_in(start(client, "weixin"))
    finish(client, callback)  # uses the code
    old_code = query(callback)["code"]
    client.logout()
    # A new sign-in (a valid state) carrying the code already used.
    state = query(start(client, "weixin"))["state"]
    page = client.get(reverse("weixin_callback"), {"code": old_code, "state": state})
    assert page.status_code == 401
    assert signed_in_user(client) is None
    assert [r.query["code"] for r in chinese_oauth.requests_to("/sns/oauth2/access_token")] == [old_code] * 2


def test_a_wrong_secret_is_refused_and_nobody_is_signed_in(client, chinese_oauth):
    app = chinese_oauth.make_app("feishu")
    app.secret = "not-the-secret"
    app.save()
    chinese_oauth.people["feishu"] = PEOPLE["feishu"]
    page = finish(client, chinese_oauth.sign_in(start(client, "feishu")))
    assert page.status_code == 401
    assert not chinese_oauth.requests_to("/open-apis/authen/v1/access_token")  # stopped at the app's token
    assert not User.objects.exists()


@pytest.mark.parametrize("provider", PROVIDERS)
def test_a_provider_that_is_down_gets_a_clear_page(client, chinese_oauth, provider):
    chinese_oauth.make_app(provider)
    chinese_oauth.people[provider] = PEOPLE[provider]
    callback = chinese_oauth.sign_in(start(client, provider))
    chinese_oauth.stop()
    page = finish(client, callback)
    assert page.status_code == 503
    assert "cannot be reached" in page.content.decode()
    assert signed_in_user(client) is None
    assert not User.objects.exists()
    assert AuditEvent.objects.filter(action="auth.sso_failed").exists()


@pytest.mark.parametrize("provider", PROVIDERS)
def test_a_profile_the_provider_refuses_signs_nobody_in(client, chinese_oauth, provider):
    chinese_oauth.make_app(provider)
    chinese_oauth.people[provider] = PEOPLE[provider]
    chinese_oauth.refuse_profile = True  # the provider's documented "invalid access token" answer
    page = finish(client, chinese_oauth.sign_in(start(client, provider)))
    assert page.status_code == 401
    assert "Third-Party Login Failure" in page.content.decode()
    assert signed_in_user(client) is None
    assert not User.objects.exists() and not SocialAccount.objects.exists()


# --- configuration -----------------------------------------------------------------------------------------


@pytest.mark.parametrize("provider", PROVIDERS)
@pytest.mark.parametrize("suffix", ["login/", "login/callback/?code=x&state=y"])
def test_an_unconfigured_provider_is_a_404(client, provider, suffix):
    assert client.get(f"/accounts/{provider}/{suffix}").status_code == 404
    assert client.post(f"/accounts/{provider}/{suffix}").status_code == 404


@pytest.mark.parametrize(
    "endpoints",
    [
        {"access_token_url": "http://api.weixin.example.cn/token"},  # plain http to another host
        {"access_token_url": "ftp://127.0.0.1/token"},
        {"access_token_url": "not a url"},
        {"access_token_url": 42},
        {"token_url": "https://api.weixin.qq.com/x"},  # not an endpoint WeChat has
        ["https://api.weixin.qq.com/x"],
    ],
)
def test_invalid_endpoints_are_refused_with_a_clear_page(client, settings, endpoints):
    settings.DEBUG = False
    app = SocialApp.objects.create(
        provider="weixin", name="WeChat", client_id="wx", secret="s", settings={"endpoints": endpoints}
    )
    app.sites.add(Site.objects.get_current())
    for answer in (
        client.post("/accounts/weixin/login/"),
        client.get("/accounts/weixin/login/callback/?code=x"),
    ):
        assert answer.status_code == 503
        assert "not set up correctly" in answer.content.decode()
    assert AuditEvent.objects.filter(action="auth.sso_failed").exists()


def test_endpoint_rules(settings):
    settings.DEBUG = False
    assert check_endpoint("https://api.example.cn/x") == "https://api.example.cn/x"
    assert check_endpoint("http://127.0.0.1:8080/x") == "http://127.0.0.1:8080/x"
    assert check_endpoint("http://[::1]:8080/x") == "http://[::1]:8080/x"
    assert check_endpoint("http://localhost/x") == "http://localhost/x"
    for bad in ("http://api.example.cn/x", "https://user:pw@api.example.cn/x", "//api.example.cn", "", None):
        with pytest.raises(EndpointError):
            check_endpoint(bad)
    settings.DEBUG = True
    assert check_endpoint("http://api.example.cn/x") == "http://api.example.cn/x"


def test_without_endpoints_the_real_provider_urls_are_used(client):
    app = SocialApp.objects.create(provider="dingtalk", name="DingTalk", client_id="ding", secret="s")
    app.sites.add(Site.objects.get_current())
    authorize = start(client, "dingtalk")
    assert authorize.startswith("https://login.dingtalk.com/oauth2/auth?")


def test_only_configured_providers_are_offered_on_the_sign_in_page(client, chinese_oauth):
    page = client.get(reverse("account_login")).content.decode()
    for provider in PROVIDERS:
        assert f"/accounts/{provider}/login/" not in page
    chinese_oauth.make_app("weixin")
    chinese_oauth.make_app("feishu").sites.set([Site.objects.create(domain="other.example.cn", name="o")])
    page = client.get(reverse("account_login")).content.decode()
    assert "/accounts/weixin/login/" in page and "WeChat" in page
    assert "/accounts/feishu/login/" not in page  # another site's app
    assert "/accounts/dingtalk/login/" not in page
    assert client.post("/accounts/feishu/login/").status_code == 404


# --- staff still need their second factor ----------------------------------------------------------------


def test_an_operator_signing_in_through_wechat_must_still_pass_totp(client, chinese_oauth):
    chinese_oauth.make_app("weixin")
    operator = UserFactory(email="operator@example.cn")
    services.set_site_roles(operator, by=None, roles={"operator"})
    secret = generate_totp_secret()
    TOTP.activate(operator, secret)
    SocialAccount.objects.create(user=operator, provider="weixin", uid=UIDS["weixin"])
    chinese_oauth.people["weixin"] = PEOPLE["weixin"]

    page = finish(client, chinese_oauth.sign_in(start(client, "weixin")))
    assert page.status_code == 302 and page["Location"] == reverse("mfa_authenticate")
    assert signed_in_user(client) is None
    assert client.get(reverse("dashboard")).status_code == 302  # not in yet
    code = format_hotp_value(hotp_value(secret, int(timezone.now().timestamp()) // 30))
    done = client.post(reverse("mfa_authenticate"), {"code": code})
    assert done.status_code == 302
    assert signed_in_user(client) == operator
