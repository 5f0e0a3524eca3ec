"""Mobile numbers: parsed, validated and stored in E.164 (the ``phonenumbers`` library), +86 by default; who has
which number (accounts.models.PhoneNumber, read and written by allauth through accounts.adapter); the limits on
SMS codes (per number, per client address, per day, atomic in the cache); and the sign-up by mobile number.
"""

import hashlib
import logging

import phonenumbers
from allauth.account.stages import EmailVerificationStage as AllauthEmailVerificationStage
from allauth.core.internal.ratelimit import parse_rates
from django import forms
from django.conf import settings
from django.core.cache import cache
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from accounts.models import PhoneNumber, User
from core import audit

logger = logging.getLogger(__name__)


def normalize_phone(text: str) -> str:
    """``text`` as an E.164 number ("+8613812345678"), or ValidationError saying what is wrong."""
    try:
        number = phonenumbers.parse(text or "", getattr(settings, "PHONE_DEFAULT_REGION", "CN"))
    except phonenumbers.NumberParseException:
        raise ValidationError(
            _("Enter a mobile number, such as 138 1234 5678."), code="phone_invalid"
        ) from None
    if not phonenumbers.is_valid_number(number):
        raise ValidationError(_("Enter a mobile number, such as 138 1234 5678."), code="phone_invalid")
    if phonenumbers.number_type(number) not in (
        phonenumbers.PhoneNumberType.MOBILE,
        phonenumbers.PhoneNumberType.FIXED_LINE_OR_MOBILE,
    ):
        raise ValidationError(
            _("This is not a mobile number: text messages cannot reach it."), code="phone_invalid"
        )
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def display_phone(number: str) -> str:
    """The number as people write it: national format at home (138 1234 5678), international elsewhere."""
    try:
        parsed = phonenumbers.parse(number, None)
    except phonenumbers.NumberParseException:
        return number
    region = getattr(settings, "PHONE_DEFAULT_REGION", "CN")
    if phonenumbers.region_code_for_number(parsed) == region:
        return phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.NATIONAL)
    return phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.INTERNATIONAL)


def masked_phone(number: str) -> str:
    """For audit reasons and logs: +86 138****5678."""
    return number[:-8] + "****" + number[-4:] if len(number) > 8 else "****"


class PhoneField(forms.CharField):
    """A mobile number field: accepts what people type (spaces, dashes, with or without +86), cleans to E.164."""

    def __init__(self, **kwargs):
        kwargs.setdefault("label", gettext_lazy("Mobile number"))
        kwargs.setdefault("max_length", 32)
        kwargs.setdefault(
            "help_text",
            gettext_lazy("A mainland number as 138 1234 5678; other countries with their code, +852 …"),
        )
        widget = forms.TextInput(attrs={"type": "tel", "autocomplete": "tel", "inputmode": "tel"})
        kwargs.setdefault("widget", widget)
        super().__init__(**kwargs)

    def clean(self, value):
        value = super().clean(value)
        if not value:
            return value
        return normalize_phone(value)


# --- who has which number (allauth's adapter methods call these) ------------------------------------


def get_phone(user) -> tuple[str, bool] | None:
    row = PhoneNumber.objects.filter(user=user).only("number", "verified").first()
    return (row.number, row.verified) if row else None


def user_by_phone(number: str) -> User | None:
    row = (
        PhoneNumber.objects.filter(number=number, verified=True, user__is_active=True)
        .select_related("user")
        .first()
    )
    return row.user if row else None


@transaction.atomic
def set_phone(user, number: str, *, verified: bool, request=None) -> PhoneNumber:
    """Give ``user`` this number (replacing theirs). An unverified number held by someone else is released:
    it was never proved, and whoever proves it now owns it; a verified one is refused (IntegrityError)."""
    number = normalize_phone(number)
    PhoneNumber.objects.filter(number=number, verified=False).exclude(user=user).delete()
    current = PhoneNumber.objects.select_for_update().filter(user=user).first()
    before = current.number if current else None
    now = timezone.now() if verified else None
    if current is None:
        current = PhoneNumber.objects.create(user=user, number=number, verified=verified, verified_at=now)
    elif current.number != number or current.verified != verified:
        current.number, current.verified, current.verified_at = number, verified, now
        current.save(update_fields=["number", "verified", "verified_at", "updated_at"])
    else:
        return current
    if before != number:
        _audit("auth.phone_added" if before is None else "auth.phone_changed", user, before, number, request)
    if verified:
        _audit("auth.phone_verified", user, None, number, request)
    return current


@transaction.atomic
def set_phone_verified(user, number: str, *, request=None) -> PhoneNumber:
    """The person proved ``number`` with a code: it is theirs, verified (taken from an unverified holder)."""
    row = PhoneNumber.objects.select_for_update().filter(user=user, number=number).first()
    if row is None:
        return set_phone(user, number, verified=True, request=request)
    if not row.verified:
        row.verified, row.verified_at = True, timezone.now()
        row.save(update_fields=["verified", "verified_at", "updated_at"])
        _audit("auth.phone_verified", user, None, number, request)
    return row


@transaction.atomic
def remove_phone(user, *, request=None) -> None:
    row = PhoneNumber.objects.select_for_update().filter(user=user).first()
    if row is not None:
        row.delete()
        _audit("auth.phone_removed", user, row.number, None, request)


def _audit(action, user, before, after, request) -> None:
    from accounts.security import client_address  # accounts.security imports the adapter, which imports us

    where = client_address(request) if request is not None else ""
    audit.record(
        action,
        user,
        actor=user,
        changes={"phone": (masked_phone(before) if before else None, masked_phone(after) if after else None)},
        reason=f"from {where}" if where else "",
    )


# --- limits on SMS codes -------------------------------------------------------------------------------


def _limits(number: str, address: str):
    yield "number", number, settings.SMS_RATE_PER_NUMBER
    if address:
        yield "address", address, settings.SMS_RATE_PER_ADDRESS
    yield "site", "all", settings.SMS_RATE_PER_DAY


def _key(scope: str, who: str, seconds: float) -> str:
    digest = hashlib.sha256(f"{scope}\x1f{who}".encode()).hexdigest()[:32]
    return f"sms-quota:{scope}:{digest}:{int(seconds)}"


def _incr(key: str, seconds: float) -> int:
    """Count one in the window that starts at the first count: ``add`` then ``incr`` are atomic in Redis
    (SET NX, INCR) and in the in-memory cache (one lock), so concurrent requests never both get the last one."""
    for _attempt in range(3):
        cache.add(key, 0, int(seconds))
        try:
            return cache.incr(key)
        except ValueError:  # the window ended between add and incr: open the next one
            continue
    return 10**9


def code_quota_exhausted(number: str, address: str) -> int:
    """Without counting: the seconds to wait when a code to ``number`` from ``address`` would be refused now,
    0 when it would go out."""
    for scope, who, rates in _limits(number, address):
        for rate in parse_rates(rates):
            if (cache.get(_key(scope, who, rate.duration)) or 0) >= rate.amount:
                return int(rate.duration)
    return 0


def consume_code_quota(number: str, address: str) -> int:
    """Count a code about to be sent to ``number`` for a request from ``address``; 0 when it may go out, else
    the seconds to wait (the window of the limit reached). Limits: settings.SMS_RATE_PER_NUMBER,
    SMS_RATE_PER_ADDRESS and SMS_RATE_PER_DAY (the whole site's, against SMS pumping)."""
    for scope, who, rates in _limits(number, address):
        for rate in parse_rates(rates):
            if _incr(_key(scope, who, rate.duration), rate.duration) > rate.amount:
                logger.warning("SMS code refused: the %s limit %s was reached", scope, rates)
                return int(rate.duration)
    return 0


def quota_message(seconds: int) -> str:
    minutes = max(1, round(seconds / 60))
    return _(
        "Too many codes were sent to this number or from your connection. Try again in %(minutes)s minute(s)."
    ) % {"minutes": minutes}


# --- sign-in stages -----------------------------------------------------------------------------------


class EmailVerificationStage(AllauthEmailVerificationStage):
    """allauth's mandatory email verification, except for people who have no email address but a mobile
    number: their number is verified by allauth's phone stage (which runs first) instead."""

    def handle(self):
        user = self.login.user
        if user is not None and not user.email and not self.login.email and get_phone(user) is not None:
            return None, True
        return super().handle()


# --- sign-up by mobile number ------------------------------------------------------------------------------


def create_phone_user(*, number: str, name: str) -> User:
    """A new person known by a mobile number not yet proved (allauth's phone stage asks for the code before
    they are signed in). No email address, no password: they sign in with a code sent to the number."""
    with transaction.atomic():
        user = User.objects.create_user(email=None, password=None, name=name.strip())
        try:
            with transaction.atomic():
                set_phone(user, number, verified=False)
        except IntegrityError:
            raise ValidationError(_("This mobile number is already in use."), code="phone_taken") from None
    return user
