"""The API schema states the error answers every operation really gives, not only its success.

drf-spectacular documents the success answer of an operation; the errors come from the layers around the view
(authentication, the staff-MFA and scope permissions, the throttles, the filters and pagination, the domain
errors mapped by ``core.exceptions.api_exception_handler``). This AutoSchema adds them once for every
operation, with the body DRF gives them (``{"detail": ..., "code": ...}``, or the invalid fields with their
messages for a 400), so that a client and a contract test (tests/portal/test_api_contract.py) know them.
"""

from django.utils.translation import gettext_lazy as _
from drf_spectacular import openapi

ERROR_BODY = {
    "type": "object",
    "properties": {
        "detail": {"type": "string", "description": "What went wrong, in the reader's language."},
        "code": {"type": "string", "description": "A stable code for programs."},
    },
    "additionalProperties": True,
}
# A 400 names each invalid field (or parameter) with its messages; a few errors are a bare list of messages.
VALIDATION_BODY = {
    "oneOf": [
        {"type": "object", "additionalProperties": True},
        {"type": "array", "items": {"type": "string"}},
    ]
}

ERRORS = {
    "400": (_("The request or one of its parameters is invalid; each problem is named."), VALIDATION_BODY),
    "401": (_("No valid credentials: the token is unknown, expired or revoked."), ERROR_BODY),
    "403": (
        _("Not allowed: the role, the token's scope or the staff two-factor authentication is missing."),
        ERROR_BODY,
    ),
    "404": (_("No such object, or not one you may see."), ERROR_BODY),
    "429": (_("Too many requests: wait as many seconds as Retry-After says."), ERROR_BODY),
}
UNSAFE_ERRORS = {
    "409": (_("The object is not in a state that allows this (a transition or a conflict)."), ERROR_BODY),
    "415": (_("The body is not in a media type the operation accepts."), ERROR_BODY),
}


class PortalAutoSchema(openapi.AutoSchema):
    def _get_response_bodies(self, direction="response"):
        responses = super()._get_response_bodies(direction)
        errors = dict(ERRORS)
        if self.method not in ("GET", "HEAD", "OPTIONS"):
            errors.update(UNSAFE_ERRORS)
        for status, (description, schema) in errors.items():
            responses.setdefault(
                status, {"description": str(description), "content": {"application/json": {"schema": schema}}}
            )
        return responses
