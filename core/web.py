"""Small helpers that views and API views share: ids from input, refused actions shown to the person."""

import re
import sys

from django.contrib import messages
from django.core.exceptions import NON_FIELD_ERRORS, ValidationError
from django.db import InterfaceError, OperationalError
from django.http import HttpResponse, HttpResponseServerError, JsonResponse
from django.template import loader
from django.utils.translation import get_language
from django.utils.translation import gettext as _
from django.views import defaults
from django.views.decorators.csrf import requires_csrf_token
from rest_framework import serializers

# Ids larger than a bigint are not ids: refuse them as input instead of asking the database.
MAX_ID = 2**63 - 1
_ID_RE = re.compile(r"[0-9]{1,19}")


def parse_id(value) -> int | None:
    """An id given as an int or a string of digits (a query parameter, a JSON value); None when it is not one.

    Booleans, floats, signs, spaces and numbers beyond a bigint are not ids."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value if 0 < value <= MAX_ID else None
    if isinstance(value, str) and _ID_RE.fullmatch(value) and 0 < int(value) <= MAX_ID:
        return int(value)
    return None


class IdField(serializers.IntegerField):
    """An id in an API payload: a positive integer that fits a bigint."""

    def __init__(self, **kwargs):
        kwargs.setdefault("min_value", 1)
        kwargs.setdefault("max_value", MAX_ID)
        super().__init__(**kwargs)


class IdRelatedField(serializers.PrimaryKeyRelatedField):
    """A related object by id, refusing what is not an id (1.5 or "1.0" would otherwise pass as 1)."""

    def to_internal_value(self, data):
        pk = parse_id(data)
        if pk is None:
            self.fail("incorrect_type", data_type=type(data).__name__)
        return super().to_internal_value(pk)


def show_error(request, error: Exception) -> None:
    """A refused action as messages on the next page: a domain error's text or a validation error's messages."""
    if isinstance(error, ValidationError):
        for message in error.messages:
            messages.error(request, message)
    else:
        messages.error(request, str(error))


def apply_errors(form, error: ValidationError, *, elsewhere: tuple[str, ...] = ()) -> dict[str, list[str]]:
    """Put a service's validation errors next to the fields they concern (the rest on the form itself).

    Errors about the fields named in ``elsewhere`` (shown by the page outside the form, such as member rows)
    are returned instead, by field."""
    by_field = error.message_dict if hasattr(error, "error_dict") else {NON_FIELD_ERRORS: error.messages}
    kept: dict[str, list[str]] = {}
    for field, field_messages in by_field.items():
        for message in field_messages:
            if field in elsewhere:
                kept.setdefault(field, []).append(message)
            else:
                form.add_error(field if field in form.fields else None, message)
    return kept


def page_not_found(request, exception):
    """The 404 handler: under ``/api/`` a URL that matches no route (an id that is not a number) answers in
    JSON like every other API error, as the schema says; elsewhere Django's page (templates/404.html)."""
    if request.path.startswith("/api/"):
        return JsonResponse({"detail": _("Not found."), "code": "not_found"}, status=404)
    return defaults.page_not_found(request, exception)


@requires_csrf_token
def server_error(request):
    """The 500 handler: a lost database connection (restarted or cut) answers 503 and asks to try again.

    Rendered without the request's context on purpose: the context processors would ask the database that
    just failed. The change the request made was rolled back with its transaction; the next request opens a
    new connection.
    """
    if isinstance(sys.exc_info()[1], OperationalError | InterfaceError):
        body = loader.get_template("503.html").render({"LANGUAGE_CODE": get_language()})
        return HttpResponse(body, status=503, headers={"Retry-After": "10"})
    return HttpResponseServerError(loader.get_template("500.html").render())
