#!/usr/bin/env python3
"""Fill translations into the zh_Hans catalogue from a JSON file, and show what is still missing.

    scripts/po_fill.py --missing [PATH_PREFIX]   list untranslated or fuzzy messages (optionally only those
                                                 whose source reference starts with PATH_PREFIX, e.g. talent/)
    scripts/po_fill.py translations.json         fill them in

The JSON is a list of entries: ``{"msgid": "...", "msgstr": "..."}``; with ``"msgctxt"`` for a message with a
context, and ``"msgstr_plural": ["..."]`` (one form for Chinese) for a message with a plural. An entry fills the
catalogue's entry with the same msgid (and context) and clears its fuzzy flag; entries that match nothing are
reported. Run ``makemessages`` first (see README "Translations"), ``compilemessages`` after.

Concurrent editors: wrap makemessages + fill + compilemessages in ``flock var/po.lock ...``.
"""

import json
import re
import sys
from pathlib import Path

CATALOGUE = Path(__file__).resolve().parents[1] / "locale" / "zh_Hans" / "LC_MESSAGES" / "django.po"


def _unquote(lines: list[str]) -> str:
    return "".join(json.loads(line) for line in lines)


def _quote(text: str) -> str:
    if "\n" in text[:-1]:
        parts = text.splitlines(keepends=True)
        return '""\n' + "\n".join(json.dumps(p, ensure_ascii=False) for p in parts)
    return json.dumps(text, ensure_ascii=False)


def parse(block: str) -> dict:
    """One catalogue entry: comments, flags, msgctxt, msgid, msgid_plural, msgstr(s)."""
    entry = {"comments": [], "fields": {}, "order": []}
    key = None
    for line in block.splitlines():
        if line.startswith("#"):
            entry["comments"].append(line)
            continue
        match = re.match(r'^(msgctxt|msgid_plural|msgid|msgstr(?:\[\d+\])?) (".*")$', line)
        if match:
            key = match.group(1)
            entry["fields"][key] = [match.group(2)]
            entry["order"].append(key)
        elif line.startswith('"') and key:
            entry["fields"][key].append(line)
    return entry


def text(entry: dict, key: str) -> str | None:
    lines = entry["fields"].get(key)
    return None if lines is None else _unquote(lines)


def render(entry: dict) -> str:
    out = list(entry["comments"])
    for key in entry["order"]:
        out.append(f"{key} " + "\n".join(entry["fields"][key]))
    return "\n".join(out)


def is_missing(entry: dict) -> bool:
    flags = " ".join(c for c in entry["comments"] if c.startswith("#,"))
    strs = [text(entry, k) for k in entry["order"] if k.startswith("msgstr")]
    return "fuzzy" in flags or any(not s for s in strs)


def main(argv: list[str]) -> int:
    raw = CATALOGUE.read_text(encoding="utf-8")
    blocks = raw.split("\n\n")
    entries = [parse(b) for b in blocks]
    if not argv or argv[0] == "--missing":
        prefix = argv[1] if len(argv) > 1 else ""
        for entry in entries[1:]:
            if not entry["order"] or not is_missing(entry):
                continue
            refs = " ".join(c[3:] for c in entry["comments"] if c.startswith("#: "))
            if prefix and not any(r.startswith(prefix) for r in refs.split()):
                continue
            item = {"msgid": text(entry, "msgid")}
            if "msgctxt" in entry["fields"]:
                item["msgctxt"] = text(entry, "msgctxt")
            if "msgid_plural" in entry["fields"]:
                item["msgid_plural"] = text(entry, "msgid_plural")
            print(json.dumps(item, ensure_ascii=False))
        return 0
    wanted = json.loads(Path(argv[0]).read_text(encoding="utf-8"))
    index = {(text(e, "msgctxt"), text(e, "msgid")): e for e in entries[1:] if e["order"]}
    unmatched = []
    for item in wanted:
        entry = index.get((item.get("msgctxt"), item["msgid"]))
        if entry is None:
            unmatched.append(item["msgid"])
            continue
        if "msgid_plural" in entry["fields"]:
            forms = item.get("msgstr_plural") or [item.get("msgstr", "")]
            for key in [k for k in entry["order"] if k.startswith("msgstr[")]:
                entry["fields"][key] = [_quote(forms[0])]
        else:
            entry["fields"]["msgstr"] = [_quote(item["msgstr"])]
        comments = []
        for c in entry["comments"]:
            if c.startswith("#,"):
                flags = [f.strip() for f in c[2:].split(",") if f.strip() and f.strip() != "fuzzy"]
                if flags:
                    comments.append("#, " + ", ".join(flags))
                continue
            if c.startswith("#| "):  # the previous msgid of a fuzzy match
                continue
            comments.append(c)
        entry["comments"] = comments
    rendered = "\n\n".join(render(e) if e["order"] else b for e, b in zip(entries, blocks, strict=True))
    CATALOGUE.write_text(rendered.rstrip("\n") + "\n", encoding="utf-8")
    if unmatched:
        print(f"{len(unmatched)} entries matched nothing in the catalogue (run makemessages first?):")
        for msgid in unmatched:
            print(f"  {msgid[:90]}")
    print(f"filled {len(wanted) - len(unmatched)} entries")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
