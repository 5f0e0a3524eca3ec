"""The local SAML identity provider of the tests (tests/sso/saml_idp.py) and the steps of a sign-in through it.

A test module takes the fixture by naming it: ``saml_idp = saml.saml_idp`` at module level. The identity
provider runs once per test session on a free port; each test configures its own university (a SocialApp,
``make_university_app``) and hands the portal's service-provider metadata to the identity provider.
"""

import datetime
import html
import json
import os
import re
import select
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

import pytest
import requests
from allauth.socialaccount.models import SocialApp
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import NameOID
from django.contrib.sites.models import Site

IDP_SCRIPT = Path(__file__).resolve().parent / "saml_idp.py"
XMLSEC = "/usr/bin/xmlsec1"
IN_CI = os.environ.get("CI", "").lower() in {"1", "true", "yes"}

OID_EPPN = "urn:oid:1.3.6.1.4.1.5923.1.1.1.6"
OID_MAIL = "urn:oid:0.9.2342.19200300.100.1.3"
OID_DISPLAY_NAME = "urn:oid:2.16.840.1.113730.3.1.241"
OID_SCOPED_AFFILIATION = "urn:oid:1.3.6.1.4.1.5923.1.1.1.9"
SCOPE = "example.edu.cn"
PASSWORD = "university-pass-1"


def make_key_pair(directory: Path, name: str) -> str:
    """A self-signed RSA-2048 certificate and its key as ``name.crt``/``name.key``; returns the PEM certificate."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, f"{name}.{SCOPE}")])
    now = datetime.datetime.now(datetime.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(days=1))
        .not_valid_after(now + datetime.timedelta(days=30))
        .sign(key, hashes.SHA256())
    )
    (directory / f"{name}.key").write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.TraditionalOpenSSL,
            serialization.NoEncryption(),
        )
    )
    pem = cert.public_bytes(serialization.Encoding.PEM).decode()
    (directory / f"{name}.crt").write_text(pem)
    return pem


@dataclass
class LocalIdP:
    url: str
    directory: Path
    certificate: str
    other_certificate: str  # a certificate the identity provider does NOT sign with

    @property
    def entity_id(self) -> str:
        return f"{self.url}/metadata"

    @property
    def sso_url(self) -> str:
        return f"{self.url}/sso/redirect"

    def set_person(
        self, user: str, *, affiliations: list[str], mail: str | None = None, name: str = ""
    ) -> None:
        """Create or change a person of the university (read at their next sign-in)."""
        path = self.directory / "users.json"
        people = json.loads(path.read_text())
        people[user] = {
            "password": PASSWORD,
            "attributes": {
                "eduPersonPrincipalName": [f"{user}@{SCOPE}"],
                "mail": [mail or f"{user}@{SCOPE}"],
                "displayName": [name or user.title()],
                "eduPersonScopedAffiliation": affiliations,
            },
        }
        path.write_text(json.dumps(people))

    def register_service_provider(self, name: str, metadata: bytes | str) -> None:
        data = metadata.encode() if isinstance(metadata, str) else metadata
        (self.directory / "sp" / f"{re.sub(r'[^A-Za-z0-9_.-]', '_', name)}.xml").write_bytes(data)


def _missing(message: str):
    if IN_CI:
        pytest.fail(message + " and CI must have it (scripts/install-sso.sh)", pytrace=False)
    pytest.skip("SKIPPED, SAML IdP MISSING: " + message + " (run scripts/install-sso.sh)")


@pytest.fixture(scope="session")
def saml_idp(tmp_path_factory):
    """The local SAML identity provider, on a free port of 127.0.0.1 for the whole test session."""
    if not (os.path.exists(XMLSEC) or shutil.which("xmlsec1")):
        _missing(f"{XMLSEC} is not installed; the test identity provider signs with it")
    directory = tmp_path_factory.mktemp("saml-idp")
    (directory / "sp").mkdir()
    (directory / "users.json").write_text("{}")
    certificate = make_key_pair(directory, "idp")
    other = make_key_pair(directory, "other")
    process = subprocess.Popen(
        [sys.executable, "-W", "ignore", str(IDP_SCRIPT), "--port", "0", "--dir", str(directory)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        # pysaml2 takes 3-5 s to import; a process that neither prints nor exits within 60 s is broken.
        ready, _, _ = select.select([process.stdout], [], [], 60)
        line = process.stdout.readline() if ready else ""
        if not line.startswith("READY "):
            process.kill()
            _missing(
                f"the test SAML identity provider did not start: {line!r} {process.stderr.read()[-2000:]}"
            )
        yield LocalIdP(
            url=line.split()[1], directory=directory, certificate=certificate, other_certificate=other
        )
    finally:
        process.terminate()
        try:
            process.wait(5)
        except subprocess.TimeoutExpired:
            process.kill()


def university_settings(
    idp: LocalIdP, *, organisation, scopes=(SCOPE,), certificate: str | None = None
) -> dict:
    """A SocialApp's settings for a CARSI university, as docs/sign-in.md tells operators to write them."""
    return {
        "idp": {
            "entity_id": idp.entity_id,
            "sso_url": idp.sso_url,
            "x509cert": certificate or idp.certificate,
        },
        "attribute_mapping": {
            "uid": OID_EPPN,
            "email": OID_MAIL,
            "name": OID_DISPLAY_NAME,
        },
        "advanced": {"want_assertion_signed": True, "want_message_signed": True},
        "carsi": {"organisation": organisation, "scopes": list(scopes)},
    }


def make_university_app(
    idp: LocalIdP, *, slug: str, organisation, name: str = "Example University", **kwargs
):
    app = SocialApp.objects.create(
        provider="saml",
        provider_id=f"saml-{slug}",
        name=name,
        client_id=slug,
        settings=university_settings(idp, organisation=organisation, **kwargs),
    )
    app.sites.add(Site.objects.get_current())
    return app


def saml_form(page_html: str) -> tuple[str, dict]:
    """The action and fields of the identity provider's auto-submitting form (HTTP-POST binding)."""
    action = html.unescape(re.search(r'action="([^"]+)"', page_html).group(1))
    fields = {
        name: html.unescape(value)
        for name, value in re.findall(r'name="(SAMLResponse|RelayState)" value="([^"]*)"', page_html)
    }
    return action, fields


def idp_answer(idp_login_url: str, user: str, password: str = PASSWORD) -> tuple[str, dict]:
    """Sign in at the identity provider (as a browser would, without one): its form action and fields."""
    session = requests.Session()
    page = session.get(idp_login_url, timeout=10)
    assert page.status_code == 200, page.text[:500]
    hidden = dict(re.findall(r"<input type='hidden' name='(\w+)' value='([^']*)'>", page.text))
    hidden = {key: html.unescape(value) for key, value in hidden.items()}
    answer = session.post(
        urlsplit(idp_login_url)._replace(path="/sso/login", query="").geturl(),
        data={**hidden, "user": user, "password": password},
        timeout=10,
    )
    assert answer.status_code == 200, answer.text[:500]
    return saml_form(answer.text)
