"""Schemes and what organisations get under them: operators set schemes, small enterprises apply for
vouchers and operators decide; an accepted incubation project gets its programme's voucher."""

from datetime import date

from django.db import transaction
from django.db.models import Exists, OuterRef
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts import access
from accounts.models import EnterpriseSize, Organisation, OrganisationKind, User
from compute.services.allocations import manager_emails
from compute.vouchers.models import (
    Voucher,
    VoucherApplication,
    VoucherApplicationStatus,
    VoucherScheme,
    VoucherSource,
)
from compute.vouchers.services.ledger import grant_voucher, money, require_voucher_operator, scheme_refusal
from core import audit
from core.exceptions import Conflict, DomainError
from core.mail import send_templated_mail
from core.states import save_transition
from projects.models import BenefitKind, Project, ProjectBenefit

# --- schemes --------------------------------------------------------------------------------------------


@transaction.atomic
def save_scheme(form, *, by: User, before: dict) -> VoucherScheme:
    """Create or change a scheme from a valid ``VoucherSchemeForm``; audited with what changed."""
    require_voucher_operator(by)
    created = form.instance.pk is None
    scheme = form.save()
    audit.record(
        "voucher_scheme.create" if created else "voucher_scheme.update",
        scheme,
        actor=by,
        changes={name: (before.get(name), str(form.cleaned_data.get(name))) for name in form.changed_data},
    )
    return scheme


# --- applications by small enterprises ---------------------------------------------------------------


def eligibility_problem(
    scheme: VoucherScheme, organisation: Organisation, *, today: date | None = None
) -> str:
    """Why the organisation may not apply under the scheme; empty when it may."""
    refusal = scheme_refusal(scheme, organisation, today=today or timezone.localdate())
    if refusal:
        return refusal
    if scheme.small_enterprises_only and not (
        organisation.kind == OrganisationKind.ENTERPRISE
        and organisation.size in EnterpriseSize.small_or_micro()
    ):
        return _(
            "This scheme is for small and micro enterprises. If yours is one, set its size on the organisation's "
            "profile (it is checked at verification)."
        )
    return ""


@transaction.atomic
def apply_for_voucher(
    scheme: VoucherScheme, organisation: Organisation, *, by: User, amount, statement: str
) -> VoucherApplication:
    access.require_manager(organisation, by)
    amount = money(amount)
    statement = (statement or "").strip()
    if not statement:
        raise DomainError(_("Say what the compute is for."))
    problem = eligibility_problem(scheme, organisation)
    if problem:
        raise Conflict(problem)
    if amount > scheme.cap_per_organisation:
        raise DomainError(
            _("Ask for at most %(cap)s yuan: the scheme's cap per organisation.")
            % {"cap": scheme.cap_per_organisation}
        )
    if VoucherApplication.objects.filter(
        organisation=organisation, scheme=scheme, status=VoucherApplicationStatus.SUBMITTED
    ).exists():
        raise Conflict(_("Your organisation already has an application waiting under this scheme."))
    application = VoucherApplication.objects.create(
        organisation=organisation, scheme=scheme, amount=amount, statement=statement[:3000], created_by=by
    )
    audit.record(
        "voucher_application.submit",
        application,
        actor=by,
        organisation=organisation,
        changes={"status": (None, application.status), "amount": (None, str(amount))},
    )
    return application


def _locked_application(application: VoucherApplication) -> VoucherApplication:
    return (
        VoucherApplication.objects.select_for_update(of=("self",))
        .select_related("organisation", "scheme")
        .get(pk=application.pk)
    )


@transaction.atomic
def approve_voucher_application(
    application: VoucherApplication, *, by: User, amount=None, reason: str = ""
) -> VoucherApplication:
    """Grant the voucher asked for (or a smaller amount); a repeated approval changes nothing."""
    require_voucher_operator(by)
    application = _locked_application(application)
    if application.status == VoucherApplicationStatus.APPROVED:
        return application
    granted = application.amount if amount in (None, "") else money(amount)
    if granted > application.amount:
        raise DomainError(_("Grant at most the amount asked for."))
    voucher = grant_voucher(
        application.scheme, application.organisation, amount=granted, by=by, source=VoucherSource.APPLICATION
    )
    old = application.approve(by=by, voucher=voucher, reason=reason)
    save_transition(
        application,
        old,
        by=by,
        action="voucher_application.approve",
        changes={"granted": (None, str(granted))},
        reason=application.decision_reason,
    )
    return application


@transaction.atomic
def reject_voucher_application(
    application: VoucherApplication, *, by: User, reason: str
) -> VoucherApplication:
    require_voucher_operator(by)
    if not (reason or "").strip():
        raise DomainError(
            VoucherApplication.REASON_MISSING
        )  # a 400 before anything is locked, as the page and the API expect
    application = _locked_application(application)
    old = application.reject(by=by, reason=reason)
    save_transition(
        application, old, by=by, action="voucher_application.reject", reason=application.decision_reason
    )
    send_templated_mail(
        "compute/email/voucher_application_rejected",
        to=manager_emails(application.organisation),
        context={"application": application},
    )
    return application


@transaction.atomic
def withdraw_voucher_application(application: VoucherApplication, *, by: User) -> VoucherApplication:
    application = _locked_application(application)
    access.require_manager(application.organisation, by)
    old = application.withdraw()
    save_transition(application, old, by=by, action="voucher_application.withdraw")
    return application


# --- incubation: the programme's voucher on acceptance -------------------------------------------------


def grant_incubation_voucher(sender, project, voucher_amount, by=None, **kwargs) -> Voucher | None:
    """Receiver of ``core.signals.project_accepted``: the programme's voucher, from the scheme for
    incubated projects. Without an open scheme (or budget) the acceptance still stands: the project then
    appears on the operators' voucher page as waiting for its voucher."""
    if not voucher_amount or voucher_amount <= 0:
        return None
    today = timezone.localdate()
    scheme = VoucherScheme.objects.open_on(today).filter(for_incubated_projects=True).order_by("pk").first()
    if scheme is None:
        return None
    try:
        with transaction.atomic():  # a refusal must not undo the acceptance around it
            return grant_voucher(
                scheme,
                project.organisation,
                amount=voucher_amount,
                by=None,
                source=VoucherSource.INCUBATION,
                project=project,
                today=today,
            )
    except (Conflict, DomainError):
        return None


def projects_waiting_for_vouchers():
    """Accepted projects whose programme grants a voucher that has not been issued yet."""
    return (
        Project.objects.filter(
            Exists(ProjectBenefit.objects.filter(project=OuterRef("pk"), kind=BenefitKind.COMPUTE_VOUCHER))
        )
        .exclude(Exists(Voucher.objects.filter(project=OuterRef("pk"))))
        .select_related("organisation", "programme")
    )
