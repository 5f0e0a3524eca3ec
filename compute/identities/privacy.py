"""What the portal holds about a person's cluster identity, for their data export."""

from compute.identities.models import ClusterIdentity, SshKey


def personal_data(user) -> dict:
    identity = ClusterIdentity.objects.filter(user=user).first()
    if identity is None:
        return {"cluster_identity": None, "ssh_keys": []}
    keys = SshKey.objects.filter(identity=identity).order_by("created_at", "id")
    return {
        "cluster_identity": {
            "username": identity.username,
            "uid": identity.uid,
            "gid": identity.gid,
            "home": identity.home,
            "shell": identity.shell,
            "status": identity.status,
            "lock_reason": identity.lock_reason,
            "lock_due_at": identity.lock_due_at.isoformat() if identity.lock_due_at else None,
            "locked_at": identity.locked_at.isoformat() if identity.locked_at else None,
            "created": identity.created_at.isoformat(),
            "published": identity.published_at.isoformat() if identity.published_at else None,
        },
        "ssh_keys": [
            {
                "name": key.name,
                "type": key.key_type,
                "bits": key.bits,
                "fingerprint": key.fingerprint,
                "public_key": key.public_key,
                "comment": key.comment,
                "added": key.created_at.isoformat(),
                "expires": key.expires_at.isoformat() if key.expires_at else None,
                "removed": key.removed_at.isoformat() if key.removed_at else None,
                "revoke_reason": key.revoke_reason,
                "published": key.published_at.isoformat() if key.published_at else None,
            }
            for key in keys
        ],
    }
