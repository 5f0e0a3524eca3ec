import os
import socket

import pytest
from allauth.mfa.totp.internal.auth import TOTP, generate_totp_secret
from django.core.cache import cache
from django.utils import translation
from rest_framework.test import APIClient

from compute.backends.fake import FakeBackend
from compute.identities.directory.fake import FakeDirectory
from portal.celery import app as celery_app
from tests.accounts.factories import UserFactory, make_operator, make_supervisor

IN_CI = os.environ.get("CI", "").lower() in {"1", "true", "yes"}


def require_service(name: str, host: str, port: int) -> None:
    """Fail in CI when a service the test needs is missing; skip loudly on a laptop."""
    try:
        with socket.create_connection((host, port), timeout=2):
            return
    except OSError as exc:
        message = f"{name} is not reachable at {host}:{port} ({exc}); this test needs it"
        if IN_CI:
            pytest.fail(message + " and CI must run it", pytrace=False)
        pytest.skip("SKIPPED, SERVICE MISSING: " + message)


@pytest.fixture(autouse=True)
def _portal_test_settings(settings, tmp_path):
    # Nothing cached by one test (site roles, page chrome, rate counters) is seen by the next.
    cache.clear()
    # Nor its language: a page asked for in Chinese leaves Chinese active in the thread (LocaleMiddleware does not
    # switch back), and the next test's messages read outside a request would be Chinese.
    translation.activate(settings.LANGUAGE_CODE)
    # Mail takes the real path (the outbox, delivered after commit by the eager task) to locmem.
    settings.EMAIL_BACKEND = "core.mail.OutboxEmailBackend"
    settings.EMAIL_DELIVERY_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    settings.MEDIA_ROOT = str(tmp_path / "media")
    settings.ACCOUNT_RATE_LIMITS = False
    # Kept pages are rendered again by the warm-up only in the tests of it (tests/core/test_kept_warm.py).
    settings.KEPT_PAGES_WARM = False
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]  # speed only
    settings.SITE_URL = "http://testserver"
    settings.STORAGES = {
        **settings.STORAGES,
        "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
    }
    settings.CLUSTER_BACKEND = "compute.backends.fake.FakeBackend"
    settings.CLUSTER_BACKEND_OPTIONS = {}  # in memory, emptied for every test
    settings.CLUSTERS = {}
    FakeBackend.reset()
    settings.DIRECTORY_BACKEND = "compute.identities.directory.fake.FakeDirectory"
    settings.DIRECTORY_BACKEND_OPTIONS = {}  # in memory, emptied for every test
    FakeDirectory.reset()
    previous = celery_app.conf.task_always_eager
    celery_app.conf.task_always_eager = True
    yield
    celery_app.conf.task_always_eager = previous
    FakeBackend.reset()


@pytest.fixture
def steady_minute(monkeypatch):
    """Kept pages' keys hold the current minute (core/pagecache.py: minute): a test that asks for a page twice
    must not see the minute turn in between. Returns a function that moves to another minute."""
    from core import pagecache  # noqa: PLC0415 - the app registry is ready only once pytest-django set it up

    def move_to(value: str) -> None:
        monkeypatch.setattr(pagecache, "minute", lambda: value)

    move_to("steady")
    return move_to


@pytest.fixture
def user(db):
    return UserFactory()


@pytest.fixture
def operator(db):
    return make_operator()


@pytest.fixture
def supervisor(db):
    return make_supervisor()


@pytest.fixture
def mfa(db):
    """Switch on TOTP for a user, as staff must before reaching the back office."""

    def enable(user):
        TOTP.activate(user, generate_totp_secret())
        return user

    return enable


@pytest.fixture
def api_client():
    return APIClient()
