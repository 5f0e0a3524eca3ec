"""The SMS gateway: send_text and its backends, each provider's adapter against a local server that checks the
request as the provider documents it and answers as it does (tests/accounts/fake_sms_providers.py)."""

import io
import json

import pytest

from accounts import sms
from accounts.sms.base import SmsError
from accounts.sms.file import read_messages
from tests.accounts.fake_sms_providers import FakeAliyun, FakeTencent

ALIYUN = "accounts.sms.aliyun.AliyunSmsBackend"
TENCENT = "accounts.sms.tencent.TencentSmsBackend"


@pytest.fixture
def aliyun(settings):
    with FakeAliyun(
        key_id="LTAI5tTestKeyId",
        secret="testSecret+/=~*",
        sign_name="某市人工智能计算中心",
        templates={"SMS_154950909"},
    ) as server:
        settings.SMS_BACKEND = ALIYUN
        settings.SMS_BACKEND_OPTIONS = {
            "access_key_id": "LTAI5tTestKeyId",
            "access_key_secret": "testSecret+/=~*",
            "sign_name": "某市人工智能计算中心",
            "endpoint": server.url,
        }
        settings.SMS_TEMPLATES = {"login_code": "SMS_154950909"}
        yield server


@pytest.fixture
def tencent(settings):
    with FakeTencent(
        secret_id="AKIDz8krbsJ5yKBZQpn74WFkmLPx3EXAMPLE",
        secret_key="Gu5t9xGARNpq86cd98joQYCN3EXAMPLE",
        app_id="1400006666",
        sign_name="某市人工智能计算中心",
        templates={"449739"},
    ) as server:
        settings.SMS_BACKEND = TENCENT
        settings.SMS_BACKEND_OPTIONS = {
            "secret_id": "AKIDz8krbsJ5yKBZQpn74WFkmLPx3EXAMPLE",
            "secret_key": "Gu5t9xGARNpq86cd98joQYCN3EXAMPLE",
            "sms_sdk_app_id": "1400006666",
            "sign_name": "某市人工智能计算中心",
            "endpoint": server.url,
        }
        settings.SMS_TEMPLATES = {"login_code": {"id": "449739", "params": ["code", "minutes"]}}
        yield server


# --- console and file -------------------------------------------------------------------------------


def test_console_backend_prints_the_message(settings):
    stream = io.StringIO()
    settings.SMS_BACKEND = "accounts.sms.console.ConsoleSmsBackend"
    settings.SMS_BACKEND_OPTIONS = {"stream": stream}
    sms.send_text("+8613812345678", "login_code", {"code": "123456", "minutes": "5"})
    assert "+8613812345678" in stream.getvalue()
    assert "123456" in stream.getvalue()


def test_file_backend_writes_one_json_line_per_message(settings, tmp_path):
    settings.SMS_BACKEND = "accounts.sms.file.FileSmsBackend"
    settings.SMS_BACKEND_OPTIONS = {"directory": str(tmp_path)}
    sms.send_text("+8613812345678", "login_code", {"code": "123456", "minutes": "5"})
    sms.send_text("+8613912345678", "invitation", {"organisation": "北大", "link": "https://x/i/1"})
    lines = (tmp_path / "messages.jsonl").read_text().splitlines()
    assert len(lines) == 2
    first = json.loads(lines[0])
    assert first["to"] == "+8613812345678" and first["template"] == "login_code"
    assert first["params"] == {"code": "123456", "minutes": "5"}
    assert "123456" in first["text"]
    assert [m["to"] for m in read_messages(tmp_path)] == ["+8613812345678", "+8613912345678"]


def test_no_backend_is_a_clear_error(settings):
    settings.SMS_BACKEND = ""
    assert not sms.is_configured()
    with pytest.raises(SmsError, match="no SMS backend is configured"):
        sms.send_text("+8613812345678", "login_code", {"code": "1"})


def test_a_backend_that_cannot_be_imported_is_a_clear_error(settings):
    settings.SMS_BACKEND = "accounts.sms.nowhere.Backend"
    with pytest.raises(SmsError, match="cannot be imported"):
        sms.send_text("+8613812345678", "login_code", {"code": "1"})


# --- Alibaba Cloud ----------------------------------------------------------------------------------------


def test_aliyun_sends_a_signed_request_with_template_and_sign_name(aliyun):
    sms.send_text("+8613812345678", "login_code", {"code": "123456", "minutes": "5"})
    assert aliyun.refused == []
    (request,) = aliyun.received
    assert request["PhoneNumbers"] == "13812345678"  # mainland numbers go without +86
    assert request["SignName"] == "某市人工智能计算中心"
    assert request["TemplateCode"] == "SMS_154950909"
    assert json.loads(request["TemplateParam"]) == {"code": "123456", "minutes": "5"}
    assert request["RegionId"] == "cn-hangzhou"


def test_aliyun_wrong_secret_is_refused_by_the_signature_check(aliyun, settings):
    settings.SMS_BACKEND_OPTIONS = {**settings.SMS_BACKEND_OPTIONS, "access_key_secret": "wrong"}
    with pytest.raises(SmsError, match="signature was refused") as error:
        sms.send_text("+8613812345678", "login_code", {"code": "123456"})
    assert error.value.code == "SignatureDoesNotMatch"
    assert aliyun.received == []


@pytest.mark.parametrize(
    ("code", "words", "retryable"),
    [
        ("isv.BUSINESS_LIMIT_CONTROL", "rate limit for this number", True),
        ("isv.MOBILE_NUMBER_ILLEGAL", "mobile number is not valid", False),
        ("isv.AMOUNT_NOT_ENOUGH", "no balance", False),
    ],
)
def test_aliyun_error_codes_become_clear_errors(aliyun, code, words, retryable):
    aliyun.answer_error = code
    with pytest.raises(SmsError, match=words) as error:
        sms.send_text("+8613812345678", "login_code", {"code": "123456"})
    assert error.value.code == code
    assert error.value.retryable is retryable
    assert code in str(error.value)


def test_aliyun_unknown_template_is_refused_by_the_provider(aliyun, settings):
    settings.SMS_TEMPLATES = {"login_code": "SMS_000"}
    with pytest.raises(SmsError, match="TemplateCode") as error:
        sms.send_text("+8613812345678", "login_code", {"code": "1"})
    assert error.value.code == "isv.SMS_TEMPLATE_ILLEGAL"


def test_a_message_without_a_template_id_is_a_configuration_error(aliyun):
    with pytest.raises(SmsError, match="SMS_TEMPLATES has no aliyun template for the message 'invitation'"):
        sms.send_text("+8613812345678", "invitation", {"organisation": "x", "link": "y"})
    assert aliyun.received == []


def test_an_unreachable_provider_is_a_retryable_error(aliyun, settings):
    settings.SMS_BACKEND_OPTIONS = {
        **settings.SMS_BACKEND_OPTIONS,
        "endpoint": "http://127.0.0.1:9/",
        "timeout": 2,
    }
    with pytest.raises(SmsError, match="cannot be reached") as error:
        sms.send_text("+8613812345678", "login_code", {"code": "1"})
    assert error.value.retryable


def test_aliyun_international_numbers_keep_their_country_code(aliyun):
    sms.send_text("+85251234567", "login_code", {"code": "1"})
    assert aliyun.received[0]["PhoneNumbers"] == "85251234567"


# --- Tencent Cloud ----------------------------------------------------------------------------------------


def test_tencent_sends_a_tc3_signed_request(tencent):
    sms.send_text("+8613812345678", "login_code", {"minutes": "5", "code": "654321"})
    assert tencent.refused == []
    (request,) = tencent.received
    body = request["body"]
    assert body["PhoneNumberSet"] == ["+8613812345678"]
    assert body["SmsSdkAppId"] == "1400006666"
    assert body["SignName"] == "某市人工智能计算中心"
    assert body["TemplateId"] == "449739"
    assert body["TemplateParamSet"] == ["654321", "5"]  # in the template's order, not the caller's
    assert request["headers"]["x-tc-region"] == "ap-guangzhou"


def test_tencent_wrong_key_is_refused_by_the_signature_check(tencent, settings):
    settings.SMS_BACKEND_OPTIONS = {**settings.SMS_BACKEND_OPTIONS, "secret_key": "wrong"}
    with pytest.raises(SmsError, match="signature was refused") as error:
        sms.send_text("+8613812345678", "login_code", {"code": "1", "minutes": "5"})
    assert error.value.code == "AuthFailure.SignatureFailure"
    assert tencent.received == []


def test_tencent_request_errors_become_clear_errors(tencent):
    tencent.answer_error = "FailedOperation.InsufficientBalanceInSmsPackage"
    with pytest.raises(SmsError, match="no messages left") as error:
        sms.send_text("+8613812345678", "login_code", {"code": "1", "minutes": "5"})
    assert error.value.code == "FailedOperation.InsufficientBalanceInSmsPackage"


def test_tencent_per_number_status_codes_become_clear_errors(tencent):
    tencent.status_code = "LimitExceeded.PhoneNumberDailyLimit"
    with pytest.raises(SmsError, match="daily limit of messages to this number") as error:
        sms.send_text("+8613812345678", "login_code", {"code": "1", "minutes": "5"})
    assert error.value.code == "LimitExceeded.PhoneNumberDailyLimit"


def test_tencent_unapproved_sign_name_is_refused(tencent, settings):
    settings.SMS_BACKEND_OPTIONS = {**settings.SMS_BACKEND_OPTIONS, "sign_name": "别的签名"}
    with pytest.raises(SmsError, match="sign name") as error:
        sms.send_text("+8613812345678", "login_code", {"code": "1", "minutes": "5"})
    assert error.value.code == "FailedOperation.SignatureIncorrectOrUnapproved"


def test_missing_options_are_a_configuration_error(settings):
    settings.SMS_BACKEND = TENCENT
    settings.SMS_BACKEND_OPTIONS = {"secret_id": "x"}
    with pytest.raises(SmsError, match="lacks 'secret_key'"):
        sms.send_text("+8613812345678", "login_code", {"code": "1"})
