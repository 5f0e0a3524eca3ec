"""The crawl's world for this platform builds, and every page it points at answers for the personas."""

import pytest
from django.urls import reverse

from tests.accounts.factories import UserFactory, make_operator, make_supervisor, make_verified_organisation
from tests.projects import world as projects_world

pytestmark = pytest.mark.django_db


def test_world_builds_and_pages_answer(client, mfa):
    member = UserFactory()
    organisation = make_verified_organisation(member)
    world = {
        "operator": mfa(make_operator()),
        "supervisor": mfa(make_supervisor()),
        "member": member,
        "values": {},
        "personas": {},
    }
    projects_world.build(world, organisation=organisation)
    values = world["values"]
    pages = {
        # the third application is another organisation's
        member: [
            reverse("projects:application_detail", args=[pk])
            for pk in values["application"]
            if pk != values["application"][2]
        ]
        + [reverse("projects:project_detail", args=[values["incubated"][1]]), reverse("projects:showcase")],
        world["personas"]["reviewer"]: [reverse("projects:review_form", args=[pk]) for pk in values["review"]]
        + [reverse("projects:project_detail", args=[values["incubated"][0]])],
        world["operator"]: [reverse("projects:application_detail", args=[pk]) for pk in values["application"]]
        + [reverse("projects:call_ranking", args=[values["call"][0]])]
        + [reverse("projects:project_detail", args=[pk]) for pk in values["incubated"]],
    }
    for person, urls in pages.items():
        client.force_login(person)
        for url in urls:
            assert client.get(url).status_code == 200, url
    client.force_login(member)
    assert (
        client.get(reverse("projects:application_edit", args=[values["application"][0]])).status_code == 200
    )
