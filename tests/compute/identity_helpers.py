"""Keys and identities for the cluster-access tests: real key pairs made by ``cryptography`` (and checked with
``ssh-keygen``), and identities of people."""

import itertools
import shutil
import subprocess

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import dsa, ec, ed25519, rsa
from django.conf import settings

from compute.identities.models import ClusterIdentity

_uids = itertools.count(150_000)


def make_identity(user, username: str | None = None) -> ClusterIdentity:
    """An identity row as the identity services create it (uid, home, shell), without the directory."""
    uid = next(_uids)
    username = username or f"person{uid}"
    return ClusterIdentity.objects.create(
        user=user,
        username=username,
        uid=uid,
        home=f"{settings.CLUSTER_HOME_ROOT}/{username}",
        shell=settings.CLUSTER_LOGIN_SHELL,
    )


def private_key(kind: str = "ed25519", bits: int = 3072):
    if kind == "ed25519":
        return ed25519.Ed25519PrivateKey.generate()
    if kind.startswith("ecdsa"):
        curve = {"ecdsa256": ec.SECP256R1(), "ecdsa384": ec.SECP384R1(), "ecdsa521": ec.SECP521R1()}[kind]
        return ec.generate_private_key(curve)
    if kind == "rsa":
        return rsa.generate_private_key(public_exponent=65537, key_size=bits)
    if kind == "dsa":
        return dsa.generate_private_key(key_size=1024)
    raise ValueError(kind)


def public_line(key, comment: str = "me@laptop") -> str:
    text = key.public_key().public_bytes(serialization.Encoding.OpenSSH, serialization.PublicFormat.OpenSSH)
    return text.decode() + (f" {comment}" if comment else "")


def private_text(key, fmt=serialization.PrivateFormat.OpenSSH) -> str:
    return key.private_bytes(serialization.Encoding.PEM, fmt, serialization.NoEncryption()).decode()


def new_public_key(kind: str = "ed25519", comment: str = "me@laptop", bits: int = 3072) -> str:
    return public_line(private_key(kind, bits), comment)


def ssh_keygen_fingerprint(path) -> tuple[int, str]:
    """(bits, fingerprint) as ``ssh-keygen -lf`` prints them."""
    assert shutil.which("ssh-keygen"), "ssh-keygen (openssh-client) is needed to check fingerprints"
    out = subprocess.run(["ssh-keygen", "-lf", str(path)], capture_output=True, text=True, check=True).stdout
    bits, fingerprint = out.split()[:2]
    return int(bits), fingerprint
