"""{% load job_tags %}: how the job pages write durations."""

from django import template

register = template.Library()


@register.filter
def duration_hms(seconds) -> str:
    """12345 -> "3:25:45"; a day or more -> "1d 2:03:04"."""
    try:
        total = max(int(seconds or 0), 0)
    except (TypeError, ValueError):
        return ""
    days, rest = divmod(total, 86400)
    hours, rest = divmod(rest, 3600)
    minutes, secs = divmod(rest, 60)
    text = f"{hours}:{minutes:02d}:{secs:02d}"
    return f"{days}d {text}" if days else text
