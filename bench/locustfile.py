"""The people of the load test, for Locust: visitors, members and operators (see bench/README.md, "Load test").

bench/load.py starts Locust with this file and ``BENCH_LOAD_PLAN``, the path of a JSON file it wrote: the
endpoints (``bench/endpoints*.py``, paths resolved against the loaded data) and each persona's session cookie
(signed in once, through allauth and, for the operator, its TOTP step). Each kind of user walks its persona's
pages and API endpoints at random, with a pause between requests as a person has.
"""

import json
import os
from pathlib import Path

from locust import HttpUser, between

PLAN = json.loads(Path(os.environ["BENCH_LOAD_PLAN"]).read_text())
# How many of each kind of user run at once, in proportion: mostly visitors, then members, then operators.
WEIGHTS = {"visitor": 5, "member": 3, "operator": 2}


def visit(endpoint: dict, cookie: str):
    """A Locust task that GETs the endpoint and fails it on a server error or an unexpected status."""
    headers = {"Cookie": cookie} if cookie else {}
    expected = endpoint.get("expect_status", 200)

    def task(user: HttpUser) -> None:
        with user.client.get(
            endpoint["path"],
            name=endpoint["name"],
            headers=headers,
            allow_redirects=False,
            catch_response=True,
        ) as response:
            if response.status_code >= 500:
                response.failure(f"server error {response.status_code}")
            elif response.status_code != expected:
                response.failure(f"answered {response.status_code}, expected {expected}")

    task.__name__ = f"visit {endpoint['name']}"
    return task


def user_class(kind: str) -> type[HttpUser]:
    persona = None if kind == "visitor" else kind
    endpoints = [e for e in PLAN["endpoints"] if e["persona"] == persona]
    return type(
        f"{kind.title()}User",
        (HttpUser,),
        {
            "weight": WEIGHTS[kind],
            "wait_time": between(1, 3),
            "tasks": [visit(e, PLAN["cookies"].get(kind, "")) for e in endpoints],
            "__module__": __name__,
        },
    )


VisitorUser = user_class("visitor")
MemberUser = user_class("member")
OperatorUser = user_class("operator")
