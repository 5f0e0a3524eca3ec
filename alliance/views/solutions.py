"""Members' solutions: the page of one, creating and editing them, and moving them along moderation."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from accounts.access import manages, require_operator
from alliance.forms import DecisionForm, SolutionForm
from alliance.models import Solution
from alliance.services import solutions
from alliance.views.common import attempt, decide, member_organisations, submit
from core.pagination import safe_next
from core.roles import is_operator


def solution_detail(request, pk):
    solution = get_object_or_404(
        Solution.objects.for_user(request.user)
        .select_related("organisation")
        .prefetch_related("capabilities"),
        pk=pk,
    )
    can_manage = manages(request.user, solution.organisation_id)
    return render(
        request,
        "alliance/solution_detail.html",
        {
            "solution": solution,
            "can_manage": can_manage,
            "is_operator": is_operator(request.user),
            "decision_form": DecisionForm(),
        },
    )


@login_required
def solution_create(request, organisation_id):
    organisation = get_object_or_404(member_organisations(request.user), pk=organisation_id)
    form = SolutionForm(request.POST or None, request.FILES or None)
    if request.method == "POST" and form.is_valid():
        done, solution = submit(
            form, lambda: solutions.create_solution(organisation, by=request.user, **form.cleaned_data)
        )
        if done:
            messages.success(
                request, _("The solution is submitted; it is published once an operator approves it.")
            )
            return redirect(solution)
    return render(request, "alliance/solution_form.html", {"form": form, "organisation": organisation})


@login_required
def solution_edit(request, pk):
    solution = get_object_or_404(Solution.objects.own(request.user).select_related("organisation"), pk=pk)
    initial = {
        "title": solution.title,
        "scenario": solution.scenario,
        "description": solution.description,
        "outcome": solution.outcome,
        "capabilities": list(solution.capabilities.values_list("pk", flat=True)),
    }
    form = SolutionForm(request.POST or None, request.FILES or None, initial=initial)
    if request.method == "POST" and form.is_valid():
        data = dict(form.cleaned_data)
        image = data.pop("image") or None
        done, _solution = submit(
            form, lambda: solutions.update_solution(solution, by=request.user, image=image, **data)
        )
        if done:
            messages.success(request, _("Saved. The solution waits for moderation."))
            return redirect(solution)
    return render(
        request,
        "alliance/solution_form.html",
        {"form": form, "organisation": solution.organisation, "solution": solution},
    )


@login_required
@require_POST
def solution_action(request, pk, action):
    solution = get_object_or_404(Solution.objects.for_user(request.user), pk=pk)
    back = safe_next(request, solution.get_absolute_url())
    if action == "decide":
        require_operator(request.user)
        return decide(
            request,
            solution,
            back=back,
            approve=solutions.publish_solution,
            reject=solutions.reject_solution,
            approved=_("Done."),
            rejected=_("Done."),
        )
    moves = {"submit": solutions.submit_solution, "withdraw": solutions.withdraw_solution}
    if action not in moves:
        raise Http404
    attempt(request, lambda: moves[action](solution, by=request.user), _("Done."))
    return redirect(back)
