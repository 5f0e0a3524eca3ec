"""The interface between the portal and the directory the cluster reads (LDAP).

As with the cluster backends, the portal says what it wants and the directory converges to it: read, diff,
apply. Converging twice with the same desired state changes nothing the second time, so a retried task never
writes twice. Only these frozen dataclasses and ``DirectoryError`` cross the boundary; nothing here knows
about Django models. A directory only ever touches its own subtree (the portal's people and groups).
"""

from dataclasses import dataclass, field


class DirectoryError(Exception):
    """The directory could not be read or changed (down, refused, timed out). Safe to retry."""


@dataclass(frozen=True)
class DesiredPerson:
    """One person's POSIX account as the cluster should see it.

    ``keys`` are the OpenSSH public key lines published for SSH logins (empty while ``locked``: a locked
    identity still resolves, so its files keep their owner, but nobody can log in as it). ``gecos`` is ASCII
    (the attribute's syntax); ``display_name`` may be any text.
    """

    username: str
    uid: int
    gid: int
    home: str
    shell: str
    display_name: str
    gecos: str = ""
    keys: tuple[str, ...] = ()
    locked: bool = False


@dataclass(frozen=True)
class PersonState:
    """A person's entry as read back from the directory."""

    username: str
    uid: int
    gid: int
    home: str
    shell: str
    display_name: str = ""
    gecos: str = ""
    keys: tuple[str, ...] = ()
    locked: bool = False


@dataclass(frozen=True)
class DesiredGroup:
    """A POSIX group: one per person (``gid == uid``) and one per allocation account (its members share the
    project directory)."""

    name: str
    gid: int
    members: frozenset[str] = field(default_factory=frozenset)


@dataclass(frozen=True)
class GroupState:
    name: str
    gid: int
    members: frozenset[str] = field(default_factory=frozenset)


@dataclass(frozen=True)
class Change:
    """One thing a converge did (for the audit trail and the reconcile report)."""

    action: str  # add_person, update_person, add_group, update_group, delete_group
    target: str
    detail: str = ""


class Directory:
    """What the portal needs of a directory. Every method raises ``DirectoryError`` when it cannot."""

    def ping(self) -> None:
        raise NotImplementedError

    def read_person(self, username: str) -> PersonState | None:
        raise NotImplementedError

    def converge_person(self, desired: DesiredPerson) -> list[Change]:
        """Add the person or bring their entry to ``desired``; locking never deletes the entry."""
        raise NotImplementedError

    def read_group(self, name: str) -> GroupState | None:
        raise NotImplementedError

    def converge_group(self, desired: DesiredGroup) -> list[Change]:
        raise NotImplementedError

    def delete_group(self, name: str) -> list[Change]:
        """Remove an allocation's group (never a person's own group). Gone already: no change."""
        raise NotImplementedError

    def people(self) -> dict[str, PersonState]:
        """Every person in the portal's subtree, by user name (for the hourly reconcile)."""
        raise NotImplementedError

    def groups(self) -> dict[str, GroupState]:
        """Every group in the portal's subtree, by name."""
        raise NotImplementedError
