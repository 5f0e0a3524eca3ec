"""Organisation seat pools, bulk enrolment from CSV, and the personal-data export and deletion."""

from datetime import timedelta

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from django.utils import timezone

from accounts.privacy import collect_personal_data, delete_account
from core.exceptions import Conflict, DomainError, NotAllowed
from talent.models import Certificate, Enrolment, EnrolmentStatus
from talent.services.bulk import bulk_enrol
from talent.services.eligibility import seats_left_in
from talent.services.enrolment import enrol, withdraw
from talent.services.pools import assign_pool_seat, reserve_seats
from talent.services.running import complete_cohort, mark_attendance
from tests.accounts.factories import UserFactory, make_operator, make_verified_organisation
from tests.talent.factories import fill, make_cohort, make_instructor

pytestmark = pytest.mark.django_db
S = EnrolmentStatus


def _organisation_with_members(count=2):
    admin = UserFactory()
    organisation = make_verified_organisation(admin)
    members = [UserFactory() for _ in range(count)]
    for member in members:
        organisation.memberships.create(user=member, role="member")
    return admin, organisation, members


def test_seat_pool_reserves_assigns_and_gives_back():
    cohort = make_cohort(capacity=5)
    admin, organisation, (m1, m2) = _organisation_with_members()
    with pytest.raises(NotAllowed):
        reserve_seats(cohort, organisation=organisation, seats=2, by=m1)
    with pytest.raises(Conflict, match="Only 5"):
        reserve_seats(cohort, organisation=organisation, seats=6, by=admin)
    pool = reserve_seats(cohort, organisation=organisation, seats=2, by=admin)
    assert seats_left_in(cohort) == 3
    with pytest.raises(DomainError, match="own members"):
        assign_pool_seat(pool, user=UserFactory(), by=admin)
    enrol(cohort, user=m2)  # already holds a general seat
    with pytest.raises(Conflict):
        assign_pool_seat(pool, user=m2, by=admin)
    enrolment = assign_pool_seat(pool, user=m1, by=admin)
    assert enrolment.status == S.ENROLLED and enrolment.seat_pool == pool
    # Pool seats do not take general seats twice: 5 - 2 reserved - 1 general.
    assert seats_left_in(cohort) == 2
    with pytest.raises(Conflict, match="assigned"):
        reserve_seats(cohort, organisation=organisation, seats=0, by=admin)
    reserve_seats(cohort, organisation=organisation, seats=1, by=admin)
    assert seats_left_in(cohort) == 3


def test_full_pool_refuses_and_giving_seats_back_offers_them_to_the_waitlist():
    cohort = make_cohort(capacity=2)
    admin, organisation, (m1, m2) = _organisation_with_members()
    pool = reserve_seats(cohort, organisation=organisation, seats=1, by=admin)
    assign_pool_seat(pool, user=m1, by=admin)
    with pytest.raises(Conflict):
        assign_pool_seat(pool, user=m2, by=admin)
    fill(cohort, 1)
    (waiting,) = fill(cohort, 1)
    assert waiting.status == S.WAITLISTED
    # Withdrawing the pool member keeps the seat in the pool, not the waitlist.
    withdraw(Enrolment.objects.get(user=m1), by=m1)
    waiting.refresh_from_db()
    assert waiting.status == S.WAITLISTED
    reserve_seats(cohort, organisation=organisation, seats=0, by=admin)
    waiting.refresh_from_db()
    assert waiting.status == S.OFFERED


def test_seat_pool_page(client):
    cohort = make_cohort(capacity=5)
    admin, organisation, (m1, _m2) = _organisation_with_members()
    client.force_login(admin)
    assert (
        "Reserve and assign seats"
        in client.get(reverse("talent:cohort_detail", args=[cohort.pk])).content.decode()
    )
    url = reverse("talent:seat_pools", args=[cohort.pk])
    client.post(url, {"organisation": organisation.pk, "action": "reserve", "seats": "2"})
    client.post(url, {"organisation": organisation.pk, "action": "assign", "email": m1.email.upper()})
    page = client.get(url).content.decode()
    assert "2 seats reserved, 1 not assigned yet." in page
    response = client.post(
        url, {"organisation": organisation.pk, "action": "reserve", "seats": "-4"}, follow=True
    )
    assert "whole number" in response.content.decode()
    response = client.post(url, {"organisation": "999999", "action": "reserve", "seats": "1"}, follow=True)
    assert "Choose one of your organisations." in response.content.decode()
    client.force_login(m1)
    assert client.get(url).status_code == 403


def _upload(client, cohort, text: bytes | str, name="people.csv"):
    data = text.encode() if isinstance(text, str) else text
    return client.post(
        reverse("talent:cohort_bulk", args=[cohort.pk]), {"file": SimpleUploadedFile(name, data)}
    )


def test_bulk_csv_reports_each_row_and_does_each_completely(client, mfa):
    cohort = make_cohort(capacity=2)
    a, b, c = UserFactory(), UserFactory(), UserFactory()
    (present,) = fill(cohort, 1)
    client.force_login(mfa(make_operator()))
    csv_text = (
        "email,action\n"
        f"{a.email},enrol\n"
        f"{a.email},enrol\n"
        "nobody@example.cn,enrol\n"
        f"{b.email},teleport\n"
        f"{c.email},enrol\n"
        f"{present.user.email},withdraw\n"
        ",enrol\n"
    )
    response = _upload(client, cohort, csv_text)
    page = response.content.decode()
    assert response.status_code == 200
    assert "listed twice" in page and "No active account" in page and "must be “enrol” or “withdraw”" in page
    assert "The cohort is full." in page and "Withdrawn." in page and "No email address." in page
    statuses = dict(Enrolment.objects.filter(cohort=cohort).values_list("user_id", "status"))
    assert statuses[a.pk] == S.ENROLLED and c.pk not in statuses and statuses[present.user_id] == S.WITHDRAWN


@pytest.mark.parametrize(
    "data,message",
    [
        (b"", "empty"),
        (b"name,role\nx,y\n", "columns"),
        ("email,action\nx@example.cn,enrol\n".encode("utf-16"), "UTF-8"),
        (b"\x00\x01\x02", "not"),
    ],
)
def test_malformed_csv_changes_nothing(client, mfa, data, message):
    cohort = make_cohort()
    client.force_login(mfa(make_operator()))
    response = _upload(client, cohort, data)
    assert response.status_code == 200 and message in response.content.decode()
    assert not Enrolment.objects.exists()


def test_bulk_is_for_operators_only(client):
    cohort = make_cohort(instructors=[teacher := make_instructor()])
    client.force_login(teacher)
    assert _upload(client, cohort, "email,action\n").status_code == 403
    with pytest.raises(NotAllowed):
        bulk_enrol(cohort, data="email,action\n", by=teacher)


def test_personal_data_export_and_account_deletion_keep_the_certificate_pseudonymised(client):
    teacher = make_instructor()
    cohort = make_cohort(instructors=[teacher], sessions=1, min_score=None, min_attendance_percent=0)
    (enrolment,) = fill(cohort, 1)
    mark_attendance(cohort.sessions.first(), by=teacher, present={enrolment.pk: True})
    type(cohort).objects.filter(pk=cohort.pk).update(
        ends_on=timezone.localdate(), starts_on=timezone.localdate() - timedelta(days=1)
    )
    complete_cohort(cohort, by=teacher)
    other = make_cohort(capacity=1)
    person = enrolment.user
    enrol(other, user=person)
    (waiting,) = fill(other, 1)
    data = collect_personal_data(person)["talent"]
    assert data["enrolments"][0]["status"] in {"completed", "enrolled"}
    assert data["attendance"][0]["present"] is True
    assert data["certificates"][0]["holder"] == person.name
    delete_account(person)  # calls talent.privacy.forget_learner
    certificate = Certificate.objects.get()
    assert certificate.holder_name == f"deleted-user-{person.pk}"
    page = client.get(reverse("certificate_verify", args=[certificate.code])).content.decode()
    assert f"deleted-user-{person.pk}" in page and "Valid." in page
    waiting.refresh_from_db()
    assert waiting.status == S.OFFERED  # the seat the deleted person held went to the waitlist
