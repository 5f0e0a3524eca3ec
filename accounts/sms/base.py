"""The SMS gateway interface: a backend sends one templated text message to one number, or raises SmsError."""

from django.utils.translation import gettext_lazy as _

# The messages the portal sends, by key; providers need a template registered (and approved) for each, named in
# settings.SMS_TEMPLATES. The console and file backends write these texts themselves.
TEXTS = {
    "login_code": _(
        "Your sign-in code for the AI Computing Center is %(code)s. It expires in %(minutes)s minutes."
    ),
    "verify_code": _(
        "Your code to confirm this mobile number at the AI Computing Center is %(code)s. "
        "It expires in %(minutes)s minutes."
    ),
    "invitation": _("%(organisation)s invites you to the AI Computing Center portal: %(link)s"),
}


class SmsError(Exception):
    """The gateway refused or failed to send a message. ``code`` is the provider's error code (or ours),
    ``str(error)`` says what went wrong in words an operator understands."""

    def __init__(self, message: str, *, code: str = "", provider: str = "", retryable: bool = False):
        super().__init__(message)
        self.code = code
        self.provider = provider
        self.retryable = retryable


class BaseSmsBackend:
    """Subclasses implement ``send``. ``options`` come from settings.SMS_BACKEND_OPTIONS, ``templates`` from
    settings.SMS_TEMPLATES (message key -> the provider's template id)."""

    name = "base"

    def __init__(self, options: dict | None = None, templates: dict | None = None):
        self.options = dict(options or {})
        self.templates = dict(templates or {})

    def send(self, number: str, template: str, params: dict[str, str]) -> str:
        """Send; return the provider's message id (or "" when there is none)."""
        raise NotImplementedError

    def option(self, key: str, default=None, *, required: bool = False):
        value = self.options.get(key, default)
        if required and not value:
            raise SmsError(f"SMS_BACKEND_OPTIONS lacks {key!r} for the {self.name} backend", code="config")
        return value

    def template_id(self, template: str) -> str:
        entry = self.templates.get(template)
        if isinstance(entry, dict):
            entry = entry.get("id")
        if not entry:
            raise SmsError(
                f"SMS_TEMPLATES has no {self.name} template for the message {template!r}", code="config"
            )
        return str(entry)

    def template_param_order(self, template: str, params: dict) -> list[str]:
        """The parameter names in the order a positional template (Tencent's) expects them."""
        entry = self.templates.get(template)
        if isinstance(entry, dict) and entry.get("params"):
            return list(entry["params"])
        return list(params)


def render_text(template: str, params: dict[str, str]) -> str:
    """The message in words (console and file backends), in the active language."""
    text = TEXTS.get(template)
    if text is None:
        return f"{template}: " + ", ".join(f"{key}={value}" for key, value in params.items())
    try:
        return str(text) % params
    except (KeyError, TypeError, ValueError):
        return f"{template}: " + ", ".join(f"{key}={value}" for key, value in params.items())
