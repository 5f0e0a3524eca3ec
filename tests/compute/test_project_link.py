"""A quota request may name the incubated project it serves (same organisation, still incubating)."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse
from django.utils import timezone

from compute.models import Issuer, QuotaRequest, VoucherScheme
from core.models import AuditEvent
from projects.services import incubation
from tests.accounts.factories import UserFactory, make_verified_organisation
from tests.compute.factories import PartitionFactory, make_quota_request
from tests.projects.factories import accepted, make_call, make_mentor, make_programme, operator

pytestmark = pytest.mark.django_db


def _project(owner):
    return accepted(owner).project


def test_a_request_for_an_incubated_project_is_linked_and_audited():
    owner = UserFactory()
    project = _project(owner)
    quota_request = make_quota_request(owner, project.organisation, project=project, submit=False)
    assert quota_request.project == project
    assert list(project.quota_requests.all()) == [quota_request]
    event = AuditEvent.objects.get(action="quota_request.create", target_id=str(quota_request.pk))
    assert event.changes["project"] == {"from": None, "to": project.title}


def test_another_organisation_s_project_is_refused_and_nothing_is_filed():
    owner = UserFactory()
    project = _project(UserFactory())
    organisation = make_verified_organisation(owner)
    with pytest.raises(ValidationError) as error:
        make_quota_request(owner, organisation, project=project, submit=False)
    assert "project" in error.value.message_dict
    assert not QuotaRequest.objects.exists()


def test_a_terminated_project_takes_no_more_compute():
    owner = UserFactory()
    project = _project(owner)
    project = incubation.set_project_status(project, "terminated", by=operator(), reason="The team left.")
    with pytest.raises(ValidationError) as error:
        make_quota_request(owner, project.organisation, project=project, submit=False)
    assert error.value.message_dict["project"] == ["This project is no longer being incubated."]


def test_the_form_offers_the_organisation_s_projects_and_prefills_from_the_project_link(client):
    owner = UserFactory()
    project = _project(owner)
    PartitionFactory()
    client.force_login(owner)
    page = client.get(reverse("compute:request_create"), {"project": project.pk}).content.decode()
    assert f'<option value="{project.pk}" selected>' in page
    assert project.title in page


def test_filing_through_the_page_links_the_project(client):
    owner = UserFactory()
    project = _project(owner)
    partition = PartitionFactory()
    today = timezone.localdate()
    client.force_login(owner)
    response = client.post(
        reverse("compute:request_create"),
        {
            "organisation": project.organisation_id,
            "kind": "new",
            "partition": partition.pk,
            "amount": "100",
            "start_date": today.isoformat(),
            "end_date": (today + timedelta(days=30)).isoformat(),
            "purpose": "Fine-tune the triage model",
            "justification": "Four cards for a week.",
            "project": project.pk,
            "members-TOTAL_FORMS": "1",
            "members-INITIAL_FORMS": "0",
            "members-0-user": owner.pk,
        },
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    assert QuotaRequest.objects.get().project == project


def test_the_api_accepts_a_visible_project_and_hides_others(api_client):
    owner = UserFactory()
    project = _project(owner)
    foreign = _project(UserFactory())
    partition = PartitionFactory()
    today = timezone.localdate()
    api_client.force_authenticate(owner)
    payload = {
        "organisation": project.organisation_id,
        "partition": partition.slug,
        "amount": "50",
        "start_date": today.isoformat(),
        "end_date": (today + timedelta(days=30)).isoformat(),
        "purpose": "Inference service",
        "justification": "Two cards.",
        "members": [{"user": owner.email}],
    }
    refused = api_client.post("/api/v1/quota-requests/", {**payload, "project": foreign.pk}, format="json")
    assert refused.status_code == 400 and "project" in refused.json()
    assert not QuotaRequest.objects.exists()
    created = api_client.post("/api/v1/quota-requests/", {**payload, "project": project.pk}, format="json")
    assert created.status_code == 201, created.json()
    assert created.json()["project"] == project.pk


def test_the_project_page_offers_compute_to_its_managers_with_its_voucher(client):

    VoucherScheme.objects.create(
        name_zh="孵化项目算力券",
        name_en="Incubation vouchers",
        issuer=Issuer.CITY,
        issuer_name="滨海市",
        subsidy_ratio=Decimal("1"),
        cap_per_organisation=Decimal("100000"),
        total_budget=Decimal("1000000"),
        valid_from=timezone.localdate() - timedelta(days=30),
        valid_until=timezone.localdate() + timedelta(days=365),
        for_incubated_projects=True,
    )
    owner = UserFactory()
    project = accepted(owner, call=make_call(make_programme(voucher_amount=Decimal("20000")))).project
    voucher = project.vouchers.get()
    client.force_login(owner)
    page = client.get(project.get_absolute_url()).content.decode()
    assert f"{reverse('compute:request_create')}?project={project.pk}" in page
    assert voucher.code in page
    mentor = make_mentor()
    incubation.add_mentor(project, mentor, by=operator())
    client.force_login(mentor)
    page = client.get(project.get_absolute_url()).content.decode()
    assert "?project=" not in page  # mentors advise; the organisation's managers request compute
