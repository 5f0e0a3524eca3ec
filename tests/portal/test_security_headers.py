"""Browser hardening: every kind of answer carries the Content-Security-Policy and the Permissions-Policy, and
no template brings back what the policy refuses (inline scripts, style elements and attributes, handlers)."""

import re
from pathlib import Path

import pytest
from django.conf import settings
from django.test import Client

from tests.accounts.factories import UserFactory, make_organisation

ROOT = Path(__file__).resolve().parents[2]
REQUIRED = {
    "default-src": "'self'",
    "script-src": "'self'",
    "style-src": "'self'",
    "object-src": "'none'",
    "base-uri": "'self'",
    "form-action": "'self'",
    "frame-ancestors": "'none'",
}


def directives(header: str) -> dict[str, str]:
    return {part.split()[0]: " ".join(part.split()[1:]) for part in header.split(";") if part.strip()}


def assert_hardened(response) -> None:
    policy = directives(response.headers["Content-Security-Policy"])
    for name, sources in REQUIRED.items():
        assert policy.get(name) == sources, (name, policy)
    assert "unsafe-inline" not in response.headers["Content-Security-Policy"]
    assert "unsafe-eval" not in response.headers["Content-Security-Policy"]
    assert "camera=()" in response.headers["Permissions-Policy"]
    assert "geolocation=()" in response.headers["Permissions-Policy"]


@pytest.mark.parametrize(
    "path",
    [
        "/",  # a public page
        "/accounts/login/",  # allauth
        "/no-such-page/",  # the 404 page
        "/api/v1/",  # the API (JSON)
        "/api/schema/",  # the schema (YAML)
        "/api/docs/",  # Swagger UI
        "/api/docs/?script",  # its start-up script, a file
        "/admin/login/",  # the back office
        "/healthz",
    ],
)
def test_every_kind_of_answer_carries_the_policies(client: Client, db, path):
    assert_hardened(client.get(path))


def test_a_signed_in_page_and_a_refusal_carry_the_policies(client: Client, db):
    owner, stranger = UserFactory(), UserFactory()
    organisation = make_organisation(owner)
    client.force_login(owner)
    assert_hardened(client.get("/dashboard/"))
    client.force_login(stranger)
    response = client.get(f"/organisations/{organisation.pk}/edit/")
    assert response.status_code in {403, 404}
    assert_hardened(response)


def test_htmx_is_told_not_to_inject_its_styles_nor_to_eval(client: Client, db):
    body = client.get("/").content.decode()
    assert re.search(r'<meta name="htmx-config" content=\'\{[^\']*"includeIndicatorStyles": false', body)
    assert '"allowEval": false' in body


def template_files():
    for folder in (ROOT / "templates", *ROOT.glob("*/templates")):
        yield from folder.rglob("*.html")


INLINE = [
    (re.compile(r"<script(?![^>]*\bsrc=)[^>]*>", re.I), "inline <script>"),
    (re.compile(r"<style\b", re.I), "<style> element"),
    (re.compile(r"\sstyle\s*=", re.I), "style attribute"),
    (re.compile(r"\son[a-z]+\s*=\s*[\"']", re.I), "inline event handler"),
    (re.compile(r"\bhx-on\b|hx-on:|hx-vals=[\"']js:|javascript:", re.I), "script in an attribute"),
]


def test_no_template_has_what_the_policy_refuses():
    found = [
        f"{path.relative_to(ROOT)}:{number}: {what}"
        for path in template_files()
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1)
        for pattern, what in INLINE
        if pattern.search(line)
    ]
    assert not found, "\n".join(found)


def test_the_policy_in_settings_is_strict():
    policy = settings.CONTENT_SECURITY_POLICY
    assert all(
        "'unsafe-inline'" not in sources and "'unsafe-eval'" not in sources for sources in policy.values()
    )
