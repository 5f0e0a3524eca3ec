"""The directory the cluster reads: OpenLDAP (or FreeIPA's 389 DS) through ldap3.

Entries live in the portal's own subtree only: people as ``uid=<name>,<people_dn>`` (inetOrgPerson +
posixAccount, and ldapPublicKey while they have keys), groups as ``cn=<name>,<groups_dn>`` (posixGroup with
memberUid). The bind account should be allowed to write there and nowhere else (docs/deployment.md); this class
never builds a DN or a filter outside those two bases, and escapes every value it puts into one.

A locked person keeps their entry (the uid still resolves, so files keep their owner) with the locked shell and
no keys: ``PersonState.locked`` reads back as "the login shell is the locked shell".
"""

import re
import ssl
from contextlib import contextmanager, suppress
from pathlib import Path

from ldap3 import (
    AUTO_BIND_NO_TLS,
    AUTO_BIND_TLS_BEFORE_BIND,
    LEVEL,
    MODIFY_ADD,
    MODIFY_DELETE,
    MODIFY_REPLACE,
    NONE,
    Connection,
    Server,
    Tls,
)
from ldap3.core.exceptions import LDAPException
from ldap3.utils.conv import escape_filter_chars
from ldap3.utils.dn import escape_rdn

from compute.identities.directory.base import (
    Change,
    DesiredGroup,
    DesiredPerson,
    Directory,
    DirectoryError,
    GroupState,
    PersonState,
)

# POSIX names as the portal gives them (and the groups of allocation accounts); anything else never reaches a DN.
NAME_RE = re.compile(r"^[a-z_][a-z0-9_-]{0,63}$")
PERSON_ATTRIBUTES = [
    "uid",
    "uidNumber",
    "gidNumber",
    "homeDirectory",
    "loginShell",
    "cn",
    "gecos",
    "sshPublicKey",
]
GROUP_ATTRIBUTES = ["cn", "gidNumber", "memberUid"]


def _checked(name: str) -> str:
    if not isinstance(name, str) or not NAME_RE.fullmatch(name):
        raise ValueError(f"not a POSIX name the portal gives: {name!r}")
    return name


def _first(entry: dict, attribute: str, default=""):
    values = entry.get(attribute) or []
    if not isinstance(values, list):
        return values
    return values[0] if values else default


def _text(value) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)


class LdapDirectory(Directory):
    label = "LDAP directory"

    def __init__(
        self,
        *,
        uri: str,
        bind_dn: str,
        people_dn: str,
        groups_dn: str,
        bind_password: str | None = None,
        bind_password_file: str | None = None,
        locked_shell: str = "/usr/sbin/nologin",
        connect_timeout: float = 5,
        receive_timeout: float = 10,
        start_tls: bool = False,
        ca_file: str | None = None,
    ):
        if bind_password is None and bind_password_file:
            bind_password = Path(bind_password_file).read_text().strip("\n")
        self.uri, self.bind_dn, self.bind_password = uri, bind_dn, bind_password or ""
        self.people_dn, self.groups_dn, self.locked_shell = people_dn, groups_dn, locked_shell
        self.connect_timeout, self.receive_timeout = connect_timeout, receive_timeout
        self.start_tls = start_tls
        self.tls = None
        if start_tls or uri.startswith("ldaps://") or ca_file:
            self.tls = Tls(validate=ssl.CERT_REQUIRED, ca_certs_file=ca_file)

    # --- connection --------------------------------------------------------------------------------
    @contextmanager
    def _connection(self):
        """A bound connection; every ldap3 failure (down, hung, refused, a constraint) is a DirectoryError."""
        connection = None
        try:
            # A Server per connection: ldap3 remembers an address that failed once as unavailable.
            server = Server(self.uri, connect_timeout=self.connect_timeout, get_info=NONE, tls=self.tls)
            connection = Connection(
                server,
                user=self.bind_dn,
                password=self.bind_password,
                auto_bind=AUTO_BIND_TLS_BEFORE_BIND if self.start_tls else AUTO_BIND_NO_TLS,
                raise_exceptions=True,
                receive_timeout=self.receive_timeout,
            )
            yield connection
        except LDAPException as error:
            raise DirectoryError(f"{self.uri}: {type(error).__name__}: {error}") from error
        finally:
            if connection is not None and connection.bound:
                with suppress(LDAPException):
                    connection.unbind()

    def _person_dn(self, username: str) -> str:
        return f"uid={escape_rdn(_checked(username))},{self.people_dn}"

    def _group_dn(self, name: str) -> str:
        return f"cn={escape_rdn(_checked(name))},{self.groups_dn}"

    # --- reading -----------------------------------------------------------------------------------
    def _person_state(self, entry: dict) -> PersonState:
        keys = tuple(sorted(_text(k).strip() for k in entry.get("sshPublicKey") or []))
        shell = _first(entry, "loginShell")
        return PersonState(
            username=_first(entry, "uid"),
            uid=int(_first(entry, "uidNumber", 0)),
            gid=int(_first(entry, "gidNumber", 0)),
            home=_first(entry, "homeDirectory"),
            shell=shell,
            display_name=_first(entry, "cn"),
            gecos=_first(entry, "gecos"),
            keys=keys,
            locked=shell == self.locked_shell,
        )

    def _group_state(self, entry: dict) -> GroupState:
        return GroupState(
            name=_first(entry, "cn"),
            gid=int(_first(entry, "gidNumber", 0)),
            members=frozenset(entry.get("memberUid") or []),
        )

    def _read_one(self, connection, base: str, object_class: str, attribute: str, name: str, attributes):
        connection.search(
            base,
            f"(&(objectClass={object_class})({attribute}={escape_filter_chars(_checked(name))}))",
            search_scope=LEVEL,
            attributes=attributes + ["objectClass"],
        )
        if not connection.entries:
            return None
        entry = connection.response[0]
        return entry["dn"], entry["attributes"]

    def _read_all(self, base: str, object_class: str, attributes) -> list[dict]:
        with self._connection() as connection:
            return [
                item["attributes"]
                for item in connection.extend.standard.paged_search(
                    base,
                    f"(objectClass={object_class})",
                    search_scope=LEVEL,
                    attributes=attributes,
                    paged_size=500,
                    generator=False,
                )
                if item.get("type") == "searchResEntry"
            ]

    def ping(self) -> None:
        with self._connection() as connection:
            connection.search(
                self.people_dn, "(objectClass=*)", search_scope=LEVEL, attributes=["uid"], size_limit=1
            )

    def read_person(self, username: str) -> PersonState | None:
        with self._connection() as connection:
            found = self._read_one(
                connection, self.people_dn, "posixAccount", "uid", username, PERSON_ATTRIBUTES
            )
        return None if found is None else self._person_state(found[1])

    def read_group(self, name: str) -> GroupState | None:
        with self._connection() as connection:
            found = self._read_one(connection, self.groups_dn, "posixGroup", "cn", name, GROUP_ATTRIBUTES)
        return None if found is None else self._group_state(found[1])

    def people(self) -> dict[str, PersonState]:
        states = [
            self._person_state(entry)
            for entry in self._read_all(self.people_dn, "posixAccount", PERSON_ATTRIBUTES)
        ]
        return {state.username: state for state in states}

    def groups(self) -> dict[str, GroupState]:
        states = [
            self._group_state(entry)
            for entry in self._read_all(self.groups_dn, "posixGroup", GROUP_ATTRIBUTES)
        ]
        return {state.name: state for state in states}

    # --- converging --------------------------------------------------------------------------------
    def converge_person(self, desired: DesiredPerson) -> list[Change]:
        keys = [] if desired.locked else sorted(k.strip() for k in desired.keys)
        wanted = {
            "uidNumber": str(desired.uid),
            "gidNumber": str(desired.gid),
            "homeDirectory": desired.home,
            "loginShell": self.locked_shell if desired.locked else desired.shell,
            "cn": desired.display_name or desired.username,
            "gecos": desired.gecos,
        }
        dn = self._person_dn(desired.username)
        with self._connection() as connection:
            found = self._read_one(
                connection, self.people_dn, "posixAccount", "uid", desired.username, PERSON_ATTRIBUTES
            )
            if found is None:
                attributes = {"uid": desired.username, "sn": desired.username}
                attributes.update({k: v for k, v in wanted.items() if v})
                classes = ["inetOrgPerson", "posixAccount"]
                if keys:
                    classes.append("ldapPublicKey")
                    attributes["sshPublicKey"] = [k.encode() for k in keys]
                connection.add(dn, classes, attributes)
                return [Change("add_person", desired.username, f"uid {desired.uid}, {len(keys)} key(s)")]
            _, entry = found
            changes: dict[str, list] = {}
            for attribute, value in wanted.items():
                current = _text(_first(entry, attribute, ""))
                if current != value:
                    changes[attribute] = [(MODIFY_REPLACE, [value] if value else [])]
            current_keys = sorted(_text(k).strip() for k in entry.get("sshPublicKey") or [])
            has_class = "ldapPublicKey" in (entry.get("objectClass") or [])
            if current_keys != keys or has_class != bool(keys):
                if keys:
                    changes["sshPublicKey"] = [(MODIFY_REPLACE, [k.encode() for k in keys])]
                    if not has_class:
                        changes["objectClass"] = [(MODIFY_ADD, ["ldapPublicKey"])]
                else:
                    # ldapPublicKey MUSTs sshPublicKey: the last key leaves with the class, in one modify.
                    changes["sshPublicKey"] = [(MODIFY_REPLACE, [])]
                    if has_class:
                        changes["objectClass"] = [(MODIFY_DELETE, ["ldapPublicKey"])]
            if not changes:
                return []
            connection.modify(dn, changes)
            return [Change("update_person", desired.username, ", ".join(sorted(changes)))]

    def converge_group(self, desired: DesiredGroup) -> list[Change]:
        members = sorted(_checked(member) for member in desired.members)
        dn = self._group_dn(desired.name)
        with self._connection() as connection:
            found = self._read_one(
                connection, self.groups_dn, "posixGroup", "cn", desired.name, GROUP_ATTRIBUTES
            )
            if found is None:
                attributes = {"cn": desired.name, "gidNumber": str(desired.gid)}
                if members:
                    attributes["memberUid"] = members
                connection.add(dn, ["posixGroup"], attributes)
                return [Change("add_group", desired.name, f"gid {desired.gid}, {len(members)} member(s)")]
            state = self._group_state(found[1])
            changes: dict[str, list] = {}
            if state.gid != desired.gid:
                changes["gidNumber"] = [(MODIFY_REPLACE, [str(desired.gid)])]
            if sorted(state.members) != members:
                changes["memberUid"] = [(MODIFY_REPLACE, members)]
            if not changes:
                return []
            connection.modify(dn, changes)
            return [Change("update_group", desired.name, ", ".join(sorted(changes)))]

    def delete_group(self, name: str) -> list[Change]:
        with self._connection() as connection:
            if self._read_one(connection, self.people_dn, "posixAccount", "uid", name, ["uid"]) is not None:
                raise ValueError(f"{name} is a person's own group: it goes only with the person")
            if self._read_one(connection, self.groups_dn, "posixGroup", "cn", name, ["cn"]) is None:
                return []
            connection.delete(self._group_dn(name))
            return [Change("delete_group", name)]
