"""Where one endpoint's time goes: cProfile over Django's test client, against the data ``bench/run.py`` loaded.

.venv/bin/python bench/profiler.py NAME [NAME ...] [--requests 50] [--top 40] [--sort tottime]

NAME picks endpoints of ``bench/endpoints*.py`` as ``--only`` does (a part of the name). The portal runs in this
process with the production settings of ``bench/server.py: portal_env`` on ``portal_bench`` (load it first
with ``bench/run.py --reuse-db`` or any run), signs the persona in through allauth's form (and its TOTP step),
makes one request to fill per-process caches, then profiles ``--requests`` more. It prints the time per
request and the functions that cost the most (own time by default, ``--sort cumulative`` for call trees).
"""

import argparse
import cProfile
import io
import os
import pstats
import sys
import tempfile
import time
from pathlib import Path
from urllib.parse import urlsplit

BENCH_DIR = Path(__file__).resolve().parent
sys.path.insert(0, str(BENCH_DIR.parent))

from bench import server  # noqa: E402
from bench.endpoints import ENDPOINTS, resolve_path  # noqa: E402


def signed_in_client(persona_key: str | None):
    from django.test import Client

    from bench.data import PASSWORD, PERSONAS
    from bench.session import LOGIN_PATH, MFA_PATH, totp_code

    client = Client(HTTP_HOST="127.0.0.1")
    if persona_key is None:
        return client
    persona = PERSONAS[persona_key]
    response = client.post(LOGIN_PATH, {"login": persona.email, "password": PASSWORD})
    location = response.headers.get("Location", "")
    if MFA_PATH in location:
        if time.time() % 30 > 27:
            time.sleep(30 - time.time() % 30 + 0.2)
        response = client.post(urlsplit(location).path, {"code": totp_code(persona.totp_secret)})
    if response.status_code != 302 or "sessionid" not in client.cookies:
        raise SystemExit(f"signing in as {persona.email} answered {response.status_code}")
    return client


PARTS = (
    ("django/template", "Django templates"),
    ("django/db", "Django ORM"),
    ("psycopg", "psycopg"),
    ("django/utils/translation", "translations"),
    ("gettext.py", "translations"),
    ("django/urls", "URL reversing"),
    ("redis", "Redis client"),
    ("django/core/cache", "Redis client"),
    ("django/contrib/sessions", "sessions"),
    ("django/contrib/auth", "auth"),
    ("django/middleware", "Django middleware"),
    ("rest_framework", "REST framework"),
    ("allauth", "allauth"),
    ("django/test", "test client"),
    ("site-packages/django", "Django, other"),
    ("site-packages", "other packages"),
    ("/work/", "the portal's code"),
)


def print_parts(stats: pstats.Stats, requests: int) -> None:
    """Own time summed by part, in ms per request: where a page's time goes, at a glance."""
    totals: dict[str, float] = {}
    for (filename, _line, _name), (_cc, _nc, tottime, _ct, _callers) in stats.stats.items():
        part = next((label for marker, label in PARTS if marker in filename), "Python itself")
        totals[part] = totals.get(part, 0.0) + tottime
    for part, seconds in sorted(totals.items(), key=lambda item: -item[1]):
        print(f"  {part:<22} {seconds * 1000 / requests:6.2f} ms per request")
    print()


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("names", nargs="+")
    parser.add_argument("--requests", type=int, default=50)
    parser.add_argument("--top", type=int, default=40)
    parser.add_argument("--sort", default="tottime", choices=["tottime", "cumulative"])
    parser.add_argument(
        "--by-part", action="store_true", help="also sum the own time by part (Django's templates, ORM, ...)"
    )
    args = parser.parse_args(argv)

    static_root = tempfile.mkdtemp(prefix="bench-static-")
    env = server.portal_env(static_root=static_root)
    os.environ.update(env)
    server.manage(env, "collectstatic", "--noinput", "-v0")
    import django

    django.setup()

    chosen = [e for e in ENDPOINTS if not e.get("yardstick") and any(n in e["name"] for n in args.names)]
    if not chosen:
        raise SystemExit(f"no endpoint matches {args.names}")
    clients: dict = {}
    for endpoint in chosen:
        persona = endpoint.get("persona")
        if persona not in clients:
            clients[persona] = signed_in_client(persona)
        client = clients[persona]
        path = resolve_path(endpoint)
        first = client.get(path)
        began = time.perf_counter()
        profile = cProfile.Profile()
        profile.enable()
        for _ in range(args.requests):
            client.get(path)
        profile.disable()
        per_request = (time.perf_counter() - began) * 1000 / args.requests
        out = io.StringIO()
        stats = pstats.Stats(profile, stream=out)
        stats.sort_stats(args.sort).print_stats(args.top)
        print(
            f"=== {endpoint['name']}: {path} answered {first.status_code}; {per_request:.1f} ms per request "
            f"under the profiler ({args.requests} requests)"
        )
        print(out.getvalue())
        if args.by_part:
            print_parts(stats, args.requests)
    return 0


if __name__ == "__main__":
    sys.exit(main())
