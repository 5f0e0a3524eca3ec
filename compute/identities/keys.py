"""SSH public keys: what a person may paste, and the services that add, remove, revoke and expire keys.

Only OpenSSH public keys of types that are safe today are accepted: ssh-ed25519, ecdsa-sha2-nistp256/384/521
and ssh-rsa of 3072 bits or more. The key is parsed by ``cryptography`` (a malformed key is refused, not
stored), published as ``"<type> <base64>"`` (the comment is kept apart, options are refused) and shown with the
SHA256 fingerprint ``ssh-keygen -l`` prints. A private key pasted by mistake is refused with a message that
says never to share it; its text is never stored, logged or shown again.

Each change is audited on the identity, mailed to its owner and published to the directory after commit.
"""

import base64
import binascii
import hashlib
import re
from dataclasses import dataclass
from datetime import datetime

from cryptography.exceptions import UnsupportedAlgorithm
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import dsa, ec, ed25519, rsa
from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from accounts.models import User
from compute.identities import services
from compute.identities.models import ClusterIdentity, LockReason, SshKey
from core import audit
from core.exceptions import Conflict, NotAllowed
from core.mail import send_templated_mail
from core.roles import is_operator

# Key types the cluster accepts. sk- (FIDO) keys need a security key on every login node's clients and
# certificates need a CA the portal does not run, so both are refused with their own message.
ACCEPTED_TYPES = {
    "ssh-ed25519",
    "ecdsa-sha2-nistp256",
    "ecdsa-sha2-nistp384",
    "ecdsa-sha2-nistp521",
    "ssh-rsa",
}
KNOWN_TYPE_RE = re.compile(
    r"^(ssh-[a-z0-9-]+|ecdsa-sha2-[a-z0-9-]+|sk-[a-z0-9@.-]+|[a-z0-9-]+-cert-v0\d@openssh\.com)$"
)
MIN_RSA_BITS = 3072
MAX_RSA_BITS = 16384
# A public key is at most a few kilobytes (RSA 16384 is about 2.8 KB); anything longer is not one key.
MAX_TEXT = 16_000
MAX_COMMENT = 255
MAX_NAME = 100
# Enough for every laptop, workstation and CI runner a person uses; more is a sign of keys never cleaned up.
MAX_KEYS_PER_PERSON = 50

# What the audit trail shows for the key changes (registered in compute/hooks.py).
AUDIT_LABELS = {
    "ssh_key.add": gettext_lazy("SSH key added"),
    "ssh_key.remove": gettext_lazy("SSH key removed"),
    "ssh_key.revoke": gettext_lazy("SSH key revoked"),
    "ssh_key.expire": gettext_lazy("SSH key expired"),
}

PRIVATE_MARKERS = (
    "PRIVATE KEY-----",  # -----BEGIN OPENSSH / RSA / EC / DSA / ENCRYPTED PRIVATE KEY-----
    "PUTTY-USER-KEY-FILE-",  # PuTTY's .ppk
    "BEGIN SSH2 ENCRYPTED PRIVATE KEY",  # ssh.com
    "PRIVATE-LINES:",  # the rest of a .ppk pasted without its first line
)


@dataclass(frozen=True)
class ParsedKey:
    key_type: str
    public_key: str  # "<type> <base64>", as published
    comment: str
    fingerprint: str  # "SHA256:<base64 without padding>", as ssh-keygen -l prints it
    bits: int


def _invalid(message, code: str) -> ValidationError:
    return ValidationError(message, code=code)


def looks_private(text: str) -> bool:
    upper = (text or "").upper()
    return any(marker in upper for marker in PRIVATE_MARKERS)


def fingerprint_of(blob: bytes) -> str:
    digest = hashlib.sha256(blob).digest()
    return "SHA256:" + base64.b64encode(digest).decode("ascii").rstrip("=")


def parse_public_key(text: str) -> ParsedKey:
    """The one OpenSSH public key in ``text``, checked; ``ValidationError`` (with a code) says what is wrong."""
    text = (text or "").replace("\ufeff", "").strip()
    if not text:
        raise _invalid(_("Paste your public key: the contents of your .pub file."), "required")
    if looks_private(text):
        raise _invalid(
            _(
                "This is a PRIVATE key. Never share a private key with anyone, not even with us: whoever has "
                "it can log in as you. Paste the contents of the .pub file instead (for example "
                "~/.ssh/id_ed25519.pub). If this private key was ever sent or pasted anywhere else, make a "
                "new key pair."
            ),
            "private_key",
        )
    if len(text) > MAX_TEXT:
        raise _invalid(
            _("This is too long to be one public key. Paste one key, from one .pub file."), "too_long"
        )
    if "BEGIN SSH2 PUBLIC KEY" in text.upper():
        raise _invalid(
            _(
                "This key is in the RFC 4716 (SSH2) format. Convert it to the OpenSSH format with "
                "“ssh-keygen -i -f <file>” and paste the line it prints."
            ),
            "rfc4716",
        )
    lines = [line.strip() for line in text.splitlines() if line.strip() and not line.strip().startswith("#")]
    if not lines:
        raise _invalid(_("Paste your public key: the contents of your .pub file."), "required")
    if len(lines) > 1:
        if sum(1 for line in lines if _key_type_position(line.split()) is not None) > 1:
            raise _invalid(
                _("This holds several keys. Add one key at a time, each with its own name."), "several"
            )
        raise _invalid(
            _("A public key is one line. Paste the whole .pub file without line breaks inside the key."),
            "line_breaks",
        )
    tokens = lines[0].split()
    position = _key_type_position(tokens)
    if position is None:
        raise _invalid(
            _(
                "This is not an OpenSSH public key. A public key is one line that starts with its type, for "
                "example “ssh-ed25519 AAAAC3Nza…”: the contents of your .pub file."
            ),
            "not_a_key",
        )
    if position > 0:
        raise _invalid(
            _(
                "Remove what comes before the key type (options such as from=… or command=…): the portal "
                "publishes keys without options."
            ),
            "options",
        )
    key_type = tokens[0]
    _check_type(key_type)
    if len(tokens) < 2:
        raise _invalid(
            _("The key's data is missing after its type. Paste the whole line of the .pub file."), "not_a_key"
        )
    encoded = tokens[1]
    try:
        base64.b64decode(encoded, validate=True)
    except (binascii.Error, ValueError):
        raise _invalid(
            _("The key's data is damaged (it is not valid base64). Paste the .pub file again."), "damaged"
        ) from None
    try:
        key = serialization.load_ssh_public_key(f"{key_type} {encoded}".encode("ascii"))
    except (ValueError, UnsupportedAlgorithm, UnicodeEncodeError):
        raise _invalid(
            _("The key's data is damaged or does not match its type “%(type)s”. Paste the .pub file again.")
            % {"type": key_type},
            "damaged",
        ) from None
    bits = _check_key(key)
    canonical = key.public_bytes(serialization.Encoding.OpenSSH, serialization.PublicFormat.OpenSSH).decode()
    canonical_type, canonical_b64 = canonical.split(" ", 1)
    if canonical_type != key_type:
        raise _invalid(
            _("The key's data does not match its type “%(type)s”. Paste the .pub file again.")
            % {"type": key_type},
            "damaged",
        )
    comment = "".join(ch for ch in " ".join(tokens[2:]) if ch.isprintable())[:MAX_COMMENT]
    return ParsedKey(
        key_type=key_type,
        public_key=canonical,
        comment=comment,
        fingerprint=fingerprint_of(base64.b64decode(canonical_b64)),
        bits=bits,
    )


def _key_type_position(tokens: list[str]) -> int | None:
    """Where the key type is among the line's words (0 for a bare key, more after options), or None."""
    for index, token in enumerate(tokens[:20]):
        if (
            KNOWN_TYPE_RE.fullmatch(token)
            and index + 1 < len(tokens)
            and tokens[index + 1].startswith("AAAA")
        ):
            return index
    if tokens and KNOWN_TYPE_RE.fullmatch(tokens[0]):
        return 0
    return None


def _check_type(key_type: str) -> None:
    if key_type == "ssh-dss":
        raise _invalid(
            _(
                "DSA keys are not accepted: they are no longer safe and OpenSSH has dropped them. Make an "
                "ed25519 key with “ssh-keygen -t ed25519” and paste its .pub file."
            ),
            "dsa",
        )
    if key_type.startswith("sk-"):
        raise _invalid(
            _(
                "Security-key (FIDO, “sk-”) keys are not accepted on the cluster yet. Make an ed25519 key with "
                "“ssh-keygen -t ed25519” and paste its .pub file."
            ),
            "security_key",
        )
    if "-cert-" in key_type:
        raise _invalid(
            _(
                "SSH certificates are not accepted here. Paste the public key itself (the .pub file, not -cert.pub)."
            ),
            "certificate",
        )
    if key_type not in ACCEPTED_TYPES:
        raise _invalid(
            _(
                "Keys of type “%(type)s” are not accepted. Use ed25519 (recommended), ECDSA, or RSA of at least %(bits)s bits."
            )
            % {"type": key_type, "bits": MIN_RSA_BITS},
            "unsupported_type",
        )


def _check_key(key) -> int:
    if isinstance(key, ed25519.Ed25519PublicKey):
        return 256
    if isinstance(key, ec.EllipticCurvePublicKey):
        return key.curve.key_size
    if isinstance(key, rsa.RSAPublicKey):
        if key.key_size < MIN_RSA_BITS:
            raise _invalid(
                _(
                    "This RSA key has %(bits)s bits; the cluster accepts RSA keys of at least %(min)s bits. Make "
                    "an ed25519 key with “ssh-keygen -t ed25519” (or “ssh-keygen -t rsa -b 4096”)."
                )
                % {"bits": key.key_size, "min": MIN_RSA_BITS},
                "rsa_too_short",
            )
        if key.key_size > MAX_RSA_BITS:
            raise _invalid(
                _("This RSA key has %(bits)s bits, more than the %(max)s the cluster's sshd accepts.")
                % {"bits": key.key_size, "max": MAX_RSA_BITS},
                "rsa_too_long",
            )
        return key.key_size
    if isinstance(key, dsa.DSAPublicKey):
        _check_type("ssh-dss")
    raise _invalid(_("Keys of this type are not accepted. Use ed25519 (recommended)."), "unsupported_type")


# --- services ----------------------------------------------------------------------------------------


def _field_error(field: str, error: ValidationError) -> ValidationError:
    return ValidationError({field: error.error_list})


def _publish(identity: ClusterIdentity) -> None:
    """The directory must see the change: ``changed_at`` moves and the identity is published after commit."""
    services.request_publish(identity)


def _label(key: SshKey) -> str:
    return f"{key.name} ({key.key_type} {key.fingerprint})"


def _record(action: str, key: SshKey, *, by, before, after, reason: str = "") -> None:
    audit.record(action, key.identity, actor=by, changes={"ssh_key": (before, after)}, reason=reason)


def _mail(key: SshKey, event: str, **extra) -> None:
    """Tell the owner what happened to their key and what to do (also when they did it: a stolen session)."""
    user = key.identity.user
    if user is None or not user.email:
        return
    send_templated_mail(
        f"compute/email/ssh_key_{event}",
        to=[user.email],
        context={
            "key": key,
            "identity": key.identity,
            "url": settings.SITE_URL + reverse("compute:cluster_access"),
            **extra,
        },
    )


def clean_name(name: str, parsed: ParsedKey | None = None) -> str:
    name = " ".join((name or "").split())
    if not name and parsed is not None and parsed.comment:
        name = parsed.comment[:MAX_NAME]
    if not name:
        raise ValidationError({"name": [_("Name the key after where it lives, for example “work laptop”.")]})
    if len(name) > MAX_NAME:
        raise ValidationError(
            {"name": [_("Use at most %(max)s characters for the name.") % {"max": MAX_NAME}]}
        )
    return name


def clean_expiry(expires_at: datetime | None, now: datetime) -> datetime | None:
    if expires_at is None:
        return None
    if timezone.is_naive(expires_at):
        expires_at = timezone.make_aware(expires_at)
    if expires_at <= now:
        raise ValidationError({"expires_at": [_("The expiry must be in the future, or left empty.")]})
    return expires_at


@transaction.atomic
def add_key(user: User, text: str, *, name: str = "", expires_at: datetime | None = None) -> SshKey:
    """Add a public key to the person's cluster identity and publish it.

    Bad input raises ``ValidationError`` by field (``public_key``, ``name``, ``expires_at``) and writes nothing;
    a person without an identity gets ``Conflict`` (they choose their user name first).
    """
    now = timezone.now()
    identity = ClusterIdentity.objects.select_for_update().filter(user=user).first() if user.pk else None
    if identity is None:
        raise Conflict(
            _("Choose your cluster user name first: your keys belong to your cluster identity."),
            code="no_identity",
        )
    if identity.lock_reason in (LockReason.SUSPENDED, LockReason.DELETED):
        raise Conflict(
            _("Your cluster access is suspended, so no key can be added. Ask the center's support why."),
            code="identity_suspended",
        )
    try:
        parsed = parse_public_key(text)
    except ValidationError as error:
        raise _field_error("public_key", error) from None
    errors = {}
    try:
        name = clean_name(name, parsed)
    except ValidationError as error:
        errors.update(error.message_dict)
    try:
        expires_at = clean_expiry(expires_at, now)
    except ValidationError as error:
        errors.update(error.message_dict)
    if errors:
        raise ValidationError(errors)
    existing = SshKey.objects.select_related("identity").filter(
        fingerprint=parsed.fingerprint, removed_at__isnull=True
    )
    for key in existing:
        if key.identity_id == identity.pk and key.expires_at is not None and key.expires_at <= now:
            # The person's own expired key comes back as a new one (the beat had not yet marked it).
            _end(key, by=None, at=key.expires_at)
            _record("ssh_key.expire", key, by=None, before=_label(key), after=None)
        else:
            raise _duplicate(key, identity)
    if SshKey.objects.current(now).filter(identity=identity).count() >= MAX_KEYS_PER_PERSON:
        raise ValidationError(
            {
                "public_key": [
                    _(
                        "You have %(count)s keys, the most one person may have. Remove keys you no longer use first."
                    )
                    % {"count": MAX_KEYS_PER_PERSON}
                ]
            }
        )
    try:
        with transaction.atomic():
            key = SshKey.objects.create(
                identity=identity,
                name=name,
                key_type=parsed.key_type,
                bits=parsed.bits,
                public_key=parsed.public_key,
                comment=parsed.comment,
                fingerprint=parsed.fingerprint,
                created_at=now,
                expires_at=expires_at,
            )
    except IntegrityError:
        # Someone added the same key at the same moment: the unique constraint decided, say who has it.
        other = (
            SshKey.objects.select_related("identity")
            .filter(fingerprint=parsed.fingerprint, removed_at__isnull=True)
            .first()
        )
        raise _duplicate(other, identity) from None
    key.identity = identity
    _record("ssh_key.add", key, by=user, before=None, after=_label(key))
    _publish(identity)
    _mail(key, "added")
    return key


def _duplicate(key: SshKey | None, identity: ClusterIdentity) -> ValidationError:
    if key is not None and key.identity_id == identity.pk:
        return ValidationError(
            {"public_key": [_("You have already added this key, as “%(name)s”.") % {"name": key.name}]},
            code="duplicate",
        )
    return ValidationError(
        {
            "public_key": [
                _(
                    "This key is already in use by another person. A key is one person's: make a key pair of "
                    "your own (“ssh-keygen -t ed25519”) and paste its .pub file."
                )
            ]
        },
        code="taken",
    )


def _locked_key(key: SshKey) -> SshKey:
    locked = (
        SshKey.objects.select_for_update(of=("self",))
        .select_related("identity__user")
        .filter(pk=key.pk)
        .first()
    )
    if locked is None or locked.removed_at is not None:
        raise Conflict(_("This key has already been removed."), code="removed")
    return locked


def _end(key: SshKey, *, by: User | None, at: datetime, reason: str = "") -> None:
    key.removed_at = at
    key.removed_by = by if getattr(by, "is_authenticated", False) else None
    key.revoke_reason = reason
    key.save(update_fields=["removed_at", "removed_by", "revoke_reason"])


@transaction.atomic
def remove_key(key: SshKey, *, by: User) -> SshKey:
    """The owner removes one of their keys; it leaves the directory within seconds."""
    key = _locked_key(key)
    if key.identity.user_id != by.pk:
        raise NotAllowed(_("Only the key's owner removes it; operators revoke keys with a reason."))
    _end(key, by=by, at=timezone.now())
    _record("ssh_key.remove", key, by=by, before=_label(key), after=None)
    _publish(key.identity)
    _mail(key, "removed")
    return key


@transaction.atomic
def revoke_key(key: SshKey, *, by: User, reason: str) -> SshKey:
    """An operator takes a key away (compromised, shared, policy); the owner is told why."""
    if not is_operator(by):
        raise NotAllowed(_("Only the center's operators revoke keys."))
    reason = (reason or "").strip()
    if not reason:
        raise ValidationError({"reason": [_("Say why the key is revoked: its owner reads it.")]})
    key = _locked_key(key)
    _end(key, by=by, at=timezone.now(), reason=reason)
    _record("ssh_key.revoke", key, by=by, before=_label(key), after=None, reason=reason)
    _publish(key.identity)
    _mail(key, "revoked", reason=reason)
    return key


def expire_keys(now: datetime | None = None) -> int:
    """Mark keys past their expiry removed, publish their identities and tell the owners; returns how many."""
    now = now or timezone.now()
    due = list(
        SshKey.objects.filter(removed_at__isnull=True, expires_at__lte=now).values_list("pk", flat=True)
    )
    count = 0
    for pk in due:
        with transaction.atomic():
            key = (
                SshKey.objects.select_for_update(of=("self",))
                .select_related("identity__user")
                .filter(pk=pk, removed_at__isnull=True)
                .first()
            )
            if key is None:
                continue
            _end(key, by=None, at=key.expires_at)
            _record("ssh_key.expire", key, by=None, before=_label(key), after=None)
            _publish(key.identity)
            _mail(key, "expired")
            count += 1
    return count


def remove_all_keys(identity: ClusterIdentity, *, by: User | None, reason: str) -> int:
    """Every current key of the identity removed (account deletion); the caller publishes once."""
    count = 0
    for key in SshKey.objects.select_for_update(of=("self",)).filter(
        identity=identity, removed_at__isnull=True
    ):
        key.identity = identity
        _end(key, by=by, at=timezone.now(), reason=reason)
        _record("ssh_key.remove", key, by=by, before=_label(key), after=None, reason=reason)
        count += 1
    return count
