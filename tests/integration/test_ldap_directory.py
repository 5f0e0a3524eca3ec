"""The LDAP directory backend against the real slapd of deploy/ldap/ldap-up.sh, read by this node's nslcd and
the lab's sshd: what the portal writes is what the cluster resolves, logs in with and runs jobs as."""

import shutil
import subprocess
import uuid
from dataclasses import replace
from pathlib import Path

import pytest

from compute.identities.directory.base import DesiredGroup, DesiredPerson, DirectoryError
from compute.identities.directory.ldap import LdapDirectory
from tests.integration import ldap, slurm

pytestmark = pytest.mark.integration

slurm_cluster = slurm.slurm_cluster


@pytest.fixture(scope="module")
def lab():
    facts = ldap.require_lab()
    ldap.remove_test_entries()
    yield facts
    ldap.remove_test_entries()


@pytest.fixture
def directory(lab):
    return ldap.directory(lab)


@pytest.fixture
def person(lab):
    """A desired person with a fresh name and uid in the lab's range (removed afterwards)."""
    suffix = uuid.uuid4().hex[:6]
    uid = int(lab["LDAP_UID_MIN"]) + 90000 + int(suffix[:4], 16) % 9000
    name = f"{ldap.NAME_PREFIX}{suffix}"
    yield DesiredPerson(
        username=name,
        uid=uid,
        gid=uid,
        home=f"/home/{name}",
        shell="/bin/bash",
        display_name="张 Test",
        gecos="Zhang Test",
    )
    ldap.remove_entries([name])
    shutil.rmtree(f"/home/{name}", ignore_errors=True)  # made by pam_mkhomedir at the first ssh login


def test_converge_writes_once_and_the_node_resolves_the_person_and_groups(directory, person):
    changes = directory.converge_person(person)
    assert [c.action for c in changes] == ["add_person"]
    assert directory.converge_person(person) == [], "a second converge changes nothing"
    directory.converge_group(DesiredGroup(person.username, person.gid))
    project = f"{person.username}p"
    try:
        directory.converge_group(DesiredGroup(project, person.uid + 1, frozenset({person.username})))
        assert (
            directory.converge_group(DesiredGroup(project, person.uid + 1, frozenset({person.username})))
            == []
        )

        entry = ldap.getent_passwd(person.username)
        assert entry is not None, "nslcd resolves the new user at once (no cache)"
        assert (entry.uid, entry.gid, entry.home, entry.shell) == (
            person.uid,
            person.gid,
            person.home,
            "/bin/bash",
        )
        assert ldap.getent_group_members(project) == {person.username}
        groups = subprocess.run(["id", "-Gn", person.username], capture_output=True, text=True, check=True)
        assert set(groups.stdout.split()) == {person.username, project}

        assert directory.delete_group(project)[0].action == "delete_group"
        assert directory.delete_group(project) == []
        assert ldap.getent_group_members(project) is None
        with pytest.raises(ValueError):
            directory.delete_group(person.username)  # a person's own group goes only with the person
    finally:
        ldap.remove_entries([project])


def test_keys_published_let_the_person_in_and_removed_or_locked_keep_them_out(directory, person, tmp_path):
    key_path = tmp_path / "id_ed25519"
    line = ldap.make_key(key_path)
    key = " ".join(line.split()[:2])
    directory.converge_person(replace(person, keys=(key,)))
    directory.converge_group(DesiredGroup(person.username, person.gid))
    assert ldap.published_keys(person.username) == [key]
    result = ldap.ssh_run(person.username, key_path, "id -u")
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == str(person.uid)

    directory.converge_person(replace(person, keys=()))
    assert ldap.published_keys(person.username) == []
    assert not ldap.ssh_true(person.username, key_path)

    directory.converge_person(replace(person, keys=(key,)))
    assert ldap.ssh_true(person.username, key_path)
    directory.converge_person(replace(person, keys=(key,), locked=True, shell="/usr/sbin/nologin"))
    assert not ldap.ssh_true(person.username, key_path), "a locked identity cannot log in"
    entry = ldap.getent_passwd(person.username)
    assert entry is not None and entry.uid == person.uid, (
        "a locked identity still resolves (files keep their owner)"
    )
    state = directory.read_person(person.username)
    assert state.locked and state.keys == ()


def test_a_job_runs_as_the_directory_user_under_the_account(directory, person, slurm_cluster):
    directory.converge_person(person)
    directory.converge_group(DesiredGroup(person.username, person.gid))
    account = slurm.new_account_name("ldap")
    slurm.run("sacctmgr", "-i", "add", "account", account, "description=ldap test", "organization=aicc")
    # The user resolves before the association is added: Slurm stores the uid with it.
    slurm.run(
        "sacctmgr", "-i", "add", "user", person.username, f"account={account}",
        f"partition={slurm_cluster['partition']}",
    )  # fmt: skip
    # The job's user must reach its directory (pytest's tmp_path is root's only).
    workdir = Path("/tmp") / f"aicc-ldap-job-{uuid.uuid4().hex[:8]}"
    workdir.mkdir(mode=0o777)
    workdir.chmod(0o777)
    output = workdir / "job.out"
    try:
        result = subprocess.run(
            [
                "sbatch",
                "--parsable",
                "--wait",
                f"--uid={person.username}",
                f"--gid={person.username}",
                "--export=NONE",
                f"--account={account}",
                f"--partition={slurm_cluster['partition']}",
                f"--chdir={workdir}",
                f"--output={output}",
                "--gres=npu:1",
                "--wrap",
                "id -u; id -g; echo $USER",
            ],  # fmt: skip
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
        assert result.returncode == 0, result.stdout + result.stderr
        job_id = result.stdout.strip().split(";")[0]
        assert output.read_text().split() == [str(person.uid), str(person.gid), person.username]
        accounted = slurm.run("sacct", "-n", "-P", "-X", "-j", job_id, "--format=user,account").stdout
        assert accounted.strip().splitlines()[0] == f"{person.username}|{account}"
    finally:
        slurm.cancel_test_jobs()
        slurm.run("sacctmgr", "-i", "delete", "user", person.username, f"account={account}", check=False)
        slurm.run("sacctmgr", "-i", "delete", "account", account, check=False)
        shutil.rmtree(workdir, ignore_errors=True)


def test_directory_down_is_a_directory_error_and_the_change_applies_once_when_it_is_back(directory, person):
    directory.converge_person(person)
    ldap.stop_slapd()
    try:
        with pytest.raises(DirectoryError):
            directory.converge_person(replace(person, display_name="Renamed"))
        with pytest.raises(DirectoryError):
            directory.ping()
    finally:
        ldap.start_slapd()
    changes = directory.converge_person(replace(person, display_name="Renamed"))
    assert [c.action for c in changes] == ["update_person"]
    assert directory.converge_person(replace(person, display_name="Renamed")) == []
    assert len([p for p in directory.people() if p == person.username]) == 1


def test_an_entry_edited_by_hand_is_seen_and_repaired(directory, person):
    directory.converge_person(person)
    ldap.ldap_root(
        "ldapmodify",
        stdin=(
            f"dn: uid={person.username},{ldap.facts()['LDAP_PEOPLE_DN']}\nchangetype: modify\n"
            "replace: loginShell\nloginShell: /bin/zsh\n-\nreplace: homeDirectory\nhomeDirectory: /tmp/evil\n"
        ),
    )
    seen = directory.people()[person.username]
    assert (seen.shell, seen.home) == ("/bin/zsh", "/tmp/evil")
    changes = directory.converge_person(person)
    assert changes and "homeDirectory" in changes[0].detail and "loginShell" in changes[0].detail
    entry = ldap.getent_passwd(person.username)
    assert (entry.home, entry.shell) == (person.home, person.shell)


@pytest.mark.parametrize("name", ["*", "zt*", "a)(uid=*", "x,ou=services", "a\\b", "", "Root", "a b", "ü"])
def test_names_that_would_inject_never_reach_a_filter_or_a_dn(directory, person, name):
    directory.converge_person(person)
    before = directory.people()
    with pytest.raises(ValueError):
        directory.read_person(name)
    with pytest.raises(ValueError):
        directory.converge_person(replace(person, username=name))
    with pytest.raises(ValueError):
        directory.converge_group(DesiredGroup("ztgroup", 1, frozenset({name})))
    assert directory.people() == before


def test_the_writer_is_fenced_into_the_portal_subtree_and_the_reader_cannot_write(lab, person):
    outside = LdapDirectory(
        **{**ldap.directory_options(lab), "people_dn": f"ou=services,{lab['LDAP_SUFFIX']}"}
    )
    with pytest.raises(DirectoryError):
        outside.converge_person(person)
    reader = LdapDirectory(
        **{
            **ldap.directory_options(lab),
            "bind_dn": lab["LDAP_READER_DN"],
            "bind_password_file": lab["LDAP_READER_PASSWORD_FILE"],
        }
    )
    with pytest.raises(DirectoryError):
        reader.converge_person(person)
    assert reader.read_person(person.username) is None
    anonymous = subprocess.run(
        ["ldapsearch", "-x", "-LLL", "-H", lab["LDAP_URI"], "-b", lab["LDAP_PEOPLE_DN"], "(uid=*)", "uid"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert "uid:" not in anonymous.stdout, "anonymous sees nothing"


def test_a_wrong_password_is_a_directory_error(lab, tmp_path):
    wrong = tmp_path / "pw"
    wrong.write_text("not-the-password")
    with pytest.raises(DirectoryError):
        LdapDirectory(**{**ldap.directory_options(lab), "bind_password_file": str(wrong)}).ping()
    assert Path(lab["LDAP_WRITER_PASSWORD_FILE"]).stat().st_mode & 0o077 == 0, "the secret is root's only"
