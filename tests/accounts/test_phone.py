"""Mobile numbers: E.164 storage, sign-up and sign-in with an SMS code, adding and changing a number, limits on
codes (atomic under concurrency), operators' TOTP after an SMS sign-in, export and erasure, optional email."""

import re
import threading
import time

import pytest
from allauth.account.models import EmailAddress
from allauth.mfa.totp.internal.auth import TOTP, generate_totp_secret, hotp_value
from django.core import mail
from django.core.exceptions import ValidationError
from django.db import IntegrityError, connection, transaction
from django.test import Client

from accounts import phones, privacy
from accounts.models import PhoneNumber, User
from accounts.sms.file import read_messages
from core.mail import send_templated_mail
from core.models import AuditEvent
from tests.accounts.factories import UserFactory
from tests.conftest import require_service

NUMBER = "+8613812345678"


@pytest.fixture
def sms_dir(settings, tmp_path):
    """Text messages go to a file (the demo's backend); the limits generous unless a test narrows them."""
    settings.SMS_BACKEND = "accounts.sms.file.FileSmsBackend"
    settings.SMS_BACKEND_OPTIONS = {"directory": str(tmp_path / "sms")}
    settings.SMS_RATE_PER_NUMBER = "100/m"
    settings.SMS_RATE_PER_ADDRESS = "100/m"
    settings.SMS_RATE_PER_DAY = "1000/d"
    from django.core.cache import cache

    cache.clear()
    return tmp_path / "sms"


def codes(directory, number=NUMBER):
    return [m["params"]["code"] for m in read_messages(directory) if m["to"] == number]


def phone_user(number=NUMBER, **kwargs):
    user = UserFactory(**kwargs)
    PhoneNumber.objects.create(user=user, number=number, verified=True)
    return user


def request_code(client, number="138 1234 5678"):
    return client.post("/accounts/login/code/", {"phone": number})


# --- numbers ------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("typed", "stored"),
    [
        ("138 1234 5678", "+8613812345678"),
        ("138-1234-5678", "+8613812345678"),
        ("+86 138 1234 5678", "+8613812345678"),
        ("008613812345678", "+8613812345678"),
        ("+852 5123 4567", "+85251234567"),
    ],
)
def test_numbers_are_stored_in_e164(typed, stored):
    assert phones.normalize_phone(typed) == stored


@pytest.mark.parametrize("typed", ["", "12345", "abc", "138 1234 567", "010 6552 9988"])
def test_bad_numbers_and_landlines_are_refused_with_a_message(typed):
    with pytest.raises(ValidationError) as error:
        phones.normalize_phone(typed)
    assert error.value.code == "phone_invalid"


def test_a_number_belongs_to_one_person(db):
    phone_user()
    with pytest.raises(IntegrityError), transaction.atomic():
        PhoneNumber.objects.create(user=UserFactory(), number=NUMBER)


# --- sign-up by number -------------------------------------------------------------------------------------


def test_the_phone_pages_exist_only_when_sms_is_configured(client, db, settings):
    settings.SMS_BACKEND = ""
    assert client.get("/accounts/signup/phone/").status_code == 404
    page = client.get("/accounts/login/").content.decode()
    assert "Sign in with a text message code" not in page
    assert 'type="email"' in page
    refused = request_code(client)
    assert refused.status_code == 200 and "does not send text messages" in refused.content.decode()


def test_the_sign_in_and_sign_up_pages_offer_the_number_when_sms_is_on(client, db, sms_dir):
    login = client.get("/accounts/login/").content.decode()
    assert "Sign in with a text message code" in login and "/accounts/signup/phone/" in login
    assert "Sign up with a mobile number" in client.get("/accounts/signup/").content.decode()
    form = client.get("/accounts/signup/phone/").content.decode()
    assert 'type="tel"' in form and 'autocomplete="tel"' in form and "<label" in form


def test_sign_up_with_a_number_and_the_code(client, db, sms_dir):
    response = client.post("/accounts/signup/phone/", {"name": "王小明", "phone": "138 1234 5678"})
    assert response.status_code == 302 and response.url == "/accounts/phone/verify/"
    user = User.objects.get(phone_number__number=NUMBER)
    assert user.email is None and user.name == "王小明" and not user.has_usable_password()
    assert not PhoneNumber.objects.get(user=user).verified
    assert client.get("/dashboard/").status_code == 302  # not signed in before the code
    (message,) = read_messages(sms_dir)
    assert message["template"] == "verify_code" and len(message["params"]["code"]) == 6

    wrong = client.post(
        "/accounts/phone/verify/", {"code": "000000" if message["params"]["code"] != "000000" else "1"}
    )
    assert wrong.status_code == 200 and "code" in wrong.content.decode().lower()
    response = client.post("/accounts/phone/verify/", {"code": message["params"]["code"]})
    assert response.status_code == 302
    assert client.get("/dashboard/").status_code == 200
    assert PhoneNumber.objects.get(user=user).verified
    assert AuditEvent.objects.filter(action="auth.phone_verified", target_id=str(user.pk)).exists()
    assert AuditEvent.objects.filter(action="auth.sign_in", target_id=str(user.pk)).exists()
    assert mail.outbox == []  # nobody to mail, nothing breaks


def test_signing_up_with_a_taken_number_sends_its_owner_a_sign_in_code_and_tells_nobody(client, db, sms_dir):
    owner = phone_user()
    response = client.post("/accounts/signup/phone/", {"name": "Someone", "phone": NUMBER})
    assert response.status_code == 302 and response.url == "/accounts/login/code/confirm/"
    assert User.objects.count() == 1
    (message,) = read_messages(sms_dir)
    assert message["template"] == "login_code"
    client.post("/accounts/login/code/confirm/", {"code": message["params"]["code"]})
    assert int(client.session["_auth_user_id"]) == owner.pk


def test_an_unproved_number_does_not_block_its_real_owner(client, db, sms_dir):
    squatter = Client()
    squatter.post("/accounts/signup/phone/", {"name": "Not the owner", "phone": NUMBER})
    response = client.post("/accounts/signup/phone/", {"name": "Owner", "phone": NUMBER})
    assert response.url == "/accounts/phone/verify/"
    client.post("/accounts/phone/verify/", {"code": codes(sms_dir)[-1]})
    assert PhoneNumber.objects.get(number=NUMBER).user.name == "Owner"


# --- sign-in by number -------------------------------------------------------------------------------------


def sign_in_by_code(client, sms_dir, number=NUMBER):
    response = request_code(client, number)
    assert response.status_code == 302 and response.url.startswith("/accounts/login/code/confirm/")
    return codes(sms_dir, number)[-1]


def test_sign_in_with_the_number_and_a_code(client, db, sms_dir):
    user = phone_user()
    code = sign_in_by_code(client, sms_dir)
    message = read_messages(sms_dir)[-1]
    assert message["template"] == "login_code" and message["params"]["minutes"] == "5"
    response = client.post("/accounts/login/code/confirm/", {"code": code})
    assert response.status_code == 302
    assert int(client.session["_auth_user_id"]) == user.pk


def test_the_code_request_page_is_kept_for_visitors_and_its_form_takes_each_ones_token(
    db, sms_dir, monkeypatch
):
    from django.template import Template

    phone_user()
    first = Client(enforce_csrf_checks=True)
    page = first.get("/accounts/login/code/?next=/compute/").content.decode()
    assert 'value="/compute/"' in page
    rendered = []
    real = Template.render
    monkeypatch.setattr(
        Template, "render", lambda self, *a, **k: rendered.append(self.name) or real(self, *a, **k)
    )
    second = Client(enforce_csrf_checks=True)
    again = second.get("/accounts/login/code/?next=/compute/").content.decode()
    assert not [name for name in rendered if name and "allauth/elements" in name], (
        rendered
    )  # the body was kept
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', again).group(1)
    assert token != re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page).group(1)
    # The kept form posts with this visitor's token; a form with errors is this visitor's alone.
    refused = second.post("/accounts/login/code/", {"csrfmiddlewaretoken": token, "phone": "12"})
    assert refused.status_code == 200 and "invalid-feedback" in refused.content.decode()
    assert "invalid-feedback" not in second.get("/accounts/login/code/?next=/compute/").content.decode()
    sent = second.post("/accounts/login/code/", {"csrfmiddlewaretoken": token, "phone": "138 1234 5678"})
    assert sent.status_code == 302 and codes(sms_dir)  # the number's owner was sent a code


def test_a_wrong_code_is_refused_and_three_wrong_codes_end_the_attempt(client, db, sms_dir):
    phone_user()
    code = sign_in_by_code(client, sms_dir)
    wrong = "111111" if code != "111111" else "222222"
    refused = client.post("/accounts/login/code/confirm/", {"code": wrong})
    assert refused.status_code == 200 and "_auth_user_id" not in client.session
    client.post("/accounts/login/code/confirm/", {"code": wrong})
    client.post("/accounts/login/code/confirm/", {"code": wrong})
    late = client.post("/accounts/login/code/confirm/", {"code": code})  # even the right one, now
    assert late.status_code == 302 and "_auth_user_id" not in client.session


def test_an_expired_code_is_refused(client, db, sms_dir, monkeypatch):
    phone_user()
    code = sign_in_by_code(client, sms_dir)
    later = time.time() + 301  # SMS_CODE_TIMEOUT is 300 seconds
    monkeypatch.setattr("allauth.account.internal.flows.code_verification.time.time", lambda: later)
    response = client.post("/accounts/login/code/confirm/", {"code": code})
    monkeypatch.undo()
    assert "_auth_user_id" not in client.session
    assert response.status_code == 302 and response.url.startswith("/accounts/login/")


def test_a_used_code_cannot_be_used_again(client, db, sms_dir):
    phone_user()
    code = sign_in_by_code(client, sms_dir)
    client.post("/accounts/login/code/confirm/", {"code": code})
    assert "_auth_user_id" in client.session
    client.post("/accounts/logout/")
    replay = client.post("/accounts/login/code/confirm/", {"code": code})
    assert replay.status_code == 302 and "_auth_user_id" not in client.session


def test_a_gateway_failure_is_told_to_the_person_not_a_500(client, db, sms_dir, settings):
    phone_user()
    settings.SMS_BACKEND = "accounts.sms.aliyun.AliyunSmsBackend"
    settings.SMS_BACKEND_OPTIONS = {
        "access_key_id": "id",
        "access_key_secret": "secret",
        "sign_name": "x",
        "endpoint": "http://127.0.0.1:9/",
        "timeout": 2,
    }
    settings.SMS_TEMPLATES = {"login_code": "SMS_1"}
    response = client.post("/accounts/login/code/", {"phone": NUMBER}, follow=True)
    assert response.status_code == 200
    assert "The text message could not be sent" in response.content.decode()
    assert "_auth_user_id" not in client.session


def test_an_unknown_number_gets_the_same_answer_and_no_message(client, db, sms_dir):
    response = request_code(client, "139 0000 1111")
    assert response.status_code == 302 and response.url.startswith("/accounts/login/code/confirm/")
    assert read_messages(sms_dir) == []


def test_codes_go_by_text_message_only(client, db, sms_dir):
    UserFactory(email="someone@example.cn")
    page = client.get("/accounts/login/code/").content.decode()
    assert 'name="email"' not in page and 'name="phone"' in page


def test_operators_and_supervisors_still_need_totp_after_an_sms_sign_in(
    client, db, sms_dir, operator, supervisor
):
    for number, person in (("+8613800000001", operator), ("+8613800000002", supervisor)):
        client.logout()
        PhoneNumber.objects.create(user=person, number=number, verified=True)
        secret = generate_totp_secret()
        TOTP.activate(person, secret)
        code = sign_in_by_code(client, sms_dir, number)
        response = client.post("/accounts/login/code/confirm/", {"code": code})
        assert response.status_code == 302 and response.url.startswith("/accounts/2fa/authenticate/")
        assert "_auth_user_id" not in client.session  # the SMS code alone signs nobody in
        assert client.get("/operator/verifications/").status_code == 302
        response = client.post(
            "/accounts/2fa/authenticate/", {"code": str(hotp_value(secret, int(time.time()) // 30)).zfill(6)}
        )
        assert response.status_code == 302
        assert int(client.session["_auth_user_id"]) == person.pk


# --- adding and changing a number ------------------------------------------------------------------------


def sign_in_with_password(client, user):
    """A real sign-in, then the password again (changing the number asks for it: re-authentication)."""
    response = client.post("/accounts/login/", {"login": user.email, "password": "correct-horse-battery-9"})
    assert response.status_code == 302
    response = client.post("/accounts/reauthenticate/", {"password": "correct-horse-battery-9"})
    assert response.status_code == 302


def test_changing_the_number_asks_for_a_recent_sign_in(client, db, sms_dir):
    client.force_login(UserFactory())
    response = client.post("/accounts/phone/change/", {"phone": "138 1234 5678"})
    assert response.status_code == 302 and response.url.startswith("/accounts/reauthenticate/")
    assert read_messages(sms_dir) == []


def test_add_a_number_on_the_account_page_after_proving_it(client, db, sms_dir):
    user = UserFactory()
    sign_in_with_password(client, user)
    page = client.get("/accounts/phone/change/")
    assert page.status_code == 200 and "You have no mobile number yet" in page.content.decode()
    response = client.post("/accounts/phone/change/", {"phone": "138 1234 5678"})
    assert response.status_code == 302 and response.url == "/accounts/phone/verify/"
    assert not PhoneNumber.objects.filter(user=user).exists()  # not before the code
    client.post("/accounts/phone/verify/", {"code": codes(sms_dir)[-1]})
    assert PhoneNumber.objects.get(user=user).number == NUMBER
    assert PhoneNumber.objects.get(user=user).verified
    events = AuditEvent.objects.filter(target_id=str(user.pk), action__startswith="auth.phone_")
    assert set(events.values_list("action", flat=True)) == {"auth.phone_added", "auth.phone_verified"}
    assert NUMBER not in str(list(events.values_list("changes", flat=True)))  # masked in the trail


def test_change_a_number_and_the_old_one_stops_working(client, db, sms_dir):
    user = phone_user()
    user.set_unusable_password()
    user.save()
    client.post("/accounts/login/code/confirm/", {"code": sign_in_by_code(client, sms_dir)})
    # No password: the person proves it is them again with a code sent to the current number.
    assert client.post("/accounts/phone/change/", {"phone": "139 1234 5678"}).url.startswith(
        "/accounts/reauth"
    )
    response = client.post("/accounts/reauthenticate/code/", {"recipient": NUMBER})
    assert response.status_code == 302
    client.post("/accounts/reauthenticate/code/confirm/", {"code": codes(sms_dir)[-1]})
    client.post("/accounts/phone/change/", {"phone": "139 1234 5678"})
    client.post("/accounts/phone/verify/", {"code": codes(sms_dir, "+8613912345678")[-1]})
    assert PhoneNumber.objects.get(user=user).number == "+8613912345678"
    assert phones.user_by_phone(NUMBER) is None
    assert AuditEvent.objects.filter(target_id=str(user.pk), action="auth.phone_changed").exists()


def test_someone_elses_number_cannot_be_added(client, db, sms_dir):
    phone_user()
    intruder = UserFactory()
    sign_in_with_password(client, intruder)
    client.post("/accounts/phone/change/", {"phone": NUMBER})
    response = client.post("/accounts/phone/verify/", {"code": "123456"})
    assert not PhoneNumber.objects.filter(user=intruder).exists()
    assert response.status_code in (200, 302)
    assert codes(sms_dir) == []  # the owner is not texted by someone else's attempt


# --- limits -------------------------------------------------------------------------------------------------


def test_per_number_limit_refuses_with_a_clear_message(client, db, sms_dir, settings):
    settings.SMS_RATE_PER_NUMBER = "2/m"
    phone_user()
    for _ in range(2):
        sign_in_by_code(Client(), sms_dir)
    refused = request_code(client)
    assert refused.status_code == 429 and "Too many codes" in refused.content.decode()
    assert len(codes(sms_dir)) == 2


def test_per_address_limit_across_numbers(db, sms_dir, settings):
    settings.SMS_RATE_PER_ADDRESS = "3/h"
    for index in range(5):
        phone_user(number=f"+861380000010{index}")
        Client(REMOTE_ADDR="203.0.113.7").post("/accounts/login/code/", {"phone": f"+861380000010{index}"})
    assert len(read_messages(sms_dir)) == 3


def test_the_whole_site_has_a_daily_limit(db, sms_dir, settings):
    settings.SMS_RATE_PER_DAY = "4/d"
    for index in range(6):
        phone_user(number=f"+861380000020{index}")
        Client(REMOTE_ADDR=f"203.0.113.{index}").post(
            "/accounts/login/code/", {"phone": f"+861380000020{index}"}
        )
    assert len(read_messages(sms_dir)) == 4


@pytest.mark.django_db(transaction=True)
def test_the_per_number_limit_holds_under_20_concurrent_requests(sms_dir, settings):
    """Twenty browsers from twenty addresses ask a code for one number at once; the cache is the real Redis
    (as in production), whose SET NX and INCR make the count atomic: exactly the limit goes out."""
    import os
    from urllib.parse import urlsplit

    url = os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379/9")
    parts = urlsplit(url)
    require_service("Redis", parts.hostname or "127.0.0.1", parts.port or 6379)
    settings.CACHES = {"default": {"BACKEND": "core.cache.RedisCache", "LOCATION": url}}  # as production
    from django.core.cache import cache

    cache.clear()
    settings.SMS_RATE_PER_NUMBER = "3/m"
    phone_user()
    barrier = threading.Barrier(20)
    statuses = []

    def ask(index):
        browser = Client(REMOTE_ADDR=f"198.51.100.{index + 1}")
        barrier.wait()
        try:
            statuses.append(request_code(browser).status_code)
        finally:
            connection.close()

    threads = [threading.Thread(target=ask, args=(i,)) for i in range(20)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert len(statuses) == 20
    assert len(codes(sms_dir)) == 3
    cache.clear()


# --- personal data and optional email --------------------------------------------------------------------


def test_the_number_is_in_the_export_and_erased_with_the_account(db):
    user = phone_user()
    data = privacy.collect_personal_data(user)
    assert data["profile"]["mobile_numbers"][0]["number"] == NUMBER
    privacy.delete_account(user)
    assert not PhoneNumber.objects.filter(number=NUMBER).exists()
    assert phones.user_by_phone(NUMBER) is None


def test_a_person_without_email_is_exported_and_deleted(db):
    user = phones.create_phone_user(number=NUMBER, name="")
    phones.set_phone_verified(user, NUMBER)
    assert str(user) == f"person #{user.pk}"
    assert privacy.export_archive(user)
    privacy.delete_account(user)
    user.refresh_from_db()
    assert not user.is_active and not PhoneNumber.objects.filter(user=user).exists()


def test_email_is_optional_but_unique_when_set(db):
    first = User.objects.create_user(email=None, name="A")
    second = User.objects.create_user(email="", name="B")
    assert first.email is None and second.email is None
    User.objects.create_user(email="Same@Example.cn")
    with pytest.raises(IntegrityError), transaction.atomic():
        User.objects.create_user(email="same@example.cn")
    with pytest.raises(ValueError):
        User.objects.create_superuser(email=None, password="x")


def test_mail_skips_people_without_an_address(db):
    user = User.objects.create_user(email=None, name="No mail")
    assert send_templated_mail("accounts/email/api_token_retired", to=[user.email], context={"url": "/"}) == 0
    assert mail.outbox == []


def test_email_sign_in_still_works_and_needs_a_verified_address(client, db, sms_dir):
    user = UserFactory(email="person@example.cn")
    response = client.post(
        "/accounts/login/", {"login": "person@example.cn", "password": "correct-horse-battery-9"}
    )
    assert response.status_code == 302 and int(client.session["_auth_user_id"]) == user.pk
    client.logout()
    unverified = UserFactory(email="new@example.cn", verified=False)
    EmailAddress.objects.filter(user=unverified).delete()
    EmailAddress.objects.create(user=unverified, email=unverified.email, verified=False, primary=True)
    response = client.post(
        "/accounts/login/", {"login": "new@example.cn", "password": "correct-horse-battery-9"}
    )
    assert "_auth_user_id" not in client.session
