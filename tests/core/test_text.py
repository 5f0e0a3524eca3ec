"""One rule for bilingual text: the reader's language, else the other one."""

import pytest
from django.utils import translation

from core.text import bilingual, reads_chinese


@pytest.mark.parametrize(
    ("language", "zh", "en", "expected"),
    [
        ("zh-hans", "计算中心", "Computing center", "计算中心"),
        ("en", "计算中心", "Computing center", "Computing center"),
        ("en", "计算中心", "", "计算中心"),
        ("zh-hans", "", "Computing center", "Computing center"),
        ("en", "", "", ""),
    ],
)
def test_bilingual(language, zh, en, expected):
    with translation.override(language):
        assert bilingual(zh, en) == expected


def test_reads_chinese():
    with translation.override("zh-hans"):
        assert reads_chinese()
    with translation.override("en"):
        assert not reads_chinese()
