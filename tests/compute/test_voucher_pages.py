"""Voucher pages and API: who sees what, the operators' actions, statements (page and PDF), query counts."""

from datetime import date
from decimal import Decimal

import pytest
from django.urls import reverse

from accounts.models import EnterpriseSize
from compute.vouchers.models import Voucher, VoucherApplication, VoucherScheme
from compute.vouchers.services import ledger
from core.models import AuditEvent
from tests.accounts.factories import UserFactory, make_operator, make_verified_organisation
from tests.compute.factories import make_allocation
from tests.compute.test_vouchers import LAST_MONTH, TODAY, card_hours, scheme

pytestmark = pytest.mark.django_db


@pytest.fixture
def settled(operator):
    """An organisation with a voucher and a settled month."""
    owner = UserFactory()
    allocation = make_allocation(owner, amount=1000)
    voucher = ledger.grant_voucher(
        scheme(), allocation.organisation, amount=1000, by=operator, today=date(2026, 9, 1)
    )
    card_hours(allocation, 10)
    ledger.settle_month(LAST_MONTH, today=TODAY)
    return owner, allocation.organisation, voucher


@pytest.fixture
def operator(db, mfa):
    user = make_operator()
    mfa(user)
    return user


def test_members_see_their_vouchers_and_statement_others_get_404(client, settled):
    owner, organisation, voucher = settled
    client.force_login(owner)
    page = client.get(reverse("compute:voucher_index")).content.decode()
    assert voucher.code in page and "2026-10" in page
    detail = client.get(reverse("compute:voucher_detail", args=[voucher.pk])).content.decode()
    assert "-25.50" in detail or "25.50" in detail
    url = reverse("compute:statement", args=["2026-10"])
    statement = client.get(url, {"organisation": organisation.pk}).content.decode()
    assert "85.00" in statement and "59.50" in statement
    pdf = client.get(url, {"organisation": organisation.pk, "format": "pdf"})
    assert pdf["Content-Type"] == "application/pdf" and pdf.content.startswith(b"%PDF-")
    stranger = UserFactory()
    make_verified_organisation(stranger)
    client.force_login(stranger)
    assert client.get(reverse("compute:voucher_detail", args=[voucher.pk])).status_code == 404
    assert client.get(url, {"organisation": organisation.pk}).status_code == 404
    assert voucher.code not in client.get(reverse("compute:voucher_index")).content.decode()


@pytest.mark.parametrize("month", ["2026-13", "abc", "2026-1-1", "99999-01"])
def test_a_malformed_month_is_a_404(client, settled, month):
    owner, organisation, _ = settled
    client.force_login(owner)
    response = client.get(reverse("compute:statement", args=[month]), {"organisation": organisation.pk})
    assert response.status_code == 404


def test_a_small_enterprise_applies_on_the_page_and_the_operator_decides(client, operator):
    owner = UserFactory()
    organisation = make_verified_organisation(owner, size=EnterpriseSize.MICRO)
    city = scheme(small_enterprises_only=True)
    client.force_login(owner)
    index = client.get(reverse("compute:voucher_index")).content.decode()
    assert reverse("compute:voucher_apply", args=[city.pk]) in index
    bad = client.post(
        reverse("compute:voucher_apply", args=[city.pk]),
        {"organisation": organisation.pk, "amount": "-3", "statement": "x"},
    )
    assert bad.status_code == 200 and not VoucherApplication.objects.exists()
    response = client.post(
        reverse("compute:voucher_apply", args=[city.pk]),
        {"organisation": organisation.pk, "amount": "8000", "statement": "Train a model for port logistics."},
    )
    assert response.status_code == 302
    application = VoucherApplication.objects.get()
    client.force_login(owner)
    refused = client.post(
        reverse("compute:voucher_application_decide", args=[application.pk]), {"decision": "approve"}
    )
    assert refused.status_code == 403
    client.force_login(operator)
    queue = client.get(reverse("compute:voucher_operations")).content.decode()
    assert "Train a model for port logistics." in queue
    client.post(
        reverse("compute:voucher_application_decide", args=[application.pk]),
        {"decision": "approve", "amount": "6000"},
    )
    application.refresh_from_db()
    assert application.status == "approved" and application.voucher.amount == Decimal("6000.00")


def test_a_large_enterprise_is_told_why_it_cannot_apply(client, operator):
    owner = UserFactory()
    make_verified_organisation(owner, size=EnterpriseSize.LARGE)
    scheme(small_enterprises_only=True)
    client.force_login(owner)
    page = client.get(reverse("compute:voucher_index")).content.decode()
    assert "small and micro enterprises" in page
    assert "/apply/" not in page


def test_operators_create_schemes_and_grant_supervisors_only_read(client, operator, supervisor, mfa):
    client.force_login(operator)
    response = client.post(
        reverse("compute:scheme_create"),
        {
            "name_zh": "区算力券",
            "name_en": "District voucher",
            "issuer": "district",
            "issuer_name": "滨海新区",
            "subsidy_ratio": "0.2",
            "cap_per_organisation": "10000",
            "total_budget": "500000",
            "valid_from": "2026-01-01",
            "valid_until": "2027-12-31",
            "voucher_validity_days": "365",
            "is_active": "on",
        },
    )
    assert response.status_code == 302, response.content.decode()[:3000]
    created = VoucherScheme.objects.get(name_en="District voucher")
    assert AuditEvent.objects.filter(action="voucher_scheme.create", target_id=str(created.pk)).exists()
    organisation = make_verified_organisation(UserFactory())
    response = client.post(
        reverse("compute:voucher_grant"),
        {"scheme": created.pk, "organisation": organisation.pk, "amount": "2500"},
    )
    assert response.status_code == 302
    assert Voucher.objects.get().organisation == organisation
    mfa(supervisor)
    client.force_login(supervisor)
    assert client.get(reverse("compute:voucher_operations")).status_code == 200
    assert client.get(reverse("compute:voucher_grant")).status_code == 403
    assert client.post(reverse("compute:scheme_create"), {}).status_code == 403


def test_a_grant_to_an_unknown_organisation_is_a_form_error(client, operator):
    city = scheme()
    client.force_login(operator)
    response = client.post(
        reverse("compute:voucher_grant"), {"scheme": city.pk, "organisation": "999999", "amount": "10"}
    )
    assert response.status_code == 200 and not Voucher.objects.exists()
    assert "No verified organisation has this number." in response.content.decode()


def test_voucher_lists_keep_a_constant_number_of_queries(client, operator, django_assert_max_num_queries):
    owner = UserFactory()
    organisation = make_verified_organisation(owner)
    city = scheme()

    def grant(n):
        for _ in range(n):
            ledger.grant_voucher(city, organisation, amount=10, by=operator)

    grant(2)
    client.force_login(owner)
    with django_assert_max_num_queries(20) as few:
        client.get(reverse("compute:voucher_index"))
    client.force_login(operator)
    with django_assert_max_num_queries(25) as few_ops:
        client.get(reverse("compute:voucher_operations"))
    grant(15)
    client.force_login(owner)
    with django_assert_max_num_queries(len(few.captured_queries)):
        client.get(reverse("compute:voucher_index"))
    client.force_login(operator)
    with django_assert_max_num_queries(len(few_ops.captured_queries)):
        client.get(reverse("compute:voucher_operations"))


def test_the_api_shows_own_vouchers_with_their_ledger_and_hides_others(api_client, settled):
    owner, organisation, voucher = settled
    other = make_verified_organisation(UserFactory())
    ledger.grant_voucher(scheme(name_en="Other"), other, amount=10, by=make_operator(), today=TODAY)
    api_client.force_authenticate(owner)
    listed = api_client.get("/api/v1/vouchers/").json()["results"]
    assert [v["code"] for v in listed] == [voucher.code]
    assert listed[0]["balance"] == "974.50"
    detail = api_client.get(f"/api/v1/vouchers/{voucher.pk}/").json()
    assert [e["kind"] for e in detail["entries"]] == ["grant", "redemption"]
    settlements = api_client.get("/api/v1/settlements/").json()["results"]
    assert [(s["cost"], s["subsidy"], s["payable"]) for s in settlements] == [("85.00", "25.50", "59.50")]
    foreign = Voucher.objects.get(organisation=other)
    assert api_client.get(f"/api/v1/vouchers/{foreign.pk}/").status_code == 404


def test_the_api_applies_and_only_operators_decide(api_client, operator):
    owner = UserFactory()
    organisation = make_verified_organisation(owner, size=EnterpriseSize.SMALL)
    city = scheme()
    api_client.force_authenticate(owner)
    bad = api_client.post(
        "/api/v1/voucher-applications/",
        {"organisation": organisation.pk, "scheme": city.pk, "amount": "0", "statement": "x"},
        format="json",
    )
    assert bad.status_code == 400 and not VoucherApplication.objects.exists()
    created = api_client.post(
        "/api/v1/voucher-applications/",
        {"organisation": organisation.pk, "scheme": city.pk, "amount": "900", "statement": "Inference."},
        format="json",
    )
    assert created.status_code == 201, created.json()
    pk = created.json()["id"]
    assert (
        api_client.post(f"/api/v1/voucher-applications/{pk}/approve/", {}, format="json").status_code == 403
    )
    api_client.force_authenticate(operator)
    rejected = api_client.post(f"/api/v1/voucher-applications/{pk}/reject/", {"reason": ""}, format="json")
    assert rejected.status_code == 400
    approved = api_client.post(
        f"/api/v1/voucher-applications/{pk}/approve/", {"amount": "500"}, format="json"
    )
    assert approved.status_code == 200 and approved.json()["status"] == "approved"
    assert Voucher.objects.get().amount == Decimal("500.00")


def test_the_statement_link_without_an_organisation_opens_the_one_that_has_it(client, settled):
    owner, organisation, _ = settled
    make_verified_organisation(owner, name_zh="另一家公司")  # a second organisation without statements
    client.force_login(owner)
    page = client.get(reverse("compute:statement", args=["2026-10"])).content.decode()
    assert organisation.display_name in page and "85.00" in page


def test_the_statement_lists_the_month_s_jobs_and_exports_them(client, settled):
    owner, organisation, _ = settled
    client.force_login(owner)
    url = reverse("compute:statement", args=["2026-10"])
    page = client.get(url, {"organisation": organisation.pk}).content.decode()
    assert "<code>1</code>" in page  # the job id
    response = client.get(url, {"organisation": organisation.pk, "format": "csv"})
    lines = b"".join(response.streaming_content).decode("utf-8-sig").strip().splitlines()
    assert lines[0].startswith("job,allocation,cluster_user")
    (job,) = lines[1:]
    assert job.startswith("1,") and job.endswith(",10.0000,card_hour,8.5000,85.00")
