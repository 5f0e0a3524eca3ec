"""The zh-hans catalogue is complete: every message of the code is translated, none is fuzzy."""

import os
import re
import shutil
from pathlib import Path

import pytest
from django.core.management import call_command
from django.test import override_settings
from django.utils import translation

ROOT = Path(__file__).resolve().parents[2]
CATALOGUE = ROOT / "locale" / "zh_Hans" / "LC_MESSAGES" / "django.po"


def parse_po(text: str):
    """Yield (msgid, msgstrs, flags) for every entry but the header."""
    for block in re.split(r"\n\s*\n", text):
        lines = [line for line in block.splitlines() if not line.startswith("#~")]
        flags = " ".join(line for line in lines if line.startswith("#,"))
        msgid, msgstrs, current = [], [], None
        for line in lines:
            if line.startswith("msgid "):
                current = msgid
                current.append(line[6:])
            elif line.startswith("msgid_plural"):
                current = []
            elif line.startswith("msgstr"):
                current = []
                msgstrs.append(current)
                current.append(line.split(" ", 1)[1])
            elif line.startswith('"') and current is not None:
                current.append(line)
        if not msgid:
            continue
        text_id = "".join(part.strip().strip('"') for part in msgid)
        if text_id == "":
            continue
        yield text_id, ["".join(p.strip().strip('"') for p in s) for s in msgstrs], flags


@pytest.mark.skipif(shutil.which("xgettext") is None, reason="SKIPPED: gettext is not installed")
def test_catalogue_is_current_and_complete(tmp_path):
    """makemessages runs on a copy of the sources and the catalogue: the working tree is never written."""
    assert CATALOGUE.exists(), "run makemessages -l zh_Hans"
    copy = tmp_path / "src"
    shutil.copytree(
        ROOT,
        copy,
        ignore=shutil.ignore_patterns(
            ".git", ".venv", "var", "node_modules", "bench", "tests", "*.mo", "__pycache__", "static"
        ),
    )
    target = copy / "locale" / "zh_Hans" / "LC_MESSAGES"
    before = CATALOGUE.read_bytes()
    with override_settings(LOCALE_PATHS=[copy / "locale"]):
        cwd = os.getcwd()
        os.chdir(copy)
        try:
            call_command(
                "makemessages",
                locale=["zh_Hans"],
                ignore_patterns=["locale/*"],
                no_obsolete=True,
                verbosity=0,
            )
        finally:
            os.chdir(cwd)
    assert CATALOGUE.read_bytes() == before, "the check must not rewrite the committed catalogue"
    refreshed = (target / "django.po").read_text()
    problems = []
    for msgid, msgstrs, flags in parse_po(refreshed):
        if "fuzzy" in flags:
            problems.append(f"fuzzy: {msgid[:70]}")
        elif not msgstrs or any(s == "" for s in msgstrs):
            problems.append(f"untranslated: {msgid[:70]}")
    assert not problems, f"{len(problems)} messages need a Chinese translation:\n" + "\n".join(problems[:40])


def test_navigation_is_translated():
    with translation.override("zh-hans"):
        assert translation.gettext("Compute") != "Compute"
        assert translation.gettext("Sign in") != "Sign in"
