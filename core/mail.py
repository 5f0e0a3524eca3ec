"""Mail goes through the outbox: the backend writes each message in the transaction of the change.

Django's ``EMAIL_BACKEND`` is this class, so allauth's mails and the portal's own take the same path.
A worker delivers with ``EMAIL_DELIVERY_BACKEND`` (SMTP in production, console in the demo); a mail the
server refuses waits in the outbox and is retried (see ``core.outbox``).
"""

import base64
import contextlib
from email.mime.base import MIMEBase

from django.conf import settings
from django.core.mail import EmailMessage, EmailMultiAlternatives, get_connection
from django.core.mail.backends.base import BaseEmailBackend
from django.template import TemplateDoesNotExist
from django.template.loader import render_to_string


def serialize_message(message: EmailMessage) -> dict:
    attachments = []
    for attachment in message.attachments:
        if isinstance(attachment, MIMEBase):
            raise ValueError("MIME attachments are not supported by the queued mail backend")
        filename, content, mimetype = attachment
        if isinstance(content, str):
            content = content.encode()
        attachments.append([filename, base64.b64encode(content).decode("ascii"), mimetype])
    return {
        "subject": str(message.subject),
        "body": str(message.body),
        "from_email": message.from_email,
        "to": list(message.to),
        "cc": list(message.cc),
        "bcc": list(message.bcc),
        "reply_to": list(message.reply_to),
        "headers": dict(message.extra_headers),
        "alternatives": [[str(c), m] for c, m in getattr(message, "alternatives", [])],
        "attachments": attachments,
    }


def deserialize_message(data: dict) -> EmailMultiAlternatives:
    message = EmailMultiAlternatives(
        subject=data["subject"],
        body=data["body"],
        from_email=data["from_email"],
        to=data["to"],
        cc=data.get("cc") or [],
        bcc=data.get("bcc") or [],
        reply_to=data.get("reply_to") or [],
        headers=data.get("headers") or {},
    )
    for content, mimetype in data.get("alternatives") or []:
        message.attach_alternative(content, mimetype)
    for filename, content, mimetype in data.get("attachments") or []:
        message.attach(filename, base64.b64decode(content), mimetype)
    return message


def deliver(data: dict) -> int:
    """Send one serialised message with the real delivery backend (called by the worker)."""
    connection = get_connection(settings.EMAIL_DELIVERY_BACKEND)
    return connection.send_messages([deserialize_message(data)])


class OutboxEmailBackend(BaseEmailBackend):
    """Writes each message to the outbox (``core.outbox``), in the transaction of the change it reports."""

    def send_messages(self, email_messages):
        from core import outbox  # core.outbox imports this module

        count = 0
        for message in email_messages:
            try:
                outbox.enqueue_mail(serialize_message(message))
            except Exception:
                # Error mails to ADMINS are sent with fail_silently, maybe while the database is what failed:
                # that must not turn a handled error (or a 503 health check) into a crash.
                if not self.fail_silently:
                    raise
                continue
            count += 1
        return count


def send_templated_mail(template_prefix: str, *, to: list[str], context: dict) -> int:
    """Render ``<prefix>_subject.txt`` and ``<prefix>_message.txt`` (and ``.html`` if present) and queue it.

    Mails are written in the language active when the change happened, with the portal's name in both.
    """

    recipients = [address for address in dict.fromkeys(to) if address]
    if not recipients:
        return 0
    context = {"site_url": settings.SITE_URL, **context}
    subject = render_to_string(f"{template_prefix}_subject.txt", context).strip().replace("\n", " ")
    body = render_to_string(f"{template_prefix}_message.txt", context)
    message = EmailMultiAlternatives(
        subject=settings.ACCOUNT_EMAIL_SUBJECT_PREFIX + subject,
        body=body,
        from_email=settings.DEFAULT_FROM_EMAIL,
        to=recipients,
    )
    with contextlib.suppress(TemplateDoesNotExist):
        message.attach_alternative(render_to_string(f"{template_prefix}_message.html", context), "text/html")
    return message.send()
