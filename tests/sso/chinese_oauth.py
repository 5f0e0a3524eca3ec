"""A local stand-in for WeChat's, DingTalk's and Feishu's OAuth servers (their real ones cannot be reached from
the test machines), answering each endpoint as the provider documents it, errors included, and recording every
request it receives so tests can check what the portal sent.

* WeChat (open.weixin.qq.com, api.weixin.qq.com): GET /connect/qrconnect (the QR-code page: here it redirects at
  once with code and state), GET /sns/oauth2/access_token?appid&secret&code&grant_type=authorization_code,
  GET /sns/userinfo?access_token&openid. Errors are HTTP 200 with {"errcode", "errmsg"} (40029 invalid code,
  40125 invalid appsecret, 40014 invalid access_token).
* DingTalk (login.dingtalk.com, api.dingtalk.com): GET /oauth2/auth, POST /v1.0/oauth2/userAccessToken with JSON
  {clientId, clientSecret, code, grantType}, GET /v1.0/contact/users/me with x-acs-dingtalk-access-token.
  Errors are HTTP 400/401 with {"code", "message", "requestid"}.
* Feishu (open.feishu.cn): GET /open-apis/authen/v1/index, POST /open-apis/auth/v3/app_access_token/internal with
  JSON {app_id, app_secret}, POST /open-apis/authen/v1/access_token with the app's token as bearer and JSON
  {grant_type, code}, GET /open-apis/authen/v1/user_info with the person's token as bearer. Answers are
  {"code": 0, "msg", "data"} or a non-zero code (20007 invalid code, 10014 app secret invalid, 99991663/99991668
  invalid token).

``chinese_oauth`` is a pytest fixture: a fresh server on 127.0.0.1 and a free port for each test.
"""

import json
import secrets
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlencode, urlsplit

import pytest
from allauth.socialaccount.models import SocialApp
from django.contrib.sites.models import Site

CREDENTIALS = {
    "weixin": ("wx-app-id", "wx-app-secret"),
    "dingtalk": ("ding-client-id", "ding-client-secret"),
    "feishu": ("cli_feishu_app", "feishu-app-secret"),
}

# The endpoints each provider's app points at this server.
PATHS = {
    "weixin": {
        "authorize_url": "/connect/qrconnect",
        "access_token_url": "/sns/oauth2/access_token",
        "profile_url": "/sns/userinfo",
    },
    "dingtalk": {
        "authorize_url": "/oauth2/auth",
        "access_token_url": "/v1.0/oauth2/userAccessToken",
        "profile_url": "/v1.0/contact/users/me",
    },
    "feishu": {
        "authorize_url": "/open-apis/authen/v1/index",
        "app_access_token_url": "/open-apis/auth/v3/app_access_token/internal",
        "access_token_url": "/open-apis/authen/v1/access_token",
        "user_info_url": "/open-apis/authen/v1/user_info",
    },
}


@dataclass
class Received:
    method: str
    path: str
    query: dict
    headers: dict
    body: bytes

    def json(self) -> dict:
        return json.loads(self.body.decode())


@dataclass
class FakeChineseOAuth:
    """The server's state: the person each provider signs in next, the codes and tokens it issued."""

    base_url: str = ""
    received: list[Received] = field(default_factory=list)
    people: dict = field(
        default_factory=dict
    )  # provider -> the person's profile, as the provider describes it
    codes: dict = field(default_factory=dict)  # code -> (provider, profile)
    tokens: dict = field(default_factory=dict)  # access token -> (provider, profile)
    app_tokens: set = field(default_factory=set)
    refuse_profile: bool = False  # answer the profile endpoints as for an invalid access token
    lock: threading.Lock = field(default_factory=threading.Lock)

    def requests_to(self, path: str) -> list[Received]:
        return [r for r in self.received if r.path == path]

    def endpoints(self, provider: str) -> dict:
        return {name: f"{self.base_url}{p}" for name, p in PATHS[provider].items()}

    def make_app(self, provider: str, **settings) -> SocialApp:
        """The provider configured as docs/sign-in.md tells operators, its endpoints pointing here."""
        client_id, secret = CREDENTIALS[provider]
        app = SocialApp.objects.create(
            provider=provider,
            name={"weixin": "WeChat", "dingtalk": "DingTalk", "feishu": "Feishu"}[provider],
            client_id=client_id,
            secret=secret,
            settings={"endpoints": self.endpoints(provider), **settings},
        )
        app.sites.add(Site.objects.get_current())
        return app

    def sign_in(self, authorize_url: str) -> str:
        """The person approves at the provider's page: the URL the provider sends the browser back to."""
        import requests

        answer = requests.get(authorize_url, allow_redirects=False, timeout=5)
        assert answer.status_code == 302, answer.text[:500]
        return answer.headers["Location"]

    def _issue(self, store: dict, provider: str, profile: dict) -> str:
        value = secrets.token_urlsafe(16)
        with self.lock:
            store[value] = (provider, profile)
        return value

    def _take(self, store: dict, provider: str, value: str):
        if store is self.tokens and self.refuse_profile:
            return None
        with self.lock:
            found = store.pop(value, None) if store is self.codes else store.get(value)
        return found[1] if found and found[0] == provider else None


class Handler(BaseHTTPRequestHandler):
    server_version = "FakeChineseOAuth/1.0"
    state: FakeChineseOAuth

    def log_message(self, format, *args):  # quiet
        pass

    # --- plumbing ---

    def _record(self, method: str) -> Received:
        parts = urlsplit(self.path)
        length = int(self.headers.get("Content-Length") or 0)
        received = Received(
            method=method,
            path=parts.path,
            query={k: v[0] for k, v in parse_qs(parts.query).items()},
            headers={k.lower(): v for k, v in self.headers.items()},
            body=self.rfile.read(length) if length else b"",
        )
        with self.state.lock:
            self.state.received.append(received)
        return received

    def _send(self, status: int, data: dict, content_type: str = "application/json; charset=utf-8") -> None:
        body = json.dumps(data, ensure_ascii=False).encode()
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def _redirect(self, location: str) -> None:
        self.send_response(302)
        self.send_header("Location", location)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def _page(self, status: int, text: str) -> None:
        body = text.encode()
        self.send_response(status)
        self.send_header("Content-Type", "text/plain; charset=utf-8")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def _authorize(self, provider: str, q: dict, *, id_param: str, code_params: tuple[str, ...]) -> None:
        if q.get(id_param) != CREDENTIALS[provider][0]:
            return self._page(400, f"unknown {id_param}")
        if q.get("response_type") != "code" or not q.get("redirect_uri", "").startswith("http"):
            return self._page(400, "bad request")
        profile = self.state.people.get(provider)
        if profile is None:
            return self._page(400, "nobody signs in")
        code = self.state._issue(self.state.codes, provider, profile)
        back = dict.fromkeys(code_params, code)
        if q.get("state"):
            back["state"] = q["state"]
        return self._redirect(f"{q['redirect_uri']}?{urlencode(back)}")

    def _bearer(self, r: Received) -> str:
        value = r.headers.get("authorization", "")
        return value[len("Bearer ") :] if value.startswith("Bearer ") else ""

    def _body_json(self, r: Received):
        if not r.headers.get("content-type", "").startswith("application/json"):
            return None
        try:
            return r.json()
        except ValueError:
            return None

    # --- the endpoints ---

    def do_GET(self):
        r = self._record("GET")
        q = r.query
        if r.path == PATHS["weixin"]["authorize_url"]:
            if q.get("scope") != "snsapi_login":
                return self._page(400, "scope must be snsapi_login")
            return self._authorize("weixin", q, id_param="appid", code_params=("code",))
        if r.path == PATHS["weixin"]["access_token_url"]:
            return self._weixin_token(q)
        if r.path == PATHS["weixin"]["profile_url"]:
            profile = self.state._take(self.state.tokens, "weixin", q.get("access_token", ""))
            if profile is None or q.get("openid") != profile["openid"]:
                return self._send(200, {"errcode": 40014, "errmsg": "invalid access_token"})
            # WeChat answers with text/plain JSON in UTF-8.
            return self._send(200, profile, content_type="text/plain")
        if r.path == PATHS["dingtalk"]["authorize_url"]:
            if "openid" not in q.get("scope", "").split() or q.get("prompt") != "consent":
                return self._page(400, "scope must include openid, prompt must be consent")
            return self._authorize("dingtalk", q, id_param="client_id", code_params=("authCode", "code"))
        if r.path == PATHS["dingtalk"]["profile_url"]:
            profile = self.state._take(
                self.state.tokens, "dingtalk", r.headers.get("x-acs-dingtalk-access-token", "")
            )
            if profile is None:
                return self._send(
                    401,
                    {"requestid": "x", "code": "InvalidAuthentication", "message": "不合法的access_token"},
                )
            return self._send(200, profile)
        if r.path == PATHS["feishu"]["authorize_url"]:
            return self._authorize_feishu(q)
        if r.path == PATHS["feishu"]["user_info_url"]:
            profile = self.state._take(self.state.tokens, "feishu", self._bearer(r))
            if profile is None:
                return self._send(200, {"code": 99991668, "msg": "Invalid access token for authorization."})
            return self._send(200, {"code": 0, "msg": "success", "data": profile})
        return self._page(404, "not found")

    def _authorize_feishu(self, q):
        # Feishu's page takes app_id (and does not need response_type).
        q = {**q, "response_type": q.get("response_type", "code")}
        return self._authorize("feishu", q, id_param="app_id", code_params=("code",))

    def _weixin_token(self, q):
        appid, secret = CREDENTIALS["weixin"]
        if q.get("appid") != appid:
            return self._send(200, {"errcode": 40013, "errmsg": "invalid appid"})
        if q.get("secret") != secret:
            return self._send(200, {"errcode": 40125, "errmsg": "invalid appsecret"})
        if q.get("grant_type") != "authorization_code":
            return self._send(200, {"errcode": 40002, "errmsg": "invalid grant_type"})
        profile = self.state._take(self.state.codes, "weixin", q.get("code", ""))
        if profile is None:
            return self._send(200, {"errcode": 40029, "errmsg": "invalid code"})
        token = self.state._issue(self.state.tokens, "weixin", profile)
        return self._send(
            200,
            {
                "access_token": token,
                "expires_in": 7200,
                "refresh_token": "wx-refresh",
                "openid": profile["openid"],
                "scope": "snsapi_login",
                "unionid": profile.get("unionid", ""),
            },
        )

    def do_POST(self):
        r = self._record("POST")
        body = self._body_json(r)
        if r.path == PATHS["dingtalk"]["access_token_url"]:
            client_id, secret = CREDENTIALS["dingtalk"]
            if not isinstance(body, dict):
                return self._send(400, {"requestid": "x", "code": "MissingParameter", "message": "body"})
            if body.get("clientId") != client_id or body.get("clientSecret") != secret:
                return self._send(
                    400, {"requestid": "x", "code": "invalidClientId", "message": "无效的clientId"}
                )
            if body.get("grantType") != "authorization_code":
                return self._send(400, {"requestid": "x", "code": "invalidGrantType", "message": "grantType"})
            profile = self.state._take(self.state.codes, "dingtalk", body.get("code", ""))
            if profile is None:
                return self._send(
                    400, {"requestid": "x", "code": "InvalidAuthentication", "message": "不合法的临时授权码"}
                )
            token = self.state._issue(self.state.tokens, "dingtalk", profile)
            return self._send(
                200,
                {
                    "accessToken": token,
                    "refreshToken": "ding-refresh",
                    "expireIn": 7200,
                    "corpId": "ding-corp",
                },
            )
        if r.path in (PATHS["feishu"]["app_access_token_url"], PATHS["feishu"]["app_access_token_url"] + "/"):
            app_id, secret = CREDENTIALS["feishu"]
            if not isinstance(body, dict) or body.get("app_id") != app_id or body.get("app_secret") != secret:
                return self._send(200, {"code": 10014, "msg": "app secret invalid"})
            token = "t-" + secrets.token_urlsafe(12)
            with self.state.lock:
                self.state.app_tokens.add(token)
            return self._send(200, {"code": 0, "msg": "ok", "app_access_token": token, "expire": 7200})
        if r.path == PATHS["feishu"]["access_token_url"]:
            if self._bearer(r) not in self.state.app_tokens:
                return self._send(200, {"code": 99991663, "msg": "Invalid access token for authorization."})
            if not isinstance(body, dict) or body.get("grant_type") != "authorization_code":
                return self._send(200, {"code": 20001, "msg": "grant_type is invalid"})
            profile = self.state._take(self.state.codes, "feishu", body.get("code", ""))
            if profile is None:
                return self._send(200, {"code": 20007, "msg": "code is invalid"})
            token = "u-" + secrets.token_urlsafe(12)
            with self.state.lock:
                self.state.tokens[token] = ("feishu", profile)
            return self._send(
                200,
                {
                    "code": 0,
                    "msg": "success",
                    "data": {
                        "access_token": token,
                        "token_type": "Bearer",
                        "expires_in": 6900,
                        "refresh_token": "ur-refresh",
                        "refresh_expires_in": 2592000,
                        **profile,
                    },
                },
            )
        return self._page(404, "not found")


class RunningServer:
    def __init__(self):
        self.state = FakeChineseOAuth()
        handler = type("BoundHandler", (Handler,), {"state": self.state})
        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self.httpd.daemon_threads = True
        self.state.base_url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()
        self.running = True

    def stop(self):
        if self.running:
            self.httpd.shutdown()
            self.httpd.server_close()
            self.thread.join(5)
            self.running = False


@pytest.fixture
def chinese_oauth():
    """A fresh fake WeChat/DingTalk/Feishu server for the test; ``.stop()`` on it makes the provider 'down'."""
    server = RunningServer()
    server.state.stop = server.stop
    try:
        yield server.state
    finally:
        server.stop()
