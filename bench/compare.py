"""Compare two runs of ``bench/run.py``: each endpoint's solo time (one request alone, in process) and ratio.

.venv/bin/python bench/compare.py BEFORE.json AFTER.json [--limit 20] [--floor-ms 1]

Issue #17 asks that ``--scale 5`` change no endpoint's solo time by more than 20 %: run the harness at
``--scale 1`` and at ``--scale 5`` and compare the two results files. An endpoint whose solo time grew by more
than ``--limit`` percent and more than ``--floor-ms`` milliseconds (a 2 ms page that takes 2.5 ms once is noise,
not growth) is marked, and the exit status is then 1. Endpoints in only one of the files are listed apart.
"""

import argparse
import json
import sys
from pathlib import Path


def _endpoints(path: Path) -> tuple[dict, dict]:
    data = json.loads(path.read_text())
    found = {}
    for result in data["results"]:
        queries = result.get("queries") or {}
        found[result["name"]] = {
            "solo_ms": queries.get("request_ms"),
            "queries": queries.get("count"),
            "ratio": result.get("ratio"),
        }
    return data.get("options", {}), found


def compare(before: dict, after: dict, *, limit: float, floor_ms: float) -> tuple[list[list[str]], list[str]]:
    rows, grown = [], []
    for name, old in before.items():
        new = after.get(name)
        if new is None or old["solo_ms"] is None or new["solo_ms"] is None:
            continue
        change = (new["solo_ms"] - old["solo_ms"]) / old["solo_ms"] * 100 if old["solo_ms"] else 0.0
        marked = change > limit and new["solo_ms"] - old["solo_ms"] > floor_ms
        if marked:
            grown.append(name)
        rows.append(
            [
                name,
                f"{old['solo_ms']:.1f}",
                f"{new['solo_ms']:.1f}",
                f"{change:+.0f} %",
                f"{old['queries']} → {new['queries']}",
                "grew" if marked else "",
            ]
        )
    return rows, grown


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("before", type=Path)
    parser.add_argument("after", type=Path)
    parser.add_argument("--limit", type=float, default=20.0, help="percent of solo time an endpoint may grow")
    parser.add_argument(
        "--floor-ms", type=float, default=1.0, help="growth below this many ms is never marked"
    )
    args = parser.parse_args(argv)
    options_before, before = _endpoints(args.before)
    options_after, after = _endpoints(args.after)
    rows, grown = compare(before, after, limit=args.limit, floor_ms=args.floor_ms)
    print(f"scale {options_before.get('scale')} → {options_after.get('scale')}; solo ms, one request alone")
    header = ["endpoint", "before", "after", "change", "queries", ""]
    widths = [max(len(str(row[i])) for row in [header, *rows]) for i in range(len(header))]
    for row in [header, *rows]:
        print(" | ".join(str(cell).ljust(width) for cell, width in zip(row, widths, strict=True)))
    for name in sorted(set(before) ^ set(after)):
        print(f"only in {'the first' if name in before else 'the second'} run: {name}")
    if grown:
        print(
            f"{len(grown)} endpoint(s) grew by more than {args.limit:.0f} % and {args.floor_ms:g} ms: {', '.join(grown)}"
        )
        return 1
    print(f"no endpoint grew by more than {args.limit:.0f} % (and {args.floor_ms:g} ms)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
