"""Pages of bulk onboarding: invitation lists (preview, confirm, progress, resend, withdraw), an organisation's
domains and requests to join, a person's offers to join, and the answer to a mobile invitation.

Only the organisation's managers use these pages (operators and supervisors may look; operators verify
domains); to anyone else the organisation's pages do not exist (404)."""

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.db.models import Count, Q
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.functional import SimpleLazyObject
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, ngettext
from django.views.decorators.http import require_POST

from accounts import kept, onboarding
from accounts.access import managed_membership
from accounts.models import (
    AdmissionRequest,
    AdmissionStatus,
    BatchSource,
    BatchStatus,
    OnboardingBatch,
    Organisation,
    OrganisationDomain,
    RowStatus,
)
from core import pagecache
from core.exceptions import DomainError
from core.pagination import paginate
from core.roles import is_operator, sees_all_organisations
from core.web import parse_id, show_error

POLL_LIMIT = 150  # polls of the progress block (every 2 s: five minutes), then it asks for a reload


class BatchForm(forms.Form):
    text = forms.CharField(
        label=gettext_lazy("Paste a list"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 8, "spellcheck": "false", "autocomplete": "off"}),
        help_text=gettext_lazy(
            "One person per line: an email address or a mobile number, then optionally the role (owner, admin "
            "or member; member if left out) and the name, separated by commas or tabs. A header line is allowed."
        ),
    )
    file = forms.FileField(
        label=gettext_lazy("Or upload a CSV file"),
        required=False,
        widget=forms.ClearableFileInput(attrs={"accept": ".csv,.txt,text/csv,text/plain"}),
        help_text=gettext_lazy("UTF-8 or GBK (as Excel saves it), at most 1 MB and 5,000 rows."),
    )

    def clean(self):
        cleaned = super().clean()
        upload, text = cleaned.get("file"), (cleaned.get("text") or "").strip()
        if upload and text:
            raise forms.ValidationError(_("Paste a list or upload a file, not both."))
        if not upload and not text:
            raise forms.ValidationError(_("Paste a list or upload a CSV file."))
        try:
            if upload:
                if upload.size > onboarding.MAX_BYTES:
                    raise DomainError(_("The file is larger than 1 MB: split it into smaller files."))
                cleaned["list_text"] = onboarding.decode_upload(upload.read(onboarding.MAX_BYTES + 1))
                cleaned["source"], cleaned["file_name"] = BatchSource.CSV, upload.name or ""
            else:
                if len(text.encode()) > onboarding.MAX_BYTES:
                    raise DomainError(_("The list is larger than 1 MB: split it into smaller lists."))
                cleaned["list_text"], cleaned["source"], cleaned["file_name"] = text, BatchSource.PASTE, ""
        except DomainError as error:
            raise forms.ValidationError(str(error)) from None
        return cleaned


class DomainForm(forms.Form):
    domain = forms.CharField(
        label=gettext_lazy("Domain"),
        max_length=253,
        widget=forms.TextInput(attrs={"placeholder": "example.edu.cn", "autocomplete": "off"}),
        help_text=gettext_lazy("The part of your colleagues' addresses after the @."),
    )


class ProofForm(forms.Form):
    local_part = forms.CharField(
        label=gettext_lazy("Address on the domain (before the @)"),
        max_length=64,
        widget=forms.TextInput(attrs={"autocomplete": "off"}),
    )


# --- access ------------------------------------------------------------------------------------------


def _organisation(request, pk) -> tuple[Organisation, bool]:
    """The organisation and whether the user may act (a manager); 404 to anyone who may not look."""
    organisation = get_object_or_404(Organisation, pk=pk)
    can_act = managed_membership(request.user, organisation) is not None
    if not (can_act or sees_all_organisations(request.user)):
        raise Http404
    return organisation, can_act


def _batch(request, pk) -> tuple[OnboardingBatch, bool]:
    batch = get_object_or_404(
        OnboardingBatch.objects.select_related("organisation").exclude(status=BatchStatus.DISCARDED),
        pk=pk,
    )
    can_act = managed_membership(request.user, batch.organisation_id) is not None
    if not (can_act or sees_all_organisations(request.user)):
        raise Http404
    return batch, can_act


def _body_key(request, generation, *audience: bool) -> str:
    """The key of the page's kept body (accounts/kept.py): the same for everyone who may see the organisation's
    page with the same forms (``audience``: its managers, the staff who only look, operators). Only a GET page
    is kept, never a bound form with its errors."""
    if request.method != "GET":
        return ""
    return f"{generation.body_key(request)}:{''.join('1' if flag else '0' for flag in audience)}"


def _attempt(request, action, success) -> bool:
    try:
        result = action()
    except DomainError as error:
        show_error(request, error)
        return False
    messages.success(request, success(result) if callable(success) else success)
    return True


# --- invitation lists --------------------------------------------------------------------------------


@login_required
def batch_list(request, pk):
    # Asked with GET: looked up once for this reader while the lists (and organisations) are unchanged.
    if request.method == "GET":
        organisation, can_act = pagecache.kept_lookup(
            request, f"onboarding-organisation:{int(pk)}", kept.ONBOARDING, lambda: _organisation(request, pk)
        )
    else:
        organisation, can_act = _organisation(request, pk)
    form = BatchForm(request.POST or None, request.FILES or None)
    if request.method == "POST":
        if not can_act:
            raise Http404
        if form.is_valid():
            data = form.cleaned_data
            try:
                batch = onboarding.preview_batch(
                    organisation,
                    by=request.user,
                    text=data["list_text"],
                    source=data["source"],
                    file_name=data["file_name"],
                )
            except DomainError as error:
                form.add_error(None, str(error))
            else:
                return redirect(batch)
    batches = (
        OnboardingBatch.objects.of(organisation)
        .select_related("created_by")
        .annotate(
            sent=Count("rows", filter=Q(rows__status=RowStatus.SENT)),
            failed=Count("rows", filter=Q(rows__status=RowStatus.FAILED)),
        )
        .order_by("-id")
    )
    return render(
        request,
        "accounts/onboarding/batch_list.html",
        {
            "organisation": organisation,
            "can_act": can_act,
            "form": form,
            "page": SimpleLazyObject(lambda: paginate(request, batches)),
            "body_key": _body_key(request, kept.ONBOARDING, can_act),
        },
    )


def _progress_context(request, batch, can_act) -> dict:
    try:
        polls = max(0, int(request.GET.get("poll", 0)))
    except ValueError:
        polls = 0
    return {
        "batch": batch,
        "can_act": can_act,
        "counts": SimpleLazyObject(lambda: onboarding.batch_counts(batch)),
        "polls": polls + 1,
        "keep_polling": batch.status == BatchStatus.SENDING and polls < POLL_LIMIT,
        "stopped_polling": batch.status == BatchStatus.SENDING and polls >= POLL_LIMIT,
    }


@login_required
def batch_detail(request, pk):
    # Looked up once for this reader while the lists and what they may see are unchanged; a list being sent
    # is read on every request (its status moves on by itself).
    batch, can_act = pagecache.kept_lookup(
        request,
        f"onboarding-batch:{int(pk)}",
        kept.ONBOARDING,
        lambda: _batch(request, pk),
        keep=lambda found: found[0].status != BatchStatus.SENDING,
    )
    rows = batch.rows.select_related("invitation").order_by("line", "id")
    show = request.GET.get("show", "")
    if show == "errors":
        rows = rows.filter(status=RowStatus.INVALID)
    elif show == "failed":
        rows = rows.filter(status=RowStatus.FAILED)
    else:
        show = ""
    return render(
        request,
        "accounts/onboarding/batch_detail.html",
        {
            **_progress_context(request, batch, can_act),
            "organisation": batch.organisation,
            "page": SimpleLazyObject(lambda: paginate(request, rows, per_page=100)),
            "show": show,
            "open_statuses": RowStatus.open(),
            # A list being sent is never kept: its progress and its rows' statuses are live.
            "body_key": ""
            if batch.status == BatchStatus.SENDING
            else _body_key(request, kept.ONBOARDING, can_act),
        },
    )


@login_required
def batch_progress(request, pk):
    """htmx: the progress block alone, polled every 2 s while the batch is being sent."""
    batch, can_act = _batch(request, pk)
    if not request.htmx:
        return redirect(batch)
    return render(
        request, "accounts/onboarding/partials/progress.html", _progress_context(request, batch, can_act)
    )


def _batch_action(service, success):
    @login_required
    @require_POST
    def view(request, pk):
        batch, can_act = _batch(request, pk)
        if not can_act:
            raise Http404
        row_id = None
        if "row" in request.POST:  # one row; without it, all of them
            row_id = parse_id(request.POST["row"])
            if row_id is None:
                raise Http404
        options = {"row_id": row_id} if service in (onboarding.resend, onboarding.revoke) else {}
        _attempt(request, lambda: service(batch, by=request.user, **options), success)
        return redirect(batch)

    return view


batch_confirm = _batch_action(
    onboarding.confirm_batch,
    gettext_lazy("Confirmed: the invitations are being sent. This page shows the progress."),
)
batch_discard = _batch_action(
    onboarding.discard_batch, gettext_lazy("The list was discarded: nothing was sent.")
)
batch_resend = _batch_action(
    onboarding.resend,
    lambda n: (
        ngettext("%(count)d invitation will be sent again.", "%(count)d invitations will be sent again.", n)
        % {"count": n}
    ),
)
batch_revoke = _batch_action(
    onboarding.revoke,
    lambda n: (
        ngettext("%(count)d invitation withdrawn.", "%(count)d invitations withdrawn.", n) % {"count": n}
    ),
)


# --- domains and requests to join ---------------------------------------------------------------------


@login_required
def domains(request, pk):
    organisation, can_act = _organisation(request, pk)
    entries = organisation.domains.order_by("domain")
    admissions = (
        AdmissionRequest.objects.filter(organisation=organisation, status=AdmissionStatus.PENDING)
        .select_related("user")
        .order_by("created_at")
    )
    can_verify = is_operator(request.user)
    return render(
        request,
        "accounts/onboarding/domains.html",
        {
            "organisation": organisation,
            "can_act": can_act,
            "can_verify": can_verify,
            "entries": SimpleLazyObject(lambda: list(entries)),
            "admissions": SimpleLazyObject(lambda: paginate(request, admissions)),
            "domain_form": DomainForm(),
            "proof_form": ProofForm(),
            "body_key": _body_key(request, kept.DOMAINS, can_act, can_verify),
        },
    )


@login_required
@require_POST
def domain_add(request, pk):
    organisation, can_act = _organisation(request, pk)
    if not can_act:
        raise Http404
    form = DomainForm(request.POST)
    if form.is_valid():
        _attempt(
            request,
            lambda: onboarding.add_domain(organisation, by=request.user, domain=form.cleaned_data["domain"]),
            lambda entry: _("%(domain)s is added. It counts once it is verified.") % {"domain": entry.domain},
        )
    else:
        messages.error(request, _("Enter a domain such as example.edu.cn."))
    return redirect("accounts:onboarding_domains", organisation.pk)


def _domain(request, pk) -> tuple[OrganisationDomain, bool]:
    entry = get_object_or_404(OrganisationDomain.objects.select_related("organisation"), pk=pk)
    can_act = managed_membership(request.user, entry.organisation_id) is not None
    if not (can_act or sees_all_organisations(request.user)):
        raise Http404
    return entry, can_act


@login_required
@require_POST
def domain_send_proof(request, pk):
    entry, can_act = _domain(request, pk)
    if not can_act:
        raise Http404
    form = ProofForm(request.POST)
    if form.is_valid():
        _attempt(
            request,
            lambda: onboarding.send_domain_proof(
                entry, by=request.user, local_part=form.cleaned_data["local_part"]
            ),
            lambda address: (
                _("A link was sent to %(address)s. Open it to verify the domain.") % {"address": address}
            ),
        )
    else:
        messages.error(request, _("Enter the part of an address before the @, such as it-office."))
    return redirect("accounts:onboarding_domains", entry.organisation_id)


@login_required
@require_POST
def domain_verify(request, pk):
    entry, _can_act = _domain(request, pk)
    _attempt(
        request,
        lambda: onboarding.verify_domain_by_operator(entry, by=request.user),
        _("%(domain)s is verified.") % {"domain": entry.domain},
    )
    return redirect("accounts:onboarding_domains", entry.organisation_id)


@login_required
@require_POST
def domain_remove(request, pk):
    entry, can_act = _domain(request, pk)
    if not (can_act or is_operator(request.user)):
        raise Http404
    organisation_id, name = entry.organisation_id, entry.domain
    _attempt(
        request,
        lambda: onboarding.remove_domain(entry, by=request.user),
        _("%(domain)s is removed.") % {"domain": name},
    )
    return redirect("accounts:onboarding_domains", organisation_id)


def domain_proof(request, token):
    """The link mailed to an address on the domain: opening it and pressing the button verifies it."""
    found = onboarding.domain_for_proof(token)
    if request.method == "POST" and found is not None:
        user = request.user if request.user.is_authenticated else None
        try:
            entry = onboarding.verify_domain_by_proof(token, by=user)
        except DomainError as error:
            show_error(request, error)
        else:
            return render(
                request, "accounts/onboarding/domain_proof.html", {"entry": entry, "verified": True}
            )
    return render(
        request,
        "accounts/onboarding/domain_proof.html",
        {"entry": found[0] if found else None, "address": found[1] if found else ""},
        status=200 if found else 404,
    )


@login_required
@require_POST
def admission_decide(request, pk):
    admission = get_object_or_404(AdmissionRequest.objects.select_related("organisation", "user"), pk=pk)
    if managed_membership(request.user, admission.organisation_id) is None:
        raise Http404
    decision = request.POST.get("decision")
    if decision not in ("approve", "decline"):
        messages.error(request, _("Choose approve or decline."))
        return redirect("accounts:onboarding_domains", admission.organisation_id)
    approve = decision == "approve"
    name = admission.user.get_full_name() or admission.email
    _attempt(
        request,
        lambda: onboarding.decide_admission(admission, by=request.user, approve=approve),
        (_("%(name)s is now a member.") if approve else _("The request of %(name)s was declined."))
        % {"name": name},
    )
    return redirect("accounts:onboarding_domains", admission.organisation_id)


@login_required
def join(request):
    """The organisations whose verified domain one of the person's verified addresses is on."""
    if request.method == "POST":
        organisation_id = parse_id(request.POST.get("organisation"))
        organisation = get_object_or_404(Organisation, pk=organisation_id) if organisation_id else None
        if organisation is None:
            raise Http404
        _attempt(
            request,
            lambda: onboarding.request_admission(organisation, user=request.user),
            _("You asked to join %(name)s. Its managers will answer by email.")
            % {"name": organisation.display_name},
        )
        return redirect("accounts:onboarding_join")
    return render(request, "accounts/onboarding/join.html", {"offers": onboarding.join_offers(request.user)})


# --- the answer to a mobile invitation ---------------------------------------------------------------


@login_required
def mobile_invitation_respond(request, token):
    row = onboarding.mobile_invitation_for(token)
    if row is None:
        raise Http404
    phone = onboarding.verified_phone(request.user)
    if phone != row.phone:
        # Someone else holds the link, or the person is signed in without that number: say what to do only.
        return render(request, "accounts/onboarding/mobile_invitation_wrong_user.html", status=403)
    if request.method == "POST":
        try:
            onboarding.accept_mobile_invitation(row, user=request.user)
        except DomainError as error:
            show_error(request, error)
        else:
            messages.success(
                request, _("You are now a member of “%(name)s”.") % {"name": row.organisation.display_name}
            )
            return redirect(row.organisation)
        row.refresh_from_db()
    is_open = row.status in RowStatus.open() and not row.is_expired
    return render(request, "accounts/onboarding/mobile_invitation.html", {"row": row, "is_open": is_open})
