"""SSH public keys: parsing and checks (with real keys, fingerprints compared to ssh-keygen), and the key
services: add (duplicates, another person's key, no identity), remove, revoke, expire, with audit, mail and
publishing."""

from datetime import timedelta

import pytest
from cryptography.hazmat.primitives import serialization
from django.core import mail
from django.core.exceptions import ValidationError
from django.utils import timezone

from compute.identities import keys
from compute.identities.directory.fake import FakeDirectory
from compute.identities.models import LockReason, SshKey
from compute.identities.tasks import expire_ssh_keys_task
from core.exceptions import Conflict, NotAllowed
from core.models import AuditEvent, OutboxMessage
from tests.accounts.factories import UserFactory
from tests.compute.identity_helpers import (
    make_identity,
    new_public_key,
    private_key,
    private_text,
    public_line,
    ssh_keygen_fingerprint,
)

PUBLISH = "compute.identities.tasks.publish_identity_task"


def refusal(text) -> ValidationError:
    with pytest.raises(ValidationError) as caught:
        keys.parse_public_key(text)
    return caught.value


# --- parsing -----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("kind", "bits", "expected_bits"),
    [
        ("ed25519", 0, 256),
        ("ecdsa256", 0, 256),
        ("ecdsa384", 0, 384),
        ("ecdsa521", 0, 521),
        ("rsa", 3072, 3072),
        ("rsa", 4096, 4096),
    ],
)
def test_accepted_keys_have_the_fingerprint_and_bits_ssh_keygen_prints(tmp_path, kind, bits, expected_bits):
    line = new_public_key(kind, comment="alice@work laptop", bits=bits or 3072)
    path = tmp_path / "id.pub"
    path.write_text(line + "\n")
    parsed = keys.parse_public_key(f"  {line}\r\n")
    assert (parsed.bits, parsed.fingerprint) == ssh_keygen_fingerprint(path)
    assert parsed.bits == expected_bits
    assert parsed.public_key == " ".join(line.split()[:2])  # "type base64", the comment kept apart
    assert parsed.key_type == line.split()[0]
    assert parsed.comment == "alice@work laptop"


def test_a_key_made_by_ssh_keygen_itself_is_accepted(tmp_path):
    import subprocess

    subprocess.run(
        [
            "ssh-keygen",
            "-q",
            "-t",
            "ed25519",
            "-N",
            "",
            "-C",
            "made-by-ssh-keygen",
            "-f",
            str(tmp_path / "k"),
        ],
        check=True,
    )
    parsed = keys.parse_public_key((tmp_path / "k.pub").read_text())
    assert parsed.fingerprint == ssh_keygen_fingerprint(tmp_path / "k.pub")[1]
    assert parsed.comment == "made-by-ssh-keygen"


@pytest.mark.parametrize("bits", [1024, 2048])
def test_short_rsa_keys_are_refused(bits):
    error = refusal(new_public_key("rsa", bits=bits))
    assert error.code == "rsa_too_short"
    assert f"{bits} bits" in error.messages[0] and "3072" in error.messages[0]


def test_dsa_keys_are_refused():
    key = private_key("dsa")
    error = refusal(public_line(key))
    assert error.code == "dsa" and "DSA" in error.messages[0]


@pytest.mark.parametrize(
    ("kind", "fmt"),
    [
        ("ed25519", serialization.PrivateFormat.OpenSSH),
        ("ed25519", serialization.PrivateFormat.PKCS8),
        ("rsa", serialization.PrivateFormat.OpenSSH),
        ("rsa", serialization.PrivateFormat.PKCS8),
        ("rsa", serialization.PrivateFormat.TraditionalOpenSSL),
        ("ecdsa256", serialization.PrivateFormat.OpenSSH),
        ("ecdsa256", serialization.PrivateFormat.TraditionalOpenSSL),
    ],
)
def test_a_private_key_is_refused_and_the_message_says_never_to_share_it(kind, fmt):
    error = refusal(private_text(private_key(kind), fmt))
    assert error.code == "private_key"
    assert "Never share a private key" in error.messages[0] and ".pub" in error.messages[0]


def test_a_putty_private_key_file_is_refused_as_private():
    ppk = "PuTTY-User-Key-File-3: ssh-ed25519\nEncryption: none\nComment: x\nPublic-Lines: 2\nAAAA\nPrivate-Lines: 1\nAAAA\n"
    assert refusal(ppk).code == "private_key"


@pytest.mark.parametrize(
    ("text", "code"),
    [
        ("", "required"),
        ("   \n ", "required"),
        ("hello world", "not_a_key"),
        ("AAAAC3NzaC1lZDI1NTE5AAAAIA", "not_a_key"),
        ("ssh-ed25519", "not_a_key"),
        ("ssh-ed25519 AAAA!!!!", "damaged"),
        ("ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIA==", "damaged"),
        ("ssh-foo AAAAB3NzaC1yc2E=", "unsupported_type"),
        ("sk-ssh-ed25519@openssh.com AAAAGnNrLXNzaC1lZDI1NTE5QG9wZW5zc2guY29t", "security_key"),
        ("ssh-ed25519-cert-v01@openssh.com AAAAIHNzaC1lZDI1NTE5LWNlcnQtdjAxQG9wZW5zc2guY29t", "certificate"),
        ("---- BEGIN SSH2 PUBLIC KEY ----\nAAAA\n---- END SSH2 PUBLIC KEY ----", "rfc4716"),
        ("x" * 20_000, "too_long"),
    ],
)
def test_garbage_is_refused_with_a_reason(text, code):
    assert refusal(text).code == code


def test_a_key_whose_data_is_another_type_is_refused():
    ed = new_public_key("ed25519").split()[1]
    assert refusal(f"ssh-rsa {ed}").code == "damaged"


def test_options_before_the_key_are_refused():
    line = new_public_key()
    assert refusal(f'from="10.0.0.1",no-pty {line}').code == "options"
    assert refusal(f'command="/bin/true" {line}').code == "options"


def test_several_keys_in_one_paste_are_refused():
    assert refusal(new_public_key() + "\n" + new_public_key()).code == "several"


def test_a_key_broken_over_two_lines_is_refused():
    line = new_public_key("rsa", bits=3072)
    assert refusal(line[:200] + "\n" + line[200:]).code == "line_breaks"


def test_control_characters_in_the_comment_are_dropped():
    parsed = keys.parse_public_key(new_public_key(comment="a\x07b\x1bc"))
    assert parsed.comment == "abc"


# --- adding ------------------------------------------------------------------------------------------


@pytest.fixture
def alice(db):
    return UserFactory(email="alice@example.cn")


@pytest.fixture
def alice_identity(alice):
    return make_identity(alice, "alice")


def in_directory(username: str) -> tuple[str, ...]:
    """The keys the (fake) directory holds for the person, as sshd's AuthorizedKeysCommand would read them."""
    person = FakeDirectory().read_person(username)
    return person.keys if person else ()


def publishes(identity) -> int:
    return OutboxMessage.objects.filter(name=PUBLISH, payload__args=[identity.pk]).count()


def test_adding_a_key_stores_it_audits_mails_and_publishes(
    alice, alice_identity, django_capture_on_commit_callbacks
):
    line = new_public_key("ed25519", comment="alice@laptop")
    before = alice_identity.changed_at
    with django_capture_on_commit_callbacks(execute=True):
        key = keys.add_key(alice, line, name="  work   laptop ")
    key.refresh_from_db()
    assert key.name == "work laptop" and key.public_key == " ".join(line.split()[:2])
    assert key.comment == "alice@laptop" and key.bits == 256 and key.fingerprint.startswith("SHA256:")
    alice_identity.refresh_from_db()
    assert alice_identity.changed_at > before
    assert publishes(alice_identity) == 1
    assert in_directory("alice") == (key.public_key,)
    alice_identity.refresh_from_db()
    key.refresh_from_db()
    assert alice_identity.is_published and key.published_at is not None
    event = AuditEvent.objects.get(action="ssh_key.add")
    assert event.actor == alice and event.target_id == str(alice_identity.pk)
    assert key.fingerprint in event.changes["ssh_key"]["to"] and event.changes["ssh_key"]["from"] is None
    (message,) = mail.outbox
    assert message.to == ["alice@example.cn"] and "work laptop" in message.subject
    assert key.fingerprint in message.body and "If you did not add this key" in message.body


def test_the_name_defaults_to_the_comment(alice, alice_identity):
    key = keys.add_key(alice, new_public_key(comment="alice@desktop"), name="")
    assert key.name == "alice@desktop"


def test_a_key_without_name_or_comment_is_refused(alice, alice_identity):
    with pytest.raises(ValidationError) as caught:
        keys.add_key(alice, new_public_key(comment=""), name="")
    assert "name" in caught.value.message_dict
    assert not SshKey.objects.exists()


def test_a_person_without_identity_must_choose_a_user_name_first(alice):
    with pytest.raises(Conflict) as caught:
        keys.add_key(alice, new_public_key(), name="laptop")
    assert caught.value.code == "no_identity" and "user name" in str(caught.value)
    assert not SshKey.objects.exists() and not mail.outbox


def test_a_refused_key_changes_nothing(alice, alice_identity):
    changed = alice_identity.changed_at
    for text in [new_public_key("rsa", bits=2048), private_text(private_key()), "garbage"]:
        with pytest.raises(ValidationError) as caught:
            keys.add_key(alice, text, name="x")
        assert "public_key" in caught.value.message_dict
    alice_identity.refresh_from_db()
    assert alice_identity.changed_at == changed
    assert (
        not SshKey.objects.exists() and not AuditEvent.objects.filter(action__startswith="ssh_key").exists()
    )
    assert not OutboxMessage.objects.exists()


def test_the_same_key_twice_is_refused(alice, alice_identity):
    line = new_public_key()
    keys.add_key(alice, line, name="laptop")
    with pytest.raises(ValidationError) as caught:
        keys.add_key(alice, line.replace("me@laptop", "other comment"), name="again")
    assert "already added this key, as “laptop”" in caught.value.message_dict["public_key"][0]
    assert SshKey.objects.count() == 1


def test_another_persons_key_is_refused(alice, alice_identity):
    line = new_public_key()
    keys.add_key(alice, line, name="laptop")
    bob = UserFactory()
    make_identity(bob, "bob")
    with pytest.raises(ValidationError) as caught:
        keys.add_key(bob, line, name="stolen")
    assert "another person" in caught.value.message_dict["public_key"][0]
    assert "laptop" not in caught.value.message_dict["public_key"][0]  # nothing about alice's key leaks
    assert SshKey.objects.filter(identity__user=bob).count() == 0


def test_a_removed_key_may_be_added_again(alice, alice_identity):
    line = new_public_key()
    key = keys.add_key(alice, line, name="laptop")
    keys.remove_key(key, by=alice)
    again = keys.add_key(alice, line, name="laptop again")
    assert again.pk != key.pk and SshKey.objects.current().get() == again


def test_an_expiry_in_the_past_is_refused(alice, alice_identity):
    with pytest.raises(ValidationError) as caught:
        keys.add_key(alice, new_public_key(), name="x", expires_at=timezone.now() - timedelta(minutes=1))
    assert "expires_at" in caught.value.message_dict and not SshKey.objects.exists()


def test_a_suspended_person_cannot_add_keys(alice, alice_identity):
    alice_identity.status = "locked"
    alice_identity.lock_reason = LockReason.SUSPENDED
    alice_identity.save()
    with pytest.raises(Conflict):
        keys.add_key(alice, new_public_key(), name="x")
    assert not SshKey.objects.exists()


# --- removing, revoking, expiring --------------------------------------------------------------------


def test_the_owner_removes_a_key(alice, alice_identity, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        key = keys.add_key(alice, new_public_key(), name="laptop")
    assert in_directory("alice") == (key.public_key,)
    mail.outbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        keys.remove_key(key, by=alice)
    assert in_directory("alice") == ()
    key.refresh_from_db()
    assert key.removed_at is not None and key.removed_by == alice and key.revoke_reason == ""
    assert not SshKey.objects.current().exists()
    assert AuditEvent.objects.get(action="ssh_key.remove").changes["ssh_key"]["to"] is None
    assert publishes(alice_identity) == 2
    (message,) = mail.outbox
    assert "removed" in message.subject and key.fingerprint in message.body
    with pytest.raises(Conflict):
        keys.remove_key(key, by=alice)


def test_nobody_else_removes_a_key(alice, alice_identity, operator):
    key = keys.add_key(alice, new_public_key(), name="laptop")
    for someone in (UserFactory(), operator):
        with pytest.raises(NotAllowed):
            keys.remove_key(key, by=someone)
    key.refresh_from_db()
    assert key.removed_at is None


def test_an_operator_revokes_a_key_with_a_reason(
    alice, alice_identity, operator, django_capture_on_commit_callbacks
):
    key = keys.add_key(alice, new_public_key(), name="laptop")
    mail.outbox.clear()
    with pytest.raises(ValidationError):
        keys.revoke_key(key, by=operator, reason="  ")
    with pytest.raises(NotAllowed):
        keys.revoke_key(key, by=alice, reason="mine")
    with django_capture_on_commit_callbacks(execute=True):
        keys.revoke_key(key, by=operator, reason="Found in a public repository")
    assert in_directory("alice") == ()
    key.refresh_from_db()
    assert key.removed_by == operator and key.revoke_reason == "Found in a public repository"
    event = AuditEvent.objects.get(action="ssh_key.revoke")
    assert event.actor == operator and event.reason == "Found in a public repository"
    (message,) = mail.outbox
    assert message.to == ["alice@example.cn"] and "revoked" in message.subject
    assert "Found in a public repository" in message.body and "ssh-keygen -t ed25519" in message.body
    assert publishes(alice_identity) == 2


def test_expired_keys_are_removed_mailed_and_published(
    alice, alice_identity, django_capture_on_commit_callbacks
):
    soon = timezone.now() + timedelta(hours=1)
    expiring = keys.add_key(alice, new_public_key(), name="short", expires_at=soon)
    lasting = keys.add_key(alice, new_public_key(), name="long")
    mail.outbox.clear()
    assert keys.expire_keys(timezone.now()) == 0
    with django_capture_on_commit_callbacks(execute=True):
        assert keys.expire_keys(soon + timedelta(seconds=1)) == 1
    assert in_directory("alice") == (lasting.public_key,)
    assert keys.expire_keys(soon + timedelta(seconds=2)) == 0  # twice changes nothing
    expiring.refresh_from_db()
    lasting.refresh_from_db()
    assert expiring.removed_at == soon and lasting.removed_at is None
    assert AuditEvent.objects.filter(action="ssh_key.expire").count() == 1
    (message,) = mail.outbox
    assert "expired" in message.subject and "short" in message.subject
    assert publishes(alice_identity) == 3


def test_an_expired_key_of_ones_own_comes_back(alice, alice_identity):
    line = new_public_key()
    key = keys.add_key(alice, line, name="short", expires_at=timezone.now() + timedelta(seconds=1))
    SshKey.objects.filter(pk=key.pk).update(expires_at=timezone.now() - timedelta(seconds=1))
    again = keys.add_key(alice, line, name="renewed")
    key.refresh_from_db()
    assert key.removed_at is not None and SshKey.objects.current().get() == again


def test_an_expired_key_of_another_person_is_still_theirs(alice, alice_identity):
    line = new_public_key()
    key = keys.add_key(alice, line, name="short", expires_at=timezone.now() + timedelta(seconds=1))
    SshKey.objects.filter(pk=key.pk).update(expires_at=timezone.now() - timedelta(seconds=1))
    bob = UserFactory()
    make_identity(bob, "bob")
    with pytest.raises(ValidationError):
        keys.add_key(bob, line, name="x")


def test_the_beat_task_expires_keys(alice, alice_identity):
    key = keys.add_key(
        alice, new_public_key(), name="short", expires_at=timezone.now() + timedelta(seconds=1)
    )
    SshKey.objects.filter(pk=key.pk).update(expires_at=timezone.now() - timedelta(seconds=1))
    assert expire_ssh_keys_task.delay().get() == 1
    key.refresh_from_db()
    assert key.removed_at is not None


def test_a_locked_identity_publishes_no_key(alice, alice_identity, django_capture_on_commit_callbacks):
    alice_identity.status = "locked"
    alice_identity.lock_reason = LockReason.NO_ALLOCATION
    alice_identity.save()
    with django_capture_on_commit_callbacks(execute=True):
        key = keys.add_key(alice, new_public_key(), name="for later")
    assert SshKey.objects.current().get() == key and in_directory("alice") == ()
