"""core.rows gives the same strings as the template filters and tags it stands in for."""

from datetime import UTC, date, datetime
from decimal import Decimal

import pytest
from django.template import Context, Template
from django.urls import reverse
from django.utils import translation

from core import rows


def render(source: str, **context) -> str:
    return Template("{% load core_tags %}" + source).render(Context(context))


@pytest.mark.parametrize(
    "name,args",
    [
        ("compute:allocation_detail", [42]),
        ("compute:job_template_detail", ["pytorch-ddp"]),
        ("compute:job_detail", ["aicc", "12345"]),
        ("talent:course_detail", ["intro-to-ai"]),
    ],
)
def test_url_of_gives_what_reverse_gives(name, args):
    assert rows.UrlOf(name, len(args))(*args) == reverse(name, args=args)


def test_url_of_wants_every_argument():
    with pytest.raises(TypeError):
        rows.UrlOf("compute:job_detail", 2)("aicc")


@pytest.mark.parametrize("language", ["en", "zh-hans"])
@pytest.mark.parametrize("value", [Decimal("0"), Decimal("12.5"), Decimal("1234567.891"), Decimal("100.00")])
def test_amounts_and_days_are_the_filters(language, value):
    with translation.override(language):
        assert rows.amount(value) == render('{{ v|floatformat:"-2g" }}', v=value)
        day = date(2026, 3, 9)
        assert rows.day(day) == render('{{ d|date:"DATE_FORMAT" }}', d=day)
        assert rows.day(None) == ""
        late = datetime(2026, 3, 9, 20, 30, tzinfo=UTC)  # already 10 March in Beijing
        assert rows.day(late, "SHORT_DATE_FORMAT") == render('{{ d|date:"SHORT_DATE_FORMAT" }}', d=late)
        assert rows.day(late) == render('{{ d|date:"DATE_FORMAT" }}', d=late)


@pytest.mark.parametrize(
    "percent", [Decimal("-3"), 0, Decimal("12.4"), Decimal("12.5"), Decimal("99.6"), 250, "x", None]
)
def test_bar_class_is_the_width_class_filter(percent):
    assert rows.bar_class(percent) == render("{{ p|width_class }}", p=percent)
    assert rows.bar_class(percent).removeprefix("w-pct-").isdigit()


@pytest.mark.parametrize(
    "seconds,text", [(0, "0:00:00"), (12345, "3:25:45"), (93784, "1d 2:03:04"), (None, "0:00:00"), ("x", "")]
)
def test_durations(seconds, text):
    assert rows.duration_hms(seconds) == text


@pytest.mark.parametrize(
    "status", ["active", "approved", "rejected", "pending", "suspended", "closed", "anything"]
)
def test_the_status_partial_uses_the_same_colours(status):
    html = Template('{% include "compute/partials/status.html" with status=s label="L" %}').render(
        Context({"s": status})
    )
    assert f'class="badge {rows.status_badge(status)}"' in html
