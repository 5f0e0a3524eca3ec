"""Small helpers that views and API views share: ids from input, refused actions shown to the person."""

import re

from django.contrib import messages
from django.core.exceptions import NON_FIELD_ERRORS, ValidationError
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
