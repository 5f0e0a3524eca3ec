"""Single sign-on through allauth's social providers: what the portal adds around them.

* Only configured providers exist. A provider is offered only where the site configured it (a SocialApp, or
  SOCIALACCOUNT_PROVIDERS with an app): allauth mounts the login and callback URLs of every installed provider
  regardless, and answers one that has no app with an uncaught ``SocialApp.DoesNotExist``. To a visitor that is
  a page that does not exist (``UnconfiguredProviderMiddleware``); a provider that cannot be reached is a clear
  page, never a server error.
* OpenID Connect providers (``PortalOIDCProvider``) are configured by operators, without code changes: the app's
  settings say which claims give the person's id, name, email (and whether it is verified) and organisation.
* Linking is never automatic (``SocialAccountAdapter``): an identity whose email belongs to an existing account
  does not sign into it; its owner signs in first and links the identity from "Linked sign-ins", which proves
  they own both. An OpenID provider that does not vouch for the email it sends is refused.
* Every link, unlink and refused sign-in is audited; the sign-in itself is audited like any other.
* The sign-in pages' forms may lead to the configured providers (``SignInFormActionMiddleware``): their origins
  join the CSP form-action of those pages only.

The operator's guide is docs/sign-in.md.
"""

import logging
from urllib.parse import urlsplit

import requests
from allauth.account.models import EmailAddress
from allauth.core.exceptions import ImmediateHttpResponse
from allauth.core.internal.datakit import parse_bool_safely
from allauth.socialaccount.adapter import DefaultSocialAccountAdapter
from allauth.socialaccount.adapter import get_adapter as get_social_adapter
from allauth.socialaccount.models import SocialApp
from allauth.socialaccount.providers.oauth2.client import OAuth2Error
from allauth.socialaccount.providers.openid_connect.provider import OpenIDConnectProvider, _pick_data
from django.conf import settings
from django.core.cache import cache
from django.http import Http404
from django.shortcuts import render
from django.utils.translation import gettext as _

from accounts import security
from core import chrome
from core.csp import format_policy

logger = logging.getLogger(__name__)

# Which claim gives what, unless the app's settings say otherwise (settings.claims).
DEFAULT_CLAIMS = {
    "uid": "sub",
    "email": "email",
    "email_verified": "email_verified",
    "name": "name",
    "organisation": "",
}


# --- OpenID Connect: claims as the operator mapped them ---------------------------------------------------------


def claim_names(app) -> dict:
    configured = app.settings.get("claims") if app is not None and isinstance(app.settings, dict) else None
    names = dict(DEFAULT_CLAIMS)
    if isinstance(configured, dict):
        names.update({key: str(value) for key, value in configured.items() if key in DEFAULT_CLAIMS})
    return names


def claim(data: dict, name: str):
    """A claim by name; a dotted name reaches into a nested claim (``org.code``)."""
    if not name or not isinstance(data, dict):
        return None
    value = data
    for part in name.split("."):
        if not isinstance(value, dict):
            return None
        value = value.get(part)
    return value


def oidc_claims(app, data: dict) -> dict:
    """The person as the provider describes them, through the app's claim mapping."""
    data = _pick_data(data or {})
    names = claim_names(app)
    email = claim(data, names["email"])
    email = str(email).strip() if isinstance(email, str) else ""
    name = claim(data, names["name"])
    organisation = claim(data, names["organisation"])
    return {
        "uid": claim(data, names["uid"]),
        "email": email,
        "email_verified": bool(email) and parse_bool_safely(claim(data, names["email_verified"])),
        "name": str(name).strip()[:150] if isinstance(name, str | int) else "",
        "organisation": str(organisation).strip() if isinstance(organisation, str | int) else "",
    }


class PortalOIDCProvider(OpenIDConnectProvider):
    """allauth's OpenID Connect provider, reading the claims the app's settings name."""

    package = "allauth.socialaccount.providers.openid_connect"  # its URLs stay allauth's

    def extract_uid(self, data):
        uid = oidc_claims(self.app, data)["uid"]
        if uid in (None, ""):
            raise OAuth2Error("the provider's answer has no subject identifier")
        return str(uid)

    def extract_common_fields(self, data):
        person = oidc_claims(self.app, data)
        return {"email": person["email"] or None, "name": person["name"]}

    def extract_email_addresses(self, data):
        person = oidc_claims(self.app, data)
        if not person["email"]:
            return []
        return [EmailAddress(email=person["email"], verified=person["email_verified"], primary=True)]


def _provider_of(sociallogin):
    provider = getattr(sociallogin, "provider", None)
    if provider is None:
        try:
            provider = sociallogin.account.get_provider()
        except SocialApp.DoesNotExist:
            return None
    return provider


def refused_page(request, provider, message: str, *, status: int = 403):
    return render(
        request,
        "socialaccount/sign_in_refused.html",
        {
            "provider_name": getattr(provider, "name", ""),
            "message": message,
        },
        status=status,
    )


class SocialAccountAdapter(DefaultSocialAccountAdapter):
    def is_open_for_signup(self, request, sociallogin):
        return settings.ACCOUNT_ALLOW_SIGNUP

    def pre_social_login(self, request, sociallogin):
        provider = _provider_of(sociallogin)
        if isinstance(provider, OpenIDConnectProvider):
            person = oidc_claims(provider.app, sociallogin.account.extra_data)
            require = provider.app.settings.get("require_verified_email", True)
            if person["email"] and not person["email_verified"] and require is not False:
                security._record(
                    "auth.sso_refused",
                    request,
                    user=request.user if request.user.is_authenticated else None,
                    reason=f"{provider.app.provider_id}: the provider does not vouch for the email",
                )
                raise ImmediateHttpResponse(
                    refused_page(
                        request,
                        provider,
                        _(
                            "%(provider)s did not confirm that the email address it sent is yours, so the "
                            "portal cannot sign you in with it. Confirm your address with %(provider)s first, "
                            "or sign in another way."
                        )
                        % {"provider": provider.name},
                    )
                )
        return super().pre_social_login(request, sociallogin)

    def populate_user(self, request, sociallogin, data):
        user = super().populate_user(request, sociallogin, data)
        # The portal's User has one ``name`` (allauth's default fills first and last names it does not have).
        name = str(data.get("name") or "").strip()
        if name and hasattr(user, "name") and not user.name:
            user.name = name[:150]
        return user

    def on_authentication_error(self, request, provider, error=None, exception=None, extra_context=None):
        security._record(
            "auth.sso_failed",
            request,
            reason=f"{getattr(provider, 'id', provider)}: {error or ''} {type(exception).__name__ if exception else ''}"[
                :400
            ].strip(),
        )
        return super().on_authentication_error(request, provider, error, exception, extra_context)


# --- organisations from an OpenID provider's organisation claim -------------------------------------------------


def oidc_organisation(app, value: str):
    """The organisation the claim's value stands for: only those the app's settings map (an identity provider
    speaks for the organisations the operator named, never for any it likes)."""
    from accounts.carsi import find_organisation

    mapping = app.settings.get("organisations") if isinstance(app.settings, dict) else None
    if not value or not isinstance(mapping, dict):
        return None
    return find_organisation(mapping.get(value))


def sync_oidc_membership(request, user, sociallogin) -> str:
    """At each sign-in through an OpenID provider whose settings map organisations: the person is a plain member
    of the organisation their claim names, and stops being one (if this provider made them one) when it no
    longer does."""
    from accounts.carsi import follow_membership
    from accounts.models import SamlMembership

    provider = _provider_of(sociallogin) if sociallogin is not None else None
    if not isinstance(provider, OpenIDConnectProvider) or user is None or not user.pk:
        return "not_configured"
    app = provider.app
    if not isinstance(app.settings.get("organisations"), dict):
        return "not_configured"
    source = f"oidc:{app.provider_id}"
    value = oidc_claims(app, sociallogin.account.extra_data)["organisation"]
    organisation = oidc_organisation(app, value)
    reason = f"sign-in through {app.provider_id}"
    template = "accounts/email/sso_membership"
    if organisation is None:
        if value:
            logger.warning("OpenID app %s sent an organisation it does not map: %r", app.provider_id, value)
        existing = (
            SamlMembership.objects.filter(app=source, membership__user=user)
            .select_related("membership__organisation")
            .first()
        )
        if existing is None:
            return "unchanged"
        organisation = existing.membership.organisation
        return follow_membership(
            user, source=source, organisation=organisation, labels=[], reason=reason, mail_template=template
        )
    return follow_membership(
        user,
        source=source,
        organisation=organisation,
        labels=[value[:200]],
        reason=reason,
        mail_template=template,
    )


# --- signal receivers (connected in accounts/hooks.py) --------------------------------------------------------


def on_user_logged_in(sender, request, user, sociallogin=None, **kwargs):
    if sociallogin is not None:
        sync_oidc_membership(request, user, sociallogin)


def on_user_signed_up(sender, request, user, sociallogin=None, **kwargs):
    if sociallogin is not None:
        sync_oidc_membership(request, user, sociallogin)


def on_social_account_added(sender, request, sociallogin, **kwargs):
    account = sociallogin.account
    security._record(
        "auth.sso_linked",
        request,
        user=account.user,
        actor=account.user,
        reason=f"{account.provider}: {_provider_label(sociallogin)}",
    )
    sync_oidc_membership(request, account.user, sociallogin)


def on_social_account_removed(sender, request, socialaccount, **kwargs):
    security._record(
        "auth.sso_unlinked",
        request,
        user=socialaccount.user,
        actor=socialaccount.user,
        reason=str(socialaccount.provider),
    )


def _provider_label(sociallogin) -> str:
    provider = _provider_of(sociallogin)
    return str(getattr(provider, "name", "") or sociallogin.account.provider)


def personal_data(user) -> list[dict]:
    """The personal-data export's section: every sign-in identity linked to the account."""
    from allauth.socialaccount.models import SocialAccount

    return [
        {
            "provider": account.provider,
            "identifier": account.uid,
            "linked": account.date_joined.isoformat(),
            "last_sign_in": account.last_login.isoformat() if account.last_login else None,
            "as_the_provider_described_you": account.extra_data,
        }
        for account in SocialAccount.objects.filter(user=user).order_by("pk")
    ]


# --- the middleware -------------------------------------------------------------------------------------------


class UnconfiguredProviderMiddleware:
    """A sign-in URL of a provider the site has not configured is a 404 (never a server error), and a provider
    that cannot be reached is a page that says so."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        return self.get_response(request)

    def process_exception(self, request, exception):
        if isinstance(exception, SocialApp.DoesNotExist):
            raise Http404("This sign-in provider is not configured for this site.")
        if isinstance(exception, requests.RequestException | OAuth2Error) and _is_social_url(request):
            logger.warning("sign-in provider unreachable at %s: %r", request.path, exception)
            security._record("auth.sso_failed", request, reason=f"provider unreachable: {request.path}"[:400])
            return refused_page(
                request,
                None,
                _(
                    "The sign-in service you chose cannot be reached just now. Nothing was changed: try again "
                    "in a few minutes, or sign in another way."
                ),
                status=503,
            )
        return None


def _is_social_url(request) -> bool:
    match = getattr(request, "resolver_match", None)
    return bool(match) and (match.url_name or "").endswith(("_login", "_callback"))


# Pages whose forms start a single sign-on: the form posts to the portal, which redirects to the identity
# provider, and browsers hold that redirect to the page's CSP form-action.
SIGN_IN_PAGES = {"account_login", "account_signup", "socialaccount_connections", "account_reauthenticate"}

# Where each OAuth provider's sign-in starts when the app's settings do not say otherwise.
DEFAULT_AUTHORIZE_URLS = {
    "weixin": "https://open.weixin.qq.com/connect/qrconnect",
    "dingtalk": "https://login.dingtalk.com/oauth2/auth",
    "feishu": "https://open.feishu.cn/open-apis/authen/v1/index",
}


def _origin(url) -> str:
    parts = urlsplit(str(url or ""))
    return f"{parts.scheme}://{parts.netloc}" if parts.scheme in ("http", "https") and parts.netloc else ""


def app_sign_in_origin(app) -> str:
    """Where the browser goes to sign in through ``app``: its identity provider's origin."""
    config = app.settings if isinstance(app.settings, dict) else {}
    if app.provider == "saml":
        idp = config.get("idp") if isinstance(config.get("idp"), dict) else {}
        return _origin(idp.get("sso_url") or idp.get("metadata_url"))
    if app.provider == "openid_connect":
        return _origin(config.get("authorization_url") or config.get("server_url"))
    endpoints = config.get("endpoints") if isinstance(config.get("endpoints"), dict) else {}
    return _origin(
        endpoints.get("authorize_url")
        or config.get("AUTHORIZE_URL")
        or config.get("authorize_url")
        or DEFAULT_AUTHORIZE_URLS.get(app.provider)
    )


def sign_in_origins(request) -> list[str]:
    """The origins of every configured provider's sign-in endpoint."""
    origins = {app_sign_in_origin(app) for app in get_social_adapter().list_apps(request)}
    return sorted(origin for origin in origins if origin)


# Whether the site has any provider: asked by the account menu on every page, so it is cached (in the shared
# cache: every web process sees a change at once) and forgotten whenever a social application changes.
OFFERED_CACHE_KEY = "sso:offered:{site}"


def providers_offered(request) -> bool:
    key = OFFERED_CACHE_KEY.format(site=settings.SITE_ID)
    offered = cache.get(key)
    if offered is None:
        offered = bool(get_social_adapter().list_apps(request))
        cache.set(key, offered, 3600)
    return offered


def forget_offered_providers(sender=None, **kwargs) -> None:
    cache.delete(OFFERED_CACHE_KEY.format(site=settings.SITE_ID))
    chrome.forget_everyone()  # the account menu's "Linked sign-ins" follows


def is_sign_in_page(url_name: str | None) -> bool:
    return bool(url_name) and (url_name in SIGN_IN_PAGES or url_name.endswith("_login"))


class SignInFormActionMiddleware:
    """Lets the sign-in pages' forms lead to the configured identity providers: their origins join the CSP
    form-action of those pages only (every other page keeps form-action 'self')."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        match = getattr(request, "resolver_match", None)
        if (
            match is None
            or not is_sign_in_page(match.url_name)
            or response.has_header("Content-Security-Policy")
        ):
            return response
        origins = sign_in_origins(request)
        if origins:
            policy = dict(settings.CONTENT_SECURITY_POLICY)
            policy["form-action"] = [*policy.get("form-action", ["'self'"]), *origins]
            response["Content-Security-Policy"] = format_policy(policy)
        return response
