"""Jobs through slurmrestd (Slurm's REST API) with JWT authentication: the part of the Slurm backend that runs
people's jobs (compute/backends/slurm.py mixes it in; the two are the only modules that talk to Slurm).

Every request carries a token minted for one cluster user name (``mint_token``): the person's own to submit and
to cancel their own job, so Slurm itself runs the job as their uid and checks their associations; the cluster's
operator user (``operator_user``, by default ``slurm``) only to read the queue and for an operator's
cancellation. The HS256 key is the cluster's ``jwt_hs256.key`` (AuthAltParameters=jwt_key=...), a secret the
web and worker hosts read from ``jwt_key_file``. Tokens live ``token_lifetime`` seconds and are never stored.

Tested against the real slurmrestd of Slurm 22.05 (API v0.0.38) in tests/integration/test_slurm_jobs.py.
"""

import re
import time
from datetime import UTC, datetime
from pathlib import Path

import jwt
import requests

from compute.backends.base import ClusterError, ClusterUnreachable, JobRefused, JobSubmission, QueuedJob

# A cluster user name as Slurm and POSIX take it (the portal's identities are stricter still).
USERNAME = re.compile(r"^[a-z_][a-z0-9_.-]{0,31}$")
JOB_ID = re.compile(r"^[0-9]{1,12}(?:[_+][0-9]{1,9})?$")
# Slurm's error numbers: the job does not exist (ESLURM_INVALID_JOB_ID); it has already finished.
INVALID_JOB_ID = 2017
ALREADY_DONE = 2021
# A job's environment when the person's own is not loaded: enough for a batch script to find its tools.
DEFAULT_ENVIRONMENT = {"PATH": "/usr/local/bin:/usr/bin:/bin", "LANG": "C.UTF-8"}


def mint_token(username: str, *, key: bytes, lifetime_seconds: int = 300, now: float | None = None) -> str:
    """A short-lived JWT that slurmrestd accepts for ``username`` (claims ``sun``, ``iat``, ``exp``).

    One token per request and per person: nothing caches it, so a token minted for one person is never sent
    for another. ValueError for a name that is not a cluster user name or a key too short to sign with."""
    if not isinstance(username, str) or not USERNAME.fullmatch(username):
        raise ValueError(f"not a cluster user name: {username!r}")
    if not isinstance(key, bytes | bytearray) or len(key) < 16:
        raise ValueError("the JWT key must be at least 16 bytes")
    issued = int(now if now is not None else time.time())
    lifetime = max(int(lifetime_seconds), 1)
    return jwt.encode(
        {"sun": username, "iat": issued, "exp": issued + lifetime}, bytes(key), algorithm="HS256"
    )


def _moment(value) -> datetime | None:
    try:
        seconds = int(value)
    except (TypeError, ValueError):
        return None
    return datetime.fromtimestamp(seconds, tz=UTC) if seconds > 0 else None


def _tres(text: str) -> dict[str, str]:
    pairs = (item.partition("=") for item in str(text or "").split(",") if "=" in item)
    return {name: value for name, _eq, value in pairs}


def _memory_mb(value: str) -> int:
    match = re.fullmatch(r"([0-9.]+)([KMGTP]?)", value or "")
    if not match:
        return 0
    factor = {"": 1, "K": 1 / 1024, "M": 1, "G": 1024, "T": 1024**2, "P": 1024**3}[match.group(2)]
    return int(float(match.group(1)) * factor)


def parse_job(data: dict, *, now: datetime | None = None) -> QueuedJob:
    """One job of slurmrestd's answer (v0.0.38 ``jobs[]``) as the portal's QueuedJob."""
    now = now or datetime.now(UTC)
    state = str(data.get("job_state") or "UNKNOWN").upper()
    start = _moment(data.get("start_time"))
    end = _moment(data.get("end_time"))
    active = state in {"PENDING", "RUNNING", "CONFIGURING", "COMPLETING", "SUSPENDED", "REQUEUED"}
    if state == "PENDING":
        start = end = None  # Slurm's expected start and end, not facts
    elif active:
        end = None
    elapsed = int(((end or now) - start).total_seconds()) if start else 0
    tres = _tres(data.get("tres_alloc_str") or data.get("tres_req_str") or "")
    nodes = int(data.get("node_count") or tres.get("node") or 1)
    cards = sum(int(value) for name, value in tres.items() if name.startswith("gres/") and value.isdigit())
    job_id = str(data.get("job_id"))
    user = str(data.get("user_name") or "")
    exit_code = data.get("exit_code")
    return QueuedJob(
        job_id=job_id,
        user=user,
        partition=str(data.get("partition") or ""),
        state=state,
        reason=str(data.get("state_reason") or "None"),
        name=str(data.get("name") or ""),
        account=str(data.get("account") or ""),
        submit_time=_moment(data.get("submit_time")),
        start_time=start,
        end_time=end,
        time_limit_minutes=int(data.get("time_limit") or 0)
        if str(data.get("time_limit", "")).isdigit()
        else 0,
        elapsed_seconds=max(elapsed, 0),
        nodes=nodes,
        cpus=int(data.get("cpus") or tres.get("cpu") or 0),
        cards=cards,
        memory_mb=_memory_mb(tres.get("mem", "")),
        stdout_path=str(data.get("standard_output") or "").replace("%j", job_id).replace("%u", user),
        stderr_path=str(data.get("standard_error") or "").replace("%j", job_id).replace("%u", user),
        working_directory=str(data.get("current_working_directory") or ""),
        exit_code=exit_code if isinstance(exit_code, int) and not active else None,
    )


class SlurmRestJobs:
    """The job methods of the Slurm backend (ClusterBackend.submit_job, list_jobs, get_job, cancel_job)."""

    def configure_rest(
        self,
        *,
        rest_url: str = "",
        rest_api_version: str = "v0.0.38",
        jwt_key_file: str = "/etc/slurm/jwt_hs256.key",
        token_lifetime: int = 300,
        rest_timeout: float = 10,
        operator_user: str = "slurm",
        gres: str = "npu",
    ) -> None:
        if not re.fullmatch(r"v[0-9]+\.[0-9]+\.[0-9]+", rest_api_version or ""):
            raise ValueError(f"not a slurmrestd API version: {rest_api_version!r}")
        self.rest_url = (rest_url or "").rstrip("/")
        self.rest_api_version = rest_api_version
        self.jwt_key_file = jwt_key_file
        self.token_lifetime = int(token_lifetime)
        self.rest_timeout = float(rest_timeout)
        self.operator_user = operator_user
        self.gres_name = gres  # the accelerator's GRES name in gres.conf: a job asks for gres=<name>:<cards>

    # --- HTTP ----------------------------------------------------------------------------------------
    def _key(self) -> bytes:
        try:
            return Path(self.jwt_key_file).read_bytes()
        except OSError as error:
            raise ClusterError(
                f"the slurmrestd JWT key {self.jwt_key_file} cannot be read: {error}"
            ) from None

    def _request(
        self, method: str, path: str, *, as_user: str, payload: dict | None = None
    ) -> tuple[int, dict]:
        if not self.rest_url:
            raise ClusterError(f"{self.label}: no slurmrestd configured (backend option rest_url)")
        token = mint_token(as_user, key=self._key(), lifetime_seconds=self.token_lifetime)
        try:
            answer = requests.request(
                method,
                f"{self.rest_url}/slurm/{self.rest_api_version}/{path}",
                json=payload,
                headers={"X-SLURM-USER-NAME": as_user, "X-SLURM-USER-TOKEN": token},
                timeout=self.rest_timeout,
            )
        except requests.RequestException as error:
            raise ClusterUnreachable(f"slurmrestd at {self.rest_url} does not answer: {error}") from None
        try:
            body = answer.json()
        except ValueError:
            body = {}
        if answer.status_code in (401, 403) and not body.get("errors"):
            raise ClusterError(f"slurmrestd refused the token for {as_user} ({answer.status_code})")
        if answer.status_code >= 502:
            raise ClusterUnreachable(f"slurmrestd at {self.rest_url} answered {answer.status_code}")
        return answer.status_code, body if isinstance(body, dict) else {}

    @staticmethod
    def _errors(body: dict) -> list[dict]:
        return [error for error in body.get("errors") or [] if isinstance(error, dict)]

    @staticmethod
    def _message(errors: list[dict]) -> str:
        texts = []
        for error in errors:
            text = error.get("description") or error.get("error") or ""
            if error.get("error") and error.get("error") not in text:
                text = f"{text} ({error['error']})" if text else error["error"]
            if text:
                texts.append(str(text))
        return "; ".join(texts) or "unknown error"

    # --- the interface --------------------------------------------------------------------------------
    def submit_job(self, username: str, job: JobSubmission) -> str:
        properties = {
            "name": job.name,
            "account": job.account,
            "partition": job.partition,
            "nodes": [job.nodes, job.nodes],
            "tasks": job.nodes,
            "cpus_per_task": job.cpus_per_node,
            "memory_per_node": job.memory_mb,
            "time_limit": job.time_limit_minutes,
            "current_working_directory": job.working_directory,
            "standard_output": job.stdout_path,
            "standard_error": job.stderr_path,
            "environment": {**DEFAULT_ENVIRONMENT, **job.environment, "USER": username},
        }
        if job.cards_per_node:
            properties["gres"] = f"{self.gres_name}:{job.cards_per_node}"
        status, body = self._request(
            "POST", "job/submit", as_user=username, payload={"script": job.script, "job": properties}
        )
        errors = self._errors(body)
        if errors or status >= 400 or body.get("job_id") in (None, ""):
            raise JobRefused(self._message(errors) if errors else f"slurmrestd answered {status}")
        return str(body["job_id"])

    def list_jobs(self, *, accounts: list[str] | None = None) -> list[QueuedJob]:
        status, body = self._request("GET", "jobs", as_user=self.operator_user)
        errors = self._errors(body)
        if errors or status >= 400:
            raise ClusterError(f"slurmrestd could not list jobs: {self._message(errors)}")
        wanted = None if accounts is None else set(accounts)
        now = datetime.now(UTC)
        jobs = [parse_job(data, now=now) for data in body.get("jobs") or [] if isinstance(data, dict)]
        return [job for job in jobs if wanted is None or job.account in wanted]

    def get_job(self, job_id: str) -> QueuedJob | None:
        if not JOB_ID.fullmatch(str(job_id)):
            return None
        status, body = self._request("GET", f"job/{job_id}", as_user=self.operator_user)
        errors = self._errors(body)
        if any(error.get("error_number") == INVALID_JOB_ID for error in errors):
            return None
        if errors or status >= 400:
            raise ClusterError(f"slurmrestd could not read job {job_id}: {self._message(errors)}")
        jobs = [data for data in body.get("jobs") or [] if isinstance(data, dict)]
        return parse_job(jobs[0]) if jobs else None

    def cancel_job(self, job_id: str, *, as_user: str | None) -> None:
        if not JOB_ID.fullmatch(str(job_id)):
            raise JobRefused("Invalid job id specified")
        status, body = self._request("DELETE", f"job/{job_id}", as_user=as_user or self.operator_user)
        errors = [error for error in self._errors(body) if error.get("error_number") != ALREADY_DONE]
        if errors or status >= 400 and not body:
            raise JobRefused(self._message(errors) if errors else f"slurmrestd answered {status}")
