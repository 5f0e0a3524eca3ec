"""Prints each message to standard output (development)."""

import sys

from accounts.sms.base import BaseSmsBackend, render_text


class ConsoleSmsBackend(BaseSmsBackend):
    name = "console"

    def send(self, number: str, template: str, params: dict[str, str]) -> str:
        stream = self.options.get("stream") or sys.stdout
        stream.write(f"SMS to {number} [{template}]: {render_text(template, params)}\n")
        stream.flush()
        return ""
