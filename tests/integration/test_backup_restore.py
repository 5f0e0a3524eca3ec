"""Backups that restore: the drill of docs/operations.md ("Backups and point-in-time recovery"), run for real.

The test database, with sealed audit events, is dumped with ``pg_dump -Fc`` and restored with ``pg_restore`` into
a fresh database; ``manage.py verify_audit_trail`` then runs against the copy in its own process (the portal
pointed at it with DATABASE_URL), as an operator checks a restore, and must find the chain intact. A row changed
in the copy afterwards must be reported.
"""

import os
import shutil
import subprocess
import sys
import uuid

import psycopg
import pytest
from django.db import connection
from psycopg import sql

from accounts import services
from core import audit
from core.models import AuditEvent
from tests.accounts.factories import UserFactory, make_organisation
from tests.conftest import IN_CI
from tests.integration.conftest import ROOT

pytestmark = pytest.mark.integration


def require_postgresql_tools() -> None:
    """The drill needs PostgreSQL and its client tools: CI must have them, a laptop may skip loudly."""
    missing = [tool for tool in ("pg_dump", "pg_restore") if shutil.which(tool) is None]
    problem = ""
    if connection.vendor != "postgresql":
        problem = f"the test database is {connection.vendor}, not PostgreSQL"
    elif missing:
        problem = f"{' and '.join(missing)} not found on PATH (Debian: postgresql-client)"
    if problem:
        if IN_CI:
            pytest.fail(f"backup drill: {problem}, and CI must run it", pytrace=False)
        pytest.skip(f"SKIPPED, SERVICE MISSING: backup drill: {problem}")


def server_url(database: str) -> str:
    db = connection.settings_dict
    user, host, port = db["USER"] or "postgres", db["HOST"] or "127.0.0.1", db["PORT"] or 5432
    password = f":{db['PASSWORD']}" if db["PASSWORD"] else ""
    return f"postgresql://{user}{password}@{host}:{port}/{database}"


@pytest.fixture
def restored_database():
    """The name of a fresh, empty database on the test server, dropped afterwards."""
    name = f"{connection.settings_dict['NAME']}_restore_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(server_url("postgres"), autocommit=True) as conn:
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    yield name
    with psycopg.connect(server_url("postgres"), autocommit=True) as conn:
        conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))


def verify_audit_trail(database: str) -> subprocess.CompletedProcess:
    """``manage.py verify_audit_trail`` in its own process, the portal's database being ``database``."""
    env = {
        **os.environ,
        "DEBUG": "true",
        "DATABASE_URL": server_url(database),
        "CELERY_BROKER_URL": "memory://localhost/",
    }
    return subprocess.run(
        [sys.executable, str(ROOT / "manage.py"), "verify_audit_trail"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_a_restored_dump_keeps_an_intact_audit_trail_and_tampering_is_detected(
    transactional_db, restored_database, tmp_path
):
    require_postgresql_tools()
    owner = UserFactory()
    organisation = make_organisation(owner)  # committed: pg_dump sees only what is
    for city in ("滨海", "河西", "南开"):
        services.update_organisation(organisation, by=owner, city=city)
    audit.seal_pending()
    sealed = AuditEvent.objects.filter(seq__isnull=False).count()
    assert sealed >= 4 and audit.verify_chain().intact

    dump = tmp_path / "portal.dump"
    test_database = connection.settings_dict["NAME"]
    subprocess.run(
        ["pg_dump", "-Fc", "--no-owner", "-f", str(dump), server_url(test_database)],
        check=True,
        capture_output=True,
        timeout=300,
    )
    subprocess.run(
        ["pg_restore", "--no-owner", "--exit-on-error", "-d", server_url(restored_database), str(dump)],
        check=True,
        capture_output=True,
        timeout=300,
    )

    intact = verify_audit_trail(restored_database)
    assert intact.returncode == 0, intact.stderr
    assert f"Checked {sealed} events: the chain is intact." in intact.stdout

    # Someone edits one event of the restored copy: the check must name it.
    with psycopg.connect(server_url(restored_database), autocommit=True) as conn:
        conn.execute(
            f"UPDATE {AuditEvent._meta.db_table} SET reason = %s WHERE seq = 2",  # noqa: S608 - our table name
            ["nothing happened"],
        )
    tampered = verify_audit_trail(restored_database)
    assert tampered.returncode != 0
    assert "chain position 2" in tampered.stderr
    assert "changed after it was recorded" in tampered.stderr
