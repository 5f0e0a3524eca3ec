"""An organisation's alliance profile: editing it (moderated), and operators deciding the changes."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from accounts.access import require_operator
from alliance.forms import ProfileForm
from alliance.models import PROFILE_FIELDS, ProfileRevision, RevisionStatus
from alliance.services import profiles
from alliance.views.common import decide, managed_organisations, submit
from core.pagination import safe_next


def _save_profile(user, organisation, data: dict, *, visibility: dict):
    """Who sees each field applies at once; the values are proposed for moderation."""
    profiles.set_visibility(organisation, by=user, visibility=visibility)
    return profiles.propose_profile_change(
        organisation,
        by=user,
        values={n: data[n] for n in profiles.TEXT_FIELDS},
        capabilities=data["capabilities"],
        logo=data["logo"] or None,
    )


@login_required
def profile_edit(request, organisation_id):
    organisation = get_object_or_404(managed_organisations(request.user), pk=organisation_id)
    profile = profiles.get_profile(organisation)
    pending = ProfileRevision.objects.filter(organisation=organisation, status=RevisionStatus.PENDING).first()
    source = {
        "description": profile.description,
        "website": profile.website,
        "contact_name": profile.contact_name,
        "contact_email": profile.contact_email,
        "contact_phone": profile.contact_phone,
        "capabilities": list(profile.capabilities.values_list("pk", flat=True)),
    }
    if pending is not None:
        source.update(pending.data)
    initial = {**source, **{f"visibility_{n}": profile.level(n) for n in PROFILE_FIELDS}}
    form = ProfileForm(request.POST or None, request.FILES or None, initial=initial)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        done, revision = submit(
            form,
            lambda: _save_profile(request.user, organisation, data, visibility=form.visibility()),
        )
        if done:
            if revision is None:
                messages.success(request, _("Saved. Who sees each field has changed at once."))
            else:
                messages.success(
                    request, _("Saved. The changes show in the directory once an operator has approved them.")
                )
            return redirect("alliance:profile_edit", organisation_id=organisation.pk)
    return render(
        request,
        "alliance/profile_form.html",
        {"organisation": organisation, "form": form, "pending": pending, "profile": profile},
    )


@login_required
@require_POST
def revision_decide(request, pk):
    require_operator(request.user)
    return decide(
        request,
        get_object_or_404(ProfileRevision, pk=pk),
        back=safe_next(request, reverse("alliance:queue")),
        approve=profiles.approve_revision,
        reject=profiles.reject_revision,
        approved=_("The profile changes are published."),
        rejected=_("The profile changes are rejected."),
    )
