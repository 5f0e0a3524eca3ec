"""The local OpenID Connect provider of the tests (tests/sso/oidc_idp.mjs, the npm package oidc-provider) and the
steps of a sign-in through it.

A test module takes the fixture by naming it: ``oidc_idp = oidc.oidc_idp`` at module level. The provider runs
once per test session on a free port; each test registers its own client (with the portal's callback URL of
that test) and configures it as a SocialApp (``make_oidc_app``), as docs/sign-in.md tells operators to.
"""

import html
import json
import os
import re
import select
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import parse_qs, urljoin, urlsplit

import pytest
import requests
from allauth.socialaccount.models import SocialApp
from django.contrib.sites.models import Site

ROOT = Path(__file__).resolve().parents[2]
IDP_SCRIPT = Path(__file__).resolve().parent / "oidc_idp.mjs"
PACKAGE = ROOT / "node_modules" / "oidc-provider" / "package.json"
IN_CI = os.environ.get("CI", "").lower() in {"1", "true", "yes"}
PASSWORD = "institute-pass-1"


@dataclass
class LocalOpenIDProvider:
    issuer: str
    accounts_file: Path

    def set_person(self, login: str, *, password: str = PASSWORD, **claims) -> None:
        """Create or change a person of the provider (read at their next sign-in)."""
        people = json.loads(self.accounts_file.read_text())
        people[login] = {"password": password, "claims": claims}
        self.accounts_file.write_text(json.dumps(people))

    def register_client(self, redirect_uri: str) -> tuple[str, str]:
        """A client of the provider for this callback URL (dynamic registration): its id and secret."""
        answer = requests.post(
            f"{self.issuer}/reg",
            json={
                "redirect_uris": [redirect_uri],
                "grant_types": ["authorization_code"],
                "response_types": ["code"],
                "token_endpoint_auth_method": "client_secret_post",
            },
            timeout=10,
        )
        assert answer.status_code == 201, answer.text[:500]
        client = answer.json()
        return client["client_id"], client["client_secret"]


def _missing(message: str):
    if IN_CI:
        pytest.fail(
            message + " and CI must have it (scripts/install-axe.sh installs the npm packages)", pytrace=False
        )
    pytest.skip("SKIPPED, OPENID PROVIDER MISSING: " + message + " (run scripts/install-axe.sh)")


@pytest.fixture(scope="session")
def oidc_idp(tmp_path_factory):
    """The local OpenID Connect provider, on a free port of 127.0.0.1 for the whole test session."""
    node = shutil.which("node")
    if node is None:
        _missing("node is not installed")
    if not PACKAGE.exists():
        _missing(f"{PACKAGE.parent} is not installed")
    directory = tmp_path_factory.mktemp("oidc-idp")
    accounts = directory / "people.json"
    accounts.write_text("{}")
    process = subprocess.Popen(
        [node, str(IDP_SCRIPT), "--accounts", str(accounts)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        cwd=ROOT,
    )
    try:
        ready, _, _ = select.select([process.stdout], [], [], 30)
        line = process.stdout.readline() if ready else ""
        if not line.startswith("READY "):
            process.kill()
            _missing(f"the test OpenID provider did not start: {line!r} {process.stderr.read()[-2000:]}")
        yield LocalOpenIDProvider(issuer=line.split()[1], accounts_file=accounts)
    finally:
        process.terminate()
        try:
            process.wait(5)
        except subprocess.TimeoutExpired:
            process.kill()


def callback_url(base_url: str, provider_id: str) -> str:
    return f"{base_url.rstrip('/')}/accounts/oidc/{provider_id}/login/callback/"


def make_oidc_app(
    idp: LocalOpenIDProvider,
    *,
    provider_id: str,
    base_url: str = "http://testserver",
    name: str = "Example Institute",
    issuer: str | None = None,
    **settings,
) -> SocialApp:
    """A SocialApp for the local provider, registered there with this base URL's callback."""
    client_id, secret = idp.register_client(callback_url(base_url, provider_id))
    app = SocialApp.objects.create(
        provider="openid_connect",
        provider_id=provider_id,
        name=name,
        client_id=client_id,
        secret=secret,
        settings={"server_url": issuer or idp.issuer, **settings},
    )
    app.sites.add(Site.objects.get_current())
    return app


def sign_in_at_provider(authorize_url: str, login: str, password: str = PASSWORD) -> str:
    """Sign in at the provider (as a browser would, without one) and return where it sends the browser back:
    the portal's callback URL with the code and state."""
    session = requests.Session()
    url = authorize_url
    for _ in range(10):
        answer = session.get(url, allow_redirects=False, timeout=10)
        if answer.status_code in (302, 303):
            url = urljoin(url, answer.headers["Location"])
            if (
                "/interaction/" not in urlsplit(url).path
                and urlsplit(url).netloc != urlsplit(authorize_url).netloc
            ):
                return url  # back to the portal
            continue
        assert answer.status_code == 200, answer.text[:500]
        action = html.unescape(re.search(r'action="([^"]+)"', answer.text).group(1))
        posted = session.post(
            urljoin(url, action),
            data={"login": login, "password": password},
            allow_redirects=False,
            timeout=10,
        )
        assert posted.status_code in (302, 303), posted.text[:500]
        url = urljoin(url, posted.headers["Location"])
        if urlsplit(url).netloc != urlsplit(authorize_url).netloc:
            return url
    raise AssertionError(f"the provider never sent the browser back (last: {url})")


def query(url: str) -> dict:
    return {key: values[0] for key, values in parse_qs(urlsplit(url).query).items()}
