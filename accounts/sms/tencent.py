"""Tencent Cloud SMS (腾讯云短信): the ``SendSms`` action of API version 2021-01-11, a JSON POST signed with
TC3-HMAC-SHA256, as the provider documents it.

Options (settings.SMS_BACKEND_OPTIONS): ``secret_id``, ``secret_key``, ``sms_sdk_app_id`` (SmsSdkAppId),
``sign_name``, optional ``endpoint`` (default https://sms.tencentcloudapi.com/), ``region`` (ap-guangzhou),
``timeout`` (seconds, 10). Templates (settings.SMS_TEMPLATES): message key -> TemplateId, either "1234567" (the
parameters go in the order the portal gives them) or {"id": "1234567", "params": ["code", "minutes"]} (this
order, as the template's {1}, {2} ... expect them).
"""

import hashlib
import hmac
import json
import time
from datetime import UTC, datetime
from urllib.parse import urlsplit

import requests

from accounts.sms.base import BaseSmsBackend, SmsError

DEFAULT_ENDPOINT = "https://sms.tencentcloudapi.com/"
SERVICE = "sms"
ACTION = "SendSms"
VERSION = "2021-01-11"
CONTENT_TYPE = "application/json; charset=utf-8"

ERRORS = {
    "AuthFailure.SignatureFailure": "the request signature was refused (check the SecretKey)",
    "AuthFailure.SecretIdNotFound": "the SecretId is unknown",
    "FailedOperation.InsufficientBalanceInSmsPackage": "the SMS package has no messages left",
    "FailedOperation.SignatureIncorrectOrUnapproved": "the sign name (SignName) is not approved",
    "FailedOperation.TemplateIncorrectOrUnapproved": "the template (TemplateId) is not approved",
    "FailedOperation.PhoneNumberInBlacklist": "the number has refused messages from this sender",
    "FailedOperation.ContainSensitiveWord": "the message contains words the provider refuses",
    "InvalidParameterValue.IncorrectPhoneNumber": "the provider says the mobile number is not valid",
    "InvalidParameterValue.TemplateParameterFormatError": "a template parameter has the wrong format",
    "InvalidParameterValue.TemplateParameterLengthLimit": "a template parameter is too long",
    "LimitExceeded.PhoneNumberDailyLimit": "the daily limit of messages to this number was reached",
    "LimitExceeded.PhoneNumberOneHourLimit": "the hourly limit of messages to this number was reached",
    "LimitExceeded.PhoneNumberThirtySecondLimit": "a message was sent to this number less than 30 seconds ago",
    "LimitExceeded.PhoneNumberSameContentDailyLimit": "the same message went to this number too often today",
    "LimitExceeded.DailyLimit": "the account's daily sending limit was reached",
    "LimitExceeded.AppDailyLimit": "the application's daily sending limit was reached",
    "RequestLimitExceeded": "too many requests to the provider",
    "UnauthorizedOperation.SmsSdkAppIdVerifyFail": "the SmsSdkAppId does not belong to this account",
}
RETRYABLE_PREFIXES = ("InternalError", "RequestLimitExceeded", "LimitExceeded.PhoneNumberThirtySecondLimit")


def _hmac(key: bytes, message: str) -> bytes:
    return hmac.new(key, message.encode(), hashlib.sha256).digest()


def authorization(
    *, secret_id: str, secret_key: str, host: str, payload: str, timestamp: int, headers: dict[str, str]
) -> str:
    """The TC3-HMAC-SHA256 Authorization header for a POST to "/" of ``host`` with ``payload`` as its body;
    ``headers`` are the signed headers (lower-case names; content-type and host at least)."""
    names = sorted(headers)
    canonical_headers = "".join(f"{name}:{headers[name].strip().lower()}\n" for name in names)
    signed_headers = ";".join(names)
    canonical_request = "\n".join(
        ["POST", "/", "", canonical_headers, signed_headers, hashlib.sha256(payload.encode()).hexdigest()]
    )
    date = datetime.fromtimestamp(timestamp, UTC).strftime("%Y-%m-%d")
    scope = f"{date}/{SERVICE}/tc3_request"
    string_to_sign = "\n".join(
        ["TC3-HMAC-SHA256", str(timestamp), scope, hashlib.sha256(canonical_request.encode()).hexdigest()]
    )
    signing_key = _hmac(_hmac(_hmac(f"TC3{secret_key}".encode(), date), SERVICE), "tc3_request")
    signature = hmac.new(signing_key, string_to_sign.encode(), hashlib.sha256).hexdigest()
    return f"TC3-HMAC-SHA256 Credential={secret_id}/{scope}, SignedHeaders={signed_headers}, Signature={signature}"


def _describe(code: str, message: str) -> str:
    return f"{ERRORS.get(code, 'the message was refused')} ({code}: {message})"


class TencentSmsBackend(BaseSmsBackend):
    name = "tencent"

    def send(self, number: str, template: str, params: dict[str, str]) -> str:
        secret_id = self.option("secret_id", required=True)
        secret_key = self.option("secret_key", required=True)
        endpoint = self.option("endpoint", DEFAULT_ENDPOINT)
        host = urlsplit(endpoint).netloc
        body = {
            "PhoneNumberSet": [number],
            "SmsSdkAppId": str(self.option("sms_sdk_app_id", required=True)),
            "SignName": self.option("sign_name", required=True),
            "TemplateId": self.template_id(template),
            "TemplateParamSet": [
                str(params.get(name, "")) for name in self.template_param_order(template, params)
            ],
        }
        payload = json.dumps(body, ensure_ascii=False, separators=(",", ":"))
        timestamp = int(time.time())
        signed = {"content-type": CONTENT_TYPE, "host": host, "x-tc-action": ACTION.lower()}
        headers = {
            "Authorization": authorization(
                secret_id=secret_id,
                secret_key=secret_key,
                host=host,
                payload=payload,
                timestamp=timestamp,
                headers=signed,
            ),
            "Content-Type": CONTENT_TYPE,
            "Host": host,
            "X-TC-Action": ACTION,
            "X-TC-Version": VERSION,
            "X-TC-Timestamp": str(timestamp),
            "X-TC-Region": self.option("region", "ap-guangzhou"),
        }
        try:
            response = requests.post(
                endpoint, data=payload.encode(), headers=headers, timeout=float(self.option("timeout", 10))
            )
        except requests.RequestException as exc:
            raise SmsError(
                f"Tencent Cloud SMS cannot be reached: {exc}", code="unreachable", retryable=True
            ) from exc
        try:
            answer = response.json()["Response"]
        except (ValueError, KeyError, TypeError):
            raise SmsError(
                f"Tencent Cloud SMS answered HTTP {response.status_code} without a Response",
                code=f"http_{response.status_code}",
                retryable=response.status_code >= 500,
            ) from None
        request_id = answer.get("RequestId", "-")
        error = answer.get("Error")
        if error:
            code = str(error.get("Code", ""))
            raise SmsError(
                f"Tencent Cloud SMS: {_describe(code, error.get('Message', ''))}; RequestId {request_id}",
                code=code,
                retryable=code.startswith(RETRYABLE_PREFIXES),
            )
        statuses = answer.get("SendStatusSet") or []
        status = next(
            (s for s in statuses if s.get("PhoneNumber") == number), statuses[0] if statuses else None
        )
        if status is None:
            raise SmsError(
                f"Tencent Cloud SMS returned no SendStatusSet; RequestId {request_id}", code="no_status"
            )
        code = str(status.get("Code", ""))
        if code != "Ok":
            raise SmsError(
                f"Tencent Cloud SMS: {_describe(code, status.get('Message', ''))}; RequestId {request_id}",
                code=code,
                retryable=code.startswith(RETRYABLE_PREFIXES),
            )
        return str(status.get("SerialNo", ""))
