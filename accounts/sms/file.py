"""Appends each message as one JSON line to ``<directory>/messages.jsonl`` (the demo and the tests read them)."""

import fcntl
import json
import uuid
from pathlib import Path

from django.utils import timezone

from accounts.sms.base import BaseSmsBackend, SmsError, render_text

FILE_NAME = "messages.jsonl"


class FileSmsBackend(BaseSmsBackend):
    name = "file"

    def send(self, number: str, template: str, params: dict[str, str]) -> str:
        directory = Path(self.option("directory", required=True))
        message_id = uuid.uuid4().hex
        line = json.dumps(
            {
                "id": message_id,
                "sent_at": timezone.now().isoformat(),
                "to": number,
                "template": template,
                "params": {key: str(value) for key, value in params.items()},
                "text": render_text(template, params),
            },
            ensure_ascii=False,
        )
        try:
            directory.mkdir(parents=True, exist_ok=True)
            with open(directory / FILE_NAME, "a", encoding="utf-8") as handle:
                fcntl.flock(handle, fcntl.LOCK_EX)  # several processes may write at once
                handle.write(line + "\n")
        except OSError as exc:
            raise SmsError(
                f"cannot write the message to {directory}: {exc}", code="io", provider=self.name
            ) from exc
        return message_id


def read_messages(directory) -> list[dict]:
    """Every message written so far, oldest first."""
    path = Path(directory) / FILE_NAME
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
