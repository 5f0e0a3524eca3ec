from django.contrib import messages
from django.core.exceptions import ValidationError

from talent import services


def facts_for(request) -> services.LearnerFacts:
    """The audience facts of the person asking, read once per request."""
    facts = getattr(request, "_talent_facts", None)
    if facts is None:
        facts = services.learner_facts(request.user)
        request._talent_facts = facts
    return facts


def show_error(request, error: Exception) -> None:
    if isinstance(error, ValidationError):
        for message in error.messages:
            messages.error(request, message)
    else:
        messages.error(request, str(error))


def parse_id(value) -> int | None:
    try:
        number = int(str(value))
    except (TypeError, ValueError):
        return None
    return number if 0 < number < 2**63 else None
