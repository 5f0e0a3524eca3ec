"""Bulk onboarding: invite many people at once, and admit people by their organisation's mail domain.

Inviting many: ``preview_batch`` reads a pasted list or a CSV file into a draft batch, one row per line with
its error (bad address or number, unknown role, duplicate, already a member, already invited); nothing is
sent. ``confirm_batch`` turns the good rows into invitations and enqueues ``send_batch`` (a Celery task),
which sends each row in its own transaction: the row is locked, sent (the mail is written to the outbox in
that same transaction; an SMS is handed to the gateway) and marked sent before the commit, so a task that
runs twice or dies half way never sends a row twice.

Admitting by domain: a manager adds a domain; it counts once verified, either by an operator or by a link
mailed to an address on that domain (there is no DNS to ask on the center's closed network). A person whose
verified address is on a verified domain may ask to join; a manager approves (membership as member) or
declines.
"""

import codecs
import csv
import io
import re
from dataclasses import dataclass, field
from functools import partial

from allauth.account.adapter import get_adapter as get_account_adapter
from allauth.account.models import EmailAddress
from django.conf import settings
from django.core import signing
from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import IntegrityError, transaction
from django.db.models import Count, Exists, F, OuterRef, Q
from django.db.models.functions import Lower
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from accounts import kept, sms
from accounts.access import managed_membership, require_manager
from accounts.models import (
    AdmissionRequest,
    AdmissionStatus,
    BatchSource,
    BatchStatus,
    DomainStatus,
    DomainVerification,
    Invitation,
    InvitationStatus,
    Membership,
    MembershipRole,
    OnboardingBatch,
    OnboardingRow,
    Organisation,
    OrganisationDomain,
    RowError,
    RowKind,
    RowStatus,
    User,
)
from accounts.phones import normalize_phone
from accounts.sms import SmsError
from core import audit, outbox, sweepers
from core.exceptions import Conflict, DomainError, NotAllowed
from core.mail import send_templated_mail
from core.roles import is_operator, sees_all_organisations
from core.states import save_transition
from core.sweepers import StuckItem

MAX_ROWS = 5000
MAX_BYTES = 1024 * 1024
SEND_TASK = "accounts.tasks.send_onboarding_batch_task"

# What a role may be called in a list (besides the values themselves): English and Chinese words.
ROLE_WORDS = {
    "owner": MembershipRole.OWNER,
    "所有者": MembershipRole.OWNER,
    "拥有者": MembershipRole.OWNER,
    "admin": MembershipRole.ADMIN,
    "administrator": MembershipRole.ADMIN,
    "管理员": MembershipRole.ADMIN,
    "member": MembershipRole.MEMBER,
    "成员": MembershipRole.MEMBER,
    "": MembershipRole.MEMBER,
}
HEADER_WORDS = {
    "contact": {
        "email",
        "e-mail",
        "mail",
        "mobile",
        "phone",
        "contact",
        "邮箱",
        "电子邮箱",
        "手机",
        "手机号",
        "手机号码",
    },
    "role": {"role", "角色"},
    "name": {"name", "full name", "姓名", "名字"},
}
# Addresses anyone can get: such a domain says nothing about who works where.
PUBLIC_MAIL_DOMAINS = {
    "qq.com",
    "foxmail.com",
    "163.com",
    "126.com",
    "yeah.net",
    "sina.com",
    "sina.cn",
    "sohu.com",
    "139.com",
    "189.cn",
    "aliyun.com",
    "gmail.com",
    "googlemail.com",
    "outlook.com",
    "hotmail.com",
    "live.com",
    "yahoo.com",
    "icloud.com",
    "me.com",
    "proton.me",
    "protonmail.com",
}
_DOMAIN_RE = re.compile(r"^(?=.{1,253}$)(?!-)([a-z0-9-]{1,63}(?<!-)\.)+[a-z]{2,63}$")
DOMAIN_PROOF_SALT = "accounts.onboarding.domain-proof"
DOMAIN_PROOF_MAX_AGE = 3 * 24 * 3600


# --- reading a list ---------------------------------------------------------------------------------


def decode_upload(data: bytes) -> str:
    """The text of an uploaded file: UTF-8 (with or without a byte-order mark) or GBK/GB18030, as Excel in
    Chinese saves CSV. Refuses anything else with a sentence that says what to do."""
    if len(data) > MAX_BYTES:
        raise DomainError(_("The file is larger than 1 MB: split it into smaller files."))
    if data.startswith(codecs.BOM_UTF8):
        data = data[len(codecs.BOM_UTF8) :]
    for encoding in ("utf-8", "gb18030"):
        try:
            return data.decode(encoding)
        except UnicodeDecodeError:
            continue
    raise DomainError(_("The file could not be read: save it as CSV in UTF-8 and upload it again."))


@dataclass
class ParsedLine:
    line: int
    raw: str
    cells: list[str] = field(default_factory=list)


def _split_lines(text: str) -> list[ParsedLine]:
    text = text.lstrip("\ufeff").replace("\r\n", "\n").replace("\r", "\n")
    lines = [(number, raw) for number, raw in enumerate(text.split("\n"), start=1) if raw.strip()]
    if len(lines) > MAX_ROWS + 1:  # one line may be the header
        raise DomainError(
            _("The list has more than %(max)d rows: split it into smaller lists.") % {"max": MAX_ROWS}
        )
    sample = "\n".join(raw for _number, raw in lines[:20])
    delimiter = "\t" if "\t" in sample else ";" if ";" in sample and "," not in sample else ","
    result = []
    for number, raw in lines:
        # A full-width comma is what a Chinese keyboard types between fields.
        cells = next(
            csv.reader(io.StringIO(raw.replace("，", ",") if delimiter == "," else raw), delimiter=delimiter)
        )
        result.append(ParsedLine(number, raw.strip()[:500], [cell.strip() for cell in cells]))
    return result


def _columns(first: ParsedLine) -> dict[str, int] | None:
    """The header's columns (contact, role, name), or None when the first line is already a person."""
    found = {}
    for index, cell in enumerate(first.cells):
        word = cell.strip().lower()
        for column, words in HEADER_WORDS.items():
            if word in words and column not in found:
                found[column] = index
    return found if "contact" in found else None


def parse_list(text: str) -> list[dict]:
    """One dict per line of the list: line, raw, kind, email, phone, role, name, error (no database)."""
    lines = _split_lines(text)
    if not lines:
        raise DomainError(_("The list is empty: give one email address or mobile number per line."))
    columns = _columns(lines[0])
    if columns is not None:
        lines = lines[1:]
        if not lines:
            raise DomainError(_("The list has a header but nobody under it."))
    else:
        columns = {"contact": 0, "role": 1, "name": 2}
    if len(lines) > MAX_ROWS:
        raise DomainError(
            _("The list has more than %(max)d rows: split it into smaller lists.") % {"max": MAX_ROWS}
        )
    rows, seen = [], {}
    for parsed in lines:
        cells = parsed.cells

        def cell(column, cells=cells):
            index = columns.get(column)
            return cells[index].strip() if index is not None and index < len(cells) else ""

        row = {
            "line": parsed.line,
            "raw": parsed.raw,
            "kind": "",
            "email": "",
            "phone": "",
            "name": cell("name"),
            "role": MembershipRole.MEMBER,
            "error": RowError.NONE,
            "error_line": None,
        }
        contact = cell("contact")
        role = ROLE_WORDS.get(cell("role").lower())
        if not contact:
            row["error"] = RowError.NO_CONTACT
        elif "@" in contact:
            row["kind"] = RowKind.EMAIL
            email = contact.lower()
            try:
                validate_email(email)
            except ValidationError:
                row["error"] = RowError.BAD_EMAIL
                row["raw"] = parsed.raw
            else:
                row["email"] = email
        else:
            row["kind"] = RowKind.PHONE
            try:
                row["phone"] = normalize_phone(contact)
            except ValidationError:
                row["error"] = RowError.BAD_PHONE
        if not row["error"]:
            if role is None:
                row["error"] = RowError.UNKNOWN_ROLE
            elif len(row["name"]) > 150:
                row["error"] = RowError.NAME_TOO_LONG
            else:
                row["role"] = role
        if not row["error"]:
            key = row["email"] or row["phone"]
            if key in seen:
                row["error"], row["error_line"] = RowError.DUPLICATE, seen[key]
            else:
                seen[key] = parsed.line
        row["name"] = row["name"][:150]
        rows.append(row)
    return rows


# --- who is a member, who is invited: each one query for the whole list ------------------------------


def verified_phone(user) -> str | None:
    """The person's verified mobile number (E.164), if the site stores numbers and theirs is verified."""
    try:
        found = get_account_adapter().get_phone(user)
    except NotImplementedError:
        return None
    if not found:
        return None
    phone, verified = found
    return phone if verified else None


def _conflicts(organisation: Organisation, rows: list[dict]) -> None:
    """Mark the rows whose person is already a member, or already has an open invitation."""
    emails = {row["email"] for row in rows if row["email"] and not row["error"]}
    phones = {row["phone"] for row in rows if row["phone"] and not row["error"]}
    member_emails = set()
    invited_emails = set()
    if emails:
        member_emails = set(
            Membership.objects.filter(organisation=organisation)
            .annotate(address=Lower("user__email"))
            .filter(address__in=emails)
            .values_list("address", flat=True)
        )
        invited_emails = set(
            Invitation.objects.pending()
            .filter(organisation=organisation)
            .annotate(address=Lower("email"))
            .filter(address__in=emails)
            .values_list("address", flat=True)
        )
    invited_phones = set()
    member_phones = set()
    if phones:
        invited_phones = set(
            OnboardingRow.objects.filter(
                organisation=organisation,
                phone__in=phones,
                status__in=RowStatus.open(),
            )
            # Queued rows get their expiry when they are sent.
            .filter(Q(expires_at__isnull=True) | Q(expires_at__gt=timezone.now()))
            .values_list("phone", flat=True)
        )
        member_phones = set(
            Membership.objects.filter(
                organisation=organisation, user__phone_number__number__in=phones
            ).values_list("user__phone_number__number", flat=True)
        )
    for row in rows:
        if row["error"]:
            continue
        if row["email"] in member_emails or row["phone"] in member_phones:
            row["error"] = RowError.MEMBER
        elif row["email"] in invited_emails or row["phone"] in invited_phones:
            row["error"] = RowError.INVITED


def _require_manager(organisation: Organisation, by: User):
    return require_manager(organisation, by)


@transaction.atomic
def preview_batch(
    organisation: Organisation, *, by: User, text: str, source: str = BatchSource.PASTE, file_name: str = ""
) -> OnboardingBatch:
    """Read the list into a draft batch: every row with its error; nothing is sent."""
    membership = _require_manager(organisation, by)
    rows = parse_list(text)
    if membership.role != MembershipRole.OWNER:
        for row in rows:
            if not row["error"] and row["role"] == MembershipRole.OWNER:
                row["error"] = RowError.OWNER_ROLE
    _conflicts(organisation, rows)
    batch = OnboardingBatch.objects.create(
        organisation=organisation,
        created_by=by,
        source=source,
        file_name=file_name[:200],
        row_count=len(rows),
        error_count=sum(1 for row in rows if row["error"]),
    )
    OnboardingRow.objects.bulk_create(
        [
            OnboardingRow(
                batch=batch,
                organisation=organisation,
                status=RowStatus.INVALID if row["error"] else RowStatus.READY,
                **row,
            )
            for row in rows
        ],
        batch_size=1000,
    )
    kept.ONBOARDING.forget()  # a bulk create sends no signal
    audit.record(
        "onboarding_batch.create",
        batch,
        actor=by,
        organisation=organisation,
        changes={"status": (None, batch.status), "rows": (None, batch.row_count)},
    )
    return batch


def _lock_batch(batch: OnboardingBatch) -> OnboardingBatch:
    return OnboardingBatch.objects.select_for_update().select_related("organisation").get(pk=batch.pk)


@transaction.atomic
def discard_batch(batch: OnboardingBatch, *, by: User) -> OnboardingBatch:
    batch = _lock_batch(batch)
    _require_manager(batch.organisation, by)
    if batch.status != BatchStatus.DRAFT:
        raise Conflict(_("Only a list that has not been sent can be discarded."))
    batch.status = BatchStatus.DISCARDED
    batch.save(update_fields=["status"])
    audit.record(
        "onboarding_batch.discard",
        batch,
        actor=by,
        organisation=batch.organisation,
        changes={"status": (BatchStatus.DRAFT, BatchStatus.DISCARDED)},
    )
    return batch


@transaction.atomic
def confirm_batch(batch: OnboardingBatch, *, by: User) -> OnboardingBatch:
    """Queue the good rows (checked again: someone may have joined or been invited since the preview) and
    enqueue the task that sends them. A few queries whatever the size of the list: the task creates each
    email row's invitation in the transaction that sends it."""
    batch = _lock_batch(batch)
    organisation = batch.organisation
    membership = _require_manager(organisation, by)
    if batch.status != BatchStatus.DRAFT:
        raise Conflict(_("This list has already been confirmed."))
    # Serialise with other lists of the organisation (the check below, then the queued rows, are one step).
    Organisation.objects.select_for_update().filter(pk=organisation.pk).first()
    ready = list(batch.rows.filter(status=RowStatus.READY).order_by("line"))
    checked = [{"email": row.email, "phone": row.phone, "error": RowError.NONE} for row in ready]
    # Mobile invitations past their expiry but not yet marked so must not block new ones.
    OnboardingRow.objects.filter(
        organisation=organisation,
        phone__in=[row.phone for row in ready if row.phone],
        status__in=RowStatus.open(),
        expires_at__lte=timezone.now(),
    ).update(status=RowStatus.EXPIRED)
    _conflicts(organisation, checked)
    now_invalid, queued = [], []
    for row, values in zip(ready, checked, strict=True):
        error = values["error"]
        if not error and row.role == MembershipRole.OWNER and membership.role != MembershipRole.OWNER:
            error = RowError.OWNER_ROLE
        if error:
            row.status, row.error = RowStatus.INVALID, error
            now_invalid.append(row)
            continue
        queued.append(row)
    OnboardingRow.objects.bulk_update(now_invalid, ["status", "error"], batch_size=1000)
    # One UPDATE whatever the size: a mobile row gets its token when it is sent.
    OnboardingRow.objects.filter(pk__in=[row.pk for row in queued]).update(status=RowStatus.QUEUED)
    kept.ONBOARDING.forget()  # bulk updates send no signal
    batch.error_count += len(now_invalid)
    batch.status = BatchStatus.SENDING if queued else BatchStatus.DONE
    batch.confirmed_at = timezone.now()
    batch.finished_at = None if queued else batch.confirmed_at
    batch.language = translation.get_language() or settings.LANGUAGE_CODE
    batch.save(update_fields=["status", "confirmed_at", "finished_at", "language", "error_count"])
    audit.record(
        "onboarding_batch.confirm",
        batch,
        actor=by,
        organisation=organisation,
        changes={"status": (BatchStatus.DRAFT, batch.status), "invitations": (None, len(queued))},
    )
    if queued:
        _enqueue_sending(batch)
    return batch


def _enqueue_sending(batch: OnboardingBatch) -> None:
    outbox.enqueue_task(SEND_TASK, args=[batch.pk])


# --- sending: one row per transaction, each exactly once ---------------------------------------------


def send_batch(batch_id: int) -> int:
    """Send every queued row of the batch; returns how many went out now. Safe to run twice at once or
    again after dying half way: each row is locked, checked and marked in the transaction that sends it."""
    batch = OnboardingBatch.objects.select_related("organisation", "created_by").filter(pk=batch_id).first()
    if batch is None:
        return 0
    sent = 0
    with translation.override(batch.language or settings.LANGUAGE_CODE):
        pks = list(batch.rows.filter(status=RowStatus.QUEUED).order_by("line").values_list("pk", flat=True))
        for pk in pks:
            sent += _send_row(pk, batch)
        _finish_if_done(batch)
    return sent


def _send_row(pk: int, batch: OnboardingBatch) -> int:
    with transaction.atomic():
        row = (
            OnboardingRow.objects.select_for_update(skip_locked=True, of=("self",))
            .select_related("invitation")
            .filter(pk=pk, status=RowStatus.QUEUED)
            .first()
        )
        if row is None:  # sent, withdrawn, or being sent by another run right now
            return 0
        if row.kind == RowKind.EMAIL:
            invitation = row.invitation or _invite(row, batch)
            if invitation is None:
                return 0
            if invitation.status != InvitationStatus.PENDING:
                row.status = RowStatus.REVOKED
                row.save(update_fields=["status"])
                return 0
            send_templated_mail(
                "accounts/email/invitation",
                to=[row.email],
                context={
                    "invitation": invitation,
                    "inviter": batch.created_by,
                    "url": settings.SITE_URL + invitation.get_absolute_url(),
                },
            )
        else:
            if not row.token or row.is_expired:
                row.give_token()
                row.save(update_fields=["token", "expires_at"])
            try:
                sms.send_text(
                    row.phone,
                    "invitation",
                    {
                        "organisation": batch.organisation.display_name,
                        "link": settings.SITE_URL + row.get_absolute_url(),
                    },
                )
            except SmsError as error:
                row.status = RowStatus.FAILED
                row.last_error = str(error)[:500]
                row.save(update_fields=["status", "last_error"])
                return 0
        row.status = RowStatus.SENT
        row.sent_at = timezone.now()
        row.sent_count += 1
        row.last_error = ""
        row.save(update_fields=["status", "sent_at", "sent_count", "last_error"])
        return 1


def _invite(row: OnboardingRow, batch: OnboardingBatch) -> Invitation | None:
    """The email row's invitation, created as it is first sent; None (and the row marked) when the person
    joined or was invited some other way since the list was confirmed."""
    organisation = batch.organisation
    values = [{"email": row.email, "phone": "", "error": RowError.NONE}]
    _conflicts(organisation, values)
    error = values[0]["error"]
    if not error:
        for stale in Invitation.objects.overdue().filter(organisation=organisation, email__iexact=row.email):
            save_transition(stale, stale.expire(), by=None, action="invitation.expire")
        try:
            with transaction.atomic():
                invitation = Invitation.objects.create(
                    organisation=organisation, email=row.email, role=row.role, invited_by=batch.created_by
                )
        except IntegrityError:  # invited on its own page at this very moment
            error = RowError.INVITED
    if error:
        row.status, row.error = RowStatus.INVALID, error
        row.save(update_fields=["status", "error"])
        OnboardingBatch.objects.filter(pk=batch.pk).update(error_count=F("error_count") + 1)
        kept.ONBOARDING.forget()  # an update sends no signal
        return None
    audit.record(
        "invitation.create",
        invitation,
        actor=batch.created_by,
        organisation=organisation,
        changes={"status": (None, invitation.status), "role": (None, row.role)},
    )
    row.invitation = invitation
    row.save(update_fields=["invitation"])
    return invitation


def _finish_if_done(batch: OnboardingBatch) -> None:
    with transaction.atomic():
        locked = (
            OnboardingBatch.objects.select_for_update()
            .filter(pk=batch.pk, status=BatchStatus.SENDING)
            .first()
        )
        if locked is None or locked.rows.filter(status=RowStatus.QUEUED).exists():
            return
        locked.status, locked.finished_at = BatchStatus.DONE, timezone.now()
        locked.save(update_fields=["status", "finished_at"])
        counts = batch_counts(locked)
        audit.record(
            "onboarding_batch.finish",
            locked,
            organisation=batch.organisation,
            changes={"status": (BatchStatus.SENDING, BatchStatus.DONE), "sent": (None, counts["sent"])},
        )
        if batch.created_by and batch.created_by.email:
            send_templated_mail(
                "accounts/onboarding/email/batch_done",
                to=[batch.created_by.email],
                context={
                    "batch": locked,
                    "organisation": batch.organisation,
                    "counts": counts,
                    "url": settings.SITE_URL + locked.get_absolute_url(),
                },
            )


def batch_counts(batch: OnboardingBatch) -> dict[str, int]:
    """How many rows of the batch are in each state, in one query."""
    figures = batch.rows.aggregate(
        total=Count("id"),
        **{status: Count("id", filter=Q(status=status)) for status in RowStatus.values},
        # An email row stays "sent"; its invitation says whether it was accepted.
        accepted_email=Count(
            "id", filter=Q(status=RowStatus.SENT, invitation__status=InvitationStatus.ACCEPTED)
        ),
    )
    accepted_email = figures.pop("accepted_email")
    figures["sent"] -= accepted_email
    figures["accepted"] += accepted_email
    figures["to_send"] = figures["total"] - figures["invalid"] - figures["ready"]
    done = figures["sent"] + figures["failed"] + figures["revoked"] + figures["accepted"] + figures["expired"]
    figures["done"] = min(done, figures["to_send"])
    figures["percent"] = round(100 * figures["done"] / figures["to_send"]) if figures["to_send"] else 100
    return figures


# --- resend and withdraw -----------------------------------------------------------------------------


def _rows_for(batch: OnboardingBatch, row_id: int | None, statuses: list[str]):
    rows = batch.rows.select_for_update(of=("self",)).select_related("invitation").filter(status__in=statuses)
    return rows.filter(pk=row_id) if row_id is not None else rows


@transaction.atomic
def resend(batch: OnboardingBatch, *, by: User, row_id: int | None = None) -> int:
    """Send again one row (sent or failed, still open), or every failed row; returns how many."""
    batch = _lock_batch(batch)
    _require_manager(batch.organisation, by)
    if batch.status not in (BatchStatus.SENDING, BatchStatus.DONE):
        raise Conflict(_("Confirm the list before sending anything."))
    statuses = [RowStatus.SENT, RowStatus.FAILED] if row_id is not None else [RowStatus.FAILED]
    count = 0
    for row in _rows_for(batch, row_id, statuses):
        if row.kind == RowKind.EMAIL:
            invitation = row.invitation
            if invitation is None or invitation.status != InvitationStatus.PENDING:
                continue
            if invitation.is_expired:  # a resent invitation is valid again for the usual time
                invitation.expires_at = timezone.now() + (invitation.expires_at - invitation.created_at)
                invitation.save(update_fields=["expires_at"])
        else:
            row.give_token()
        old = row.status
        row.status = RowStatus.QUEUED
        row.save(update_fields=["status", "token", "expires_at"])
        audit.record(
            "onboarding_row.resend",
            row,
            actor=by,
            organisation=batch.organisation,
            changes={"status": (old, RowStatus.QUEUED)},
        )
        count += 1
    if row_id is not None and not count:
        raise Conflict(_("This invitation cannot be sent again: it was answered, withdrawn or never sent."))
    if count:
        if batch.status == BatchStatus.DONE:
            batch.status, batch.finished_at = BatchStatus.SENDING, None
            batch.save(update_fields=["status", "finished_at"])
        _enqueue_sending(batch)
    return count


@transaction.atomic
def revoke(batch: OnboardingBatch, *, by: User, row_id: int | None = None) -> int:
    """Withdraw one open invitation of the batch, or all of them; returns how many."""
    batch = _lock_batch(batch)
    _require_manager(batch.organisation, by)
    count = 0
    for row in _rows_for(batch, row_id, RowStatus.open()):
        old = row.status
        if row.kind == RowKind.EMAIL and row.invitation is not None:
            invitation = row.invitation
            if invitation.status != InvitationStatus.PENDING:  # answered already (or withdrawn on its own)
                continue
            before = invitation.revoke()
            invitation.save(update_fields=["status", "responded_at"])
            audit.record(
                "invitation.revoke",
                invitation,
                actor=by,
                organisation=batch.organisation,
                changes={"status": (before, invitation.status)},
            )
        row.status = RowStatus.REVOKED
        row.save(update_fields=["status"])
        audit.record(
            "onboarding_row.revoke",
            row,
            actor=by,
            organisation=batch.organisation,
            changes={"status": (old, RowStatus.REVOKED)},
        )
        count += 1
    if row_id is not None and not count:
        raise Conflict(_("This invitation is no longer open."))
    return count


# --- mobile invitations: the invited person signs up or in with that number ---------------------------


def accept_mobile_invitation(row: OnboardingRow, *, user: User) -> Membership:
    phone = verified_phone(user)
    with transaction.atomic():
        row = OnboardingRow.objects.select_for_update().select_related("organisation").get(pk=row.pk)
        if row.kind != RowKind.PHONE or row.status not in (
            RowStatus.SENT,
            RowStatus.FAILED,
            RowStatus.QUEUED,
        ):
            raise Conflict(_("This invitation is no longer open."))
        if row.is_expired:
            row.status = RowStatus.EXPIRED
            row.save(update_fields=["status"])
            audit.record(
                "onboarding_row.expire",
                row,
                organisation=row.organisation,
                changes={"status": (RowStatus.SENT, RowStatus.EXPIRED)},
            )
        elif phone != row.phone:
            raise NotAllowed(
                _("This invitation was sent to another mobile number. Sign in with that number to accept it.")
            )
        else:
            old = row.status
            row.status, row.accepted_by, row.responded_at = RowStatus.ACCEPTED, user, timezone.now()
            row.save(update_fields=["status", "accepted_by", "responded_at"])
            audit.record(
                "onboarding_row.accept",
                row,
                actor=user,
                organisation=row.organisation,
                changes={"status": (old, RowStatus.ACCEPTED)},
            )
            return _join(row.organisation, user, row.role, by=user)
    raise DomainError(_("This invitation has expired: ask the organisation to invite you again."))


def _join(organisation: Organisation, user: User, role: str, *, by: User) -> Membership:
    membership, created = Membership.objects.get_or_create(
        user=user, organisation=organisation, defaults={"role": role}
    )
    if created:
        audit.record(
            "membership.create",
            membership,
            actor=by,
            organisation=organisation,
            changes={"role": (None, membership.role)},
        )
    return membership


def mobile_invitation_for(token: str) -> OnboardingRow | None:
    return (
        OnboardingRow.objects.select_related("organisation", "batch__created_by")
        .filter(token=token, kind=RowKind.PHONE)
        .exclude(status__in=[RowStatus.READY, RowStatus.INVALID])
        .first()
    )


# --- domains -----------------------------------------------------------------------------------------


def clean_domain(text: str) -> str:
    domain = (text or "").strip().lower().lstrip("@").rstrip(".")
    try:
        domain = domain.encode("idna").decode("ascii")
    except UnicodeError:
        raise DomainError(_("Enter a domain such as example.edu.cn.")) from None
    if not _DOMAIN_RE.match(domain):
        raise DomainError(_("Enter a domain such as example.edu.cn."))
    if domain in PUBLIC_MAIL_DOMAINS:
        raise DomainError(
            _("%(domain)s is a public mail service: anyone can have an address there.") % {"domain": domain}
        )
    return domain


@transaction.atomic
def add_domain(organisation: Organisation, *, by: User, domain: str) -> OrganisationDomain:
    _require_manager(organisation, by)
    domain = clean_domain(domain)
    if OrganisationDomain.objects.filter(organisation=organisation, domain=domain).exists():
        raise Conflict(_("%(domain)s is already on the list.") % {"domain": domain})
    if OrganisationDomain.objects.filter(domain=domain, status=DomainStatus.VERIFIED).exists():
        raise Conflict(_("%(domain)s is already verified for another organisation.") % {"domain": domain})
    entry = OrganisationDomain.objects.create(organisation=organisation, domain=domain, added_by=by)
    audit.record(
        "organisation_domain.add",
        entry,
        actor=by,
        organisation=organisation,
        changes={"domain": (None, domain)},
    )
    return entry


@transaction.atomic
def remove_domain(entry: OrganisationDomain, *, by: User) -> None:
    entry = OrganisationDomain.objects.select_for_update().select_related("organisation").get(pk=entry.pk)
    if not is_operator(by):
        _require_manager(entry.organisation, by)
    audit.record(
        "organisation_domain.remove",
        entry,
        actor=by,
        organisation=entry.organisation,
        changes={"domain": (entry.domain, None)},
    )
    entry.delete()


def _verify(
    entry: OrganisationDomain, *, by: User | None, method: str, address: str = ""
) -> OrganisationDomain:
    if entry.is_verified:
        return entry
    if OrganisationDomain.objects.filter(domain=entry.domain, status=DomainStatus.VERIFIED).exists():
        raise Conflict(
            _("%(domain)s is already verified for another organisation.") % {"domain": entry.domain}
        )
    entry.status, entry.verified_by_method, entry.verified_at = DomainStatus.VERIFIED, method, timezone.now()
    entry.verified_by, entry.verified_address = by, address
    entry.save(
        update_fields=["status", "verified_by_method", "verified_at", "verified_by", "verified_address"]
    )
    audit.record(
        "organisation_domain.verify",
        entry,
        actor=by,
        organisation=entry.organisation,
        changes={"status": (DomainStatus.PENDING, DomainStatus.VERIFIED), "method": (None, method)},
    )
    send_templated_mail(
        "accounts/onboarding/email/domain_verified",
        to=_managers_emails(entry.organisation),
        context={
            "entry": entry,
            "organisation": entry.organisation,
            "url": settings.SITE_URL + reverse("accounts:onboarding_domains", args=[entry.organisation_id]),
        },
    )
    return entry


@transaction.atomic
def verify_domain_by_operator(entry: OrganisationDomain, *, by: User) -> OrganisationDomain:
    if not is_operator(by):
        raise NotAllowed(_("Only the center's operators may do this."))
    entry = OrganisationDomain.objects.select_for_update().select_related("organisation").get(pk=entry.pk)
    return _verify(entry, by=by, method=DomainVerification.OPERATOR)


@transaction.atomic
def send_domain_proof(entry: OrganisationDomain, *, by: User, local_part: str) -> str:
    """Mail a link to ``local_part@domain``: whoever opens it shows that the organisation controls the
    domain's mail. Returns the address."""
    entry = OrganisationDomain.objects.select_for_update().select_related("organisation").get(pk=entry.pk)
    _require_manager(entry.organisation, by)
    local_part = (local_part or "").strip().split("@")[0]
    address = f"{local_part}@{entry.domain}"
    try:
        validate_email(address)
    except ValidationError:
        raise DomainError(_("Enter the part of an address before the @, such as it-office.")) from None
    token = signing.dumps({"d": entry.pk, "a": address}, salt=DOMAIN_PROOF_SALT, compress=True)
    send_templated_mail(
        "accounts/onboarding/email/domain_proof",
        to=[address],
        context={
            "entry": entry,
            "organisation": entry.organisation,
            "by": by,
            "url": settings.SITE_URL + reverse("accounts:domain_proof", args=[token]),
        },
    )
    audit.record(
        "organisation_domain.send_proof",
        entry,
        actor=by,
        organisation=entry.organisation,
        changes={"address": (None, address)},
    )
    return address


def domain_for_proof(token: str) -> tuple[OrganisationDomain, str] | None:
    try:
        data = signing.loads(token, salt=DOMAIN_PROOF_SALT, max_age=DOMAIN_PROOF_MAX_AGE)
    except signing.BadSignature:  # includes SignatureExpired
        return None
    entry = OrganisationDomain.objects.select_related("organisation").filter(pk=data.get("d")).first()
    address = str(data.get("a", ""))
    if entry is None or not address.endswith("@" + entry.domain):
        return None
    return entry, address


@transaction.atomic
def verify_domain_by_proof(token: str, *, by: User | None) -> OrganisationDomain:
    found = domain_for_proof(token)
    if found is None:
        raise DomainError(_("This link is not valid or has expired: ask for a new one."))
    entry, address = found
    entry = OrganisationDomain.objects.select_for_update().select_related("organisation").get(pk=entry.pk)
    return _verify(entry, by=by, method=DomainVerification.MAILBOX, address=address)


def _managers_emails(organisation: Organisation) -> list[str]:
    return list(
        Membership.objects.filter(organisation=organisation, role__in=MembershipRole.managing())
        .exclude(user__email__isnull=True)
        .values_list("user__email", flat=True)
    )


# --- admission by domain ----------------------------------------------------------------------------


def _verified_domains_of(user) -> dict[str, str]:
    """The domains of the person's verified addresses, each with one such address."""
    found = {}
    for address in EmailAddress.objects.filter(user=user, verified=True).values_list("email", flat=True):
        domain = address.rsplit("@", 1)[-1].lower()
        found.setdefault(domain, address.lower())
    return found


def join_offers(user) -> list[OrganisationDomain]:
    """The organisations the person may ask to join (a verified domain of one of their verified addresses),
    each domain row with ``address`` and ``pending`` (asked already); two queries."""
    if not getattr(user, "is_authenticated", False):
        return []
    domains = _verified_domains_of(user)
    if not domains:
        return []
    offers = list(
        OrganisationDomain.objects.filter(domain__in=domains, status=DomainStatus.VERIFIED)
        .exclude(Exists(Membership.objects.filter(organisation=OuterRef("organisation"), user=user)))
        .annotate(
            pending=Exists(
                AdmissionRequest.objects.filter(
                    organisation=OuterRef("organisation"), user=user, status=AdmissionStatus.PENDING
                )
            )
        )
        .select_related("organisation")
        .order_by("organisation__name_zh")
    )
    for offer in offers:
        offer.address = domains[offer.domain]
    return offers


@transaction.atomic
def request_admission(organisation: Organisation, *, user: User) -> AdmissionRequest:
    offer = next((o for o in join_offers(user) if o.organisation_id == organisation.pk), None)
    if offer is None:
        if Membership.objects.filter(organisation=organisation, user=user).exists():
            raise Conflict(_("You are already a member of this organisation."))
        raise NotAllowed(_("None of your verified email addresses is on a domain of this organisation."))
    if offer.pending:
        raise Conflict(_("You have already asked to join: a manager will answer."))
    admission = AdmissionRequest.objects.create(organisation=organisation, user=user, email=offer.address)
    audit.record(
        "admission.request",
        admission,
        actor=user,
        organisation=organisation,
        changes={"status": (None, admission.status)},
    )
    send_templated_mail(
        "accounts/onboarding/email/admission_requested",
        to=_managers_emails(organisation),
        context={
            "admission": admission,
            "organisation": organisation,
            "person": user,
            "url": settings.SITE_URL + reverse("accounts:onboarding_domains", args=[organisation.pk]),
        },
    )
    return admission


@transaction.atomic
def decide_admission(admission: AdmissionRequest, *, by: User, approve: bool) -> AdmissionRequest:
    admission = (
        AdmissionRequest.objects.select_for_update()
        .select_related("organisation", "user")
        .get(pk=admission.pk)
    )
    organisation = admission.organisation
    _require_manager(organisation, by)
    if admission.status != AdmissionStatus.PENDING:
        raise Conflict(_("This request has already been answered."))
    new = AdmissionStatus.APPROVED if approve else AdmissionStatus.DECLINED
    admission.status, admission.decided_by, admission.decided_at = new, by, timezone.now()
    admission.save(update_fields=["status", "decided_by", "decided_at"])
    audit.record(
        "admission.approve" if approve else "admission.decline",
        admission,
        actor=by,
        organisation=organisation,
        changes={"status": (AdmissionStatus.PENDING, new)},
    )
    if approve:
        _join(organisation, admission.user, MembershipRole.MEMBER, by=by)
    send_templated_mail(
        "accounts/onboarding/email/admission_decided",
        to=[admission.user.email or admission.email],
        context={
            "admission": admission,
            "organisation": organisation,
            "url": settings.SITE_URL
            + (organisation.get_absolute_url() if approve else reverse("accounts:onboarding_join")),
        },
    )
    return admission


def can_view_onboarding(user, organisation: Organisation) -> bool:
    """Managers of the organisation, and operators and supervisors (who see, and only operators act)."""
    return managed_membership(user, organisation) is not None or sees_all_organisations(user)


def admission_requests_of(user) -> list[dict]:
    """The person's requests to join (their section of the personal-data export)."""
    return [
        {
            "organisation": str(admission.organisation),
            "address": admission.email,
            "status": admission.status,
            "asked_at": admission.created_at.isoformat(),
            "decided_at": admission.decided_at.isoformat() if admission.decided_at else None,
        }
        for admission in AdmissionRequest.objects.filter(user=user)
        .select_related("organisation")
        .order_by("id")
    ]


def stuck_batches(now) -> list[StuckItem]:
    """Confirmed lists with rows still waiting long after the confirmation (a worker lost the task, or it
    gave up retrying): the sweeper enqueues the sending again, which is safe to run twice."""
    waiting = OnboardingRow.objects.filter(batch=OuterRef("pk"), status=RowStatus.QUEUED)
    batches = (
        OnboardingBatch.objects.filter(
            status=BatchStatus.SENDING, confirmed_at__lt=sweepers.stuck_before(now)
        )
        .filter(Exists(waiting))
        .select_related("organisation")
        .order_by("confirmed_at")[: sweepers.LIMIT]
    )
    return [
        StuckItem(
            _("Invitation list not sent"), batch, now - batch.confirmed_at, partial(_enqueue_sending, batch)
        )
        for batch in batches
    ]
