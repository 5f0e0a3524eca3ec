"""Ids from input, and a service's refusals shown where a person reads them."""

import pytest
from django import forms
from django.core.exceptions import ValidationError

from core.web import MAX_ID, apply_errors, parse_id


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (1, 1),
        ("42", 42),
        (MAX_ID, MAX_ID),
        (str(MAX_ID), MAX_ID),
        (MAX_ID + 1, None),
        (str(MAX_ID + 1), None),
        (0, None),
        ("0", None),
        (-3, None),
        ("-3", None),
        (True, None),
        (1.0, None),
        ("1.0", None),
        (" 7", None),
        ("7\n", None),
        ("٣", None),  # a digit of another script is not an id
        ("", None),
        (None, None),
        ([1], None),
    ],
)
def test_parse_id(value, expected):
    assert parse_id(value) == expected


class _Form(forms.Form):
    name = forms.CharField(required=False)


def test_apply_errors_puts_each_message_at_its_field():
    form = _Form(data={"name": "x"})
    assert form.is_valid()
    error = ValidationError({"name": ["Too short."], "members": ["Unknown user."], "other": ["Closed."]})
    kept = apply_errors(form, error, elsewhere=("members",))
    assert kept == {"members": ["Unknown user."]}
    assert form.errors["name"] == ["Too short."]
    assert form.non_field_errors() == ["Closed."]


def test_apply_errors_with_a_plain_message():
    form = _Form(data={})
    form.is_valid()
    assert apply_errors(form, ValidationError("The call is closed.")) == {}
    assert form.non_field_errors() == ["The call is closed."]
