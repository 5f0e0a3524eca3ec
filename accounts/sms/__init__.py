"""Text messages (SMS): the gateway interface and its backends (console, file, and the providers' HTTP APIs).

``send_text`` is the one entry point the portal uses; the backend is chosen by settings.SMS_BACKEND (a dotted
path, as Django's EMAIL_BACKEND), configured by SMS_BACKEND_OPTIONS, with the providers' template ids in
SMS_TEMPLATES. Backends: ``accounts.sms.console.ConsoleSmsBackend``, ``accounts.sms.file.FileSmsBackend``,
``accounts.sms.aliyun.AliyunSmsBackend`` (Alibaba Cloud SMS), ``accounts.sms.tencent.TencentSmsBackend``
(Tencent Cloud SMS). docs/sign-in.md explains how to set one up.
"""

import logging

from django.conf import settings
from django.utils.module_loading import import_string

from accounts.sms.base import BaseSmsBackend, SmsError

__all__ = ["BaseSmsBackend", "SmsError", "get_backend", "is_configured", "send_text"]

logger = logging.getLogger(__name__)


def is_configured() -> bool:
    """True when the site sends text messages (SMS_BACKEND is set): only then are mobile numbers offered."""
    return bool(getattr(settings, "SMS_BACKEND", ""))


def get_backend() -> BaseSmsBackend:
    path = getattr(settings, "SMS_BACKEND", "")
    if not path:
        raise SmsError("no SMS backend is configured (settings.SMS_BACKEND)", code="config")
    try:
        backend_class = import_string(path)
    except ImportError as exc:
        raise SmsError(f"SMS_BACKEND {path!r} cannot be imported: {exc}", code="config") from exc
    return backend_class(
        options=getattr(settings, "SMS_BACKEND_OPTIONS", {}) or {},
        templates=getattr(settings, "SMS_TEMPLATES", {}) or {},
    )


def send_text(number: str, template: str, params: dict[str, str]) -> None:
    """Send the message ``template`` (a key such as "login_code" or "invitation") to ``number`` (E.164),
    filling in ``params``. Raises ``accounts.sms.base.SmsError`` when the gateway refuses it."""
    backend = get_backend()
    params = {key: str(value) for key, value in (params or {}).items()}
    try:
        message_id = backend.send(number, template, params)
    except SmsError as exc:
        exc.provider = exc.provider or backend.name
        logger.warning(
            "SMS %s to %s refused by %s: [%s] %s", template, _masked(number), backend.name, exc.code, exc
        )
        raise
    logger.info("SMS %s sent to %s by %s (%s)", template, _masked(number), backend.name, message_id or "-")


def _masked(number: str) -> str:
    """The number as the logs show it: enough to tell people apart, not to call them."""
    return number[:-8] + "****" + number[-4:] if len(number) > 8 else "****"
