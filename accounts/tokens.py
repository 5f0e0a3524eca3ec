"""API tokens: creating, revoking and recognising them, and retiring the single plain-text tokens of before.

Why the portal's own small model rather than a library is written in docs/security.md ("API tokens").
"""

import secrets
from datetime import timedelta

from allauth.mfa.utils import is_mfa_enabled
from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.models import ApiToken, TokenScope, User
from accounts.models.tokens import DISPLAY_LENGTH, TOKEN_PREFIX, token_digest
from core import audit
from core.exceptions import Conflict, DomainError, NotAllowed
from core.mail import send_templated_mail
from core.roles import is_operator, requires_mfa

# A token remembers this many of the addresses it was used from; older ones drop off.
SEEN_ADDRESSES_KEPT = 50
# Last use is written at most this often per token and address, so a busy client does not write every request.
LAST_USED_RESOLUTION = timedelta(minutes=1)


@transaction.atomic
def create_api_token(user: User, *, name: str, scope: str, days: int | None = None) -> tuple[ApiToken, str]:
    """A new token for ``user``; returns it with its secret, which exists nowhere else after this call."""
    if requires_mfa(user) and not is_mfa_enabled(user):
        raise NotAllowed(_("Staff must turn on two-factor authentication before creating API tokens."))
    name = (name or "").strip()
    if not name:
        raise DomainError(_("Give the token a name, so you can tell it from your others later."))
    if scope not in TokenScope.values:
        raise DomainError(_("Choose read-only or read-and-write access."))
    days = settings.API_TOKEN_DEFAULT_DAYS if days is None else days
    if not 1 <= days <= settings.API_TOKEN_MAX_DAYS:
        raise DomainError(
            _("A token lives from 1 to %(max)d days.") % {"max": settings.API_TOKEN_MAX_DAYS}, code="expiry"
        )
    if ApiToken.objects.filter(user=user, name=name, revoked_at__isnull=True).exists():
        raise Conflict(_("You already have a token with this name; choose another or revoke that one."))
    secret = TOKEN_PREFIX + secrets.token_urlsafe(32)
    now = timezone.now()
    try:
        with transaction.atomic():
            token = ApiToken.objects.create(
                user=user,
                name=name,
                scope=scope,
                display_prefix=secret[:DISPLAY_LENGTH],
                digest=token_digest(secret),
                created_at=now,
                expires_at=now + timedelta(days=days),
            )
    except IntegrityError as error:  # the same name, created by a second request at the same moment
        raise Conflict(
            _("You already have a token with this name; choose another or revoke that one.")
        ) from error
    audit.record(
        "api_token.create",
        token,
        actor=user,
        changes={"name": (None, name), "scope": (None, scope), "expires_at": (None, token.expires_at)},
    )
    return token, secret


@transaction.atomic
def revoke_api_token(token: ApiToken, *, by: User) -> ApiToken:
    """End a token now. Its owner may, and so may any operator (the owner is told by mail)."""
    token = ApiToken.objects.select_for_update().select_related("user").get(pk=token.pk)
    if token.user_id != by.pk and not is_operator(by):
        raise NotAllowed(_("Only the token's owner or an operator may revoke it."))
    if token.revoked_at is not None:
        raise Conflict(_("This token is already revoked."))
    token.revoked_at, token.revoked_by = timezone.now(), by
    token.save(update_fields=["revoked_at", "revoked_by"])
    audit.record("api_token.revoke", token, actor=by, changes={"revoked_at": (None, token.revoked_at)})
    if token.user_id != by.pk:
        send_templated_mail(
            "accounts/email/api_token_revoked",
            to=[token.user.email],
            context={"token": token, "url": settings.SITE_URL + "/account/tokens/"},
        )
    return token


def find_active_token(secret: str) -> ApiToken | None:
    """The live token whose secret this is, with its owner; None for anything else."""
    if not secret.startswith(TOKEN_PREFIX) or len(secret) > 100:
        return None
    return ApiToken.objects.active().select_related("user").filter(digest=token_digest(secret)).first()


def note_token_use(token: ApiToken, *, address: str) -> None:
    """Remember when and where a token was last used; its first use from an address is an audit event."""
    now = timezone.now()
    if address and address not in token.seen_addresses:
        with transaction.atomic():
            token = ApiToken.objects.select_for_update().get(pk=token.pk)
            if address in token.seen_addresses:
                return
            token.seen_addresses = [*token.seen_addresses, address][-SEEN_ADDRESSES_KEPT:]
            token.last_used_at, token.last_used_ip = now, address
            token.save(update_fields=["seen_addresses", "last_used_at", "last_used_ip"])
            audit.record(
                "api_token.new_address",
                token,
                actor=token.user,
                changes={"address": (None, address)},
            )
        return
    stale = token.last_used_at is None or now - token.last_used_at >= LAST_USED_RESOLUTION
    if stale or token.last_used_ip != address:
        ApiToken.objects.filter(pk=token.pk).update(last_used_at=now, last_used_ip=address or None)


LEGACY_TABLE = "authtoken_token"


def retire_legacy_tokens(connection, *, user_model=User) -> int:
    """Drop the plain-text tokens of Django REST framework's ``authtoken`` and tell their owners by mail.

    Called by migration accounts.0006 (with its historical ``user_model``); the table is gone afterwards.
    Returns how many tokens were dropped."""
    if LEGACY_TABLE not in connection.introspection.table_names():
        return 0
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT user_id FROM {LEGACY_TABLE}")  # noqa: S608 - a constant table name
        user_ids = [row[0] for row in cursor.fetchall()]
        cursor.execute(f"DROP TABLE {LEGACY_TABLE}")
    people = user_model.objects.filter(pk__in=user_ids, is_active=True).only("email")
    for person in people:
        send_templated_mail(
            "accounts/email/api_token_retired",
            to=[person.email],
            context={"url": settings.SITE_URL + "/account/tokens/"},
        )
    return len(user_ids)
