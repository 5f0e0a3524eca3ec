"""Dates, numbers and currency follow the active language."""

from datetime import datetime
from decimal import Decimal

import pytest
from django.template import Context, Template
from django.utils import timezone, translation

from tests.accounts.factories import make_organisation

TEMPLATE = Template(
    '{% load core_tags humanize %}{{ when|date:"DATE_FORMAT" }}|{{ amount|money }}|{{ count|intcomma }}'
)


@pytest.mark.parametrize(
    ("language", "expected"),
    [
        ("en", "Nov. 28, 2026|CNY 1,234,567.50|12,345"),
        ("zh-hans", "2026年11月28日|¥1,234,567.50|12,345"),
    ],
)
def test_formats_follow_the_language(language, expected):
    context = Context(
        {
            "when": timezone.make_aware(datetime(2026, 11, 28, 9, 30)),
            "amount": Decimal("1234567.5"),
            "count": 12345,
        }
    )
    with translation.override(language):
        assert TEMPLATE.render(context) == expected


def test_money_ignores_garbage():
    with translation.override("en"):
        assert Template("{% load core_tags %}{{ value|money }}").render(Context({"value": "abc"})) == ""


@pytest.mark.django_db
def test_pages_show_dates_in_the_reader_language(client, user):
    org = make_organisation(user)
    client.force_login(user)
    client.cookies["django_language"] = "zh-hans"
    page = client.get(org.get_absolute_url()).content.decode()
    assert f"{timezone.localdate().year}年" in page
    assert 'lang="zh-Hans"' in page
