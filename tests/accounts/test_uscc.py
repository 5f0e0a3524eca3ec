import pytest
from django.core.exceptions import ValidationError

from accounts.uscc import check_character, normalize_uscc, validate_uscc

# Real codes of registered Chinese organisations, as printed on their business licences.
REAL_CODES = [
    "91350100M000100Y43",  # the example of GB 32100-2015
    "9144030071526726XG",  # Tencent Technology (Shenzhen)
    "914403001922038216",  # Huawei Technologies
    "91110000802100433B",  # Beijing Baidu Netcom Science and Technology
    "91330100799655058B",  # Alibaba (China)
]


@pytest.mark.parametrize("code", REAL_CODES)
def test_real_codes_are_valid(code):
    validate_uscc(code)
    assert check_character(code[:17]) == code[17]


def test_lower_case_and_spaces_are_normalised():
    assert normalize_uscc(" 9144030071526726xg ") == "9144030071526726XG"
    validate_uscc("9144030071526726xg")


@pytest.mark.parametrize(
    ("code", "error_code"),
    [
        ("91350100M000100Y44", "uscc_check"),  # one typo in the check character
        ("91350100M000100Y4", "uscc_length"),
        ("91350100M000100Y431", "uscc_length"),
        ("91350100M0001O0Y43", "uscc_characters"),  # letter O is never used
        ("9135010OM000100Y43", "uscc_characters"),
        ("Z1350100M000100Y43", "uscc_characters"),
        ("H1350100M000100Y43", "uscc_authority"),  # H is in the alphabet but is no registration authority
        ("9135A100M000100Y43", "uscc_division"),
        ("91440300715267263G", "uscc_check"),  # two characters swapped
        ("", "uscc_length"),
    ],
)
def test_invalid_codes_are_refused_with_a_clear_reason(code, error_code):
    with pytest.raises(ValidationError) as info:
        validate_uscc(code)
    assert info.value.code == error_code
    assert str(info.value.messages[0])
