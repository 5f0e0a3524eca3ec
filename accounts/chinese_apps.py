"""Sign-in with WeChat (微信), DingTalk (钉钉) and Feishu (飞书): allauth's own providers, with endpoints an operator
(or a test) may point elsewhere.

allauth's adapters hard-code their provider's URLs. Here each URL is read from the app's settings
(``{"endpoints": {"access_token_url": "https://..."}}`` in the SocialApp's settings, or in
SOCIALACCOUNT_PROVIDERS[<id>]["APPS"][n]["settings"]), defaulting to the provider's real URL. An endpoint must be
https (plain http only with DEBUG on or on a loopback host); an app whose endpoints are not valid is refused with
a clear page, never a server error.

The providers' own URL patterns bind allauth's adapter classes, so each portal provider names its own package
(``accounts.providers.<id>``, whose urls.py serves the same paths with the views below). They are hooked in by
SOCIALACCOUNT_PROVIDERS[<id>]["provider_class"].

What the apps send:
* WeChat: openid (the uid), unionid, nickname; never an email address.
* DingTalk: openId (the uid), unionId, nick, email (maybe), mobile.
* Feishu: open_id (the uid), union_id, name, email, mobile.
The name becomes the account's name. None of them says an email address is verified: it is taken as unverified
(the person confirms it as usual). A mobile number is not taken at all (it is kept only in the provider's answer
on the linked identity); the person adds and confirms one themselves.

The operator's guide is docs/sign-in.md, "WeChat, DingTalk and Feishu".
"""

import ipaddress
import json
import logging
from contextlib import contextmanager
from urllib.parse import urlsplit

import requests
from allauth.account.internal.decorators import login_not_required
from allauth.account.models import EmailAddress
from allauth.core.exceptions import ImmediateHttpResponse
from allauth.socialaccount.adapter import get_adapter
from allauth.socialaccount.providers.dingtalk.client import DingTalkOAuth2Client
from allauth.socialaccount.providers.dingtalk.provider import DingTalkProvider
from allauth.socialaccount.providers.dingtalk.views import DingTalkOAuth2Adapter
from allauth.socialaccount.providers.feishu.client import FeishuOAuth2Client
from allauth.socialaccount.providers.feishu.provider import FeishuProvider
from allauth.socialaccount.providers.feishu.views import FeishuOAuth2Adapter
from allauth.socialaccount.providers.oauth2.client import OAuth2Error
from allauth.socialaccount.providers.oauth2.views import OAuth2CallbackView, OAuth2LoginView
from allauth.socialaccount.providers.weixin.client import WeixinOAuth2Client
from allauth.socialaccount.providers.weixin.provider import WeixinProvider
from allauth.socialaccount.providers.weixin.views import WeixinOAuth2Adapter
from django.conf import settings
from django.core.exceptions import MultipleObjectsReturned
from django.urls import include, path
from django.utils.translation import gettext as _

from accounts import security
from accounts.social import refused_page

logger = logging.getLogger(__name__)

# Each provider's endpoints as it documents them: what an app's settings may override.
DEFAULT_ENDPOINTS = {
    "weixin": {
        "authorize_url": "https://open.weixin.qq.com/connect/qrconnect",
        "access_token_url": "https://api.weixin.qq.com/sns/oauth2/access_token",
        "profile_url": "https://api.weixin.qq.com/sns/userinfo",
    },
    "dingtalk": {
        "authorize_url": "https://login.dingtalk.com/oauth2/auth",
        "access_token_url": "https://api.dingtalk.com/v1.0/oauth2/userAccessToken",
        "profile_url": "https://api.dingtalk.com/v1.0/contact/users/me",
    },
    "feishu": {
        "authorize_url": "https://open.feishu.cn/open-apis/authen/v1/index",
        "app_access_token_url": "https://open.feishu.cn/open-apis/auth/v3/app_access_token/internal",
        "access_token_url": "https://open.feishu.cn/open-apis/authen/v1/access_token",
        "user_info_url": "https://open.feishu.cn/open-apis/authen/v1/user_info",
    },
}


class EndpointError(ValueError):
    """An app's endpoints setting the portal will not use."""


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def check_endpoint(url) -> str:
    """``url`` if the portal may send a person (or their code and the app's secret) there."""
    if not isinstance(url, str) or not url.strip():
        raise EndpointError("an endpoint must be a URL")
    url = url.strip()
    parts = urlsplit(url)
    host = parts.hostname or ""
    if not host or parts.username or parts.password:
        raise EndpointError(f"not an absolute URL without credentials: {url!r}")
    if parts.scheme == "https":
        return url
    if parts.scheme == "http" and (settings.DEBUG or _is_loopback(host)):
        return url
    raise EndpointError(f"an endpoint must be https: {url!r}")


def app_endpoints(provider_id: str, app) -> dict[str, str]:
    """The app's endpoints: its settings' overrides over the provider's real URLs (EndpointError if invalid)."""
    endpoints = dict(DEFAULT_ENDPOINTS[provider_id])
    config = app.settings if app is not None and isinstance(app.settings, dict) else {}
    overrides = config.get("endpoints", {})
    if overrides in (None, ""):
        overrides = {}
    if not isinstance(overrides, dict):
        raise EndpointError("the endpoints setting must be an object")
    unknown = set(overrides) - set(endpoints)
    if unknown:
        raise EndpointError(f"unknown endpoints for {provider_id}: {', '.join(sorted(unknown))}")
    endpoints.update({name: check_endpoint(url) for name, url in overrides.items()})
    return endpoints


@contextmanager
def reachable(request, provider_id: str):
    """A provider that cannot be reached (refused connection, timeout) is a page that says so (503)."""
    try:
        yield
    except (requests.ConnectionError, requests.Timeout) as exc:
        logger.warning("%s cannot be reached: %r", provider_id, exc)
        security._record("auth.sso_failed", request, reason=f"{provider_id}: provider unreachable")
        message = _(
            "The sign-in service you chose cannot be reached just now. Nothing was changed: try again in a few "
            "minutes, or sign in another way."
        )
        raise ImmediateHttpResponse(refused_page(request, None, message=message, status=503)) from exc


class EndpointsMixin:
    """An adapter whose URLs are its app's endpoints."""

    provider_id: str

    def get_provider(self):
        # allauth asks for the provider (and its app) many times per request: look it up once.
        if getattr(self, "_provider", None) is None:
            self._provider = super().get_provider()
        return self._provider

    def endpoint(self, name: str) -> str:
        return app_endpoints(self.provider_id, self.get_provider().app)[name]

    @property
    def authorize_url(self):
        return self.endpoint("authorize_url")

    @property
    def access_token_url(self):
        return self.endpoint("access_token_url")

    def get_access_token_data(self, request, app, client, pkce_code_verifier=None):
        with reachable(request, self.provider_id):
            return super().get_access_token_data(request, app, client, pkce_code_verifier=pkce_code_verifier)


def _json(response) -> dict:
    """The provider's JSON answer (decoded as UTF-8, as they all send it); OAuth2Error if it is not JSON."""
    try:
        data = json.loads(response.content.decode("utf-8"))
    except (UnicodeDecodeError, ValueError) as exc:
        raise OAuth2Error(f"the provider's answer is not JSON (HTTP {response.status_code})") from exc
    if not isinstance(data, dict):
        raise OAuth2Error("the provider's answer is not a JSON object")
    return data


def _required(data: dict, key: str) -> str:
    value = data.get(key)
    if value in (None, ""):
        raise OAuth2Error(f"the provider's answer has no {key}")
    return str(value)


def _unverified_email(email) -> list[EmailAddress]:
    email = str(email or "").strip()
    if not email or "@" not in email:
        return []
    return [EmailAddress(email=email, verified=False, primary=True)]


# --- WeChat -----------------------------------------------------------------------------------------------------


class PortalWeixinClient(WeixinOAuth2Client):
    def get_redirect_url(self, authorization_url, scope, extra_params):
        # WeChat's QR-code page wants this fragment (its documentation's URL ends with it).
        return super().get_redirect_url(authorization_url, scope, extra_params) + "#wechat_redirect"


class PortalWeixinAdapter(EndpointsMixin, WeixinOAuth2Adapter):
    client_class = PortalWeixinClient
    access_token_method = "GET"  # as WeChat documents /sns/oauth2/access_token

    @property
    def profile_url(self):
        return self.endpoint("profile_url")

    def complete_login(self, request, app, token, **kwargs):
        openid = (kwargs.get("response") or {}).get("openid")
        with reachable(request, self.provider_id), get_adapter().get_requests_session() as session:
            response = session.get(self.profile_url, params={"access_token": token.token, "openid": openid})
            response.raise_for_status()
            data = _json(response)
        if data.get("errcode"):
            raise OAuth2Error(f"WeChat refused the profile: {data.get('errcode')} {data.get('errmsg', '')}")
        return self.get_provider().sociallogin_from_response(request, data)


class PortalWeixinProvider(WeixinProvider):
    package = "accounts.providers.weixin"
    name = "WeChat"
    oauth2_adapter_class = PortalWeixinAdapter

    def extract_uid(self, data):
        return _required(data, "openid")

    def extract_common_fields(self, data):
        return {"name": str(data.get("nickname") or "").strip()[:150]}

    def extract_email_addresses(self, data):
        return []


# --- DingTalk ---------------------------------------------------------------------------------------------------


class PortalDingTalkClient(DingTalkOAuth2Client):
    def get_redirect_url(self, authorization_url, scope, extra_params):
        # DingTalk's authorize page requires prompt=consent.
        return super().get_redirect_url(authorization_url, scope, {"prompt": "consent", **extra_params})


class PortalDingTalkAdapter(EndpointsMixin, DingTalkOAuth2Adapter):
    client_class = PortalDingTalkClient

    @property
    def profile_url(self):
        return self.endpoint("profile_url")

    def complete_login(self, request, app, token, **kwargs):
        with reachable(request, self.provider_id), get_adapter().get_requests_session() as session:
            response = session.get(self.profile_url, headers={"x-acs-dingtalk-access-token": token.token})
            response.raise_for_status()
            data = _json(response)
        return self.get_provider().sociallogin_from_response(request, data)


class PortalDingTalkProvider(DingTalkProvider):
    package = "accounts.providers.dingtalk"
    oauth2_adapter_class = PortalDingTalkAdapter

    def extract_uid(self, data):
        return _required(data, "openId")

    def extract_common_fields(self, data):
        return {"name": str(data.get("nick") or "").strip()[:150], "email": data.get("email") or None}

    def extract_email_addresses(self, data):
        return _unverified_email(data.get("email"))


# --- Feishu -----------------------------------------------------------------------------------------------------


class PortalFeishuClient(FeishuOAuth2Client):
    """Feishu's token exchange as it documents it: the app's token from app_id and app_secret (JSON), then the
    person's token from the code with the app's token as the bearer."""

    def _post(self, url, body, headers=None):
        with get_adapter().get_requests_session() as session:
            response = session.post(url, json=body, headers=headers or {})
            response.raise_for_status()
            return _json(response)

    def app_access_token(self):
        data = self._post(
            self.app_access_token_url, {"app_id": self.consumer_key, "app_secret": self.consumer_secret}
        )
        if data.get("code") != 0 or not data.get("app_access_token"):
            raise OAuth2Error(
                f"Feishu refused the app's credentials: {data.get('code')} {data.get('msg', '')}"
            )
        return data["app_access_token"]

    def get_access_token(self, code, pkce_code_verifier=None):
        app_token = self.app_access_token()
        data = self._post(
            self.access_token_url,
            {"grant_type": "authorization_code", "code": code},
            headers={"Authorization": f"Bearer {app_token}"},
        )
        token = data.get("data")
        if data.get("code") != 0 or not isinstance(token, dict) or not token.get("access_token"):
            raise OAuth2Error(f"Feishu refused the code: {data.get('code')} {data.get('msg', '')}")
        return token


class PortalFeishuAdapter(EndpointsMixin, FeishuOAuth2Adapter):
    @property
    def app_access_token_url(self):
        return self.endpoint("app_access_token_url")

    @property
    def user_info_url(self):
        return self.endpoint("user_info_url")

    def get_client(self, request, app):
        client = PortalFeishuClient(
            request,
            app.client_id,
            app.secret,
            self.access_token_method,
            self.access_token_url,
            self.get_callback_url(request, app),
        )
        client.app_access_token_url = self.app_access_token_url
        return client

    def complete_login(self, request, app, token, **kwargs):
        headers = {"Authorization": f"Bearer {token.token}"}
        with reachable(request, self.provider_id), get_adapter().get_requests_session() as session:
            response = session.get(self.user_info_url, headers=headers)
            response.raise_for_status()
            data = _json(response)
        if data.get("code") != 0 or not isinstance(data.get("data"), dict):
            raise OAuth2Error(f"Feishu refused the profile: {data.get('code')} {data.get('msg', '')}")
        return self.get_provider().sociallogin_from_response(request, data["data"])


class PortalFeishuProvider(FeishuProvider):
    package = "accounts.providers.feishu"
    name = "Feishu"
    oauth2_adapter_class = PortalFeishuAdapter

    def extract_uid(self, data):
        return _required(data, "open_id")

    def extract_common_fields(self, data):
        return {"name": str(data.get("name") or "").strip()[:150], "email": data.get("email") or None}

    def extract_email_addresses(self, data):
        return _unverified_email(data.get("email"))


# --- views and URLs ---------------------------------------------------------------------------------------------


def _checked(view_class, adapter_class):
    """allauth's login or callback view for ``adapter_class``, refusing an app whose endpoints are invalid."""
    inner = view_class.adapter_view(adapter_class)

    @login_not_required
    def view(request, *args, **kwargs):
        provider_id = adapter_class.provider_id
        try:
            # An unconfigured provider raises SocialApp.DoesNotExist here: a 404 (accounts.social middleware).
            app = get_adapter(request).get_app(request, provider=provider_id)
            app_endpoints(provider_id, app)
        except (EndpointError, MultipleObjectsReturned) as exc:
            logger.error("%s app for this site is not usable: %r", provider_id, exc)
            security._record("auth.sso_failed", request, reason=f"{provider_id}: invalid endpoints"[:400])
            message = _(
                "Signing in through this service is not set up correctly. Please tell the center's operators; "
                "meanwhile, sign in another way."
            )
            return refused_page(request, None, message=message, status=503)
        return inner(request, *args, **kwargs)

    return view


def provider_urlpatterns(provider_class, adapter_class) -> list:
    """The same paths allauth gives the provider, served with the portal's adapter."""
    patterns = [
        path("login/", _checked(OAuth2LoginView, adapter_class), name=f"{provider_class.id}_login"),
        path(
            "login/callback/",
            _checked(OAuth2CallbackView, adapter_class),
            name=f"{provider_class.id}_callback",
        ),
    ]
    return [path(f"{provider_class.get_slug()}/", include(patterns))]
