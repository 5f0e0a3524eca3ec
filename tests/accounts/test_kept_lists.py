"""The API's organisation list, kept for each person (accounts/kept.py): each row says the reader's own role."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from rest_framework.test import APIClient

from accounts.models import Membership, MembershipRole
from tests.accounts.factories import UserFactory, add_member, make_verified_organisation

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("steady_minute")]
URL = "/api/v1/organisations/"


def _roles(client) -> dict:
    return {o["id"]: o["my_role"] for o in client.get(URL).json()["results"]}


def test_the_organisation_api_list_is_kept_per_person_until_an_organisation_or_membership_changes():
    alice, bob = UserFactory(), UserFactory()
    hers = make_verified_organisation(alice)
    membership = add_member(hers, bob)
    as_alice, as_bob = APIClient(), APIClient()
    as_alice.force_authenticate(alice)
    as_bob.force_authenticate(bob)
    assert _roles(as_alice) == {hers.pk: MembershipRole.OWNER}
    assert _roles(as_bob) == {hers.pk: MembershipRole.MEMBER}
    with CaptureQueriesContext(connection) as queries:
        assert _roles(as_bob) == {hers.pk: MembershipRole.MEMBER}
    assert not [q for q in queries.captured_queries if "accounts_organisation" in q["sql"]]
    # Bob becomes an administrator: his next page says so; Alice's is unchanged.
    membership = Membership.objects.get(pk=membership.pk)
    membership.role = MembershipRole.ADMIN
    membership.save()  # as the services do
    assert _roles(as_bob) == {hers.pk: MembershipRole.ADMIN}
    assert _roles(as_alice) == {hers.pk: MembershipRole.OWNER}
    # A renamed organisation shows for both.
    hers.name_en = "Harbour Robotics Group"
    hers.save()
    assert [o["name_en"] for o in as_alice.get(URL).json()["results"]] == ["Harbour Robotics Group"]
    assert [o["name_en"] for o in as_bob.get(URL).json()["results"]] == ["Harbour Robotics Group"]
