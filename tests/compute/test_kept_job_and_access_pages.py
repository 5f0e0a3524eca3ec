"""The job form, a job's page, "My cluster access" and an organisation's cluster access, kept for their audience
(core/pagecache.py): asked again they read none of what the body shows, a change shows on the next page (the
job's live state and the directory's publishing at once), audiences never share a body, and the forms inside
take the CSRF token of each viewer."""

import re
from decimal import Decimal

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from accounts.models import MembershipRole
from compute.backends.fake import FakeBackend
from compute.identities import keys
from compute.identities import services as identity_services
from compute.jobs import queue, services
from compute.jobs.models import Submission
from compute.jobs.services import JobRequest
from tests.accounts.factories import UserFactory, add_member, make_verified_organisation
from tests.compute.factories import give_identity, make_allocation
from tests.compute.identity_helpers import make_identity, new_public_key

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("steady_minute")]

SCRIPT = "#!/bin/bash\necho kept\n"


@pytest.fixture(autouse=True)
def fake_cluster(settings, tmp_path):
    FakeBackend.reset()
    settings.JOB_OUTPUT_ROOTS = [str(tmp_path)]
    settings.JOB_WORKING_DIRECTORY = str(tmp_path) + "/{username}"
    settings.CLUSTER_BACKEND_OPTIONS = {"job_output_root": str(tmp_path)}
    yield
    FakeBackend.reset()


@pytest.fixture
def owner(db):
    return UserFactory()


@pytest.fixture
def allocation(owner):
    return make_allocation(owner, granted=Decimal("100"))


def _get(client, url, **params) -> tuple[str, list[str]]:
    with CaptureQueriesContext(connection) as queries:
        response = client.get(url, params)
    assert response.status_code == 200
    return response.content.decode(), [q["sql"] for q in queries.captured_queries]


def _reads(queries: list[str], table: str) -> bool:
    return any(f'FROM "{table}"' in sql for sql in queries)


def _same(page: str, again: str) -> bool:
    """The same page but for the CSRF tokens (a fresh one for each request, also in the htmx headers)."""
    return re.sub(r"[A-Za-z0-9]{64}", "", page) == re.sub(r"[A-Za-z0-9]{64}", "", again)


def _token(page: str) -> str:
    return re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page).group(1)


def _submit(allocation, by) -> Submission:
    return services.submit_job(
        JobRequest(
            allocation=allocation,
            script=SCRIPT,
            name="kept-job",
            nodes=1,
            cards_per_node=1,
            cpus_per_node=2,
            memory_gb=8,
            time_limit_minutes=30,
        ),
        by=by,
    )


# --- the job form ------------------------------------------------------------------------------------------


def test_the_job_form_is_kept_for_its_person_until_what_it_offers_changes(client, owner, allocation):
    client.force_login(owner)
    url = reverse("compute:job_submit")
    page, _queries = _get(client, url)
    assert allocation.account_name in page
    again, queries = _get(client, url)
    assert _same(page, again)
    assert not any("compute_" in sql for sql in queries), queries
    # An organisation renamed (ALLOCATIONS) is in the choices on the next page.
    organisation = allocation.organisation
    organisation.name_en = "Renamed Organisation"
    organisation.save()
    assert "Renamed Organisation" in _get(client, url)[0]


def test_the_job_form_of_one_person_is_never_anothers(client, owner, allocation):
    other = UserFactory()
    theirs = make_allocation(other, granted=Decimal("10"))
    url = reverse("compute:job_submit")
    client.force_login(owner)
    assert allocation.account_name in _get(client, url)[0]
    client.force_login(other)
    page = _get(client, url)[0]
    assert theirs.account_name in page and allocation.account_name not in page


def test_a_job_form_with_errors_is_not_kept_and_the_kept_form_submits(owner, allocation):
    client = Client(enforce_csrf_checks=True)
    client.force_login(owner)
    url = reverse("compute:job_submit")
    client.get(url)
    page = client.get(url).content.decode()  # the kept body, with this viewer's token
    fields = {
        "csrfmiddlewaretoken": _token(page),
        "allocation": allocation.pk,
        "name": "kept-form",
        "nodes": 1,
        "cards_per_node": 1,
        "cpus_per_node": 2,
        "memory_gb": 8,
        "time_limit_minutes": 30,
        "script": "",
    }
    refused = client.post(url, fields)
    assert refused.status_code == 400 and 'class="invalid-feedback' in refused.content.decode()
    assert 'class="invalid-feedback' not in client.get(url).content.decode()
    answer = client.post(url, {**fields, "script": SCRIPT})
    assert answer.status_code == 302, answer.content.decode()[:2000]
    assert Submission.objects.filter(name="kept-form").exists()


# --- a job's page ------------------------------------------------------------------------------------------


def test_a_jobs_page_is_kept_but_never_older_than_the_schedulers_answer(client, owner, allocation):
    record = _submit(allocation, owner)
    url = reverse("compute:job_detail", args=[record.cluster, record.job_id])
    client.force_login(owner)
    page, _queries = _get(client, url)
    assert "Cancel the job" in page
    again, queries = _get(client, url)
    assert _same(page, again)
    assert not _reads(queries, "compute_job"), queries  # the accounting record is in the kept body
    # Cancelled on the cluster (the page's own cancel also forgets the queue): the next page says so.
    row = queue.find_job(owner, record.cluster, record.job_id)
    services.cancel_job(row.job, cluster=record.cluster, allocation=allocation, by=owner)
    page = _get(client, url)[0]
    assert 'id="job-state">Cancelled<' in page and "Cancel the job" not in page


def test_a_managers_view_of_a_job_is_their_own(client, owner, allocation):
    record = _submit(allocation, owner)
    manager = UserFactory()
    add_member(allocation.organisation, manager, role=MembershipRole.ADMIN)
    give_identity(manager)
    url = reverse("compute:job_detail", args=[record.cluster, record.job_id])
    client.force_login(owner)
    assert 'id="cancel-reason"' not in _get(client, url)[0]  # the owner gives no reason
    client.force_login(manager)
    assert 'id="cancel-reason"' in _get(client, url)[0]  # someone else's job needs one


def test_the_cancel_form_of_a_kept_jobs_page_works(owner, allocation):
    record = _submit(allocation, owner)
    client = Client(enforce_csrf_checks=True)
    client.force_login(owner)
    url = reverse("compute:job_detail", args=[record.cluster, record.job_id])
    client.get(url)
    page = client.get(url).content.decode()
    answer = client.post(
        reverse("compute:job_cancel", args=[record.cluster, record.job_id]),
        {"csrfmiddlewaretoken": _token(page)},
    )
    assert answer.status_code == 302
    assert FakeBackend(cluster=record.cluster).get_job(record.job_id).state == "CANCELLED"
    assert 'id="job-state">Cancelled<' in client.get(url).content.decode()


def test_a_jobs_page_asked_again_reads_nothing_of_where_the_job_runs_or_who_asks(client, owner, allocation):
    record = _submit(allocation, owner)
    url = reverse("compute:job_detail", args=[record.cluster, record.job_id])
    client.force_login(owner)
    _get(client, url)
    _again, queries = _get(client, url)
    for table in (
        "compute_submission",
        "compute_allocation",
        "compute_partition",
        "accounts_organisation",
        "accounts_membership",
        "compute_clusteridentity",
    ):
        assert not _reads(queries, table), (table, queries)
    # What the portal wrote about the job (a cancellation recorded without the scheduler, here) is on the next
    # page, and so is a renamed organisation.
    record.cancel_reason, record.cancelled_at = "kept no more", record.submitted_at
    record.save(update_fields=["cancel_reason", "cancelled_at"])
    organisation = allocation.organisation
    organisation.name_en = "Renamed Job Organisation"
    organisation.save()
    page = _get(client, url)[0]
    assert "kept no more" in page and "Renamed Job Organisation" in page


def test_a_manager_who_leaves_loses_a_kept_jobs_page_at_once(client, owner, allocation):
    record = _submit(allocation, owner)
    manager = UserFactory()
    membership = add_member(allocation.organisation, manager, role=MembershipRole.ADMIN)
    url = reverse("compute:job_detail", args=[record.cluster, record.job_id])
    client.force_login(manager)
    _get(client, url)
    _get(client, url)
    membership.delete()
    assert client.get(url).status_code == 404
    assert client.get(reverse("api:job-detail", args=[record.cluster, record.job_id])).status_code == 404


def test_a_new_partitions_cluster_is_driven_at_once_and_the_names_are_kept(db):
    from compute.backends import cluster_names
    from compute.models import Partition
    from tests.compute.factories import PartitionFactory

    before = cluster_names()
    with CaptureQueriesContext(connection) as queries:
        assert cluster_names() == before
    assert not _reads([q["sql"] for q in queries.captured_queries], "compute_partition")
    PartitionFactory(slug="hpc-two", cluster="hpc-two", slurm_partition="cpu")
    assert "hpc-two" in cluster_names()
    Partition.objects.filter(cluster="hpc-two").delete()
    assert "hpc-two" not in cluster_names()


# --- my cluster access ---------------------------------------------------------------------------------------


def test_my_cluster_access_is_kept_until_a_key_or_the_directory_changes(client, owner, allocation):
    identity = give_identity(owner)
    client.force_login(owner)
    url = reverse("compute:cluster_access")
    page, _queries = _get(client, url)
    assert allocation.account_name in page and "Being published" not in page
    again, queries = _get(client, url)
    assert _same(page, again)
    assert not _reads(queries, "compute_sshkey") and not _reads(queries, "compute_allocationmember")
    keys.add_key(owner, new_public_key(), name="kept laptop")
    page = _get(client, url)[0]
    assert "kept laptop" in page and "Being published" in page
    # Publishing writes in bulk, without a signal: the next page shows it all the same.
    identity_services.publish_identity(identity.pk)
    page = _get(client, url)[0]
    assert "Published to the cluster" in page and "not yet" not in page


def test_my_cluster_access_is_each_persons_own(client):
    person, other = UserFactory(), UserFactory()
    give_identity(person, "ownername")
    client.force_login(person)
    assert "ownername" in _get(client, reverse("compute:cluster_access"))[0]
    client.force_login(other)
    page = _get(client, reverse("compute:cluster_access"))[0]
    assert "ownername" not in page and "Choose your cluster user name" in page


def test_the_user_name_form_of_a_kept_page_works_and_its_errors_are_not_kept(db):
    person = UserFactory()
    client = Client(enforce_csrf_checks=True)
    client.force_login(person)
    url = reverse("compute:cluster_access")
    client.get(url)
    page = client.get(url).content.decode()
    claim = reverse("compute:cluster_username_claim")
    refused = client.post(claim, {"csrfmiddlewaretoken": _token(page), "username": "x"})
    assert refused.status_code == 400 and 'class="invalid-feedback' in refused.content.decode()
    assert 'class="invalid-feedback' not in client.get(url).content.decode()
    answer = client.post(claim, {"csrfmiddlewaretoken": _token(page), "username": "keptname"})
    assert answer.status_code == 302
    assert "keptname" in client.get(url).content.decode()


# --- an organisation's cluster access ---------------------------------------------------------------------


def test_an_organisations_cluster_access_is_kept_for_its_readers(client, owner, operator, mfa):
    organisation = make_verified_organisation(owner)
    bob = add_member(organisation, UserFactory(email="bob@example.cn")).user
    identity = make_identity(bob, "bobby")
    url = reverse("compute:organisation_identities", args=[organisation.pk])
    client.force_login(owner)
    page, _queries = _get(client, url)
    assert "bobby" in page
    again, queries = _get(client, url)
    assert not _reads(queries, "compute_allocationmember") and not _reads(queries, "compute_sshkey")
    keys.add_key(bob, new_public_key(), name="k")
    carol = add_member(organisation, UserFactory(email="carol@example.cn")).user
    page = _get(client, url)[0]
    assert carol.email in page
    # An operator's rows link to the identity's page; the managers' never do, whoever looked first.
    detail = reverse("compute:identity_detail", args=[identity.pk])
    mfa(operator)
    client.force_login(operator)
    assert detail in _get(client, url)[0]
    client.force_login(owner)
    assert detail not in _get(client, url)[0]
    # Someone who does not manage the organisation gets no page, kept or not.
    client.force_login(bob)
    assert client.get(url).status_code == 404
