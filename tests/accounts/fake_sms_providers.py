"""Local stand-ins for the SMS providers' HTTP APIs (Python http.server in a thread, on a free port of
127.0.0.1). Each checks a request as its provider documents it — the signature recomputed from the secret,
the parameters — and answers as the provider does, including its error codes.

Alibaba Cloud SMS: dysmsapi SendSms, RPC style, signature version 1.0 (HMAC-SHA1),
https://help.aliyun.com/zh/sdk/product-overview/rpc-mechanism and the SendSms reference.
Tencent Cloud SMS: SendSms of API 2021-01-11, TC3-HMAC-SHA256,
https://cloud.tencent.com/document/api/382/55981 and https://cloud.tencent.com/document/api/382/52071.
"""

import base64
import hashlib
import hmac
import json
import threading
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qsl, quote


class FakeProvider:
    """Start with ``with FakeAliyun(...) as server``; ``server.url`` is the endpoint, ``server.received`` the
    accepted requests, ``server.refused`` the ones refused and why, ``server.answer_error`` forces a code."""

    def __init__(self):
        self.received: list[dict] = []
        self.refused: list[str] = []
        self.answer_error: str | None = None
        self.status_code: str | None = None  # Tencent: per-number SendStatusSet code
        provider = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):  # noqa: N802 - http.server's name
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                status, answer = provider.handle(self.command, self.path, dict(self.headers), body)
                data = json.dumps(answer, ensure_ascii=False).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json; charset=utf-8")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(5)

    def refuse(self, why: str):
        self.refused.append(why)
        return why


def _aliyun_encode(value: str) -> str:
    return quote(str(value), safe="~")


class FakeAliyun(FakeProvider):
    REQUIRED = (
        "AccessKeyId", "Action", "Format", "RegionId", "SignatureMethod", "SignatureNonce", "SignatureVersion",
        "Timestamp", "Version", "PhoneNumbers", "SignName", "TemplateCode", "Signature",
    )  # fmt: skip

    def __init__(self, *, key_id: str, secret: str, sign_name: str, templates: set[str]):
        super().__init__()
        self.key_id, self.secret, self.sign_name, self.templates = key_id, secret, sign_name, templates
        self.nonces: set[str] = set()

    def handle(self, method, path, headers, body):
        params = dict(parse_qsl(body.decode(), keep_blank_values=True))
        request_id = "F655A8D5-B967-440B-8683-DAD6FF8DE990"

        def error(code, message, status=400):
            self.refuse(code)
            return status, {"RequestId": request_id, "Code": code, "Message": message}

        missing = [key for key in self.REQUIRED if key not in params]
        if missing:
            return error("MissingParameter", f"missing {missing}")
        if params["Action"] != "SendSms" or params["Version"] != "2017-05-25" or params["Format"] != "JSON":
            return error("InvalidParameter", "Action, Version or Format")
        if params["SignatureMethod"] != "HMAC-SHA1" or params["SignatureVersion"] != "1.0":
            return error("InvalidParameter", "signature method")
        if params["AccessKeyId"] != self.key_id:
            return error("InvalidAccessKeyId.NotFound", "Specified access key is not found.", 404)
        signature = params.pop("Signature")
        canonical = "&".join(f"{_aliyun_encode(k)}={_aliyun_encode(v)}" for k, v in sorted(params.items()))
        string_to_sign = f"{method}&{_aliyun_encode('/')}&{_aliyun_encode(canonical)}"
        expected = base64.b64encode(
            hmac.new(f"{self.secret}&".encode(), string_to_sign.encode(), hashlib.sha1).digest()
        ).decode()
        if not hmac.compare_digest(signature, expected):
            return error("SignatureDoesNotMatch", "Specified signature is not matched with our calculation.")
        timestamp = datetime.strptime(params["Timestamp"], "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC)
        if abs((datetime.now(UTC) - timestamp).total_seconds()) > 900:
            return error("InvalidTimeStamp.Expired", "Specified time stamp or date value is expired.")
        if params["SignatureNonce"] in self.nonces:
            return error("SignatureNonceUsed", "Specified signature nonce was used already.")
        self.nonces.add(params["SignatureNonce"])
        if params["SignName"] != self.sign_name:
            return error("isv.SMS_SIGNATURE_ILLEGAL", "该账号下找不到对应签名", 200)
        if params["TemplateCode"] not in self.templates:
            return error("isv.SMS_TEMPLATE_ILLEGAL", "该账号下找不到对应模板", 200)
        try:
            json.loads(params.get("TemplateParam") or "{}")
        except ValueError:
            return error("isv.INVALID_JSON_PARAM", "JSON参数不合法，只接受字符串值", 200)
        if not params["PhoneNumbers"].isdigit():
            return error("isv.MOBILE_NUMBER_ILLEGAL", "非法手机号", 200)
        if self.answer_error:
            return error(self.answer_error, "触发号码天级流控Permits:10", 200)
        self.received.append(params)
        return 200, {"RequestId": request_id, "Code": "OK", "Message": "OK", "BizId": "900619746936498440^0"}


def tc3_signature(secret_key: str, *, date: str, string_to_sign: str) -> str:
    def sign(key: bytes, msg: str) -> bytes:
        return hmac.new(key, msg.encode(), hashlib.sha256).digest()

    key = sign(sign(sign(f"TC3{secret_key}".encode(), date), "sms"), "tc3_request")
    return hmac.new(key, string_to_sign.encode(), hashlib.sha256).hexdigest()


class FakeTencent(FakeProvider):
    def __init__(self, *, secret_id: str, secret_key: str, app_id: str, sign_name: str, templates: set[str]):
        super().__init__()
        self.secret_id, self.secret_key, self.app_id = secret_id, secret_key, app_id
        self.sign_name, self.templates = sign_name, templates

    def handle(self, method, path, headers, body):
        headers = {key.lower(): value for key, value in headers.items()}
        request_id = "a0aabda6-cf91-4f3e-a2e0-d6c6ba3f1e2b"

        def error(code, message):
            self.refuse(code)
            return 200, {"Response": {"Error": {"Code": code, "Message": message}, "RequestId": request_id}}

        if method != "POST" or path != "/":
            return error("InvalidAction", "POST / only")
        if headers.get("x-tc-action") != "SendSms" or headers.get("x-tc-version") != "2021-01-11":
            return error("InvalidAction", "X-TC-Action / X-TC-Version")
        if not headers.get("content-type", "").startswith("application/json"):
            return error("InvalidParameter", "Content-Type")
        authorization = headers.get("authorization", "")
        try:
            algorithm, rest = authorization.split(" ", 1)
            parts = dict(part.strip().split("=", 1) for part in rest.split(","))
            credential, signed_headers, signature = (
                parts["Credential"],
                parts["SignedHeaders"],
                parts["Signature"],
            )
            secret_id, date, service, terminator = credential.split("/")
        except (ValueError, KeyError):
            return error("AuthFailure.InvalidAuthorization", "Authorization malformed")
        if algorithm != "TC3-HMAC-SHA256" or service != "sms" or terminator != "tc3_request":
            return error("AuthFailure.InvalidAuthorization", "algorithm or scope")
        if secret_id != self.secret_id:
            return error("AuthFailure.SecretIdNotFound", "The SecretId is not found.")
        names = signed_headers.split(";")
        if "content-type" not in names or "host" not in names or names != sorted(names):
            return error("AuthFailure.InvalidAuthorization", "SignedHeaders must hold content-type and host")
        timestamp = int(headers.get("x-tc-timestamp", "0"))
        if abs(datetime.now(UTC).timestamp() - timestamp) > 300:
            return error("AuthFailure.SignatureExpire", "Signature expired.")
        if datetime.fromtimestamp(timestamp, UTC).strftime("%Y-%m-%d") != date:
            return error("AuthFailure.InvalidAuthorization", "the credential date is not the timestamp's")
        canonical_headers = "".join(f"{name}:{headers.get(name, '').strip().lower()}\n" for name in names)
        canonical_request = "\n".join(
            ["POST", "/", "", canonical_headers, signed_headers, hashlib.sha256(body).hexdigest()]
        )
        string_to_sign = "\n".join(
            [
                "TC3-HMAC-SHA256",
                str(timestamp),
                f"{date}/sms/tc3_request",
                hashlib.sha256(canonical_request.encode()).hexdigest(),
            ]
        )
        expected = tc3_signature(self.secret_key, date=date, string_to_sign=string_to_sign)
        if not hmac.compare_digest(signature, expected):
            return error("AuthFailure.SignatureFailure", "The provided credentials could not be validated.")
        data = json.loads(body)
        if data.get("SmsSdkAppId") != self.app_id:
            return error("UnauthorizedOperation.SmsSdkAppIdVerifyFail", "SmsSdkAppId verify fail.")
        if data.get("SignName") != self.sign_name:
            return error("FailedOperation.SignatureIncorrectOrUnapproved", "签名未审批或格式错误。")
        if data.get("TemplateId") not in self.templates:
            return error("FailedOperation.TemplateIncorrectOrUnapproved", "模板未审批或内容不匹配。")
        if not isinstance(data.get("TemplateParamSet"), list) or not all(
            isinstance(p, str) for p in data["TemplateParamSet"]
        ):
            return error("InvalidParameterValue.TemplateParameterFormatError", "TemplateParamSet")
        if self.answer_error:
            return error(self.answer_error, "error")
        self.received.append({"headers": headers, "body": data})
        statuses = []
        for number in data.get("PhoneNumberSet", []):
            code = self.status_code or "Ok"
            statuses.append(
                {
                    "SerialNo": "5000:1045710669157053657849499619",
                    "PhoneNumber": number,
                    "Fee": 1,
                    "SessionContext": "",
                    "Code": code,
                    "Message": "send success" if code == "Ok" else "the number reached its daily limit",
                    "IsoCode": "CN",
                }
            )
        return 200, {"Response": {"SendStatusSet": statuses, "RequestId": request_id}}
