"""Checks made once per endpoint before it is measured.

* :func:`check_http` asks the running server, with the persona's cookie, and verifies the status and the
  text: a 302 to the login page (which wrk would count as a success) stops the endpoint from being measured.
* :func:`capture_queries` runs the same request in this process through Django's test client, on the same
  database: the time of one request alone (no queueing), and the SQL it sends (count, time, statements),
  optionally with ``EXPLAIN ANALYZE``.
"""

import http.client
import time
from statistics import median
from urllib.parse import urlsplit

SOLO_REQUESTS = 7


def check_http(base_url: str, endpoint: dict, headers: dict[str, str]) -> dict:
    """One request to the real server: status, size, time and whether it answers as the endpoint expects."""
    parts = urlsplit(base_url)
    conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=30)
    began = time.perf_counter()
    try:
        conn.request("GET", endpoint["path"], headers=headers)
        response = conn.getresponse()
        body = response.read()
    finally:
        conn.close()
    seconds = time.perf_counter() - began
    expected = endpoint.get("expect_status", 200)
    problems = []
    if response.status != expected:
        location = response.headers.get("Location")
        problems.append(
            f"answered {response.status}, expected {expected}" + (f" (to {location})" if location else "")
        )
    text = endpoint.get("expect_text")
    if text and text.encode() not in body:
        problems.append(f"the body lacks {text!r}")
    return {
        "status": response.status,
        "bytes": len(body),
        "ms": round(seconds * 1000, 2),
        "problems": problems,
    }


def _client_for(cookie_header: str):
    from django.test import Client

    client = Client(HTTP_HOST="127.0.0.1", raise_request_exception=False)
    for pair in filter(None, (p.strip() for p in cookie_header.split(";"))):
        name, _, value = pair.partition("=")
        client.cookies[name] = value
    return client


def capture_queries(endpoint: dict, cookie_header: str, *, explain: bool = False) -> dict:
    """The time of the request alone and its SQL, after a first request that fills per-process caches.

    Both are medians of a few requests: one request on a busy machine can take several times its cost.
    """
    from django.db import connection

    queries: list[dict] = []

    def record(execute, sql, params, many, context):
        began = time.perf_counter()
        try:
            return execute(sql, params, many, context)
        finally:
            elapsed = time.perf_counter() - began
            statement = connection.ops.last_executed_query(context["cursor"], sql, params)
            queries.append({"ms": round(elapsed * 1000, 3), "sql": statement})

    client = _client_for(cookie_header)
    client.get(endpoint["path"])
    timings = []
    for _ in range(SOLO_REQUESTS):
        began = time.perf_counter()
        client.get(endpoint["path"])
        timings.append((time.perf_counter() - began) * 1000)
    captures = []
    for _ in range(SOLO_REQUESTS):
        queries = []
        with connection.execute_wrapper(record):
            response = client.get(endpoint["path"])
        captures.append(queries)
    # The request whose database time is the median one stands for all of them.
    captures.sort(key=lambda captured: sum(q["ms"] for q in captured))
    queries = captures[len(captures) // 2]
    if explain:
        for query in queries:
            query["plan"] = _explain(query["sql"])
    # The session key appears in the session lookup: keep it out of printed output and results files.
    for pair in filter(None, (p.strip() for p in cookie_header.split(";"))):
        secret = pair.partition("=")[2]
        for query in queries:
            for key in ("sql", "plan"):
                if query.get(key) and secret:
                    query[key] = query[key].replace(secret, "<cookie>")
    return {
        "status": response.status_code,
        "count": len(queries),
        "count_varies": len({len(c) for c in captures}) > 1,
        "db_ms": round(sum(q["ms"] for q in queries), 2),
        # In this process, one request at a time (median of a few): the request's own cost, without queueing.
        "request_ms": round(median(timings), 2),
        "queries": queries,
    }


def _explain(statement: str) -> str | None:
    """``EXPLAIN (ANALYZE, BUFFERS)`` of a read (writes are not replayed)."""
    from django.db import connection

    if not statement.lstrip().upper().startswith(("SELECT", "WITH")):
        return None
    with connection.cursor() as cursor:
        cursor.execute("EXPLAIN (ANALYZE, BUFFERS) " + statement)  # no params: no % escaping
        return "\n".join(row[0] for row in cursor.fetchall())
