"""The slurmrestd side of the Slurm backend without a cluster: the tokens it mints and how it reads Slurm's
answers (the real slurmrestd is in tests/integration/test_slurm_jobs.py)."""

import time
from datetime import UTC, datetime

import jwt
import pytest

from compute.backends.slurm import SlurmBackend
from compute.backends.slurm_rest import mint_token, parse_job

KEY = b"k" * 32


def test_a_token_names_exactly_one_person_and_expires_soon():
    now = time.time()
    token = mint_token("alice", key=KEY, lifetime_seconds=120, now=now)
    claims = jwt.decode(token, KEY, algorithms=["HS256"])
    assert claims["sun"] == "alice"
    assert claims["exp"] - claims["iat"] == 120 and claims["iat"] == int(now)
    other = mint_token("bob", key=KEY, lifetime_seconds=120, now=now)
    assert jwt.decode(other, KEY, algorithms=["HS256"])["sun"] == "bob" and other != token
    with pytest.raises(jwt.InvalidSignatureError):
        jwt.decode(token, b"x" * 32, algorithms=["HS256"])


@pytest.mark.parametrize("name", ["", "Alice", "root;rm", "a" * 40, None, "bob\n", "../etc"])
def test_no_token_for_what_is_not_a_user_name(name):
    with pytest.raises(ValueError):
        mint_token(name, key=KEY)


def test_no_token_with_a_short_key():
    with pytest.raises(ValueError):
        mint_token("alice", key=b"short")


def test_each_request_mints_its_own_token_for_the_user_it_acts_as(tmp_path, monkeypatch):
    key_file = tmp_path / "jwt.key"
    key_file.write_bytes(KEY)
    backend = SlurmBackend(cluster="lab", rest_url="http://127.0.0.1:1", jwt_key_file=str(key_file))
    sent = []

    class Answer:
        status_code = 200

        def json(self):
            return {"errors": [], "job_id": 7, "jobs": []}

    def request(method, url, json=None, headers=None, timeout=None):
        sent.append(headers)
        return Answer()

    monkeypatch.setattr("compute.backends.slurm_rest.requests.request", request)
    from compute.backends.base import JobSubmission

    job = JobSubmission("#!/bin/bash\n", "n", "acct", "npu", 1, 1, 0, 100, 5, "/tmp", "/tmp/o", "/tmp/e")
    assert backend.submit_job("alice", job) == "7"
    backend.submit_job("bob", job)
    backend.list_jobs()
    names = [headers["X-SLURM-USER-NAME"] for headers in sent]
    assert names == ["alice", "bob", "slurm"]
    subjects = [jwt.decode(h["X-SLURM-USER-TOKEN"], KEY, algorithms=["HS256"])["sun"] for h in sent]
    assert subjects == names


def test_slurms_job_answer_is_read_as_the_portal_needs_it():
    running = parse_job(
        {
            "job_id": 42,
            "name": "train",
            "user_name": "alice",
            "account": "aicc_000001",
            "partition": "npu",
            "job_state": "RUNNING",
            "state_reason": "None",
            "submit_time": 1796441000,
            "start_time": 1796441091,
            "end_time": 1796441391,
            "time_limit": 5,
            "node_count": 1,
            "cpus": 4,
            "tres_alloc_str": "cpu=4,mem=16G,node=1,billing=2,gres/npu=2",
            "standard_output": "/home/alice/train-%j.out",
            "standard_error": "/home/alice/train-%j.err",
            "current_working_directory": "/home/alice",
            "exit_code": 0,
        },
        now=datetime.fromtimestamp(1796441191, tz=UTC),
    )
    assert running.state == "RUNNING" and running.end_time is None and running.exit_code is None
    assert running.elapsed_seconds == 100 and running.cards == 2 and running.memory_mb == 16 * 1024
    assert running.stdout_path == "/home/alice/train-42.out"
    pending = parse_job(
        {
            "job_id": 43,
            "job_state": "PENDING",
            "state_reason": "AssocGrpBillingMinutes",
            "start_time": 1796449999,
            "end_time": 1796459999,
            "time_limit": 5,
        }
    )
    assert (
        pending.start_time is None
        and pending.elapsed_seconds == 0
        and pending.reason == "AssocGrpBillingMinutes"
    )
