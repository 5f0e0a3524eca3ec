"""The enrol action under load: many people enrol at once into one cohort, through the portal's own service.

    .venv/bin/python bench/enrol.py                      # 400 people, 100 seats, 16 threads
    .venv/bin/python bench/enrol.py --people 1000 --threads 32

Runs against the database ``bench/run.py`` loads (``portal_bench``; run that first, or with ``--reuse-db``), with
the same production settings. It makes a fresh cohort, has the people enrol concurrently (each thread its own
PostgreSQL connection, like gunicorn workers), reports enrolments per second and whether capacity held
(exactly ``seats`` enrolled, the rest waitlisted), then removes what it made. The page views of the catalogue
and the cohort page are in ``bench/endpoints_talent.py`` and measured by ``bench/run.py``.
"""

import argparse
import json
import os
import sys
import tempfile
import threading
import time
from datetime import datetime, timedelta
from pathlib import Path

import django
from django.db import connections
from django.utils import timezone

BENCH_DIR = Path(__file__).resolve().parent
sys.path.insert(0, str(BENCH_DIR.parent))  # run as a script: make ``bench`` and the portal importable

from bench import server  # noqa: E402


def measure_enrol(*, people: int = 400, seats: int = 100, threads: int = 16) -> dict:
    """Enrol ``people`` users into a fresh cohort of ``seats`` seats from ``threads`` threads; returns rates."""
    from accounts.models import User  # needs django.setup(), which main() runs once the environment is set
    from talent.models import Cohort, Course, Enrolment  # the same
    from talent.services.enrolment import enrol  # the same

    course = Course.objects.published().order_by("id").first()
    now = timezone.now()
    cohort = Cohort.objects.create(
        course=course,
        name="bench enrol",
        starts_on=timezone.localdate() + timedelta(days=30),
        ends_on=timezone.localdate() + timedelta(days=31),
        capacity=seats,
        enrolment_opens_at=now - timedelta(days=1),
        enrolment_closes_at=now + timedelta(days=29),
        status="published",
    )
    users = list(User.objects.filter(is_active=True, is_staff=False).order_by("-id")[:people])
    queue, lock, errors = list(users), threading.Lock(), []

    def work():
        try:
            while True:
                with lock:
                    if not queue:
                        return
                    person = queue.pop()
                enrol(cohort, user=person)
        except Exception as error:
            errors.append(repr(error))
        finally:
            connections.close_all()

    started = time.perf_counter()
    workers = [threading.Thread(target=work) for _ in range(threads)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    seconds = time.perf_counter() - started
    enrolled = Enrolment.objects.filter(cohort=cohort, status="enrolled").count()
    waiting = Enrolment.objects.filter(cohort=cohort, status="waitlisted").count()
    # The audit trail keeps what happened (it is append-only); the cohort and its enrolments go.
    Enrolment.objects.filter(cohort=cohort).delete()
    cohort.delete()
    return {
        "people": len(users),
        "seconds": round(seconds, 2),
        "enrolments_per_second": round(len(users) / seconds, 1),
        "enrolled": enrolled,
        "waitlisted": waiting,
        "capacity_held": enrolled == min(seats, len(users)),
        "errors": errors[:5],
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--people", type=int, default=400, help="people enrolling (default 400)")
    parser.add_argument("--seats", type=int, default=100, help="seats in the cohort (default 100)")
    parser.add_argument("--threads", type=int, default=16, help="concurrent threads (default 16)")
    args = parser.parse_args(argv)
    if not server.database_exists():
        print("no benchmark database: run bench/run.py first (it loads the data)", file=sys.stderr)
        return 2
    os.environ.update(server.portal_env(static_root=tempfile.mkdtemp(prefix="portal-bench-static-")))
    django.setup()
    result = measure_enrol(people=args.people, seats=args.seats, threads=args.threads)
    print(json.dumps(result, indent=2))
    out = BENCH_DIR / "results" / f"{datetime.now():%Y%m%d-%H%M%S}-enrol.json"
    out.parent.mkdir(exist_ok=True)
    out.write_text(json.dumps(result, indent=2))
    return 0 if result["capacity_held"] and not result["errors"] else 1


if __name__ == "__main__":
    sys.exit(main())
