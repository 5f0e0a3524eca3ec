"""OpenID Connect single sign-on against a real provider (tests/sso/oidc_idp.mjs, the npm package
oidc-provider): the whole redirect flow with the test client as the browser, the token exchange going over HTTP
to the provider. Claims through the app's mapping, no automatic linking, refused unverified email, state
mismatch, a provider that is down, organisations from a claim, TOTP for staff, unlinking and audit."""

import re
from urllib.parse import urlsplit

import pytest
from allauth.account.models import EmailAddress
from allauth.mfa.totp.internal.auth import TOTP, format_hotp_value, generate_totp_secret, hotp_value
from allauth.socialaccount.models import SocialAccount, SocialApp
from django.contrib.sites.models import Site
from django.core import mail
from django.urls import reverse
from django.utils import timezone

from accounts import privacy, services
from accounts.models import Membership, MembershipRole, OrganisationKind, User
from core.models import AuditEvent
from tests.accounts.factories import UserFactory, add_member, make_organisation
from tests.sso import oidc
from tests.sso.oidc import make_oidc_app, query, sign_in_at_provider

oidc_idp = oidc.oidc_idp  # the session's local OpenID provider (a fixture)

PROVIDER = "example-institute"


@pytest.fixture
def institute(db):
    return make_organisation(
        UserFactory(),
        kind=OrganisationKind.RESEARCH_INSTITUTE,
        name_zh="示例研究院",
        name_en="Example Institute",
    )


@pytest.fixture
def app(oidc_idp, db):
    return make_oidc_app(oidc_idp, provider_id=PROVIDER)


def login_url(provider_id: str = PROVIDER) -> str:
    return reverse("openid_connect_login", kwargs={"provider_id": provider_id})


def start(client, *, process: str = "login"):
    answer = client.post(login_url(), {"process": process})
    assert answer.status_code == 302, answer.content[:500]
    return answer["Location"]


def finish(client, callback: str):
    """The browser arrives back at the portal's callback (then follows the portal's own redirects)."""
    parts = urlsplit(callback)
    return client.get(f"{parts.path}?{parts.query}")


def sign_in(client, idp, login: str):
    return finish(client, sign_in_at_provider(start(client), login))


def signed_in_user(client) -> User | None:
    user_id = client.session.get("_auth_user_id")
    return User.objects.get(pk=user_id) if user_id else None


def actions(user) -> list[str]:
    return list(
        AuditEvent.objects.filter(target_type__model="user", target_id=str(user.pk)).values_list(
            "action", flat=True
        )
    )


# --- the whole flow ----------------------------------------------------------------------------------------


def test_a_new_person_signs_in_and_the_claims_fill_their_account(app, client, oidc_idp):
    oidc_idp.set_person("alice", email="alice@inst.example.cn", email_verified=True, name="Alice Zhang")

    authorize = start(client)
    assert authorize.startswith(f"{oidc_idp.issuer}/auth?")
    asked = query(authorize)
    assert asked["client_id"] == app.client_id
    assert asked["redirect_uri"] == f"http://testserver/accounts/oidc/{PROVIDER}/login/callback/"
    assert asked["state"] and asked["code_challenge_method"] == "S256"  # PKCE on
    assert set(asked["scope"].split()) >= {"openid", "email", "profile"}

    done = finish(client, sign_in_at_provider(authorize, "alice"))
    assert done.status_code == 302, done.content[:500]
    person = signed_in_user(client)
    assert person is not None and person.email == "alice@inst.example.cn"
    assert person.name == "Alice Zhang"
    assert EmailAddress.objects.get(user=person).verified  # the provider vouched for it
    account = SocialAccount.objects.get(user=person)
    assert account.provider == PROVIDER and account.uid == "alice"
    assert "auth.sign_in" in actions(person)
    # The provider's tokens are not kept.
    assert not account.socialtoken_set.exists()


def test_the_claims_the_operator_mapped_are_used(oidc_idp, client, db):
    make_oidc_app(
        oidc_idp,
        provider_id=PROVIDER,
        claims={
            "uid": "preferred_username",
            "email": "mail.work",
            "email_verified": "mail.ok",
            "name": "org",
        },
    )
    oidc_idp.set_person(
        "bo",
        preferred_username="bo.li",
        mail={"work": "bo@inst.example.cn", "ok": "true"},
        org="Li Bo (Lab 3)",
    )
    sign_in(client, oidc_idp, "bo")
    person = signed_in_user(client)
    assert person.email == "bo@inst.example.cn" and person.name == "Li Bo (Lab 3)"
    assert SocialAccount.objects.get(user=person).uid == "bo.li"


def test_an_email_the_provider_does_not_vouch_for_is_refused(app, client, oidc_idp):
    oidc_idp.set_person("mallory", email="boss@inst.example.cn", email_verified=False, name="Not The Boss")
    page = sign_in(client, oidc_idp, "mallory")
    assert page.status_code == 403
    assert "did not confirm that the email address" in page.content.decode()
    assert signed_in_user(client) is None
    assert not User.objects.filter(email="boss@inst.example.cn").exists()
    assert not SocialAccount.objects.exists()
    assert AuditEvent.objects.filter(action="auth.sso_refused").exists()


def test_an_existing_account_is_never_linked_by_email_alone(
    app, client, oidc_idp, django_capture_on_commit_callbacks
):
    owner = UserFactory(email="carol@inst.example.cn")
    assert EmailAddress.objects.get(user=owner, email=owner.email).verified
    oidc_idp.set_person("carol", email="carol@inst.example.cn", email_verified=True, name="Carol")

    with django_capture_on_commit_callbacks(execute=True):
        sign_in(client, oidc_idp, "carol")
    # Not signed into the existing account, nothing linked, no second account: the page says a message went
    # to the address (it does not tell a stranger whether the address has an account), and the owner is told
    # that someone tried, and to sign in first and link from "Linked sign-ins" if it was them.
    assert signed_in_user(client) is None
    assert not SocialAccount.objects.exists()
    assert User.objects.filter(email="carol@inst.example.cn").count() == 1
    told = [message for message in mail.outbox if owner.email in message.to]
    assert told, [message.subject for message in mail.outbox]


def test_the_owner_links_the_provider_after_signing_in_and_can_unlink_it(app, client, oidc_idp, settings):
    owner = UserFactory(email="dan@example.cn")
    assert EmailAddress.objects.get(user=owner, email=owner.email).verified
    owner.set_password("a-long-password-1")
    owner.save()
    client.post(reverse("account_login"), {"login": owner.email, "password": "a-long-password-1"})
    assert signed_in_user(client) == owner
    oidc_idp.set_person("dan", email="dan.w@inst.example.cn", email_verified=True, name="Dan")

    done = finish(client, sign_in_at_provider(start(client, process="connect"), "dan"))
    # Linking asks for the account's password again, even right after signing in: proof that the person at
    # the keyboard owns the account the identity is linked to.
    assert done.status_code == 302 and done["Location"] == reverse("account_reauthenticate")
    assert not SocialAccount.objects.exists()
    wrong = client.post(reverse("account_reauthenticate"), {"password": "not-the-password"})
    assert wrong.status_code == 200 and not SocialAccount.objects.exists()
    done = client.post(reverse("account_reauthenticate"), {"password": "a-long-password-1"})
    assert done.status_code == 302, done.content[:300]
    account = SocialAccount.objects.get(provider=PROVIDER)
    assert account.user == owner and account.uid == "dan"
    assert "auth.sso_linked" in actions(owner)
    page = client.get(reverse("socialaccount_connections"))
    assert page.status_code == 200 and "Example Institute" in page.content.decode()

    # Unlinking: the account keeps a password and a verified email, so it may go.
    gone = client.post(reverse("socialaccount_connections"), {"account": account.pk})
    assert gone.status_code == 302
    assert not SocialAccount.objects.filter(pk=account.pk).exists()
    assert "auth.sso_unlinked" in actions(owner)


def test_the_last_sign_in_of_an_account_without_password_cannot_be_unlinked(app, client, oidc_idp):
    oidc_idp.set_person("erin", email="erin@inst.example.cn", email_verified=True, name="Erin")
    sign_in(client, oidc_idp, "erin")
    person = signed_in_user(client)
    account = SocialAccount.objects.get(user=person)
    assert not person.has_usable_password()
    page = client.post(reverse("socialaccount_connections"), {"account": account.pk})
    assert page.status_code == 200
    assert SocialAccount.objects.filter(pk=account.pk).exists()
    assert "password" in page.content.decode().lower()


def test_a_state_that_does_not_match_is_refused(app, client, oidc_idp):
    oidc_idp.set_person("frank", email="frank@inst.example.cn", email_verified=True, name="Frank")
    callback = sign_in_at_provider(start(client), "frank")
    forged = re.sub(r"state=[^&]+", "state=forged-state-value", callback)
    page = finish(client, forged)
    assert page.status_code == 401  # allauth's authentication error page
    assert signed_in_user(client) is None
    assert not User.objects.filter(email="frank@inst.example.cn").exists()
    # A callback for a sign-in this browser never started is refused the same way.
    other = client_for_someone_else(client)
    page = finish(other, callback)
    assert signed_in_user(other) is None
    assert not User.objects.filter(email="frank@inst.example.cn").exists()


def client_for_someone_else(client):
    from django.test import Client

    return Client()


def test_a_provider_that_is_down_gets_a_clear_page(oidc_idp, client, db):
    make_oidc_app(oidc_idp, provider_id=PROVIDER, issuer="http://127.0.0.1:9")  # nothing listens on port 9
    page = client.post(login_url())
    assert page.status_code == 503
    assert "cannot be reached" in page.content.decode()
    assert AuditEvent.objects.filter(action="auth.sso_failed").exists()


def test_a_code_used_twice_signs_nobody_in_the_second_time(app, client, oidc_idp):
    oidc_idp.set_person("gina", email="gina@inst.example.cn", email_verified=True, name="Gina")
    callback = sign_in_at_provider(start(client), "gina")
    finish(client, callback)
    assert signed_in_user(client) is not None
    client.logout()
    page = finish(client, callback)
    assert signed_in_user(client) is None
    assert page.status_code == 401  # allauth's authentication error page


def test_an_operator_must_still_pass_totp(app, client, oidc_idp):
    operator = UserFactory(email="harry@inst.example.cn")
    services.set_site_roles(operator, by=None, roles={"operator"})
    secret = generate_totp_secret()
    TOTP.activate(operator, secret)
    SocialAccount.objects.create(user=operator, provider=PROVIDER, uid="harry")
    oidc_idp.set_person("harry", email="harry@inst.example.cn", email_verified=True, name="Harry")

    page = sign_in(client, oidc_idp, "harry")
    assert page.status_code == 302 and page["Location"] == reverse("mfa_authenticate")
    assert signed_in_user(client) is None
    code = format_hotp_value(hotp_value(secret, int(timezone.now().timestamp()) // 30))
    done = client.post(reverse("mfa_authenticate"), {"code": code})
    assert done.status_code == 302
    assert signed_in_user(client) == operator


# --- organisations from a claim -----------------------------------------------------------------------------


def test_the_organisation_claim_makes_a_plain_member_and_follows_each_sign_in(
    oidc_idp, client, institute, django_capture_on_commit_callbacks
):
    make_oidc_app(
        oidc_idp,
        provider_id=PROVIDER,
        claims={"organisation": "org"},
        organisations={"INST-01": institute.pk},
    )
    oidc_idp.set_person("ivy", email="ivy@inst.example.cn", email_verified=True, name="Ivy", org="INST-01")
    with django_capture_on_commit_callbacks(execute=True):
        sign_in(client, oidc_idp, "ivy")
    person = signed_in_user(client)
    membership = Membership.objects.get(user=person, organisation=institute)
    assert membership.role == MembershipRole.MEMBER
    assert membership.saml_source.app == f"oidc:{PROVIDER}"
    assert mail.outbox and "Example Institute" in mail.outbox[-1].subject

    # The provider no longer names the organisation: the membership it made ends at the next sign-in.
    client.logout()
    oidc_idp.set_person("ivy", email="ivy@inst.example.cn", email_verified=True, name="Ivy", org="")
    sign_in(client, oidc_idp, "ivy")
    assert signed_in_user(client) == person
    assert not Membership.objects.filter(user=person, organisation=institute).exists()


def test_an_organisation_the_app_does_not_map_gives_no_membership(oidc_idp, client, institute):
    make_oidc_app(
        oidc_idp, provider_id=PROVIDER, claims={"organisation": "org"}, organisations={"INST-01": "0"}
    )
    oidc_idp.set_person(
        "jack", email="jack@inst.example.cn", email_verified=True, name="Jack", org=str(institute.pk)
    )
    sign_in(client, oidc_idp, "jack")
    assert not Membership.objects.filter(user=signed_in_user(client)).exists()


def test_a_membership_from_elsewhere_is_never_removed_by_a_sign_in(oidc_idp, client, institute):
    make_oidc_app(
        oidc_idp,
        provider_id=PROVIDER,
        claims={"organisation": "org"},
        organisations={"INST-01": institute.pk},
    )
    person = UserFactory(email="kim@inst.example.cn")
    add_member(institute, person, MembershipRole.MEMBER)
    SocialAccount.objects.create(user=person, provider=PROVIDER, uid="kim")
    oidc_idp.set_person("kim", email="kim@inst.example.cn", email_verified=True, name="Kim", org="")
    sign_in(client, oidc_idp, "kim")
    assert signed_in_user(client) == person
    assert Membership.objects.filter(user=person, organisation=institute).exists()


# --- pages, privacy ----------------------------------------------------------------------------------------


def test_the_sign_in_page_offers_the_provider_and_may_send_forms_to_it(app, client, oidc_idp):
    page = client.get(reverse("account_login"))
    assert "Example Institute" in page.content.decode()
    form_action = re.search(r"form-action ([^;]+)", page["Content-Security-Policy"]).group(1).split()
    assert oidc_idp.issuer in form_action
    assert re.search(r"form-action ([^;]+)", client.get("/")["Content-Security-Policy"]).group(1) == "'self'"


def test_a_provider_for_another_site_is_not_offered(oidc_idp, client, db):
    app = make_oidc_app(oidc_idp, provider_id=PROVIDER)
    app.sites.clear()
    app.sites.add(Site.objects.create(domain="other.example.cn", name="other"))
    assert "Example Institute" not in client.get(reverse("account_login")).content.decode()
    assert client.post(login_url()).status_code == 404


def test_linked_sign_ins_are_exported_and_erased_with_the_account(app, client, oidc_idp):
    oidc_idp.set_person("lee", email="lee@inst.example.cn", email_verified=True, name="Lee")
    sign_in(client, oidc_idp, "lee")
    person = signed_in_user(client)
    exported = privacy.collect_personal_data(person)["linked_sign_ins"]
    assert exported[0]["provider"] == PROVIDER and exported[0]["identifier"] == "lee"
    privacy.delete_account(person)
    assert not SocialAccount.objects.filter(user=person).exists()


def test_the_app_secret_is_not_readable_by_supervisors(app):
    from core.roles import SECRET_MODELS

    assert ("socialaccount", "socialapp") in SECRET_MODELS
    assert SocialApp.objects.get(pk=app.pk).secret  # kept, for the token exchange


def test_the_account_menu_offers_linked_sign_ins_only_when_a_provider_is_configured(oidc_idp, client, db):
    person = UserFactory()
    client.force_login(person)
    link = reverse("socialaccount_connections")
    assert f'href="{link}"' not in client.get("/").content.decode()
    make_oidc_app(oidc_idp, provider_id=PROVIDER)  # the cached answer is forgotten at once
    assert f'href="{link}"' in client.get("/").content.decode()


def test_linked_sign_ins_lists_every_way_to_sign_in(app, client, oidc_idp):
    person = UserFactory(email="mo@example.cn")
    client.force_login(person)
    SocialAccount.objects.create(user=person, provider=PROVIDER, uid="mo-at-institute")
    page = client.get(reverse("socialaccount_connections")).content.decode()
    assert "mo@example.cn" in page and "verified" in page
    assert "Example Institute" in page  # the linked provider, and the button to link another
    assert reverse("account_change_password") in page and reverse("mfa_index") in page
