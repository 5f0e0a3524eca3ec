"""Unified Social Credit Code (统一社会信用代码), GB 32100-2015.

18 characters from a 31-character alphabet (no I, O, S, V, Z): registration authority (1), organisation
category (1), administrative division (6 digits), organisation code (9), check character (1). The check
character is 31 - (sum of value x weight mod 31), with 31 written as 0.
"""

import random

from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

ALPHABET = "0123456789ABCDEFGHJKLMNPQRTUWXY"
WEIGHTS = (1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28)
REGISTRATION_AUTHORITIES = "123456789ABCDEFGNY"
_VALUES = {c: i for i, c in enumerate(ALPHABET)}


def normalize_uscc(value: str) -> str:
    return (value or "").strip().upper().replace(" ", "")


def check_character(first17: str) -> str:
    total = sum(_VALUES[c] * w for c, w in zip(first17, WEIGHTS, strict=True))
    return ALPHABET[(31 - total % 31) % 31]


def random_uscc(rng: random.Random | None = None, *, prefix: str = "91", division: str = "") -> str:
    """A well-formed made-up code (correct check character) for test, demo and benchmark data.

    ``prefix`` is the authority and category (91: an enterprise); ``division`` six digits (random if empty)."""
    rng = rng or random.Random()
    division = division or "".join(rng.choices("0123456789", k=6))
    body = prefix + division + "".join(rng.choices(ALPHABET, k=9))
    return body + check_character(body)


def validate_uscc(value: str) -> None:
    code = normalize_uscc(value)
    if len(code) != 18:
        raise ValidationError(
            _("A Unified Social Credit Code has exactly 18 characters (this one has %(n)d)."),
            code="uscc_length",
            params={"n": len(code)},
        )
    bad = sorted({c for c in code if c not in _VALUES})
    if bad:
        raise ValidationError(
            _(
                "A Unified Social Credit Code cannot contain %(chars)s (the letters I, O, S, V and Z are never used)."
            ),
            code="uscc_characters",
            params={"chars": ", ".join(bad)},
        )
    if code[0] not in REGISTRATION_AUTHORITIES:
        raise ValidationError(
            _(
                "The first character (registration authority) of a Unified Social Credit Code cannot be %(c)s."
            ),
            code="uscc_authority",
            params={"c": code[0]},
        )
    if not code[2:8].isdigit():
        raise ValidationError(
            _(
                "Characters 3 to 8 of a Unified Social Credit Code are the administrative division code (digits)."
            ),
            code="uscc_division",
        )
    expected = check_character(code[:17])
    if code[17] != expected:
        raise ValidationError(
            _(
                "This Unified Social Credit Code fails its check character: please check it for typing errors."
            ),
            code="uscc_check",
        )
