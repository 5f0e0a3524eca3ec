"""What the talent pages share beyond ``core.web``."""

from django.contrib import messages

from core.exceptions import DomainError
from core.web import show_error
from talent.services.eligibility import LearnerFacts, learner_facts


def facts_for(request) -> LearnerFacts:
    """The audience facts of the person asking, read once per request."""
    facts = getattr(request, "_talent_facts", None)
    if facts is None:
        facts = learner_facts(request.user)
        request._talent_facts = facts
    return facts


def attempt(request, call, success):
    """Run a service ``call``; show ``success`` (a text, or a function of the result that gives it) and return
    the result, or show why the service refused and return None."""
    try:
        result = call()
    except DomainError as error:
        show_error(request, error)
        return None
    messages.success(request, success(result) if callable(success) else success)
    return result
