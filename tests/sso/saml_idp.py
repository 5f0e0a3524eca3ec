"""A SAML 2.0 identity provider for the tests: pysaml2's Server in a small WSGI app (stdlib wsgiref), standing in
for a CARSI university's Shibboleth. Started on a free port by the fixtures of tests/sso/saml.py.

    python tests/sso/saml_idp.py --port 0 --dir DIR

DIR holds idp.key and idp.crt (the fixture makes them), users.json (the people, their passwords and attributes:
read at every sign-in, so a test can change someone's affiliation between two sign-ins) and sp/*.xml (the
service providers' metadata: files added later are loaded at the next request). Prints
``READY http://127.0.0.1:PORT`` once it listens.

- GET  /metadata       the identity provider's metadata
- GET  /sso/redirect   an AuthnRequest (HTTP-Redirect binding) -> a login form
- POST /sso/login      user + password -> an auto-submitting form that posts the SAMLResponse to the service
                       provider's ACS (HTTP-POST binding); the Response and its Assertion are both signed with
                       RSA-SHA256. A wrong password answers 401 with the form again.
- GET  /sso/unsolicited?sp=ENTITY&user=NAME   the same for a response nobody asked for (IdP-initiated)

Attributes leave with NameFormat uri and urn:oid names (FriendlyName set), as Shibboleth sends them.
"""

import argparse
import contextlib
import html
import json
import sys
from pathlib import Path
from urllib.parse import parse_qs
from wsgiref.simple_server import WSGIRequestHandler, make_server

from saml2 import BINDING_HTTP_POST, BINDING_HTTP_REDIRECT
from saml2.config import IdPConfig
from saml2.metadata import create_metadata_string
from saml2.saml import (
    AUTHN_PASSWORD_PROTECTED,
    NAME_FORMAT_URI,
    NAMEID_FORMAT_PERSISTENT,
    NAMEID_FORMAT_TRANSIENT,
)
from saml2.server import Server
from saml2.xmldsig import DIGEST_SHA256, SIG_RSA_SHA256


class QuietHandler(WSGIRequestHandler):
    def log_message(self, *args):
        pass


def escape(value) -> str:
    return html.escape(value or "", quote=True)


def login_form(saml_request: str, relay_state: str, message: str = "") -> bytes:
    alert = f"<p role='alert'>{escape(message)}</p>" if message else ""
    return (
        "<!doctype html><html lang='en'><head><meta charset='utf-8'><title>Example University sign-in</title>"
        "</head><body><main><h1>Example University</h1>"
        f"{alert}<form method='post' action='/sso/login'>"
        f"<input type='hidden' name='saml_request' value='{escape(saml_request)}'>"
        f"<input type='hidden' name='relay_state' value='{escape(relay_state)}'>"
        "<label for='user'>User name</label> <input id='user' name='user' autocomplete='username'>"
        "<label for='password'>Password</label> "
        "<input id='password' name='password' type='password' autocomplete='current-password'>"
        "<button type='submit'>Sign in</button></form></main></body></html>"
    ).encode()


class IdentityProvider:
    def __init__(self, directory: Path, base: str, xmlsec: str):
        self.directory = directory
        self.loaded: dict[str, float] = {}
        config = IdPConfig()
        config.load(
            {
                "entityid": f"{base}/metadata",
                "service": {
                    "idp": {
                        "name": "Example University",
                        "endpoints": {
                            "single_sign_on_service": [(f"{base}/sso/redirect", BINDING_HTTP_REDIRECT)]
                        },
                        "name_id_format": [NAMEID_FORMAT_TRANSIENT, NAMEID_FORMAT_PERSISTENT],
                        "policy": {
                            "default": {
                                "lifetime": {"minutes": 5},
                                "attribute_restrictions": None,
                                "name_form": NAME_FORMAT_URI,
                            }
                        },
                        "sign_response": True,
                        "sign_assertion": True,
                        "want_authn_requests_signed": False,
                        # Here, under service.idp: at the top level pysaml2 ignores them and signs with rsa-sha1,
                        # which the portal refuses as deprecated.
                        "signing_algorithm": SIG_RSA_SHA256,
                        "digest_algorithm": DIGEST_SHA256,
                    }
                },
                "key_file": str(directory / "idp.key"),
                "cert_file": str(directory / "idp.crt"),
                "xmlsec_binary": xmlsec,
                "metadata": {"local": []},
            }
        )
        self.base = base
        self.server = Server(config=config)
        metadata = create_metadata_string(None, config=config, valid=24, sign=False)
        self.metadata = metadata if isinstance(metadata, bytes) else metadata.encode()

    def load_service_providers(self) -> None:
        for path in sorted((self.directory / "sp").glob("*.xml")):
            mtime = path.stat().st_mtime
            if self.loaded.get(str(path)) != mtime:
                self.server.metadata.load("local", str(path))
                self.loaded[str(path)] = mtime

    def users(self) -> dict:
        return json.loads((self.directory / "users.json").read_text())

    def __call__(self, environ, start_response):
        path, method = environ["PATH_INFO"], environ["REQUEST_METHOD"]
        try:
            if path == "/metadata":
                start_response("200 OK", [("Content-Type", "application/samlmetadata+xml")])
                return [self.metadata]
            if path == "/sso/redirect" and method == "GET":
                self.load_service_providers()
                query = {k: v[0] for k, v in parse_qs(environ.get("QUERY_STRING", "")).items()}
                self.server.parse_authn_request(query["SAMLRequest"], BINDING_HTTP_REDIRECT)  # checked first
                start_response("200 OK", [("Content-Type", "text/html; charset=utf-8")])
                return [login_form(query["SAMLRequest"], query.get("RelayState", ""))]
            if path == "/sso/unsolicited" and method == "GET":  # an IdP-initiated response (unasked)
                self.load_service_providers()
                query = {k: v[0] for k, v in parse_qs(environ.get("QUERY_STRING", "")).items()}
                return self.answer(query["user"], query["sp"], None, None, "", start_response)
            if path == "/sso/login" and method == "POST":
                length = int(environ.get("CONTENT_LENGTH") or 0)
                form = {k: v[0] for k, v in parse_qs(environ["wsgi.input"].read(length).decode()).items()}
                return self.login(form, start_response)
            start_response("404 Not Found", [("Content-Type", "text/plain")])
            return [b"not found"]
        except Exception as exc:  # a test identity provider: show why
            start_response("400 Bad Request", [("Content-Type", "text/plain; charset=utf-8")])
            return [f"{type(exc).__name__}: {exc}".encode()]

    def login(self, form: dict, start_response):
        self.load_service_providers()
        person = self.users().get(form.get("user", ""))
        if not person or person["password"] != form.get("password"):
            start_response("401 Unauthorized", [("Content-Type", "text/html; charset=utf-8")])
            return [
                login_form(
                    form.get("saml_request", ""), form.get("relay_state", ""), "Wrong user or password"
                )
            ]
        request = self.server.parse_authn_request(form["saml_request"], BINDING_HTTP_REDIRECT).message
        return self.answer(
            form["user"],
            request.issuer.text,
            request.id,
            request.name_id_policy,
            form.get("relay_state"),
            start_response,
            acs=request.assertion_consumer_service_url,
        )

    def answer(
        self, user, sp_entity_id, in_response_to, name_id_policy, relay_state, start_response, acs=None
    ):
        """A signed Response with a signed Assertion for ``user``, in an auto-submitting form to the ACS."""
        person = self.users()[user]
        acs = (
            acs
            or self.server.metadata.assertion_consumer_service(sp_entity_id, BINDING_HTTP_POST)[0]["location"]
        )
        response = self.server.create_authn_response(
            dict(person["attributes"]),
            in_response_to=in_response_to,
            destination=acs,
            sp_entity_id=sp_entity_id,
            name_id_policy=name_id_policy,
            userid=user,
            authn={"class_ref": AUTHN_PASSWORD_PROTECTED, "authn_auth": f"{self.base}/metadata"},
            sign_response=True,
            sign_assertion=True,
        )
        http_args = self.server.apply_binding(BINDING_HTTP_POST, response, acs, relay_state, response=True)
        start_response("200 OK", [("Content-Type", "text/html; charset=utf-8")])
        data = http_args["data"]
        return [data.encode() if isinstance(data, str) else data]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--dir", required=True)
    parser.add_argument("--xmlsec", default="/usr/bin/xmlsec1")
    args = parser.parse_args()
    directory = Path(args.dir)
    (directory / "sp").mkdir(parents=True, exist_ok=True)
    holder = {}
    httpd = make_server("127.0.0.1", args.port, lambda e, s: holder["app"](e, s), handler_class=QuietHandler)
    holder["app"] = IdentityProvider(directory, f"http://127.0.0.1:{httpd.server_port}", args.xmlsec)
    print(f"READY http://127.0.0.1:{httpd.server_port}", flush=True)
    with contextlib.suppress(KeyboardInterrupt):
        httpd.serve_forever()
    sys.exit(0)


if __name__ == "__main__":
    main()
