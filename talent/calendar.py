"""iCalendar (RFC 5545) for a learner's sessions, written by hand: a few VEVENTs need no library."""

from datetime import UTC

from django.conf import settings
from django.utils import timezone


def _escape(text: str) -> str:
    return (
        str(text)
        .replace("\\", "\\\\")
        .replace(";", "\\;")
        .replace(",", "\\,")
        .replace("\r", "")
        .replace("\n", "\\n")
    )


def _fold(line: str) -> str:
    """Lines longer than 75 octets continue on the next line after a space (RFC 5545, 3.1)."""
    data = line.encode()
    if len(data) <= 75:
        return line
    parts, current = [], b""
    for char in line:
        encoded = char.encode()
        if len(current) + len(encoded) > (75 if not parts else 74):
            parts.append(current.decode())
            current = b""
        current += encoded
    parts.append(current.decode())
    return "\r\n ".join(parts)


def _stamp(value) -> str:
    return value.astimezone(UTC).strftime("%Y%m%dT%H%M%SZ")


def sessions_ics(sessions, *, name: str) -> str:
    host = settings.SITE_URL.split("://", 1)[-1]
    now = _stamp(timezone.now())
    lines = [
        "BEGIN:VCALENDAR",
        "VERSION:2.0",
        "PRODID:-//AI Computing Center//Talent training//EN",
        "CALSCALE:GREGORIAN",
        f"X-WR-CALNAME:{_escape(name)}",
    ]
    for session in sessions:
        location = session.place or session.online_url
        lines += [
            "BEGIN:VEVENT",
            f"UID:talent-session-{session.pk}@{host}",
            f"DTSTAMP:{now}",
            f"DTSTART:{_stamp(session.starts_at)}",
            f"DTEND:{_stamp(session.ends_at)}",
            f"SUMMARY:{_escape(f'{session.cohort.course.title} · {session.title}')}",
            f"LOCATION:{_escape(location)}",
        ]
        if session.online_url:
            lines.append(f"URL:{session.online_url}")
        lines += [f"DESCRIPTION:{_escape(session.cohort.name)}", "END:VEVENT"]
    lines.append("END:VCALENDAR")
    return "\r\n".join(_fold(line) for line in lines) + "\r\n"
