"""Domain errors raised by services, and the one API exception handler that maps them to HTTP."""

from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.core.exceptions import ValidationError as DjangoValidationError
from django.http import Http404
from rest_framework import exceptions as drf_exceptions
from rest_framework.views import exception_handler


class DomainError(Exception):
    """A request that the domain refuses; the message is shown to the person who asked."""

    status_code = 400
    code = "invalid"

    def __init__(self, message, *, code: str | None = None):
        super().__init__(message)
        self.message = message
        if code:
            self.code = code

    def __str__(self):
        return str(self.message)


class InvalidTransition(DomainError):
    """A status change that the status pipeline does not allow from the current state."""

    status_code = 409
    code = "invalid_transition"


class Conflict(DomainError):
    status_code = 409
    code = "conflict"


class NotAllowed(DomainError, DjangoPermissionDenied):
    """The person asking may not do this: 403 in the API, and Django's 403 page where a view lets it through."""

    status_code = 403
    code = "permission_denied"


def api_exception_handler(exc, context):
    if isinstance(exc, DomainError):
        exc = _DomainAPIException(exc)
    elif isinstance(exc, DjangoValidationError):
        detail = exc.message_dict if hasattr(exc, "error_dict") else {"non_field_errors": exc.messages}
        exc = drf_exceptions.ValidationError(detail)
    elif isinstance(exc, Http404):
        exc = drf_exceptions.NotFound()
    elif isinstance(exc, DjangoPermissionDenied):
        exc = drf_exceptions.PermissionDenied()
    return exception_handler(exc, context)


class _DomainAPIException(drf_exceptions.APIException):
    def __init__(self, error: DomainError):
        self.status_code = error.status_code
        super().__init__(detail={"detail": str(error.message), "code": error.code}, code=error.code)
