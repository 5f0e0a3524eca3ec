"""Alibaba Cloud SMS (阿里云短信服务): the dysmsapi ``SendSms`` action of API version 2017-05-25, called as an RPC
request signed with signature version 1.0 (HMAC-SHA1), as the provider documents it.

Options (settings.SMS_BACKEND_OPTIONS): ``access_key_id``, ``access_key_secret``, ``sign_name`` (the approved
signature, e.g. "某市人工智能计算中心"), optional ``endpoint`` (default https://dysmsapi.aliyuncs.com/), ``region``
(cn-hangzhou), ``timeout`` (seconds, 10). Templates (settings.SMS_TEMPLATES): message key -> TemplateCode, e.g.
{"login_code": "SMS_123456789"}; the parameters go as the TemplateParam JSON object.
"""

import base64
import hashlib
import hmac
import json
import uuid
from datetime import UTC, datetime
from urllib.parse import quote

import requests

from accounts.sms.base import BaseSmsBackend, SmsError

DEFAULT_ENDPOINT = "https://dysmsapi.aliyuncs.com/"

# The provider's error codes that deserve words of their own (others are passed on with their message).
ERRORS = {
    "isv.BUSINESS_LIMIT_CONTROL": "the provider's rate limit for this number was reached (per minute, hour or day)",
    "isv.MOBILE_NUMBER_ILLEGAL": "the provider says the mobile number is not valid",
    "isv.DAY_LIMIT_CONTROL": "the account's daily sending limit was reached",
    "isv.AMOUNT_NOT_ENOUGH": "the SMS account has no balance left",
    "isv.SMS_SIGNATURE_ILLEGAL": "the sign name (SignName) is not approved for this account",
    "isv.SMS_TEMPLATE_ILLEGAL": "the template (TemplateCode) is not approved for this account",
    "isv.TEMPLATE_MISSING_PARAMETERS": "the template expects parameters that were not given",
    "isv.INVALID_PARAMETERS": "the request's parameters were refused",
    "isv.OUT_OF_SERVICE": "the SMS account is suspended",
    "InvalidAccessKeyId.NotFound": "the AccessKeyId is unknown",
    "SignatureDoesNotMatch": "the request signature was refused (check the AccessKeySecret)",
    "SignatureNonceUsed": "the request was refused as a replay",
}
RETRYABLE = {"isv.BUSINESS_LIMIT_CONTROL", "isp.SYSTEM_ERROR", "isp.RAM_PERMISSION_DENY", "Throttling.User"}


def percent_encode(value: str) -> str:
    """RFC 3986 encoding as the provider's signature requires (space %20, * %2A, ~ kept)."""
    return quote(str(value), safe="~")


def sign(params: dict[str, str], secret: str, method: str = "POST") -> str:
    """Signature version 1.0: HMAC-SHA1 over METHOD&%2F&encoded(sorted canonical query), key secret + "&"."""
    canonical = "&".join(f"{percent_encode(k)}={percent_encode(v)}" for k, v in sorted(params.items()))
    string_to_sign = f"{method}&{percent_encode('/')}&{percent_encode(canonical)}"
    digest = hmac.new(f"{secret}&".encode(), string_to_sign.encode(), hashlib.sha1).digest()
    return base64.b64encode(digest).decode()


def provider_number(number: str) -> str:
    """Mainland numbers without +86; others as country code and number without the "+" (the provider's form)."""
    if number.startswith("+86"):
        return number[3:]
    return number.lstrip("+")


class AliyunSmsBackend(BaseSmsBackend):
    name = "aliyun"

    def send(self, number: str, template: str, params: dict[str, str]) -> str:
        key_id = self.option("access_key_id", required=True)
        secret = self.option("access_key_secret", required=True)
        request_params = {
            "AccessKeyId": key_id,
            "Action": "SendSms",
            "Format": "JSON",
            "RegionId": self.option("region", "cn-hangzhou"),
            "SignatureMethod": "HMAC-SHA1",
            "SignatureNonce": uuid.uuid4().hex,
            "SignatureVersion": "1.0",
            "Timestamp": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
            "Version": "2017-05-25",
            "PhoneNumbers": provider_number(number),
            "SignName": self.option("sign_name", required=True),
            "TemplateCode": self.template_id(template),
            "TemplateParam": json.dumps(params, ensure_ascii=False, separators=(",", ":")),
        }
        request_params["Signature"] = sign(request_params, secret, "POST")
        try:
            response = requests.post(
                self.option("endpoint", DEFAULT_ENDPOINT),
                data=request_params,
                timeout=float(self.option("timeout", 10)),
            )
        except requests.RequestException as exc:
            raise SmsError(
                f"Alibaba Cloud SMS cannot be reached: {exc}", code="unreachable", retryable=True
            ) from exc
        try:
            body = response.json()
        except ValueError:
            raise SmsError(
                f"Alibaba Cloud SMS answered HTTP {response.status_code} without JSON",
                code=f"http_{response.status_code}",
                retryable=response.status_code >= 500,
            ) from None
        code = str(body.get("Code", ""))
        if code == "OK":
            return str(body.get("BizId", ""))
        message = body.get("Message", "")
        words = ERRORS.get(code, "the message was refused")
        raise SmsError(
            f"Alibaba Cloud SMS: {words} ({code}: {message}; RequestId {body.get('RequestId', '-')})",
            code=code or f"http_{response.status_code}",
            retryable=code in RETRYABLE,
        )
