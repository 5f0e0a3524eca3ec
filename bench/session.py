"""Signing in through allauth's login form, as a browser does, to get a session cookie for a persona."""

import html
import http.client
import re
from http.cookies import SimpleCookie
from urllib.parse import urlencode, urlsplit

LOGIN_PATH = "/accounts/login/"
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


def login(base_url: str, email: str, password: str) -> str:
    """Return the ``Cookie`` header value of a signed-in session (``sessionid`` and ``csrftoken``)."""
    parts = urlsplit(base_url)
    conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=30)
    try:
        conn.request("GET", LOGIN_PATH)
        response = conn.getresponse()
        page = response.read().decode("utf-8", "replace")
        if response.status != 200:
            raise LoginError(f"GET {LOGIN_PATH} answered {response.status}")
        cookies = _cookies(response)
        if "csrftoken" not in cookies:
            raise LoginError(f"GET {LOGIN_PATH} set no csrftoken cookie")
        match = _CSRF_INPUT.search(page)
        token = html.unescape(match.group(1) or match.group(2)) if match else cookies["csrftoken"]

        body = urlencode({"login": email, "password": password, "csrfmiddlewaretoken": token})
        conn.request(
            "POST",
            LOGIN_PATH,
            body=body,
            headers={
                "Content-Type": "application/x-www-form-urlencoded",
                "Cookie": f"csrftoken={cookies['csrftoken']}",
                "Referer": base_url + LOGIN_PATH,
            },
        )
        response = conn.getresponse()
        page = response.read().decode("utf-8", "replace")
        cookies.update(_cookies(response))
    finally:
        conn.close()
    location = response.headers.get("Location", "")
    if response.status != 302 or "sessionid" not in cookies:
        raise LoginError(
            f"signing in as {email} answered {response.status} (Location {location!r}); "
            "a 200 means the form refused the credentials"
        )
    if "confirm-email" in location or "verification" in location:
        raise LoginError(f"{email} has no verified email address (redirected to {location})")
    return f"sessionid={cookies['sessionid']}; csrftoken={cookies['csrftoken']}"
