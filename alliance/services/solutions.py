"""Members' solutions and cases: created, edited, submitted for moderation, published or rejected, withdrawn."""

from django.db import transaction
from django.utils.translation import gettext as _

from accounts.models import Organisation, User
from alliance.models import Solution, SolutionStatus
from alliance.services import directory
from alliance.services.inputs import (
    clean_capabilities,
    clean_image,
    clean_scenario,
    clean_text,
    require_current_member,
)
from alliance.services.mail import notify_managers
from alliance.services.membership import operator_move, require_alliance_manager
from core import audit
from core.exceptions import Conflict
from core.states import save_transition

MAX_IMAGE_BYTES = 5 * 1024 * 1024


def _locked(solution: Solution) -> Solution:
    return Solution.objects.select_for_update().select_related("organisation").get(pk=solution.pk)


@transaction.atomic
def create_solution(
    organisation: Organisation,
    *,
    by: User,
    title: str,
    scenario: str,
    description: str,
    outcome: str = "",
    capabilities=(),
    image=None,
    submit: bool = True,
) -> Solution:
    require_alliance_manager(organisation, by)
    require_current_member(organisation)
    solution = Solution(
        organisation=organisation,
        title=clean_text(title, "title", limit=200),
        scenario=clean_scenario(scenario),
        description=clean_text(description, "description", limit=10000),
        outcome=clean_text(outcome, "outcome", limit=5000, required=False),
        created_by=by,
    )
    tags = clean_capabilities(capabilities)
    if image is not None:
        clean_image(image, "image", max_bytes=MAX_IMAGE_BYTES)
        solution.image.save(image.name, image, save=False)
    if submit:
        solution.submit()
    solution.save()
    solution.capabilities.set(tags)
    audit.record(
        "solution.create",
        solution,
        actor=by,
        organisation=organisation,
        changes={"status": (None, solution.status)},
    )
    return solution


@transaction.atomic
def update_solution(solution: Solution, *, by: User, capabilities=None, image=None, **values) -> Solution:
    """Edit a solution; a published one goes back to moderation and leaves the directory until approved."""
    solution = _locked(solution)
    require_alliance_manager(solution.organisation, by)
    if not solution.is_editable:
        raise Conflict(_("A solution waiting for moderation cannot be edited; withdraw it first."))
    changes = {}
    limits = {"title": 200, "description": 10000, "outcome": 5000}
    for name, value in values.items():
        if name in limits:
            value = clean_text(value, name, limit=limits[name], required=name != "outcome")
        elif name == "scenario":
            value = clean_scenario(value)
        else:
            continue
        if getattr(solution, name) != value:
            changes[name] = (getattr(solution, name), value)
            setattr(solution, name, value)
    if image is not None:
        clean_image(image, "image", max_bytes=MAX_IMAGE_BYTES)
        solution.image.save(image.name, image, save=False)
        changes["image"] = (None, solution.image.name)
    if capabilities is not None:
        tags = clean_capabilities(capabilities)
        before = sorted(t.slug for t in solution.capabilities.all())
        if before != sorted(t.slug for t in tags):
            changes["capabilities"] = (before, sorted(t.slug for t in tags))
            solution.capabilities.set(tags)
    if not changes:
        return solution
    was_published = solution.status == SolutionStatus.PUBLISHED
    old = solution.submit()
    fields = [name for name in changes if name != "capabilities"]
    save_transition(solution, old, by=by, action="solution.update", fields=fields, changes=changes)
    if was_published:
        directory.sync_entry(solution.organisation_id)
    return solution


@transaction.atomic
def submit_solution(solution: Solution, *, by: User) -> Solution:
    solution = _locked(solution)
    require_alliance_manager(solution.organisation, by)
    require_current_member(solution.organisation)
    old = solution.submit()
    save_transition(solution, old, by=by, action="solution.submit")
    return solution


@transaction.atomic
def withdraw_solution(solution: Solution, *, by: User) -> Solution:
    solution = _locked(solution)
    require_alliance_manager(solution.organisation, by)
    old = solution.withdraw()
    save_transition(solution, old, by=by, action="solution.withdraw")
    directory.sync_entry(solution.organisation_id)
    return solution


def _notify_solution(solution: Solution) -> None:
    notify_managers(
        solution.organisation_id, "solution_decision", path=solution.get_absolute_url(), solution=solution
    )


@transaction.atomic
def publish_solution(solution: Solution, *, by: User) -> Solution:
    solution = operator_move(
        solution, lambda s: s.publish(by=by), lock=_locked, by=by, action="solution.publish"
    )
    directory.sync_entry(solution.organisation_id)
    _notify_solution(solution)
    return solution


@transaction.atomic
def reject_solution(solution: Solution, *, by: User, reason: str) -> Solution:
    solution = operator_move(
        solution,
        lambda s: s.reject(by=by, reason=reason),
        lock=_locked,
        by=by,
        action="solution.reject",
        reason=reason,
    )
    _notify_solution(solution)
    return solution
