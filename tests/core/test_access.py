"""The one rule for "may this person manage this organisation"."""

import pytest
from django.contrib.auth.models import AnonymousUser
from django.core.exceptions import PermissionDenied

from accounts import access
from accounts.models import Membership, MembershipRole
from core.exceptions import NotAllowed
from core.roles import SiteRole
from tests.accounts.factories import UserFactory, make_operator, make_organisation, make_supervisor

pytestmark = pytest.mark.django_db


def _member(organisation, role):
    person = UserFactory()
    Membership.objects.create(organisation=organisation, user=person, role=role)
    return person


def test_owners_and_administrators_manage_members_do_not(user):
    organisation = make_organisation(user)
    admin = _member(organisation, MembershipRole.ADMIN)
    member = _member(organisation, MembershipRole.MEMBER)
    assert access.manages(user, organisation) and access.manages(admin, organisation.pk)
    assert not access.manages(member, organisation)
    assert access.require_manager(organisation, admin).user == admin
    with pytest.raises(NotAllowed, match="owners and administrators"):
        access.require_manager(organisation, member)
    with pytest.raises(NotAllowed, match="Only ask the owner"):
        access.require_manager(organisation.pk, member, message="Only ask the owner")


def test_another_organisation_and_anonymous_people_manage_nothing(user):
    organisation = make_organisation(user)
    stranger = UserFactory()
    make_organisation(stranger)
    assert not access.manages(stranger, organisation)
    assert not access.manages(AnonymousUser(), organisation)


def test_a_supervisor_changes_nothing_even_in_their_own_organisation():
    supervisor = make_supervisor()
    organisation = make_organisation(supervisor)
    assert not access.manages(supervisor, organisation)
    with pytest.raises(NotAllowed):
        access.require_manager(organisation, supervisor)
    # A supervisor who is also an operator acts as an operator.
    supervisor.groups.add(*make_operator().groups.filter(name=SiteRole.OPERATOR))
    supervisor = type(supervisor).objects.get(pk=supervisor.pk)
    assert access.manages(supervisor, organisation)


def test_only_operators_pass_require_operator(user):
    with pytest.raises(NotAllowed):
        access.require_operator(user)
    with pytest.raises(NotAllowed):
        access.require_operator(make_supervisor())
    access.require_operator(make_operator())


def test_not_allowed_is_a_403_for_views_too():
    assert issubclass(NotAllowed, PermissionDenied)
