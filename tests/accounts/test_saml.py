"""Universities signing in through SAML (CARSI): the affiliation mapping to memberships, the response checks
against real responses of the local identity provider (tests/sso/saml_idp.py), and replay protection."""

import base64
import re
import threading
from datetime import timedelta
from unittest import mock
from urllib.parse import urlsplit

import pytest
import requests
from allauth.mfa.totp.internal.auth import TOTP, format_hotp_value, generate_totp_secret, hotp_value
from allauth.socialaccount.models import SocialAccount, SocialApp
from allauth.socialaccount.providers import registry
from allauth.socialaccount.providers.saml.utils import build_saml_config, prepare_django_request
from django.contrib.sites.models import Site
from django.core import mail
from django.db import connection
from django.test import RequestFactory
from django.urls import reverse
from django.utils import timezone
from onelogin.saml2.auth import OneLogin_Saml2_Auth
from onelogin.saml2.response import OneLogin_Saml2_Response
from onelogin.saml2.settings import OneLogin_Saml2_Settings
from onelogin.saml2.utils import OneLogin_Saml2_Utils

from accounts import carsi, services
from accounts.models import Membership, MembershipRole, OrganisationKind, SamlAssertion, SamlMembership, User
from accounts.tasks import purge_saml_assertions_task
from core import hooks
from core.models import AuditEvent
from tests.accounts.factories import UserFactory, add_member, make_organisation
from tests.sso import saml
from tests.sso.saml import SCOPE, idp_answer, make_university_app, saml_form

saml_idp = saml.saml_idp  # the session's local identity provider (a fixture)

SLUG = "example-university"
HOST = "portal.example.cn"  # python3-saml refuses single-label hosts such as Django's "testserver"


@pytest.fixture
def client(client, settings):
    settings.ALLOWED_HOSTS = [*settings.ALLOWED_HOSTS, HOST]
    client.defaults["HTTP_HOST"] = HOST
    return client


@pytest.fixture
def university(db):
    return make_organisation(
        UserFactory(), kind=OrganisationKind.UNIVERSITY, name_zh="示例大学", name_en="Example University"
    )


@pytest.fixture
def app(saml_idp, university, client):
    app = make_university_app(saml_idp, slug=SLUG, organisation=university.pk)
    metadata = client.get(reverse("saml_metadata", args=[SLUG]))
    assert metadata.status_code == 200
    saml_idp.register_service_provider(f"{SLUG}-{HOST}", metadata.content)
    return app


def start_sign_in(client, idp, user: str, *, slug: str = SLUG) -> tuple[str, dict]:
    """Portal -> AuthnRequest -> the identity provider's form -> its answer (the form action and fields)."""
    start = client.post(reverse("saml_login", args=[slug]))
    assert start.status_code == 302, start.content[:500]
    assert start["Location"].startswith(idp.sso_url)
    return idp_answer(start["Location"], user)


def post_answer(client, action: str, fields: dict):
    """The browser posts the identity provider's answer to the portal's ACS, which finishes the sign-in."""
    acs = client.post(urlsplit(action).path, fields)
    assert acs.status_code == 302, acs.content[:500]
    return client.get(acs["Location"])


def signed_in_user(client) -> User | None:
    user_id = client.session.get("_auth_user_id")
    return User.objects.get(pk=user_id) if user_id else None


def decoded(fields: dict) -> str:
    return base64.b64decode(fields["SAMLResponse"]).decode()


def encoded(xml: str) -> str:
    return base64.b64encode(xml.encode()).decode()


def actions(target) -> list[str]:
    return list(AuditEvent.objects.filter(target_id=str(target.pk)).values_list("action", flat=True))


# --- the mapping, without an identity provider ------------------------------------------------------------


class FakeApp:
    def __init__(self, organisation, scopes=(SCOPE,), client_id=SLUG):
        self.client_id = client_id
        self.settings = {"idp": {"entity_id": "https://idp.example.edu.cn"}}
        self.settings["carsi"] = {"organisation": organisation, "scopes": list(scopes)}


def affiliation(*values):
    return {carsi.AFFILIATION_ATTRIBUTES[0]: list(values)}


def test_parse_affiliations_keeps_only_the_scopes_the_app_may_assert():
    accepted, ignored = carsi.parse_affiliations(
        [
            "Student@Example.edu.cn",
            "staff@other.edu.cn",
            "faculty@sub.example.edu.cn",
            "wizard@example.edu.cn",
            "x",
        ],
        frozenset({SCOPE}),
    )
    assert accepted == ["student@example.edu.cn"]
    assert ignored == ["faculty@sub.example.edu.cn", "staff@other.edu.cn", "wizard@example.edu.cn", "x"]


def test_organisation_by_id_or_by_credit_code(db):
    enterprise = make_organisation(UserFactory())
    assert carsi.find_organisation(enterprise.pk) == enterprise
    assert carsi.find_organisation(str(enterprise.pk)) == enterprise
    assert carsi.find_organisation(enterprise.uscc.lower()) == enterprise
    assert carsi.find_organisation("999999999") is None
    assert carsi.find_organisation(None) is None


def test_student_joins_changes_to_staff_and_leaves_with_the_affiliation(
    university, django_capture_on_commit_callbacks
):
    person = UserFactory()
    app = FakeApp(university.pk)

    with django_capture_on_commit_callbacks(execute=True):
        result = carsi.sync_university_membership(
            person, app=app, attributes=affiliation("student@example.edu.cn")
        )
    assert result == "added"
    membership = Membership.objects.get(user=person, organisation=university)
    assert membership.role == MembershipRole.MEMBER
    assert membership.saml_source.affiliations == ["student@example.edu.cn"]
    assert membership.saml_source.app == SLUG
    assert "membership.create" in actions(membership)
    assert any("You are now a member of" in m.subject for m in mail.outbox if person.email in m.to)

    assert (
        carsi.sync_university_membership(person, app=app, attributes=affiliation("student@example.edu.cn"))
        == "unchanged"
    )
    assert (
        carsi.sync_university_membership(person, app=app, attributes=affiliation("staff@example.edu.cn"))
        == "changed"
    )
    membership.refresh_from_db()
    assert membership.role == MembershipRole.MEMBER
    assert membership.saml_source.affiliations == ["staff@example.edu.cn"]
    event = AuditEvent.objects.get(action="membership.saml_affiliation_change", target_id=str(membership.pk))
    assert event.changes["affiliations"] == {
        "from": ["student@example.edu.cn"],
        "to": ["staff@example.edu.cn"],
    }

    # An alumnus is no longer a member.
    with django_capture_on_commit_callbacks(execute=True):
        result = carsi.sync_university_membership(
            person, app=app, attributes=affiliation("alum@example.edu.cn")
        )
    assert result == "removed"
    assert not Membership.objects.filter(user=person, organisation=university).exists()
    assert not SamlMembership.objects.exists()
    removal = AuditEvent.objects.get(action="membership.remove", target_id=str(membership.pk))
    assert removal.changes["role"] == {"from": "member", "to": None}
    assert "no longer asserted" in removal.reason
    assert any("no longer a member" in m.subject for m in mail.outbox if person.email in m.to)


def test_faculty_is_a_plain_member_never_a_manager(university):
    person = UserFactory()
    carsi.sync_university_membership(
        person,
        app=FakeApp(university.pk),
        attributes=affiliation("faculty@example.edu.cn", "member@example.edu.cn"),
    )
    membership = Membership.objects.get(user=person, organisation=university)
    assert membership.role == MembershipRole.MEMBER
    assert membership.saml_source.affiliations == ["faculty@example.edu.cn", "member@example.edu.cn"]


def test_a_scope_the_app_may_not_assert_is_ignored_and_audited(university):
    person = UserFactory()
    result = carsi.sync_university_membership(
        person, app=FakeApp(university.pk), attributes=affiliation("student@pku.edu.cn")
    )
    assert result == "unchanged"
    assert not Membership.objects.filter(user=person).exists()
    event = AuditEvent.objects.get(action="auth.saml_affiliation_ignored", target_id=str(person.pk))
    assert "student@pku.edu.cn" in event.reason and SCOPE in event.reason


def test_a_membership_from_elsewhere_is_never_changed_or_removed(university):
    owner = university.memberships.get().user
    person = UserFactory()
    invited = add_member(university, person)
    app = FakeApp(university.pk)
    assert (
        carsi.sync_university_membership(person, app=app, attributes=affiliation("student@example.edu.cn"))
        == "not_ours"
    )
    assert carsi.sync_university_membership(person, app=app, attributes={}) == "not_ours"
    assert carsi.sync_university_membership(owner, app=app, attributes={}) == "not_ours"
    invited.refresh_from_db()
    assert not SamlMembership.objects.exists()
    assert Membership.objects.get(user=owner, organisation=university).role == MembershipRole.OWNER


def test_a_membership_a_manager_promoted_stays(university):
    person = UserFactory()
    app = FakeApp(university.pk)
    carsi.sync_university_membership(person, app=app, attributes=affiliation("student@example.edu.cn"))
    Membership.objects.filter(user=person, organisation=university).update(role=MembershipRole.ADMIN)
    assert carsi.sync_university_membership(person, app=app, attributes={}) == "unchanged"
    assert Membership.objects.get(user=person, organisation=university).role == MembershipRole.ADMIN


def test_when_the_app_names_another_organisation_the_old_membership_goes(university):
    person = UserFactory()
    carsi.sync_university_membership(
        person, app=FakeApp(university.pk), attributes=affiliation("staff@example.edu.cn")
    )
    other = make_organisation(UserFactory(), kind=OrganisationKind.UNIVERSITY)
    carsi.sync_university_membership(
        person, app=FakeApp(other.uscc or other.pk), attributes=affiliation("staff@example.edu.cn")
    )
    assert list(Membership.objects.filter(user=person).values_list("organisation", flat=True)) == [other.pk]


def test_an_app_without_an_existing_organisation_changes_nothing(university):
    person = UserFactory()
    result = carsi.sync_university_membership(
        person, app=FakeApp(987654321), attributes=affiliation("student@example.edu.cn")
    )
    assert result == "not_configured"
    assert not Membership.objects.filter(user=person).exists()


def test_security_floor_of_every_saml_app():
    advanced = carsi.secure_settings(
        {
            "advanced": {
                "want_assertion_signed": False,
                "want_message_signed": False,
                "reject_deprecated_algorithm": False,
                "strict": False,
                "reject_idp_initiated_sso": False,
            }
        }
    )["advanced"]
    assert advanced["want_assertion_signed"] and advanced["want_message_signed"]
    assert (
        advanced["reject_deprecated_algorithm"]
        and advanced["strict"]
        and advanced["reject_idp_initiated_sso"]
    )
    # One of the two signatures may be waived (a Shibboleth default signs only the response), never both.
    advanced = carsi.secure_settings({"advanced": {"want_assertion_signed": False}})["advanced"]
    assert advanced["want_message_signed"] and not advanced["want_assertion_signed"]


def test_the_portal_uses_its_own_saml_provider_class():
    assert registry.get_class("saml") is carsi.CarsiSAMLProvider


def test_purge_forgets_only_expired_assertions(db):
    now = timezone.now()
    SamlAssertion.objects.create(
        issuer="i", assertion_id="old", app=SLUG, not_on_or_after=now - timedelta(minutes=1)
    )
    SamlAssertion.objects.create(
        issuer="i", assertion_id="new", app=SLUG, not_on_or_after=now + timedelta(minutes=5)
    )
    assert purge_saml_assertions_task.delay().get() == 1
    assert list(SamlAssertion.objects.values_list("assertion_id", flat=True)) == ["new"]


# --- through the portal's ACS, with real responses of the local identity provider ------------------------


def test_sp_metadata_asks_for_signed_assertions_without_asking_the_identity_provider(app, client):
    metadata = client.get(reverse("saml_metadata", args=[SLUG])).content.decode()
    assert 'WantAssertionsSigned="true"' in metadata
    assert f"http://{HOST}/accounts/saml/{SLUG}/acs/" in metadata


def test_a_student_signs_in_and_becomes_a_member(app, client, saml_idp, university):
    saml_idp.set_person("alice", affiliations=["student@example.edu.cn"], name="Alice Zhang")
    action, fields = start_sign_in(client, saml_idp, "alice")
    xml = decoded(fields)
    assert (
        len(re.findall(r"<(?:\w+:)?Signature[ >]", xml)) == 2
        and "rsa-sha256" in xml
        and 'rsa-sha1"' not in xml
    )

    page = post_answer(client, action, fields)
    assert page.status_code == 302, page.content[:800]
    person = signed_in_user(client)
    assert person is not None and person.email == "alice@example.edu.cn"
    assert person.name == "Alice Zhang"
    account = SocialAccount.objects.get(user=person)
    assert account.uid == "alice@example.edu.cn"
    membership = Membership.objects.get(user=person, organisation=university)
    assert membership.role == MembershipRole.MEMBER
    assert membership.saml_source.affiliations == ["student@example.edu.cn"]
    stored = SamlAssertion.objects.get()
    assert stored.app == SLUG and stored.issuer == saml_idp.entity_id
    assert timezone.now() < stored.not_on_or_after < timezone.now() + timedelta(minutes=11)
    assert "auth.sign_in" in actions(person)


def test_membership_follows_the_affiliation_at_each_sign_in(app, client, saml_idp, university):
    saml_idp.set_person("bob", affiliations=["student@example.edu.cn"])
    post_answer(client, *start_sign_in(client, saml_idp, "bob"))
    person = signed_in_user(client)
    assert Membership.objects.get(user=person, organisation=university).saml_source.affiliations == [
        "student@example.edu.cn"
    ]
    client.logout()

    saml_idp.set_person("bob", affiliations=["staff@example.edu.cn", "student@pku.edu.cn"])
    post_answer(client, *start_sign_in(client, saml_idp, "bob"))
    assert signed_in_user(client) == person
    assert Membership.objects.get(user=person, organisation=university).saml_source.affiliations == [
        "staff@example.edu.cn"
    ]
    assert AuditEvent.objects.filter(
        action="auth.saml_affiliation_ignored", target_id=str(person.pk)
    ).exists()
    client.logout()

    saml_idp.set_person("bob", affiliations=[])
    post_answer(client, *start_sign_in(client, saml_idp, "bob"))
    assert signed_in_user(client) == person
    assert not Membership.objects.filter(user=person, organisation=university).exists()


def test_a_replayed_response_is_refused(app, client, saml_idp, university):
    saml_idp.set_person("carol", affiliations=["student@example.edu.cn"])
    action, fields = start_sign_in(client, saml_idp, "carol")
    post_answer(client, action, fields)
    person = signed_in_user(client)
    assert person is not None
    client.logout()

    # The captured answer, posted again once the person has signed out.
    replay = post_answer(client, action, fields)
    assert replay.status_code == 400
    assert "already used" in replay.content.decode()
    assert signed_in_user(client) is None
    assert SamlAssertion.objects.count() == 1
    assert AuditEvent.objects.filter(action="auth.saml_replayed").exists()


def test_a_replay_is_refused_by_the_assertion_store_itself(app, client, saml_idp):
    """Even when allauth's own state check would let it through (the same response presented twice)."""
    saml_idp.set_person("dave", affiliations=["student@example.edu.cn"])
    action, fields = start_sign_in(client, saml_idp, "dave")
    request = RequestFactory(HTTP_HOST=HOST).post(urlsplit(action).path, fields)
    config = build_saml_config(request, carsi.secure_settings(app.settings), SLUG)
    auth = OneLogin_Saml2_Auth(prepare_django_request(request), config)
    auth.process_response(request_id=None)
    assert auth.is_authenticated() and not auth.get_errors()
    assert carsi.accept_assertion(app, auth, request=request) is True
    assert carsi.accept_assertion(app, auth, request=request) is False


def _refused(client, action, fields, xml: str):
    page = post_answer(client, action, {**fields, "SAMLResponse": encoded(xml)})
    assert page.status_code == 401, page.status_code
    assert signed_in_user(client) is None
    assert not User.objects.filter(email__endswith="@example.edu.cn").exists()
    assert not SamlAssertion.objects.exists()


def test_a_tampered_response_is_refused(app, client, saml_idp):
    saml_idp.set_person("erin", affiliations=["student@example.edu.cn"])
    action, fields = start_sign_in(client, saml_idp, "erin")
    _refused(
        client, action, fields, decoded(fields).replace("student@example.edu.cn", "faculty@example.edu.cn")
    )


def test_an_unsigned_response_is_refused(app, client, saml_idp):
    saml_idp.set_person("frank", affiliations=["student@example.edu.cn"])
    action, fields = start_sign_in(client, saml_idp, "frank")
    unsigned = re.sub(r"<(\w+:)?Signature[ >].*?</(\w+:)?Signature>", "", decoded(fields), flags=re.S)
    assert "Signature" not in unsigned
    _refused(client, action, fields, unsigned)


def test_a_response_whose_assertion_is_not_signed_is_refused(app, client, saml_idp):
    saml_idp.set_person("gina", affiliations=["student@example.edu.cn"])
    action, fields = start_sign_in(client, saml_idp, "gina")
    xml = decoded(fields)
    assertion_start = xml.index("Assertion ")
    # Remove the signature inside the assertion only (the response's own signature then breaks too: it covers
    # the assertion), which both checks refuse.
    head, tail = xml[:assertion_start], xml[assertion_start:]
    tail = re.sub(r"<(\w+:)?Signature[ >].*?</(\w+:)?Signature>", "", tail, count=1, flags=re.S)
    _refused(client, action, fields, head + tail)


def test_a_response_signed_by_another_key_is_refused(saml_idp, university, client):
    make_university_app(
        saml_idp, slug=SLUG, organisation=university.pk, certificate=saml_idp.other_certificate
    )
    saml_idp.register_service_provider(
        f"{SLUG}-{HOST}", client.get(reverse("saml_metadata", args=[SLUG])).content
    )
    saml_idp.set_person("hank", affiliations=["student@example.edu.cn"])
    action, fields = start_sign_in(client, saml_idp, "hank")
    _refused(client, action, fields, decoded(fields))


def test_an_expired_response_is_refused(app, client, saml_idp):
    saml_idp.set_person("iris", affiliations=["student@example.edu.cn"])
    action, fields = start_sign_in(client, saml_idp, "iris")
    later = (
        OneLogin_Saml2_Utils.now() + 3600
    )  # an hour later: past NotOnOrAfter (5 minutes) and the clock drift
    with mock.patch.object(OneLogin_Saml2_Utils, "now", return_value=later):
        _refused(client, action, fields, decoded(fields))


def test_python3_saml_verdicts_on_the_identity_providers_responses(app, client, saml_idp):
    """The checks themselves, with python3-saml and the settings the portal builds for the app."""
    saml_idp.set_person("jane", affiliations=["student@example.edu.cn"])
    action, fields = start_sign_in(client, saml_idp, "jane")
    request = RequestFactory(HTTP_HOST=HOST).post(urlsplit(action).path, fields)
    settings = OneLogin_Saml2_Settings(build_saml_config(request, carsi.secure_settings(app.settings), SLUG))
    data = prepare_django_request(request)

    def verdict(xml: str) -> tuple[bool, str]:
        response = OneLogin_Saml2_Response(settings, encoded(xml))
        return response.is_valid(data), str(response.get_error() or "")

    xml = decoded(fields)
    assert verdict(xml) == (True, "")
    ok, error = verdict(xml.replace("student@example.edu.cn", "staff@example.edu.cn"))
    assert not ok and "Signature validation failed" in error
    ok, error = verdict(re.sub(r"<(\w+:)?Signature[ >].*?</(\w+:)?Signature>", "", xml, flags=re.S))
    assert not ok and "ign" in error
    with mock.patch.object(OneLogin_Saml2_Utils, "now", return_value=OneLogin_Saml2_Utils.now() + 3600):
        ok, error = verdict(xml)
    assert not ok and "expired" in error.lower()


def test_an_operator_must_still_pass_totp_after_a_saml_sign_in(app, client, saml_idp, university):
    operator = UserFactory(email="kate@example.edu.cn")
    services.set_site_roles(operator, by=None, roles={"operator"})
    secret = generate_totp_secret()
    TOTP.activate(operator, secret)
    SocialAccount.objects.create(user=operator, provider=app.provider_id, uid="kate@example.edu.cn")
    saml_idp.set_person("kate", affiliations=["staff@example.edu.cn"])

    page = post_answer(client, *start_sign_in(client, saml_idp, "kate"))
    assert page.status_code == 302
    assert page["Location"] == reverse("mfa_authenticate")
    assert signed_in_user(client) is None
    # Not signed in yet: no membership from this sign-in either.
    assert not Membership.objects.filter(user=operator, organisation=university).exists()
    # The code given, the sign-in finishes, and only then does the university's affiliation count.
    code = format_hotp_value(hotp_value(secret, int(timezone.now().timestamp()) // 30))
    done = client.post(reverse("mfa_authenticate"), {"code": code})
    assert done.status_code == 302, done.content[:500]
    assert signed_in_user(client) == operator
    assert Membership.objects.get(user=operator, organisation=university).saml_source.affiliations == [
        "staff@example.edu.cn"
    ]


def test_only_the_sign_in_pages_may_send_forms_to_the_university(app, client, saml_idp):
    policy = client.get(reverse("account_login"))["Content-Security-Policy"]
    form_action = re.search(r"form-action ([^;]+)", policy).group(1).split()
    assert form_action == ["'self'", saml_idp.url]
    other = client.get("/")["Content-Security-Policy"]
    assert re.search(r"form-action ([^;]+)", other).group(1) == "'self'"


def test_affiliations_are_in_the_personal_data_export(university):
    person = UserFactory()
    carsi.sync_university_membership(
        person, app=FakeApp(university.pk), attributes=affiliation("student@example.edu.cn")
    )
    sections = {hook.name: hook.value for hook in hooks.get(hooks.PERSONAL_DATA)}
    exported = sections["university_affiliations"](person)
    assert exported[0]["organisation_id"] == university.pk
    assert exported[0]["affiliations"] == ["student@example.edu.cn"]


def test_a_response_nobody_asked_for_is_refused(app, client, saml_idp):
    saml_idp.set_person("lena", affiliations=["student@example.edu.cn"])
    entity_id = f"http://{HOST}/accounts/saml/{SLUG}/metadata/"
    page = requests.get(
        f"{saml_idp.url}/sso/unsolicited", params={"sp": entity_id, "user": "lena"}, timeout=10
    )
    assert page.status_code == 200, page.text[:500]
    action, fields = saml_form(page.text)
    assert "InResponseTo" not in decoded(fields)
    refused = post_answer(client, action, fields)
    assert refused.status_code == 401
    assert signed_in_user(client) is None
    assert not User.objects.filter(email="lena@example.edu.cn").exists()


def test_a_misconfigured_university_answers_a_clear_page_not_an_error(db, client, university):
    bad = SocialApp.objects.create(
        provider="saml",
        provider_id="saml-broken",
        name="Broken University",
        client_id="broken",
        settings={"carsi": {"organisation": university.pk}},
    )
    bad.sites.add(Site.objects.get_current())
    page = client.post(reverse("saml_login", args=["broken"]))
    assert page.status_code == 503
    assert "not set up correctly" in page.content.decode()


class StubAuth:
    """What accept_assertion reads from python3-saml's Auth after a valid response."""

    def __init__(self, assertion_id):
        self.assertion_id = assertion_id

    def get_last_assertion_id(self):
        return self.assertion_id

    def get_last_assertion_not_on_or_after(self):
        return int(timezone.now().timestamp()) + 300


def test_the_same_assertion_presented_concurrently_is_accepted_once(transactional_db):
    app = FakeApp(None)
    barrier = threading.Barrier(8)
    results = []

    def present():
        try:
            barrier.wait(5)
            results.append(carsi.accept_assertion(app, StubAuth("_same-assertion")))
        finally:
            connection.close()

    threads = [threading.Thread(target=present) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(10)
    assert sorted(results) == [False] * 7 + [True]
    assert SamlAssertion.objects.filter(assertion_id="_same-assertion").count() == 1
