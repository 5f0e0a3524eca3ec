"""The applicants' side: drafting and submitting applications, co-applicants and attachments."""

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Max
from django.utils.translation import gettext as _

from accounts.models import Organisation, User
from core import audit
from core.exceptions import Conflict, NotAllowed
from core.mail import send_templated_mail
from core.states import save_transition
from projects.models import (
    Application,
    ApplicationRevision,
    ApplicationStatus,
    Attachment,
    Call,
    CoApplicant,
    validate_pdf,
)
from projects.services.access import (
    is_applicant,
    is_member,
    lock_application,
    refuse_supervisor,
    require_applicant,
    site_url,
)

MAX_CO_APPLICANTS = 10
MAX_ATTACHMENTS = 10


def _audit(application: Application, action: str, *, by: User, changes: dict) -> None:
    """An audit record of a change to the application that is not a move."""
    audit.record(action, application, actor=by, organisation=application.organisation, changes=changes)


def _clean_fields(fields: dict, *, call: Call) -> dict:
    cleaned = {}
    for name in Application.CONTENT_FIELDS:
        if name not in fields:
            continue
        value = fields[name]
        if name == "compute_card_hours":
            try:
                value = int(value or 0)
            except (TypeError, ValueError):
                raise ValidationError({name: _("Give the card-hours as a whole number.")}) from None
            if value < 0:
                raise ValidationError({name: _("The card-hours cannot be negative.")})
            if value > call.max_card_hours:
                raise ValidationError(
                    {name: _("This call funds at most %(max)s card-hours.") % {"max": call.max_card_hours}}
                )
        else:
            value = str(value or "").strip()
        cleaned[name] = value
    return cleaned


@transaction.atomic
def create_application(call: Call, *, by: User, organisation: Organisation, **fields) -> Application:
    """A draft application of the organisation to an open call (every field may still be empty but the title)."""
    refuse_supervisor(by)
    if not is_member(organisation.pk, by):
        raise NotAllowed(_("You can apply only for an organisation you belong to."))
    if not organisation.is_verified:
        raise NotAllowed(_("Only verified organisations apply. Submit yours for verification first."))
    if not call.is_open:
        raise Conflict(_("This call is not open for applications."))
    if not call.programme.is_eligible(organisation):
        raise NotAllowed(
            _("This programme is open to: %(kinds)s.")
            % {"kinds": ", ".join(call.programme.eligible_kind_labels())}
        )
    values = _clean_fields(fields, call=call)
    if not values.get("title"):
        raise ValidationError({"title": _("Give the project a title.")})
    application = Application(call=call, organisation=organisation, created_by=by, **values)
    application.full_clean()
    application.save()
    save_transition(application, None, by=by, action="application.create")
    return application


@transaction.atomic
def update_application(application: Application, *, by: User, **fields) -> Application:
    """Save the content of a draft (or of an application sent back for more information)."""
    application = lock_application(application)
    require_applicant(application, by)
    if not application.is_editable:
        raise Conflict(
            _("After submission an application can be edited only when the center asks for more information.")
        )
    values = _clean_fields(fields, call=application.call)
    if "title" in values and not values["title"]:
        raise ValidationError({"title": _("Give the project a title.")})
    changed = [name for name, value in values.items() if getattr(application, name) != value]
    for name in changed:
        setattr(application, name, values[name])
    application.full_clean()
    application.save()
    if changed and application.status != ApplicationStatus.DRAFT:
        _audit(application, "application.update", by=by, changes={"fields": (None, sorted(changed))})
    return application


def _snapshot(application: Application, *, by: User) -> ApplicationRevision:
    number = (application.revisions.aggregate(n=Max("number"))["n"] or 0) + 1
    content = {
        **application.snapshot(),
        "attachments": [
            {"id": a.pk, "name": a.original_name, "size": a.size} for a in application.attachments.all()
        ],
    }
    return ApplicationRevision.objects.create(
        application=application, number=number, content=content, created_by=by
    )


@transaction.atomic
def submit_application(application: Application, *, by: User) -> Application:
    """Submit a draft, or resubmit after a request for information; either way a revision is kept."""
    application = lock_application(application)
    require_applicant(application, by)
    missing = application.missing_fields()
    if application.is_editable and missing:
        raise ValidationError(_("Fill in before submitting: %(fields)s.") % {"fields": ", ".join(missing)})
    first = application.status == ApplicationStatus.DRAFT
    if first and not application.call.is_open:
        raise Conflict(_("This call has closed; the application can no longer be submitted."))
    old = application.submit()
    revision = _snapshot(application, by=by)
    save_transition(
        application,
        old,
        by=by,
        action="application.submit" if first else "application.resubmit",
        changes={"revision": (None, revision.number)},
    )
    return application


@transaction.atomic
def withdraw_application(application: Application, *, by: User, reason: str = "") -> Application:
    application = lock_application(application)
    require_applicant(application, by)
    old = application.withdraw()
    save_transition(application, old, by=by, action="application.withdraw", reason=reason.strip())
    return application


@transaction.atomic
def invite_co_applicant(application: Application, *, by: User, email: str) -> CoApplicant:
    application = lock_application(application)
    require_applicant(application, by)
    if not application.is_open:
        raise Conflict(_("This application is closed."))
    email = (email or "").strip().lower()
    person = User.objects.filter(email__iexact=email, is_active=True).first()
    if person is None:
        raise ValidationError(
            {
                "email": _(
                    "Nobody has an account with this address. Ask them to sign up first, then invite them."
                )
            }
        )
    if is_applicant(application, person):
        raise ValidationError({"email": _("This person is already an applicant.")})
    if application.co_applicants.count() >= MAX_CO_APPLICANTS:
        raise ValidationError(
            {"email": _("An application has at most %(n)s co-applicants.") % {"n": MAX_CO_APPLICANTS}}
        )
    co = CoApplicant.objects.create(application=application, user=person, invited_by=by)
    _audit(
        application, "application.invite_co_applicant", by=by, changes={"co_applicants": (None, person.email)}
    )
    send_templated_mail(
        "projects/email/co_applicant",
        to=[person.email],
        context={"application": application, "by": by, "url": site_url(application.get_absolute_url())},
    )
    return co


def _lock_editable(application: Application, *, by: User) -> Application:
    application = lock_application(application)
    require_applicant(application, by)
    if not application.is_editable:
        raise Conflict(_("Attachments can be changed only while the application is editable."))
    return application


def checked_pdf(upload, *, field: str) -> None:
    """``validate_pdf``, its errors given as errors of the form field ``field``."""
    try:
        validate_pdf(upload)
    except ValidationError as error:
        raise ValidationError({field: error.messages}) from None


def upload_name(upload, default: str) -> str:
    """The uploaded file's name as kept on the row: no path separators, at most 150 characters."""
    return (getattr(upload, "name", "") or default).replace("/", "_").replace("\\", "_")[-150:]


@transaction.atomic
def add_attachment(application: Application, *, by: User, upload) -> Attachment:
    application = _lock_editable(application, by=by)
    if application.attachments.count() >= MAX_ATTACHMENTS:
        raise ValidationError({"file": _("At most %(n)s attachments.") % {"n": MAX_ATTACHMENTS}})
    checked_pdf(upload, field="file")
    name = upload_name(upload, "document.pdf")
    attachment = Attachment(application=application, original_name=name, size=upload.size, uploaded_by=by)
    attachment.file.save("upload.pdf", upload, save=False)
    attachment.save()
    _audit(application, "application.add_attachment", by=by, changes={"attachments": (None, name)})
    return attachment


@transaction.atomic
def remove_attachment(attachment: Attachment, *, by: User) -> None:
    application = _lock_editable(attachment.application, by=by)
    name = attachment.original_name
    # The file stays in storage: an earlier revision may list it.
    attachment.delete()
    _audit(application, "application.remove_attachment", by=by, changes={"attachments": (name, None)})
