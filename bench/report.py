"""The printed table and the JSON file of a run."""

import json
from pathlib import Path

COLUMNS = ("endpoint", "req/s", "p50 ms", "p99 ms", "× minimal", "queries", "db ms", "solo ms", "notes")


def _fmt(value, digits: int) -> str:
    return "-" if value is None else f"{value:,.{digits}f}"


def rows(results: list[dict]) -> list[tuple[str, ...]]:
    table = []
    for r in results:
        load, queries = r.get("load"), r.get("queries") or {}
        notes = list(r.get("problems", []))
        if load and not load["rps"] and not load["errors"]:
            notes.append("no request completed in time: the server or the machine is overloaded")
        if load and load["errors"]:
            notes.append("errors " + ", ".join(f"{k} {v}" for k, v in load["errors"].items()))
        if queries.get("count_varies"):
            notes.append("query count varies between requests")
        if r.get("after_change"):
            notes.append(f"after a change {r['after_change']['ms']:.0f} ms")
        if r.get("below_goal"):
            notes.append(f"below goal ×{r['goal_ratio']:.2f}")
        table.append(
            (
                r["name"],
                _fmt(load and load["rps"], 0),
                _fmt(load and load["p50_ms"], 1),
                _fmt(load and load["p99_ms"], 1),
                _fmt(r.get("ratio"), 3),
                str(queries.get("count", "-")),
                _fmt(queries.get("db_ms"), 2),
                _fmt(queries.get("request_ms"), 1),
                "; ".join(notes),
            )
        )
    return table


def format_table(results: list[dict]) -> str:
    body = rows(results)
    widths = [max(len(c), *(len(row[i]) for row in body)) for i, c in enumerate(COLUMNS)]
    right = {1, 2, 3, 4, 5, 6, 7}

    def line(cells) -> str:
        return " | ".join(
            c.rjust(w) if i in right else c.ljust(w)
            for i, (c, w) in enumerate(zip(cells, widths, strict=True))
        ).rstrip()

    return "\n".join([line(COLUMNS), "-+-".join("-" * w for w in widths), *map(line, body)])


def format_queries(results: list[dict], *, limit: int = 300) -> str:
    """Every endpoint's SQL (and plans, when captured with --explain)."""
    out = []
    for r in results:
        queries = r.get("queries")
        if not queries:
            continue
        out.append(
            f"== {r['name']} ({r['path']}): {queries['count']} queries taking {queries['db_ms']} ms, "
            f"{queries['request_ms']} ms for the whole request"
        )
        for q in queries["queries"]:
            statement = q["sql"] if len(q["sql"]) <= limit else q["sql"][:limit] + " …"
            out.append(f"  {q['ms']:8.2f} ms  {statement}")
            if q.get("plan"):
                out.extend("      " + line for line in q["plan"].splitlines())
    return "\n".join(out)


def write_json(path: Path, payload: dict) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(payload, indent=2, ensure_ascii=False, default=str) + "\n")
