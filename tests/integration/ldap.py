"""Helpers for tests against the real directory that deploy/ldap/ldap-up.sh starts (slapd, nslcd, sshd).

A plain module, like tests/integration/slurm.py: a test module imports what it uses, for example
``ldap_lab = ldap.ldap_lab``. The lab writes its facts (URI, DNs, password files, the sshd port) to
``/var/lib/aicc-ldaplab/ldap.env`` (``AICC_LDAP_ENV`` overrides the path). Names a test creates should start
with ``NAME_PREFIX``; ``remove_entries`` (and the session start) deletes them as root over ldapi.
"""

import json
import os
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

import pytest

from compute.identities.directory.ldap import LdapDirectory
from tests.conftest import IN_CI

ROOT = Path(__file__).resolve().parents[2]
ENV_FILE = Path(os.environ.get("AICC_LDAP_ENV", "/var/lib/aicc-ldaplab/ldap.env"))
NAME_PREFIX = "zt"
SSH_OPTIONS = [
    "-o", "BatchMode=yes",
    "-o", "StrictHostKeyChecking=no",
    "-o", "UserKnownHostsFile=/dev/null",
    "-o", "ConnectTimeout=5",
    "-o", "LogLevel=ERROR",
]  # fmt: skip


def facts() -> dict[str, str]:
    """The lab's connection facts (empty when it was never started here)."""
    if not ENV_FILE.exists():
        return {}
    pairs = (line.split("=", 1) for line in ENV_FILE.read_text().splitlines() if "=" in line)
    return {key.strip(): value.strip() for key, value in pairs}


def _problem() -> str | None:
    lab = facts()
    if os.geteuid() != 0:
        return "the directory tests read the lab's secrets and run ssh and sbatch as other users: run as root"
    if not lab:
        return f"{ENV_FILE} does not exist: deploy/ldap/ldap-up.sh has not run"
    try:
        directory(lab).ping()
    except Exception as error:  # DirectoryError, or a password file that went away
        return f"the directory at {lab.get('LDAP_URI')} does not answer: {error}"
    return None


def require_lab() -> dict[str, str]:
    """The lab's facts; fail in CI when it is missing, skip loudly elsewhere."""
    problem = _problem()
    if problem:
        if IN_CI:
            pytest.fail(
                f"{problem}; CI must run deploy/ldap/ldap-up.sh (scripts/test.sh does)", pytrace=False
            )
        pytest.skip(f"SKIPPED, DIRECTORY MISSING: {problem}")
    return facts()


def directory_options(lab: dict[str, str] | None = None) -> dict:
    """DIRECTORY_BACKEND_OPTIONS for compute.identities.directory.ldap.LdapDirectory on the lab."""
    lab = lab or facts()
    return {
        "uri": lab["LDAP_URI"],
        "bind_dn": lab["LDAP_WRITER_DN"],
        "bind_password_file": lab["LDAP_WRITER_PASSWORD_FILE"],
        "people_dn": lab["LDAP_PEOPLE_DN"],
        "groups_dn": lab["LDAP_GROUPS_DN"],
        "connect_timeout": 2,
        "receive_timeout": 4,
    }


def directory(lab: dict[str, str] | None = None) -> LdapDirectory:
    return LdapDirectory(**directory_options(lab))


@pytest.fixture
def ldap_lab(settings):
    """The lab, with this process's settings pointing at it; ``env`` is what a worker process needs."""
    lab = require_lab()
    options = directory_options(lab)
    settings.DIRECTORY_BACKEND = "compute.identities.directory.ldap.LdapDirectory"
    settings.DIRECTORY_BACKEND_OPTIONS = options
    settings.CLUSTER_UID_MIN = int(lab.get("LDAP_UID_MIN", 100000))
    settings.CLUSTER_HOME_ROOT = lab.get("LDAP_HOME_ROOT", "/home")
    return {
        "facts": lab,
        "options": options,
        "env": {
            "DIRECTORY_BACKEND": "compute.identities.directory.ldap.LdapDirectory",
            "DIRECTORY_BACKEND_OPTIONS": json.dumps(options),
            "CLUSTER_UID_MIN": str(settings.CLUSTER_UID_MIN),
            "CLUSTER_HOME_ROOT": settings.CLUSTER_HOME_ROOT,
        },
    }


# --- what the node sees ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Passwd:
    name: str
    uid: int
    gid: int
    gecos: str
    home: str
    shell: str


def getent_passwd(name: str) -> Passwd | None:
    """The user as this node's NSS resolves it (nslcd reads the directory with no cache), or None."""
    result = subprocess.run(
        ["getent", "passwd", name], capture_output=True, text=True, timeout=15, check=False
    )
    if result.returncode != 0 or not result.stdout.strip():
        return None
    fields = result.stdout.strip().split(":")
    return Passwd(fields[0], int(fields[2]), int(fields[3]), fields[4], fields[5], fields[6])


def getent_group_members(name: str) -> set[str] | None:
    result = subprocess.run(
        ["getent", "group", name], capture_output=True, text=True, timeout=15, check=False
    )
    if result.returncode != 0 or not result.stdout.strip():
        return None
    members = result.stdout.strip().split(":")[3]
    return {member for member in members.split(",") if member}


def ssh_run(name: str, key_path, command: str = "true") -> subprocess.CompletedProcess:
    """``ssh -i key name@127.0.0.1 command`` against the lab's sshd (keys from the directory)."""
    port = facts().get("LDAP_SSH_PORT", "2222")
    return subprocess.run(
        ["ssh", "-p", port, "-i", str(key_path), *SSH_OPTIONS, f"{name}@127.0.0.1", command],
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )


def ssh_true(name: str, key_path) -> bool:
    return ssh_run(name, key_path).returncode == 0


def published_keys(name: str) -> list[str]:
    """The key lines the directory holds for ``name`` (what sshd will accept)."""
    state = directory().read_person(name)
    return sorted(state.keys) if state else []


def make_key(path: Path, kind: str = "ed25519", bits: int | None = None) -> str:
    """A fresh key pair at ``path`` (and ``path.pub``); returns the public key line."""
    args = ["ssh-keygen", "-q", "-t", kind, "-N", "", "-C", "test@aicc", "-f", str(path)]
    if bits:
        args += ["-b", str(bits)]
    path.unlink(missing_ok=True)
    Path(f"{path}.pub").unlink(missing_ok=True)
    subprocess.run(args, check=True, timeout=60)
    return Path(f"{path}.pub").read_text().strip()


# --- the directory's administrator ---------------------------------------------------------------------


def ldap_root(
    tool: str, *args: str, stdin: str | None = None, check: bool = True
) -> subprocess.CompletedProcess:
    """ldapmodify/ldapsearch/ldapdelete as root over the ldapi socket (SASL EXTERNAL): an administrator's hand."""
    result = subprocess.run(
        [tool, "-Q", "-Y", "EXTERNAL", "-H", facts()["LDAP_LDAPI_URI"], *args],
        input=stdin,
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    if check and result.returncode != 0:
        raise AssertionError(f"{tool} {' '.join(args)}: {result.returncode} {result.stdout}{result.stderr}")
    return result


def remove_entries(names) -> None:
    """Delete people and groups of these names from the portal's subtree (test clean-up)."""
    lab = facts()
    if not lab:
        return
    for name in names:
        for dn in (f"uid={name},{lab['LDAP_PEOPLE_DN']}", f"cn={name},{lab['LDAP_GROUPS_DN']}"):
            ldap_root("ldapdelete", dn, check=False)


def remove_test_entries(prefix: str = NAME_PREFIX) -> None:
    lab = facts()
    if not lab:
        return
    found = ldap_root(
        "ldapsearch", "-LLL", "-o", "ldif-wrap=no", "-b", lab["LDAP_PORTAL_DN"],
        f"(|(uid={prefix}*)(cn={prefix}*))", "dn", check=False,
    )  # fmt: skip
    for line in found.stdout.splitlines():
        if line.startswith("dn: "):
            ldap_root("ldapdelete", line[4:], check=False)


# --- outages -------------------------------------------------------------------------------------------


def _slapd_pid() -> int | None:
    path = ENV_FILE.parent / "run" / "slapd.pid"
    try:
        pid = int(path.read_text().strip())
    except (OSError, ValueError):
        return None
    return pid if Path(f"/proc/{pid}/comm").exists() else None


def stop_slapd(timeout: float = 10) -> None:
    """Stop the directory server, as an outage (``start_slapd`` brings it back with the same data)."""
    pid = _slapd_pid()
    if pid is None:
        return
    os.kill(pid, 15)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            state = Path(f"/proc/{pid}/stat").read_text().split()[2]
        except OSError:
            break
        if state == "Z":
            break
        time.sleep(0.1)


def start_slapd() -> None:
    subprocess.run([str(ROOT / "deploy/ldap/ldap-up.sh")], capture_output=True, check=True, timeout=120)
