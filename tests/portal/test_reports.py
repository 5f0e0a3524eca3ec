"""The supervisors' reports: figures that match the rows beneath them, exports, access; the public
transparency page shows aggregates and nothing personal."""

from datetime import date, timedelta
from decimal import Decimal
from io import BytesIO

import pytest
from django.conf import settings
from django.core.cache import cache
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.translation import gettext as _
from openpyxl import load_workbook

from accounts.models import Sector
from compute.models import Allocation, DailyUsage, LedgerEntry
from compute.services import requests as request_services
from compute.vouchers.services import ledger as vouchers
from portal import reports
from talent.models import Certificate, Enrolment
from tests.accounts.factories import UserFactory, make_operator, make_verified_organisation
from tests.alliance.factories import make_alliance_member
from tests.compute.factories import make_allocation, make_quota_request
from tests.compute.test_vouchers import LAST_MONTH, TODAY, card_hours, scheme
from tests.projects.factories import accepted, make_application
from tests.talent.test_pool import _certified

pytestmark = pytest.mark.django_db
THIS_YEAR = (date(2026, 1, 1), date(2026, 12, 31))


@pytest.fixture
def staff(mfa, supervisor):
    mfa(supervisor)
    return supervisor


def _two_sectors():
    health_owner = UserFactory()
    health = make_allocation(
        health_owner, make_verified_organisation(health_owner, sector=Sector.HEALTHCARE), amount=400
    )
    transport_owner = UserFactory()
    transport = make_allocation(
        transport_owner, make_verified_organisation(transport_owner, sector=Sector.TRANSPORT), amount=900
    )
    card_hours(health, 10, job_id="1")
    card_hours(health, 5, job_id="2", day=date(2026, 10, 20))
    card_hours(transport, 7, job_id="3")
    return health, transport


def test_compute_by_sector_matches_the_allocations_and_the_usage():
    health, transport = _two_sectors()
    report = reports.build("compute-by-sector", *THIS_YEAR)
    rows = {row[1]: row for row in report.rows}
    for allocation in (health, transport):
        label = allocation.organisation.get_sector_display()
        used = sum(d.units for d in DailyUsage.objects.filter(allocation=allocation))
        assert rows[label][0] == "npu"
        assert rows[label][2] == 1
        assert rows[label][3] == Allocation.objects.get(pk=allocation.pk).granted_amount
        assert rows[label][4] == used
    assert rows[health.organisation.get_sector_display()][4] == Decimal("15.00")
    assert rows[health.organisation.get_sector_display()][5] == Decimal("3.8")  # 15 of 400


def test_usage_outside_the_period_is_not_counted():
    health, _ = _two_sectors()
    report = reports.build("compute-by-type", date(2026, 10, 16), date(2026, 10, 31))
    assert sum(row[4] for row in report.rows) == Decimal("5.00")


def test_utilisation_prorates_the_monthly_capacity():
    _two_sectors()
    report = reports.build("utilisation", date(2026, 10, 1), date(2026, 10, 30))  # 30 days: one month
    (row,) = report.rows
    assert row[2] == Decimal("10000.00") and row[3] == Decimal("22.00") and row[4] == Decimal("0.2")


def test_decision_time_is_measured_from_submission():
    operator = make_operator()
    request = make_quota_request(UserFactory())
    request_services.approve_quota_request(request, by=operator)
    request.refresh_from_db()
    today = timezone.localdate()
    report = reports.build("decision-time", today - timedelta(days=1), today)
    (row,) = report.rows
    hours = Decimal((request.decided_at - request.submitted_at).total_seconds() / 3600).quantize(
        Decimal("0.1")
    )
    assert row[2] == 1 and row[3] == hours and row[4] == hours


def test_voucher_spend_equals_the_redemptions_in_the_ledger():
    operator = make_operator()
    health, transport = _two_sectors()
    for allocation in (health, transport):
        vouchers.grant_voucher(
            scheme(), allocation.organisation, amount=1000, by=operator, today=date(2026, 9, 1)
        )
    vouchers.settle_month(LAST_MONTH, today=TODAY)
    report = reports.build("voucher-spend", *THIS_YEAR)
    redeemed = -sum(e.amount for e in LedgerEntry.objects.filter(kind="redemption"))
    assert sum(row[3] for row in report.rows) == redeemed > 0
    assert {row[1] for row in report.rows} == {
        health.organisation.get_sector_display(),
        transport.organisation.get_sector_display(),
    }


def test_incubation_funnel_counts_each_stage():
    application = accepted()
    make_application(call=application.call)
    today = timezone.localdate()
    report = reports.build("incubation-funnel", today.replace(month=1, day=1), today)
    row = next(r for r in report.rows if r[0] == str(application.call.programme))
    assert row[1:4] == [2, 1, 0]
    assert row[4] == Decimal("50.0")


def test_alliance_members_by_type_and_year():
    make_alliance_member(make_verified_organisation(UserFactory()))
    make_alliance_member(make_verified_organisation(UserFactory()))
    today = timezone.localdate()
    report = reports.build("alliance", today.replace(month=1, day=1), today)
    (row,) = report.rows
    assert row[0] == today.year and row[2] == 2 and row[3] == 2


def test_the_alliance_report_follows_a_new_member_at_once_and_is_warmed_by_the_task(
    django_assert_num_queries,
):
    from alliance import reports as alliance_reports
    from alliance.tasks import warm_directory_task

    make_alliance_member(make_verified_organisation(UserFactory()))
    today = timezone.localdate()
    this_year = (today.replace(month=1, day=1), today)
    assert reports.build("alliance", *this_year).rows[0][2] == 1
    make_alliance_member(make_verified_organisation(UserFactory()))  # a save: a new generation of the figures
    assert reports.build("alliance", *this_year).rows[0][2] == 2
    # The warm-up task computes the default period's figures: the report then counts nothing itself.
    cache.clear()
    warm_directory_task()
    with django_assert_num_queries(0):  # the directory's state, part of the figures' key, is in the cache too
        (row,) = alliance_reports.alliance_members(*this_year).rows
    assert row[2] == 2 and row[3] == 2
    # Another end is counted for itself (nothing joined by the end of last year).
    assert reports.build("alliance", date(today.year - 1, 1, 1), date(today.year - 1, 12, 31)).rows == []


def test_supervisors_open_and_export_every_report_others_are_refused(client, staff, user):
    _two_sectors()
    client.force_login(staff)
    assert client.get(reverse("oversight")).status_code == 200
    for slug in reports.registered():
        response = client.get(
            reverse("oversight_report", args=[slug]), {"start": "2026-01-01", "end": "2026-12-31"}
        )
        assert response.status_code == 200, slug
    csv = client.get(
        reverse("oversight_report", args=["compute-by-sector"]),
        {"start": "2026-01-01", "end": "2026-12-31", "format": "csv"},
    )
    lines = csv.content.decode("utf-8-sig").strip().splitlines()
    assert lines[0].startswith("Partition,Sector") and len(lines) == 3
    xlsx = client.get(
        reverse("oversight_report", args=["compute-by-sector"]),
        {"start": "2026-01-01", "end": "2026-12-31", "format": "xlsx"},
    )

    sheet = load_workbook(BytesIO(xlsx.content)).active
    values = [[c.value for c in row] for row in sheet.iter_rows(min_row=4)]
    expected = reports.build("compute-by-sector", *THIS_YEAR)
    assert values[0] == [str(c) for c in expected.columns]

    def plain(value):
        return Decimal(str(value)).normalize() if isinstance(value, int | float | Decimal) else value

    assert [[plain(v) for v in row] for row in values[1:]] == [
        [plain(v) for v in row] for row in expected.rows
    ]
    client.force_login(user)
    assert client.get(reverse("oversight")).status_code == 403
    assert client.get(reverse("oversight_report", args=["utilisation"])).status_code == 403


@pytest.mark.parametrize(
    "params",
    [
        {"start": "2026-12-31", "end": "2026-01-01"},
        {"start": "not a date", "end": "2026-01-01"},
        {"start": "2000-01-01", "end": "2026-01-01"},
        {"start": "2026-01-01"},
    ],
)
def test_a_bad_period_is_a_clear_error_not_a_500(client, staff, params):
    client.force_login(staff)
    response = client.get(reverse("oversight_report", args=["utilisation"]), params)
    assert response.status_code == 400
    assert 'class="invalid-feedback' in response.content.decode() or "is-invalid" in response.content.decode()


def test_an_unknown_report_is_a_404(client, staff):
    client.force_login(staff)
    assert client.get("/oversight/reports/salaries/").status_code == 404


def test_the_transparency_page_shows_aggregates_and_nothing_personal(client):
    cache.clear()
    operator = make_operator()
    health, transport = _two_sectors()
    vouchers.grant_voucher(scheme(), health.organisation, amount=1000, by=operator)
    page = client.get(reverse("transparency")).content.decode()
    assert "Transparency" in page
    assert ">2<" in page  # organisations served
    for allocation in (health, transport):
        organisation = allocation.organisation
        assert organisation.name_zh not in page and organisation.name_en not in page
        assert allocation.account_name not in page
        for email in organisation.memberships.values_list("user__email", flat=True):
            assert email not in page


def test_a_visitor_never_makes_the_transparency_figures_the_task_does(client, django_assert_num_queries):
    """The figures (one of them counts every alliance membership) are made by the refresh task on beat: a visit
    of the page asks the database nothing, and a change shows once the task has run, in both languages."""
    from django.conf import settings

    from portal.tasks import refresh_transparency_task

    cache.clear()
    operator = make_operator()
    health, _transport = _two_sectors()
    vouchers.grant_voucher(scheme(), health.organisation, amount=1000, by=operator)
    assert refresh_transparency_task() == len(settings.LANGUAGES)  # the page rendered for visitors in each
    for language, when in (("en", "brought up to date every 10 minutes"), ("zh-hans", "每 10 分钟更新一次")):
        with django_assert_num_queries(0):
            response = client.get(reverse("transparency"), HTTP_ACCEPT_LANGUAGE=language)
        assert response.context["figures"]["vouchers_granted"] == Decimal("1000")
        assert when in response.content.decode()
    # A new voucher: visitors keep the figures last made (no visitor counts) until the next refresh shows it.
    vouchers.grant_voucher(scheme(), health.organisation, amount=500, by=operator)
    with django_assert_num_queries(0):
        response = client.get(reverse("transparency"), HTTP_ACCEPT_LANGUAGE="en")
    assert response.context["figures"]["vouchers_granted"] == Decimal("1000")
    refresh_transparency_task()
    for language in ("en", "zh-hans"):
        response = client.get(reverse("transparency"), HTTP_ACCEPT_LANGUAGE=language)
        assert response.context["figures"]["vouchers_granted"] == Decimal("1500")
        assert "1,500" in response.content.decode()


def test_the_transparency_figures_are_refreshed_on_beat():
    from django.conf import settings

    entry = settings.CELERY_BEAT_SCHEDULE["refresh-transparency"]
    assert entry["task"] == "portal.tasks.refresh_transparency_task"
    assert entry["schedule"].minute == set(range(0, 60, settings.TRANSPARENCY_REFRESH_MINUTES))


def test_training_counts_enrolments_completions_and_certificates():
    people = _certified()
    today = timezone.localdate()
    report = reports.build("training", today.replace(month=1, day=1), today)
    (row,) = report.rows
    course = Enrolment.objects.filter(user=people[0]).get().cohort.course
    assert row[0] == str(course)
    assert row[1:] == [2, 2, Certificate.objects.count()] == [2, 2, 2]


def _report_page(client, slug, **params):
    return client.get(
        reverse("oversight_report", args=[slug]), {"start": "2026-01-01", "end": "2026-12-31", **params}
    )


def _main(response) -> str:
    page = response.content.decode()
    return page[page.index("<main") : page.index("</main>")]


def _used_by_sector(response) -> dict:
    return {row[1]: row[4] for row in response.context["kept"]["report"].rows}


def test_a_report_is_built_once_a_minute_and_anew_after_a_change_it_reads(client, staff, steady_minute):
    health, transport = _two_sectors()
    health_label = health.organisation.get_sector_display()
    owner = UserFactory()
    school = make_verified_organisation(owner, sector=Sector.EDUCATION)
    client.force_login(staff)
    first = _report_page(client, "compute-by-sector")
    assert _used_by_sector(first)[health_label] == Decimal("15.00")
    assert "Figures as of" in first.content.decode()
    # Asked again (a page, or an export of the same period), the kept report reads no allocation or usage.
    with CaptureQueriesContext(connection) as queries:
        again = _report_page(client, "compute-by-sector")
        _report_page(client, "compute-by-sector", format="csv")
    assert not [q["sql"] for q in queries.captured_queries if "compute_" in q["sql"]]
    assert _main(again) == _main(first)
    # New usage arrives through the ingest's bulk writes: the next page counts it.
    card_hours(health, 20, job_id="9")
    assert _used_by_sector(_report_page(client, "compute-by-sector"))[health_label] == Decimal("35.00")
    # A new allocation is a save: the next page shows its sector.
    make_allocation(owner, school, amount=50)
    page = _report_page(client, "compute-by-sector")
    assert Sector.EDUCATION.label in _used_by_sector(page)
    # A change that sends no signal (a bulk update) shows once the minute is over.
    Allocation.objects.filter(pk=transport.pk).update(granted_amount=Decimal("1234"))
    granted = {
        row[1]: row[3] for row in _report_page(client, "compute-by-sector").context["kept"]["report"].rows
    }
    assert granted[transport.organisation.get_sector_display()] == Decimal("900")
    steady_minute("the next minute")
    page = _report_page(client, "compute-by-sector")
    granted = {row[1]: row[3] for row in page.context["kept"]["report"].rows}
    assert granted[transport.organisation.get_sector_display()] == Decimal("1234")


def test_a_reports_page_is_kept_rendered_for_its_readers_and_period(
    client, staff, operator, mfa, monkeypatch, steady_minute
):
    from portal import oversight

    _two_sectors()
    client.force_login(staff)
    first = _report_page(client, "compute-by-sector")
    built = []
    real = oversight._kept_report
    monkeypatch.setattr(oversight, "_kept_report", lambda *args: built.append(args) or real(*args))
    # Another reader of the supervision area, the same period: the body rendered before, its rows not read.
    client.force_login(mfa(operator))
    again = _report_page(client, "compute-by-sector")
    assert built == [] and _main(again) == _main(first)
    # Another period is a page of its own, and the export still reads the report.
    other = client.get(
        reverse("oversight_report", args=["compute-by-sector"]), {"start": "2020-01-01", "end": "2020-01-31"}
    )
    assert other.status_code == 200 and 'value="2020-01-01"' in other.content.decode() and len(built) == 1
    _report_page(client, "compute-by-sector", format="csv")
    assert len(built) == 2


def test_a_kept_report_is_shown_in_the_language_it_was_asked_in(client, staff):
    _two_sectors()
    client.force_login(staff)
    english = _report_page(client, "compute-by-sector").content.decode()
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "zh-hans"
    chinese = _report_page(client, "compute-by-sector").content.decode()
    with translation.override("zh-hans"):
        sector, healthcare = str(_("Sector")), str(Sector.HEALTHCARE.label)
    assert sector != "Sector" and healthcare != "Healthcare"
    assert f">{sector}<" in chinese and healthcare in chinese and ">Sector<" not in chinese
    assert ">Sector<" in english and "Healthcare" in english and healthcare not in english
