"""What the compute pages share: who may see the operator pages, and running one service for a page."""

from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.utils.translation import gettext as _

from accounts import access
from core.exceptions import DomainError
from core.models import AuditEvent
from core.roles import sees_all_organisations
from core.web import show_error

# The columns a list row of a request or an allocation shows besides its own: its period, organisation and
# partition (with .only(), the rest of those rows is not loaded).
PERIOD_AND_PLACE_FIELDS = (
    "start_date",
    "end_date",
    "organisation__name_zh",
    "organisation__name_en",
    "partition__name_zh",
    "partition__name_en",
    "partition__unit",
)


def require_staff(request) -> None:
    """The operator pages: operators and supervisors see them (supervisors change nothing there)."""
    if not sees_all_organisations(request.user):
        raise PermissionDenied(_("This page is for the center's operators and supervisors."))


def perform(request, action, success: str, *, failure: str | None = None) -> bool:
    """Run ``action`` (one service call) and say on the next page how it went: ``success``, or why not."""
    try:
        action()
    except (ValidationError, DomainError) as error:
        if failure:
            messages.error(request, failure)
        show_error(request, error)
        return False
    messages.success(request, success)
    return True


def standing(request, organisation_id: int) -> tuple[bool, bool]:
    """How the person sees an organisation's page: (may manage the organisation, sees all organisations)."""
    return access.manages(request.user, organisation_id), sees_all_organisations(request.user)


def history(obj, *, shown: bool) -> list:
    """The newest entries of an object's audit trail for its page; none for those who may not read them."""
    if not shown:
        return []
    return AuditEvent.objects.for_target(obj).select_related("actor", "target_type")[:50]
