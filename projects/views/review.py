"""The expert reviewers' pages: their assignments, the review form (scores, recommendation) and declining."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import NON_FIELD_ERRORS, ValidationError
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from core.exceptions import DomainError
from core.pagination import paginate
from core.web import show_error
from projects.forms import DeclineForm, ReviewForm
from projects.models import ApplicationStatus, ReviewAssignment
from projects.services import review as services
from projects.views.common import autosave, on_form, require_reviewer


@login_required
def review_list(request):
    require_reviewer(request)
    assignments = (
        ReviewAssignment.objects.for_reviewer(request.user)
        .select_related("application__call")
        .order_by("status", "-id")
    )
    return render(request, "projects/review_list.html", {"page": paginate(request, assignments)})


def _my_assignment(request, pk: int) -> ReviewAssignment:
    return get_object_or_404(
        ReviewAssignment.objects.for_reviewer(request.user).select_related(
            "application__call__programme", "application__organisation"
        ),
        pk=pk,
    )


def _review_form(assignment, data=None) -> ReviewForm:
    criteria = list(assignment.application.call.programme.criteria.all())
    initial = {"recommendation": assignment.recommendation, "comments": assignment.comments}
    for score in assignment.scores.all():
        initial[f"score_{score.criterion_id}"] = "na" if score.score is None else str(score.score)
    return ReviewForm(data, criteria=criteria, initial=initial)


def _save(assignment, form, *, by, submit: bool = False) -> ReviewAssignment:
    return services.save_review(
        assignment,
        by=by,
        scores=form.scores(),
        recommendation=form.cleaned_data["recommendation"],
        comments=form.cleaned_data["comments"],
        submit=submit,
    )


def _scores_to_fields(error: ValidationError) -> ValidationError:
    """Errors about the scores as a whole go above the form (each score has its own field)."""
    if hasattr(error, "error_dict") and "scores" in error.error_dict:
        data = dict(error.message_dict)
        data[NON_FIELD_ERRORS] = data.pop("scores")
        return ValidationError(data)
    return error


@login_required
def review_form(request, pk: int):
    assignment = _my_assignment(request, pk)
    form = _review_form(assignment, request.POST or None)
    if request.method == "POST" and form.is_valid():
        submit = "submit" in request.POST
        if on_form(
            form, lambda: _save(assignment, form, by=request.user, submit=submit), errors=_scores_to_fields
        ):
            messages.success(
                request, _("Your review is submitted. Thank you.") if submit else _("Draft saved.")
            )
            return redirect("projects:review_form", assignment.pk)
    application = assignment.application
    return render(
        request,
        "projects/review_form.html",
        {
            "assignment": assignment,
            "application": application,
            "form": form,
            "decline_form": DeclineForm(),
            "attachments": list(application.attachments.all()),
            "can_score": assignment.is_open and application.status == ApplicationStatus.IN_REVIEW,
        },
    )


@login_required
@require_POST
def review_autosave(request, pk: int):
    assignment = _my_assignment(request, pk)
    form = _review_form(assignment, request.POST)
    return autosave(
        request,
        form,
        lambda data: _save(assignment, form, by=request.user).saved_at,
        saved_at=assignment.saved_at,
        invalid=_("Check the form."),
    )


@login_required
@require_POST
def review_decline(request, pk: int):
    assignment = _my_assignment(request, pk)
    form = DeclineForm(request.POST)
    if not form.is_valid():
        messages.error(request, _("Describe the conflict of interest."))
        return redirect("projects:review_form", assignment.pk)
    try:
        services.decline_assignment(assignment, by=request.user, conflict=form.cleaned_data["conflict"])
    except DomainError as error:
        show_error(request, error)
        return redirect("projects:review_form", assignment.pk)
    messages.success(request, _("You declined this review; the operators will assign someone else."))
    return redirect("projects:review_list")
