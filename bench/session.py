"""Signing in through allauth's login form (and its TOTP step), as a browser does, to get a session cookie
for a persona."""

import base64
import hashlib
import hmac
import html
import http.client
import re
import struct
import time
from http.cookies import SimpleCookie
from urllib.parse import urlencode, urlsplit

LOGIN_PATH = "/accounts/login/"
MFA_PATH = "/2fa/authenticate/"
_CSRF_INPUT = re.compile(
    r'name="csrfmiddlewaretoken"\s+value="([^"]+)"|value="([^"]+)"\s+name="csrfmiddlewaretoken"'
)


class LoginError(RuntimeError):
    pass


def _cookies(response: http.client.HTTPResponse) -> dict[str, str]:
    jar = SimpleCookie()
    for header in response.headers.get_all("Set-Cookie") or []:
        jar.load(header)
    return {name: morsel.value for name, morsel in jar.items()}


def totp_code(secret: str, *, period: int = 30, digits: int = 6, at: float | None = None) -> str:
    """The RFC 6238 code of a base32 ``secret`` now (allauth's defaults: SHA-1, 30 s, 6 digits)."""
    counter = int((time.time() if at is None else at) // period)
    digest = hmac.new(
        base64.b32decode(secret, casefold=True), struct.pack(">Q", counter), hashlib.sha1
    ).digest()
    offset = digest[-1] & 0x0F
    value = struct.unpack(">I", digest[offset : offset + 4])[0] & 0x7FFFFFFF
    return f"{value % 10**digits:0{digits}d}"


def _post_form(conn, base_url: str, path: str, cookies: dict[str, str], fields: dict[str, str]):
    """GET ``path`` for its CSRF token, then POST ``fields`` to it; returns the POST's response."""
    cookie_header = "; ".join(f"{k}={v}" for k, v in cookies.items())
    conn.request("GET", path, headers={"Cookie": cookie_header})
    response = conn.getresponse()
    page = response.read().decode("utf-8", "replace")
    if response.status != 200:
        raise LoginError(f"GET {path} answered {response.status}")
    cookies.update(_cookies(response))
    if "csrftoken" not in cookies:
        raise LoginError(f"GET {path} set no csrftoken cookie")
    match = _CSRF_INPUT.search(page)
    token = html.unescape(match.group(1) or match.group(2)) if match else cookies["csrftoken"]
    conn.request(
        "POST",
        path,
        body=urlencode({**fields, "csrfmiddlewaretoken": token}),
        headers={
            "Content-Type": "application/x-www-form-urlencoded",
            "Cookie": "; ".join(f"{k}={v}" for k, v in cookies.items()),
            "Referer": base_url + path,
        },
    )
    response = conn.getresponse()
    response.read()
    cookies.update(_cookies(response))
    return response


def login(base_url: str, email: str, password: str, *, totp_secret: str = "") -> str:
    """Return the ``Cookie`` header value of a signed-in session (``sessionid`` and ``csrftoken``).

    With ``totp_secret``, answers allauth's second step (``/accounts/2fa/authenticate/``) with the current
    code, as a person with an authenticator app does.
    """
    parts = urlsplit(base_url)
    conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=30)
    cookies: dict[str, str] = {}
    try:
        response = _post_form(conn, base_url, LOGIN_PATH, cookies, {"login": email, "password": password})
        location = response.headers.get("Location", "")
        if response.status == 302 and MFA_PATH in location:
            if not totp_secret:
                raise LoginError(
                    f"{email} has two-factor authentication on: give the persona its TOTP secret"
                )
            if time.time() % 30 > 27:  # too close to the next code: wait for it
                time.sleep(30 - time.time() % 30 + 0.2)
            response = _post_form(
                conn, base_url, urlsplit(location).path, cookies, {"code": totp_code(totp_secret)}
            )
            location = response.headers.get("Location", "")
    finally:
        conn.close()
    if response.status != 302 or "sessionid" not in cookies:
        raise LoginError(
            f"signing in as {email} answered {response.status} (Location {location!r}); "
            "a 200 means the form refused the credentials (or the TOTP code)"
        )
    if "confirm-email" in location or "verification" in location:
        raise LoginError(f"{email} has no verified email address (redirected to {location})")
    return f"sessionid={cookies['sessionid']}; csrftoken={cookies['csrftoken']}"
