"""Universities sign in through CARSI (SAML 2.0): allauth's SAML provider with the portal's two additions.

1. Replay protection. allauth (python3-saml underneath) checks the signatures, the audience, the destination,
   the validity window, that the response answers an AuthnRequest this browser started (InResponseTo) and
   refuses responses the identity provider sent unasked. It keeps no record of the assertions it accepted: the
   portal stores each accepted assertion ID until its NotOnOrAfter and refuses the same ID again
   (``CarsiSAMLProvider``, hooked in as allauth's SAML provider class by SOCIALACCOUNT_PROVIDERS).
2. Membership from the affiliation. At every SAML sign-in the ``eduPersonScopedAffiliation`` values whose
   scope the application may assert (``settings.carsi.scopes``) make the person a member of the university's
   organisation (``settings.carsi.organisation``, by id or Unified Social Credit Code); the membership follows
   the latest sign-in: added, its affiliations updated, removed when the university no longer asserts one.
   Only memberships this mapping created (``SamlMembership``) are changed or removed; a sign-in never grants a
   managing role. A scope the application may not assert is ignored, logged and audited.

The operator's guide is docs/sign-in.md, "A CARSI university (SAML)".
"""

import logging
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from allauth.core.exceptions import ImmediateHttpResponse
from allauth.socialaccount.providers.saml.provider import SAMLProvider
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.db import IntegrityError, transaction
from django.shortcuts import render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from onelogin.saml2.constants import OneLogin_Saml2_Constants
from onelogin.saml2.errors import OneLogin_Saml2_Error

from accounts import security
from accounts.models import Membership, MembershipRole, Organisation, SamlAssertion, SamlMembership
from core import audit, signals
from core.mail import send_templated_mail

logger = logging.getLogger(__name__)

# The attribute's names: its OID (what pysaml2, Shibboleth and CARSI send with NameFormat uri) and its friendly
# name (some identity providers send that as the Name). ``settings.carsi.affiliation_attribute`` overrides.
AFFILIATION_ATTRIBUTES = ("urn:oid:1.3.6.1.4.1.5923.1.1.1.9", "eduPersonScopedAffiliation")

# eduPerson affiliations that make a person a member of the university's organisation, and with which role.
# Students, faculty and staff alike are plain members: managing an organisation in the portal (its quota,
# applications, profile) is given by its owners, never by a university's directory.
ROLE_FOR_AFFILIATION = {
    "student": MembershipRole.MEMBER,
    "faculty": MembershipRole.MEMBER,
    "staff": MembershipRole.MEMBER,
    "employee": MembershipRole.MEMBER,
    "member": MembershipRole.MEMBER,
}
# The other affiliations eduPerson defines: valid, but no membership (alumni, walk-in library users, ...).
OTHER_AFFILIATIONS = {"affiliate", "alum", "library-walk-in"}

# An assertion without NotOnOrAfter (python3-saml in strict mode requires one) is remembered this long.
DEFAULT_ASSERTION_LIFETIME = timedelta(days=1)


# --- the provider: secure defaults and replay protection ----------------------------------------------------


def secure_settings(app_settings: dict) -> dict:
    """The application's settings with the portal's security floor: signed assertions and signed responses
    unless the operator explicitly turned ONE of them off (a Shibboleth identity provider signs only the
    response by default), never both; deprecated algorithms (SHA-1) refused; strict checks; responses the
    identity provider sends unasked refused."""
    advanced = dict(app_settings.get("advanced") or {})
    advanced.setdefault("want_assertion_signed", True)
    advanced.setdefault("want_message_signed", True)
    if not (advanced["want_assertion_signed"] or advanced["want_message_signed"]):
        advanced["want_assertion_signed"] = advanced["want_message_signed"] = True
    advanced["reject_deprecated_algorithm"] = True
    advanced["strict"] = True
    advanced["reject_idp_initiated_sso"] = True
    advanced.setdefault("signature_algorithm", OneLogin_Saml2_Constants.RSA_SHA256)
    advanced.setdefault("digest_algorithm", OneLogin_Saml2_Constants.SHA256)
    return {**app_settings, "advanced": advanced}


class CarsiSAMLProvider(SAMLProvider):
    """allauth's SAML provider with the portal's security floor and a single use for each assertion."""

    package = "allauth.socialaccount.providers.saml"  # its URLs (login, acs, metadata) stay allauth's

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        if self.app is not None:
            self.app.settings = secure_settings(
                self.app.settings if isinstance(self.app.settings, dict) else {}
            )

    def redirect(self, request, process, next_url=None, data=None, **kwargs):
        try:
            return super().redirect(request, process, next_url=next_url, data=data, **kwargs)
        except (ImproperlyConfigured, KeyError, TypeError, OneLogin_Saml2_Error) as exc:
            logger.error("SAML app %s is not configured correctly: %r", self.app.client_id, exc)
            message = _(
                "Signing in through this university is not set up correctly. Please tell the center's "
                "operators; meanwhile, sign in another way."
            )
            return refused_page(request, self, message=message, status=503)

    def extract_common_fields(self, data):
        # A university's identity provider speaks for the addresses of its own domains (its scopes and their
        # subdomains): such an address counts as verified; any other stays as the identity provider says.
        fields = super().extract_common_fields(data)
        email = str(fields.get("email") or "").strip().lower()
        if (
            email
            and "email_verified" not in fields
            and in_scopes(email.rpartition("@")[2], app_scopes(self.app))
        ):
            fields["email_verified"] = True
        return fields

    def sociallogin_from_response(self, request, response):
        # ``response`` is python3-saml's Auth after process_response() found it valid.
        if not accept_assertion(self.app, response, request=request):
            raise ImmediateHttpResponse(refused_page(request, self))
        sociallogin = super().sociallogin_from_response(request, response)
        # The portal's User has one ``name`` (allauth's default fills first/last names it does not have).
        name = str(self._extract(response).get("name") or "").strip()
        if name and hasattr(sociallogin.user, "name") and not sociallogin.user.name:
            sociallogin.user.name = name[:150]
        return sociallogin


def _assertion_expiry(auth) -> datetime:
    not_on_or_after = auth.get_last_assertion_not_on_or_after()
    if not not_on_or_after:
        return timezone.now() + DEFAULT_ASSERTION_LIFETIME
    # python3-saml tolerates this much clock drift past NotOnOrAfter: keep the ID as long as it would accept it.
    drift = OneLogin_Saml2_Constants.ALLOWED_CLOCK_DRIFT
    return datetime.fromtimestamp(int(not_on_or_after), tz=UTC) + timedelta(seconds=drift)


def accept_assertion(app, auth, *, request=None) -> bool:
    """Remember a valid assertion's ID until it expires; False when it was accepted before (a replay)."""
    issuer = str((app.settings.get("idp") or {}).get("entity_id") or app.client_id)[:255]
    assertion_id = str(auth.get_last_assertion_id() or "")[:255]
    if not assertion_id:
        logger.warning("SAML response of %s without an assertion ID refused", app.client_id)
        return False
    try:
        with transaction.atomic():
            SamlAssertion.objects.create(
                issuer=issuer,
                assertion_id=assertion_id,
                app=app.client_id,
                not_on_or_after=_assertion_expiry(auth),
            )
    except IntegrityError:
        logger.warning("replayed SAML assertion %s from %s refused", assertion_id, issuer)
        address = security.client_address(request) if request is not None else ""
        if security.first_in_window("saml_replayed", issuer, assertion_id, address):
            security._record(
                "auth.saml_replayed", request, reason=f"{app.client_id}: assertion {assertion_id[:80]}"
            )
        return False
    return True


def refused_page(request, provider, *, message=None, status=400):
    return render(
        request,
        "accounts/saml_refused.html",
        {
            "provider_name": provider.name,
            "login_url": provider.get_login_url(request),
            "message": message
            or _(
                "This sign-in answer from your university was already used. Each answer is good for one "
                "sign-in only, so a copy of it cannot sign anybody in."
            ),
        },
        status=status,
    )


def purge_expired_assertions(*, now=None) -> int:
    """Forget assertions past their NotOnOrAfter (python3-saml refuses them by their date anyway)."""
    deleted, _rows = SamlAssertion.objects.expired(now or timezone.now()).delete()
    return deleted


# --- membership from eduPersonScopedAffiliation ---------------------------------------------------------------


@dataclass(frozen=True)
class CarsiSettings:
    organisation: Organisation | None
    scopes: frozenset[str]
    attributes: tuple[str, ...]


def carsi_settings(app) -> CarsiSettings | None:
    """The application's ``carsi`` settings, None when it has none (a SAML app that is not a university)."""
    config = app.settings.get("carsi") if isinstance(app.settings, dict) else None
    if not isinstance(config, dict):
        return None
    attribute = config.get("affiliation_attribute") or AFFILIATION_ATTRIBUTES
    if isinstance(attribute, str):
        attributes = (attribute,)
    elif isinstance(attribute, list | tuple):
        attributes = tuple(str(name) for name in attribute)
    else:
        attributes = AFFILIATION_ATTRIBUTES
    return CarsiSettings(
        organisation=find_organisation(config.get("organisation")),
        scopes=app_scopes(app),
        attributes=attributes,
    )


def app_scopes(app) -> frozenset[str]:
    config = app.settings.get("carsi") if isinstance(app.settings, dict) else None
    scopes = config.get("scopes") or [] if isinstance(config, dict) else []
    scopes = [scopes] if isinstance(scopes, str) else scopes if isinstance(scopes, list | tuple) else []
    return frozenset(str(scope).strip().lower() for scope in scopes if str(scope).strip())


def in_scopes(domain: str, scopes) -> bool:
    return bool(domain) and any(domain == scope or domain.endswith("." + scope) for scope in scopes)


def find_organisation(reference) -> Organisation | None:
    """An organisation by its id (a number) or its Unified Social Credit Code (18 characters)."""
    if reference is None or isinstance(reference, bool):
        return None
    text = str(reference).strip()
    if text.isdigit() and len(text) < 18:
        return Organisation.objects.filter(pk=int(text)).first()
    if text:
        return Organisation.objects.filter(uscc=text.upper()).first()
    return None


def parse_affiliations(values, scopes) -> tuple[list[str], list[str]]:
    """Split eduPersonScopedAffiliation values into those to use (lower case, sorted, no duplicates) and
    those to ignore (a scope the application may not assert, or not an affiliation at all)."""
    accepted, ignored = set(), set()
    for value in values or []:
        text = str(value).strip().lower()
        affiliation, at, scope = text.partition("@")
        known = affiliation in ROLE_FOR_AFFILIATION or affiliation in OTHER_AFFILIATIONS
        if not at or not known or scope not in scopes:
            ignored.add(str(value).strip()[:200])
        else:
            accepted.add(text)
    return sorted(accepted), sorted(ignored)


def affiliation_values(attributes: dict, names) -> list[str]:
    for name in names:
        values = attributes.get(name)
        if values:
            return [values] if isinstance(values, str) else list(values)
    return []


def _membership_role(affiliations: list[str]) -> str | None:
    """The role these affiliations give (None: no membership); never a managing role, whatever the table."""
    roles = {ROLE_FOR_AFFILIATION.get(value.partition("@")[0]) for value in affiliations} - {None}
    return MembershipRole.MEMBER if roles else None


@transaction.atomic
def sync_university_membership(user, *, app, attributes: dict, request=None) -> str:
    """Make the person's membership of the application's university follow what this sign-in asserted.
    Returns what happened: "added", "changed", "removed", "unchanged", "not_ours" (a membership the person
    got otherwise, left alone) or "not_configured"."""
    config = carsi_settings(app)
    if config is None:
        return "not_configured"
    if config.organisation is None:
        logger.error(
            "SAML app %s names no existing organisation (settings.carsi.organisation)", app.client_id
        )
        return "not_configured"
    organisation = config.organisation
    accepted, ignored = parse_affiliations(affiliation_values(attributes, config.attributes), config.scopes)
    if ignored:
        logger.warning("SAML app %s asserted affiliations it may not assert: %s", app.client_id, ignored)
        audit.record(
            "auth.saml_affiliation_ignored",
            user,
            actor=user,
            reason=f"{app.client_id} may assert only {', '.join(sorted(config.scopes)) or '-'}; "
            f"ignored: {', '.join(ignored)}",
        )
    member_affiliations = [value for value in accepted if _membership_role([value])]
    return follow_membership(
        user,
        source=app.client_id,
        organisation=organisation,
        labels=member_affiliations if _membership_role(member_affiliations) else [],
        reason=f"university sign-in ({app.client_id})",
    )


@transaction.atomic
def follow_membership(
    user,
    *,
    source: str,
    organisation: Organisation,
    labels: list[str],
    reason: str,
    mail_template: str = "accounts/email/university_membership",
) -> str:
    """Make the person's membership of ``organisation`` follow what a sign-in through ``source`` (an identity
    provider's application) asserted: ``labels`` (its affiliations, or the organisation claim's value) make
    the person a plain member; none ends a membership that this source created. Memberships the person got
    otherwise are never changed, and one a manager has since made managing stays.
    Returns "added", "changed", "removed", "unchanged" or "not_ours"."""
    role = MembershipRole.MEMBER if labels else None
    # Memberships this source made for the person in other organisations (its settings changed since).
    stale = (
        SamlMembership.objects.select_for_update()
        .filter(app=source, membership__user=user)
        .exclude(membership__organisation=organisation)
        .select_related("membership__organisation", "membership__user")
    )
    for old in stale:
        _remove(old, reason=reason, mail_template=mail_template)

    membership = Membership.objects.select_for_update().filter(user=user, organisation=organisation).first()
    origin = SamlMembership.objects.filter(membership=membership).first() if membership is not None else None
    if role is None:
        if origin is None or origin.app != source:
            return "unchanged" if membership is None else "not_ours"
        return "removed" if _remove(origin, reason=reason, mail_template=mail_template) else "unchanged"
    if membership is None:
        membership = Membership.objects.create(user=user, organisation=organisation, role=role)
        SamlMembership.objects.create(membership=membership, app=source, affiliations=labels)
        audit.record(
            "membership.create",
            membership,
            actor=user,
            organisation=organisation,
            changes={"role": (None, role), "affiliations": (None, labels)},
            reason=reason,
        )
        _mail(user, organisation, "added", labels, template=mail_template)
        return "added"
    if origin is None:
        return "not_ours"
    if origin.affiliations == labels and origin.app == source:
        return "unchanged"
    before = origin.affiliations
    origin.affiliations, origin.app = labels, source
    origin.save(update_fields=["affiliations", "app", "updated_at"])
    audit.record(
        "membership.saml_affiliation_change",
        membership,
        actor=user,
        organisation=organisation,
        changes={"affiliations": (before, labels)},
        reason=reason,
    )
    _mail(user, organisation, "changed", labels, template=mail_template)
    return "changed"


def _remove(source: SamlMembership, *, reason: str, mail_template: str) -> bool:
    """End a membership the university's sign-in created; one a manager has since made managing stays."""
    membership = source.membership
    if membership.role in MembershipRole.managing():
        return False
    organisation, user = membership.organisation, membership.user
    audit.record(
        "membership.remove",
        membership,
        actor=user,
        organisation=organisation,
        changes={"role": (membership.role, None), "affiliations": (source.affiliations, None)},
        reason=f"{reason}: no longer asserted",
    )
    membership.delete()
    signals.member_left.send(sender=Membership, organisation=organisation, user=user, by=user)
    _mail(user, organisation, "removed", [], template=mail_template)
    return True


def _mail(user, organisation, event: str, affiliations: list[str], *, template: str) -> None:
    if not user.email:  # known only by a mobile number: the portal's notices reach them on their pages
        return
    send_templated_mail(
        template,
        to=[user.email],
        context={
            "event": event,
            "organisation": organisation,
            "affiliations": ", ".join(affiliations),
            # After a removal the organisation's page is no longer theirs to see: the dashboard instead.
            "url": settings.SITE_URL
            + (reverse("dashboard") if event == "removed" else organisation.get_absolute_url()),
        },
    )


def personal_data(user) -> list[dict]:
    """The personal-data export's section: the memberships university sign-ins gave, with their affiliations."""
    return [
        {
            "organisation": source.membership.organisation.name_zh,
            "organisation_id": source.membership.organisation_id,
            "university_application": source.app,
            "affiliations": source.affiliations,
            "since": source.created_at.isoformat(),
            "last_changed": source.updated_at.isoformat(),
        }
        for source in SamlMembership.objects.filter(membership__user=user).select_related(
            "membership__organisation"
        )
    ]


# --- signal receivers (connected in accounts/hooks.py) --------------------------------------------------------


def _saml_app(sociallogin):
    provider = getattr(sociallogin, "provider", None)
    if provider is None:
        try:
            provider = sociallogin.account.get_provider()
        except Exception:  # an app removed since: nothing to map
            return None
    return provider.app if isinstance(provider, SAMLProvider) else None


def sync_from_sociallogin(request, user, sociallogin) -> None:
    app = _saml_app(sociallogin) if sociallogin is not None else None
    if app is None or user is None or not user.pk:
        return
    sync_university_membership(
        user, app=app, attributes=sociallogin.account.extra_data or {}, request=request
    )


def on_user_logged_in(sender, request, user, sociallogin=None, **kwargs):
    """A sign-in finished (after the MFA stage, for people who have a second factor)."""
    sync_from_sociallogin(request, user, sociallogin)


def on_user_signed_up(sender, request, user, sociallogin=None, **kwargs):
    """A new account from a SAML sign-in (it may still have to confirm its email before it signs in)."""
    sync_from_sociallogin(request, user, sociallogin)


def on_social_account_added(sender, request, sociallogin, **kwargs):
    """A signed-in person linked their university identity: its affiliations count from now on."""
    sync_from_sociallogin(request, sociallogin.user, sociallogin)
