"""The API keeps the contract its OpenAPI schema states, under generated requests (schemathesis).

Every operation of ``/api/schema/`` is called with requests schemathesis generates from the schema — valid
ones and, for the checks that need them, invalid ones — as an anonymous visitor, as a member of a verified
organisation (API token) and as an operator with MFA (API token): no answer may be a server error, and every
answer must be one the schema documents (status code, content type, body, headers). A bounded number of
examples per operation keeps the run within a few minutes; ``API_CONTRACT_EXAMPLES`` raises it for a deeper
run by hand.

Checks left out, each for a reason:

- ``positive_data_acceptance``: a request valid by the schema may still be refused by the rules the schema
  cannot express (a quota request for a partition that does not exist, a decision on a request in the wrong
  state, an object of another organisation): those answers are 400/404/409 with a message, and documented.
- ``ignored_auth``: it sends the operation again without credentials and expects a refusal; public
  operations (the directory, the course catalogue, certificate verification) list the optional
  authentication they accept, so their answer to an anonymous visitor is rightly a 200.
- ``use_after_free`` and ``ensure_resource_availability``: stateful checks that need links between
  operations the schema does not declare; the services' own tests cover create-then-read.
"""

import os
import traceback

import hypothesis
import pytest
import schemathesis
from django.core.cache import cache
from django.core.signals import request_finished, request_started
from django.db import close_old_connections
from hypothesis import HealthCheck, Phase
from schemathesis.checks import load_all_checks
from schemathesis.generation.modes import GenerationMode

from accounts.tokens import create_api_token
from portal.wsgi import application
from tests.accounts.factories import UserFactory, make_operator, make_verified_organisation

EXAMPLES = int(os.environ.get("API_CONTRACT_EXAMPLES", "3"))
EXCLUDED_CHECKS = {
    "positive_data_acceptance",
    "ignored_auth",
    "use_after_free",
    "ensure_resource_availability",
}


def checks():
    load_all_checks()
    return [check for check in schemathesis.checks.CHECKS.get_all() if check.__name__ not in EXCLUDED_CHECKS]


def run_schema(headers: dict[str, str]) -> list[str]:
    """Every operation, ``EXAMPLES`` generated cases each; the failures found, one line per problem."""
    schema = schemathesis.openapi.from_wsgi("/api/schema/", application)
    selected = checks()
    failures: list[str] = []
    for result in schema.get_all_operations():
        for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):
            problem = run_operation(result.ok(), mode, headers, selected)
            if problem:
                failures.append(problem)
    return failures


def run_operation(operation, mode, headers: dict[str, str], selected) -> str | None:
    """``EXAMPLES`` cases of one operation in one mode (valid or invalid requests); the failure, if any."""

    @hypothesis.settings(
        max_examples=EXAMPLES,
        deadline=None,
        database=None,
        derandomize=True,
        phases=[Phase.explicit, Phase.generate],
        suppress_health_check=list(HealthCheck),
    )
    @hypothesis.given(case=operation.as_strategy(mode))
    def call(case):
        cache.clear()  # the API's throttles must not turn the run into a series of 429s
        response = case.call(headers=headers)
        case.validate_response(response, checks=selected)

    try:
        call()
    except hypothesis.errors.Unsatisfiable:
        return None  # no invalid request exists for this operation (nothing in it can be made invalid)
    except (Exception, BaseExceptionGroup) as error:  # every operation is run, every failure reported
        return f"{operation.label} ({mode}): {''.join(traceback.format_exception_only(error)).strip()}"
    return None


@pytest.fixture
def personas(db, mfa):
    # As Django's test client does: a request's start and end must not close the test's connection.
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    member = UserFactory()
    make_verified_organisation(member)
    operator = mfa(make_operator())
    _, member_secret = create_api_token(member, name="contract", scope="write")
    _, operator_secret = create_api_token(operator, name="contract", scope="write")
    yield {
        "anonymous": {},
        "member": {"Authorization": f"Token {member_secret}"},
        "operator": {"Authorization": f"Token {operator_secret}"},
    }
    request_started.connect(close_old_connections)
    request_finished.connect(close_old_connections)


@pytest.mark.parametrize("persona", ["anonymous", "member", "operator"])
def test_every_operation_keeps_the_schema(personas, persona):
    failures = run_schema(personas[persona])
    assert not failures, f"{len(failures)} operations break the contract as {persona}:\n" + "\n\n".join(
        failures
    )
