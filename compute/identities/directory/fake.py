"""A pretend directory for unit tests and the demo. Clearly labelled: no node resolves anyone from it.

It behaves like the LDAP directory where the portal can tell: converging is idempotent, a locked person keeps
their entry (no keys, the locked shell), an allocation's group can be deleted, a person's own group never is
by ``delete_group``. By default the state lives in the class (every ``FakeDirectory`` of one process sees the
same entries); with ``state_file`` (the demo sets it) the state is a JSON file shared by the web process, the
worker and beat, under a file lock. Tests can make the next calls fail (``fail_next``), stop the server
(``stop``/``start``) and change entries behind the portal's back (``edit_by_hand``, ``add_person_by_hand``,
``add_group_by_hand``), as an administrator with ldapmodify would.
"""

import contextlib
import fcntl
import json
from dataclasses import asdict
from pathlib import Path
from threading import RLock

from compute.identities.directory.base import (
    Change,
    DesiredGroup,
    DesiredPerson,
    Directory,
    DirectoryError,
    GroupState,
    PersonState,
)

PERSON_FIELDS = ("uid", "gid", "home", "shell", "display_name", "gecos", "keys", "locked")


class FakeDirectory(Directory):
    label = "fake directory (demonstration: no node resolves these users)"

    _lock = RLock()
    _memory: dict = {}
    _failures = 0
    _stopped = False
    calls: list[str] = []

    def __init__(self, state_file: str | None = None, **options):
        self.state_file = Path(state_file) if state_file else None
        self.options = options

    # --- state -----------------------------------------------------------------------------------
    @contextlib.contextmanager
    def _state(self, write: bool = False):
        with self._lock:
            if self.state_file is None:
                yield _normalised(FakeDirectory._memory)
                return
            self.state_file.parent.mkdir(parents=True, exist_ok=True)
            with open(self.state_file.with_suffix(".lock"), "w") as lock:
                fcntl.flock(lock, fcntl.LOCK_EX)
                try:
                    state = json.loads(self.state_file.read_text()) if self.state_file.exists() else {}
                except ValueError:
                    state = {}
                if not isinstance(state, dict):
                    state = {}
                yield _normalised(state)
                if write:
                    tmp = self.state_file.with_suffix(".tmp")
                    tmp.write_text(json.dumps(state))
                    tmp.replace(self.state_file)

    # --- test and demo helpers -------------------------------------------------------------------
    @classmethod
    def reset(cls) -> None:
        with cls._lock:
            cls._memory, cls._failures, cls._stopped, cls.calls = {}, 0, False, []

    @classmethod
    def fail_next(cls, times: int = 1) -> None:
        cls._failures = times

    @classmethod
    def stop(cls) -> None:
        """Every call fails, as with a stopped slapd, until ``start``."""
        cls._stopped = True

    @classmethod
    def start(cls) -> None:
        cls._stopped = False

    def edit_by_hand(self, username: str, **fields) -> None:
        """Change a person's entry as an administrator would (``shell=``, ``keys=``, ``uid=``, ...)."""
        with self._state(write=True) as state:
            entry = state["people"][username]
            for key, value in fields.items():
                if key not in PERSON_FIELDS:
                    raise KeyError(key)
                entry[key] = list(value) if key == "keys" else value

    def add_person_by_hand(self, person: PersonState) -> None:
        with self._state(write=True) as state:
            entry = asdict(person)
            entry["keys"] = list(person.keys)
            state["people"][person.username] = {k: entry[k] for k in PERSON_FIELDS}

    def add_group_by_hand(self, group: GroupState) -> None:
        with self._state(write=True) as state:
            state["groups"][group.name] = {"gid": group.gid, "members": sorted(group.members)}

    def edit_group_by_hand(self, name: str, *, gid: int | None = None, members=None) -> None:
        with self._state(write=True) as state:
            entry = state["groups"][name]
            if gid is not None:
                entry["gid"] = gid
            if members is not None:
                entry["members"] = sorted(members)

    def delete_person_by_hand(self, username: str) -> None:
        with self._state(write=True) as state:
            state["people"].pop(username, None)

    def _maybe_fail(self, call: str) -> None:
        FakeDirectory.calls.append(call)
        if FakeDirectory._stopped:
            raise DirectoryError("fake directory: server stopped (simulated)")
        if FakeDirectory._failures > 0:
            FakeDirectory._failures -= 1
            raise DirectoryError("fake directory: server not reachable (simulated)")

    # --- interface -------------------------------------------------------------------------------
    def ping(self) -> None:
        self._maybe_fail("ping")

    def read_person(self, username: str) -> PersonState | None:
        self._maybe_fail(f"read_person {username}")
        with self._state() as state:
            entry = state["people"].get(username)
            return None if entry is None else _person(username, entry)

    def converge_person(self, desired: DesiredPerson) -> list[Change]:
        self._maybe_fail(f"converge_person {desired.username}")
        wanted = {
            "uid": desired.uid,
            "gid": desired.gid,
            "home": desired.home,
            "shell": desired.shell,
            "display_name": desired.display_name,
            "gecos": desired.gecos,
            "keys": [] if desired.locked else list(desired.keys),
            "locked": desired.locked,
        }
        with self._state(write=True) as state:
            entry = state["people"].get(desired.username)
            if entry is None:
                state["people"][desired.username] = wanted
                return [Change("add_person", desired.username)]
            differing = sorted(key for key in PERSON_FIELDS if entry.get(key) != wanted[key])
            if not differing:
                return []
            entry.update(wanted)
            return [Change("update_person", desired.username, ",".join(differing))]

    def read_group(self, name: str) -> GroupState | None:
        self._maybe_fail(f"read_group {name}")
        with self._state() as state:
            entry = state["groups"].get(name)
            return None if entry is None else _group(name, entry)

    def converge_group(self, desired: DesiredGroup) -> list[Change]:
        self._maybe_fail(f"converge_group {desired.name}")
        wanted = {"gid": desired.gid, "members": sorted(desired.members)}
        with self._state(write=True) as state:
            entry = state["groups"].get(desired.name)
            if entry is None:
                state["groups"][desired.name] = wanted
                return [Change("add_group", desired.name)]
            if entry == wanted:
                return []
            detail = []
            if entry.get("gid") != wanted["gid"]:
                detail.append(f"gid={wanted['gid']}")
            added = set(wanted["members"]) - set(entry.get("members", []))
            gone = set(entry.get("members", [])) - set(wanted["members"])
            detail += [f"+{m}" for m in sorted(added)] + [f"-{m}" for m in sorted(gone)]
            state["groups"][desired.name] = wanted
            return [Change("update_group", desired.name, " ".join(detail))]

    def delete_group(self, name: str) -> list[Change]:
        self._maybe_fail(f"delete_group {name}")
        with self._state(write=True) as state:
            if name in state["people"]:
                raise DirectoryError(f"fake directory: {name} is a person's own group")
            if state["groups"].pop(name, None) is None:
                return []
        return [Change("delete_group", name)]

    def people(self) -> dict[str, PersonState]:
        self._maybe_fail("people")
        with self._state() as state:
            return {name: _person(name, entry) for name, entry in state["people"].items()}

    def groups(self) -> dict[str, GroupState]:
        self._maybe_fail("groups")
        with self._state() as state:
            return {name: _group(name, entry) for name, entry in state["groups"].items()}


def _normalised(state: dict) -> dict:
    for key in ("people", "groups"):
        state.setdefault(key, {})
    return state


def _person(username: str, entry: dict) -> PersonState:
    return PersonState(
        username=username,
        uid=entry["uid"],
        gid=entry["gid"],
        home=entry["home"],
        shell=entry["shell"],
        display_name=entry.get("display_name", ""),
        gecos=entry.get("gecos", ""),
        keys=tuple(entry.get("keys", ())),
        locked=bool(entry.get("locked", False)),
    )


def _group(name: str, entry: dict) -> GroupState:
    return GroupState(name=name, gid=entry["gid"], members=frozenset(entry.get("members", ())))
