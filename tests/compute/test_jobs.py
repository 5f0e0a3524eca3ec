"""Jobs from the browser on the fake cluster: every check before Slurm, submission as the person's own cluster
user, the queue as each person may see it (and its query count), a job's page and output, cancellation, the
API and the rate limits."""

import os
from datetime import timedelta
from decimal import Decimal
from pathlib import Path

import pytest
from django.core import mail
from django.core.cache import cache
from django.urls import reverse
from django.utils import timezone

from accounts.models import MembershipRole
from compute.backends.fake import FakeBackend
from compute.jobs import queue, services
from compute.jobs.models import Submission
from compute.jobs.services import JobRequest, estimate
from compute.models import AllocationStatus
from core.exceptions import DomainError, NotAllowed
from core.models import AuditEvent
from tests.accounts.factories import (
    UserFactory,
    add_member,
    an_operator,
    make_supervisor,
    make_verified_organisation,
)
from tests.compute.factories import give_identity, make_allocation

SCRIPT = "#!/bin/bash\necho hello from the test\n"


@pytest.fixture(autouse=True)
def fake_cluster(settings, tmp_path):
    FakeBackend.reset()
    settings.JOB_OUTPUT_ROOTS = [str(tmp_path)]
    settings.JOB_OUTPUT_OWNER_CHECK = True  # as with a real cluster
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


def request_for(allocation, **overrides) -> JobRequest:
    values = {
        "allocation": allocation,
        "script": SCRIPT,
        "name": "train",
        "nodes": 1,
        "cards_per_node": 1,
        "cpus_per_node": 4,
        "memory_gb": 16,
        "time_limit_minutes": 60,
    }
    values.update(overrides)
    return JobRequest(**values)


def form_for(allocation, **overrides) -> dict:
    """What the job form posts: one node, one card, two cores, 8 GB, 30 minutes."""
    return {
        "allocation": allocation.pk,
        "name": "my-first",
        "nodes": 1,
        "cards_per_node": 1,
        "cpus_per_node": 2,
        "memory_gb": 8,
        "time_limit_minutes": 30,
        "script": SCRIPT,
        **overrides,
    }


def refused(request, *, by, code: str):
    with pytest.raises(DomainError) as caught:
        services.submit_job(request, by=by)
    assert caught.value.code == code, caught.value.message
    assert not Submission.objects.exists()
    return caught.value


# --- what a job can cost --------------------------------------------------------------------------------


def test_the_estimate_bills_the_largest_share_of_the_node(partition):
    # 8 cards, 64 cores, 512 GB a node: 1 card = 8 cores = 64 GB.
    assert estimate(partition, nodes=1, cards=1, cpus=4, memory_gb=16, minutes=60) == Decimal("1.00")
    assert estimate(partition, nodes=1, cards=1, cpus=32, memory_gb=16, minutes=60) == Decimal("4.00")
    assert estimate(partition, nodes=2, cards=8, cpus=8, memory_gb=64, minutes=90) == Decimal("24.00")


# --- checks before Slurm ----------------------------------------------------------------------------------


def test_a_person_submits_as_their_own_cluster_user(allocation, owner):
    identity = give_identity(owner)
    record = services.submit_job(request_for(allocation), by=owner)
    assert record.cluster_user == identity.username and record.uid == identity.uid
    assert record.estimated_amount == Decimal("1.00")
    job = FakeBackend(cluster=allocation.partition.cluster).get_job(record.job_id)
    assert job is not None and job.user == identity.username and job.account == allocation.account_name
    event = AuditEvent.objects.get(action="job.submit")
    assert (
        event.actor == owner and identity.username in event.reason and allocation.account_name in event.reason
    )


def test_someone_who_is_not_a_user_of_the_allocation_is_refused(allocation, owner):
    colleague = UserFactory()
    add_member(allocation.organisation, colleague, MembershipRole.MEMBER)
    give_identity(colleague)
    with pytest.raises(NotAllowed):
        services.submit_job(request_for(allocation), by=colleague)
    assert not Submission.objects.exists()


def test_a_person_without_a_cluster_identity_is_told_to_choose_one(allocation, owner):
    stranger = UserFactory()
    refused(request_for(allocation), by=stranger, code="no_identity")


def test_a_partition_outside_the_allocation_is_refused(allocation, owner):
    refused(request_for(allocation, partition="cpu"), by=owner, code="wrong_partition")


@pytest.mark.parametrize(
    "field, value",
    [
        ("nodes", 5),
        ("cards_per_node", 9),
        ("cpus_per_node", 65),
        ("memory_gb", 513),
        ("time_limit_minutes", 1441),
        ("nodes", 0),
    ],
)
def test_resources_beyond_the_partition_are_refused(allocation, owner, field, value):
    error = refused(request_for(allocation, **{field: value}), by=owner, code="over_partition_limit")
    assert str(value) in error.message


def test_a_job_that_could_use_more_than_is_left_is_refused_with_what_would_fit(allocation, owner):
    # 100 card-hours granted; 8 cards for 13 hours could use 104.
    error = refused(
        request_for(allocation, cards_per_node=8, time_limit_minutes=13 * 60), by=owner, code="over_quota"
    )
    assert "750 minutes" in error.message  # 100 / 8 cards * 60


def test_an_exhausted_allocation_is_refused(allocation, owner):
    allocation.used_amount = allocation.granted_amount
    allocation.save(update_fields=["used_amount"])
    refused(request_for(allocation), by=owner, code="exhausted")


def test_an_allocation_not_started_yet_is_refused(allocation, owner):
    allocation.start_date = timezone.localdate() + timedelta(days=3)
    allocation.save(update_fields=["start_date"])
    refused(request_for(allocation), by=owner, code="not_started")


def test_a_suspended_allocation_is_refused(allocation, owner):
    allocation.status = AllocationStatus.SUSPENDED
    allocation.save(update_fields=["status"])
    refused(request_for(allocation), by=owner, code="not_active")


@pytest.mark.parametrize(
    "script", ["echo no interpreter line\n", "#!/bin/bash\necho \x00\n", "#!/bin/bash\n" + "x" * 70000]
)
def test_bad_scripts_are_refused(allocation, owner, script):
    with pytest.raises(DomainError):
        services.submit_job(request_for(allocation, script=script), by=owner)
    assert not Submission.objects.exists()


def test_submissions_are_limited_per_person(allocation, owner, settings):
    settings.JOB_SUBMISSIONS_PER_HOUR = 2
    services.submit_job(request_for(allocation), by=owner)
    services.submit_job(request_for(allocation), by=owner)
    with pytest.raises(services.TooManySubmissions):
        services.submit_job(request_for(allocation), by=owner)
    assert Submission.objects.count() == 2


def test_the_cluster_down_submits_nothing_and_says_so(allocation, owner):
    FakeBackend.stop()
    with pytest.raises(services.ClusterUnavailable):
        services.submit_job(request_for(allocation), by=owner)
    assert not Submission.objects.exists()


# --- the queue ---------------------------------------------------------------------------------------------


def test_the_queue_shows_a_person_their_jobs_and_managers_their_organisation(allocation, owner):
    colleague = UserFactory()
    add_member(allocation.organisation, colleague, MembershipRole.MEMBER)
    give_identity(owner)
    mine = services.submit_job(request_for(allocation), by=owner)
    assert [row.job.job_id for row in queue.queue_for(owner, "mine").rows] == [mine.job_id]
    assert queue.queue_for(colleague, "mine").rows == []
    assert "organisation" not in queue.allowed_scopes(colleague)
    other_owner = UserFactory()
    make_allocation(other_owner, username="bob")
    assert queue.queue_for(other_owner, "organisation").rows == []
    assert [row.job.job_id for row in queue.queue_for(an_operator(), "all").rows] == [mine.job_id]


def test_a_cluster_that_does_not_answer_is_named_not_hidden(allocation, owner, client):
    services.submit_job(request_for(allocation), by=owner)
    queue.forget(allocation.partition.cluster, allocation.organisation_id)
    FakeBackend.stop()
    client.force_login(owner)
    page = client.get(reverse("compute:job_list"))
    assert page.status_code == 200
    assert "cannot be reached" in page.content.decode()
    FakeBackend.start()
    queue.forget(allocation.partition.cluster, allocation.organisation_id)
    assert "cannot be reached" not in client.get(reverse("compute:job_list")).content.decode()


def test_the_job_list_keeps_its_queries_whatever_the_number_of_jobs(
    allocation, owner, client, django_assert_max_num_queries, settings
):
    settings.JOB_SUBMISSIONS_PER_HOUR = 100
    client.force_login(owner)
    services.submit_job(request_for(allocation), by=owner)
    client.get(reverse("compute:job_list"))  # the first page fills what every page shares (the chrome, ...)
    queue.forget(allocation.partition.cluster, allocation.organisation_id)
    with django_assert_max_num_queries(20) as few:
        client.get(reverse("compute:job_list"))
    for _ in range(8):
        services.submit_job(request_for(allocation), by=owner)
    queue.forget(allocation.partition.cluster, allocation.organisation_id)
    with django_assert_max_num_queries(len(few.captured_queries)):
        page = client.get(reverse("compute:job_list"))
    assert page.content.decode().count("/compute/jobs/fake/") >= 9


# --- pages -------------------------------------------------------------------------------------------------


def test_the_form_submits_and_leads_to_the_jobs_page(allocation, owner, client):
    client.force_login(owner)
    form = client.get(reverse("compute:job_submit"))
    assert form.status_code == 200
    answer = client.post(reverse("compute:job_submit"), form_for(allocation))
    record = Submission.objects.get()
    assert answer.status_code == 302 and answer["Location"] == reverse(
        "compute:job_detail", args=[record.cluster, record.job_id]
    )
    page = client.get(answer["Location"])
    assert page.status_code == 200 and "my-first" in page.content.decode()


# --- what a viewer was shown is kept while the scheduler's answer is (compute/jobs/queue.py: shown) ------------


def _queued(identity, allocation, job_id: str, name: str):
    from compute.backends.base import QueuedJob

    FakeBackend(cluster=allocation.partition.cluster).add_queued_job(
        allocation.account_name,
        QueuedJob(
            job_id, identity.username, "npu", "RUNNING", "None",
            name=name, account=allocation.account_name, nodes=1, cpus=4, cards=1,
        ),
    )  # fmt: skip


def test_looking_again_shows_the_kept_page_until_the_schedulers_answer_expires(
    allocation, owner, client, monkeypatch, settings
):
    import time

    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    identity = give_identity(owner)
    first = services.submit_job(request_for(allocation), by=owner)
    client.force_login(owner)
    assert f"/{first.job_id}/" in client.get(reverse("compute:job_list")).content.decode()
    assert [job["job_id"] for job in client.get(reverse("api:job-list")).json()["jobs"]] == [first.job_id]
    # A job the scheduler took behind the portal's back: the answer kept for ten seconds does not hold it yet,
    # and looking again asks the database nothing about jobs.
    _queued(identity, allocation, "7777", "by-hand")
    with CaptureQueriesContext(connection) as looked:
        again = client.get(reverse("compute:job_list")).content.decode()
    assert f"/{first.job_id}/" in again and "by-hand" not in again
    assert not [query for query in looked.captured_queries if "compute_" in query["sql"]]
    assert [job["job_id"] for job in client.get(reverse("api:job-list")).json()["jobs"]] == [first.job_id]
    # The page polls itself with its own count of polls, from the kept rows.
    polled = client.get(reverse("compute:job_queue"), {"polls": 3}, HTTP_HX_REQUEST="true").content.decode()
    assert "polls=4" in polled and f"/{first.job_id}/" in polled and "<html" not in polled
    # Once the scheduler's answer has expired, so has the page made from it.
    later = time.time() + settings.JOB_QUEUE_CACHE_SECONDS + 1
    monkeypatch.setattr(time, "time", lambda: later)
    assert "by-hand" in client.get(reverse("compute:job_list")).content.decode()
    assert "7777" in [job["job_id"] for job in client.get(reverse("api:job-list")).json()["jobs"]]


def test_a_submission_shows_on_the_next_look(allocation, owner, client):
    give_identity(owner)
    client.force_login(owner)
    assert "You have no jobs in the queue." in client.get(reverse("compute:job_list")).content.decode()
    client.post(reverse("compute:job_submit"), form_for(allocation, name="just-sent"))
    record = Submission.objects.get()
    page = client.get(reverse("compute:job_list")).content.decode()
    assert f"/{record.job_id}/" in page and "just-sent" in page


def test_after_a_submission_the_warm_up_makes_the_queue_before_the_next_look(
    allocation, owner, client, settings, monkeypatch, django_capture_on_commit_callbacks
):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from core.tasks import warm_kept_pages_task

    settings.KEPT_PAGES_WARM = True
    give_identity(owner)
    client.force_login(owner)
    # Read as a fragment of the page (its poll): remembered as the page it belongs to.
    client.get(reverse("compute:job_queue"), HTTP_HX_REQUEST="true")
    (entry,) = cache.get(f"pagecache:{queue.SHOWN.name}:recent")
    assert entry[:3] == [reverse("compute:job_list") + "?scope=mine&page=1", "en", owner.pk]
    # The scheduler's answer is forgotten, and the warm-up task (eager here) asks it again.
    with django_capture_on_commit_callbacks(execute=True):
        client.post(reverse("compute:job_submit"), form_for(allocation, name="just-sent"))
    record = Submission.objects.get()
    asked = []
    monkeypatch.setattr(FakeBackend, "list_jobs", lambda self, **kw: asked.append(kw) or [])
    with CaptureQueriesContext(connection) as looked:
        page = client.get(reverse("compute:job_list")).content.decode()
    assert f"/{record.job_id}/" in page and "just-sent" in page
    assert asked == [] and not [q for q in looked.captured_queries if "compute_" in q["sql"]]
    # A page that lives seconds is not made again as each minute begins: only a change warms it.
    cache.delete(queue._shown_key(owner.pk, "mine", 1, "en"))
    warm_kept_pages_task()
    assert cache.get(queue._shown_key(owner.pk, "mine", 1, "en")) is None
    assert warm_kept_pages_task(queue.SHOWN.name) == 1
    assert cache.get(queue._shown_key(owner.pk, "mine", 1, "en")) is not None


def test_a_manager_who_leaves_no_longer_sees_the_kept_page(allocation, owner, client):
    from accounts.models import Membership

    give_identity(owner)
    record = services.submit_job(request_for(allocation), by=owner)
    manager = UserFactory()
    add_member(allocation.organisation, manager, MembershipRole.ADMIN)
    client.force_login(manager)
    url = reverse("compute:job_list") + "?scope=organisation"
    api = reverse("api:job-list") + "?scope=organisation"
    assert f"/{record.job_id}/" in client.get(url).content.decode()
    assert client.get(api).json()["jobs"][0]["job_id"] == record.job_id
    Membership.objects.filter(user=manager).delete()
    page = client.get(url).content.decode()
    assert f"/{record.job_id}/" not in page and "You have no jobs in the queue." in page
    assert client.get(api).status_code == 403


def test_choosing_a_cluster_user_name_shows_on_the_next_look(allocation, client):
    colleague = UserFactory()
    add_member(allocation.organisation, colleague, MembershipRole.MEMBER)
    client.force_login(colleague)
    assert "Choose your cluster user name first" in client.get(reverse("compute:job_list")).content.decode()
    give_identity(colleague)
    page = client.get(reverse("compute:job_list")).content.decode()
    assert "Choose your cluster user name first" not in page
    assert "You are not a user of any active allocation yet" in page


def test_a_page_made_while_the_cluster_did_not_answer_is_not_kept(allocation, owner, client):
    give_identity(owner)
    record = services.submit_job(request_for(allocation), by=owner)
    FakeBackend.stop()
    client.force_login(owner)
    assert "cannot be reached" in client.get(reverse("compute:job_list")).content.decode()
    FakeBackend.start()
    page = client.get(reverse("compute:job_list")).content.decode()
    assert "cannot be reached" not in page and f"/{record.job_id}/" in page


def test_the_form_shows_the_refusal_and_keeps_nothing(allocation, owner, client):
    client.force_login(owner)
    answer = client.post(
        reverse("compute:job_submit"),
        form_for(allocation, name="big", cards_per_node=8, cpus_per_node=8, time_limit_minutes=1440),
    )
    assert answer.status_code == 400
    assert "could use up to" in answer.content.decode()
    assert not Submission.objects.exists()


def test_the_estimate_follows_the_form(allocation, owner, client):
    values = {
        "allocation": allocation.pk,
        "nodes": 1,
        "cards_per_node": 2,
        "cpus_per_node": 1,
        "memory_gb": 1,
        "time_limit_minutes": 120,
    }
    client.force_login(owner)
    page = client.get(reverse("compute:job_estimate"), values, headers={"HX-Request": "true"})
    assert "4.00" in page.content.decode()
    client.force_login(UserFactory())  # someone who is not a user of the allocation learns nothing of it
    other = client.get(reverse("compute:job_estimate"), values, headers={"HX-Request": "true"})
    assert other.status_code == 200 and "4.00" not in other.content.decode()


def test_another_organisation_cannot_see_read_or_cancel_a_job(allocation, owner, client):
    record = services.submit_job(request_for(allocation), by=owner)
    outsider = UserFactory()
    make_verified_organisation(outsider)
    give_identity(outsider)
    client.force_login(outsider)
    args = [record.cluster, record.job_id]
    assert client.get(reverse("compute:job_detail", args=args)).status_code == 404
    assert client.get(reverse("compute:job_output", args=[*args, "stdout"])).status_code == 404
    assert client.post(reverse("compute:job_cancel", args=args)).status_code == 404
    assert client.get(reverse("api:job-detail", args=args)).status_code == 404
    assert client.get(reverse("api:job-output", args=args)).status_code == 404
    assert client.post(reverse("api:job-cancel", args=args)).status_code == 404
    assert FakeBackend(cluster=record.cluster).get_job(record.job_id).state != "CANCELLED"


def test_the_owner_cancels_and_an_operator_needs_a_reason_and_mails_the_owner(
    allocation, owner, client, settings, django_capture_on_commit_callbacks
):
    settings.JOB_SUBMISSIONS_PER_HOUR = 10
    first = services.submit_job(request_for(allocation), by=owner)
    client.force_login(owner)
    client.post(reverse("compute:job_cancel", args=[first.cluster, first.job_id]))
    assert FakeBackend(cluster=first.cluster).get_job(first.job_id).state == "CANCELLED"
    first.refresh_from_db()
    assert first.cancelled_by == owner

    second = services.submit_job(request_for(allocation), by=owner)
    operator = an_operator()
    row = queue.find_job(operator, second.cluster, second.job_id)
    with pytest.raises(DomainError):
        services.cancel_job(row.job, cluster=second.cluster, allocation=allocation, by=operator, reason="")
    mail.outbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        services.cancel_job(
            row.job, cluster=second.cluster, allocation=allocation, by=operator, reason="node maintenance"
        )
    assert FakeBackend(cluster=second.cluster).get_job(second.job_id).state == "CANCELLED"
    assert any("node maintenance" in message.body for message in mail.outbox if owner.email in message.to), [
        (m.to, m.subject, m.body[:300]) for m in mail.outbox
    ]
    assert AuditEvent.objects.filter(
        action="job.cancel", actor=operator, reason__contains="node maintenance"
    ).exists()


def test_a_supervisor_sees_jobs_but_not_their_output(allocation, owner):
    record = services.submit_job(request_for(allocation), by=owner)
    supervisor = make_supervisor()
    row = queue.find_job(supervisor, record.cluster, record.job_id)
    assert not queue.may_read_output(supervisor, row.job, row.allocation)
    assert not services.may_cancel(supervisor, row.job, row.allocation)


# --- output ------------------------------------------------------------------------------------------------


def test_the_output_tail_is_shown_only_from_the_jobs_own_file(allocation, owner, client, tmp_path):
    record = services.submit_job(request_for(allocation), by=owner)
    os.makedirs(os.path.dirname(record.stdout_path), exist_ok=True)
    with open(record.stdout_path, "w") as handle:
        handle.write("epoch 1 loss 0.5\n")
    os.chown(record.stdout_path, record.uid, record.uid)
    client.force_login(owner)
    page = client.get(reverse("compute:job_detail", args=[record.cluster, record.job_id]))
    assert "epoch 1 loss 0.5" in page.content.decode()
    download = client.get(reverse("compute:job_output", args=[record.cluster, record.job_id, "stdout"]))
    assert download.status_code == 200 and b"".join(download.streaming_content) == b"epoch 1 loss 0.5\n"
    api = client.get(reverse("api:job-output", args=[record.cluster, record.job_id]), {"stream": "stdout"})
    assert api.json()["text"] == "epoch 1 loss 0.5\n"

    # Someone else's file at the recorded path is never shown.
    os.chown(record.stdout_path, record.uid + 1, record.uid + 1)
    page = client.get(reverse("compute:job_detail", args=[record.cluster, record.job_id]))
    assert "epoch 1 loss 0.5" not in page.content.decode()
    assert (
        client.get(reverse("compute:job_output", args=[record.cluster, record.job_id, "stdout"])).status_code
        == 404
    )


def test_an_output_path_outside_the_allowed_roots_is_never_read(
    allocation, owner, client, tmp_path, settings
):
    record = services.submit_job(request_for(allocation), by=owner)
    secret = tmp_path / "elsewhere.txt"
    secret.write_text("not yours")
    os.chown(secret, record.uid, record.uid)
    settings.JOB_OUTPUT_ROOTS = [str(tmp_path / "homes")]
    Submission.objects.filter(pk=record.pk).update(stdout_path=str(secret))
    client.force_login(owner)
    page = client.get(reverse("compute:job_detail", args=[record.cluster, record.job_id]))
    assert "not yours" not in page.content.decode()


# --- API -----------------------------------------------------------------------------------------------------


def test_the_api_submits_lists_and_refuses_with_reasons(allocation, owner, client):
    client.force_login(owner)
    created = client.post(
        reverse("api:job-list"),
        {
            "allocation": allocation.pk,
            "script": SCRIPT,
            "name": "api-job",
            "cards_per_node": 1,
            "time_limit_minutes": 30,
        },
        content_type="application/json",
    )
    assert created.status_code == 201, created.content
    assert created.json()["name"] == "api-job"
    listed = client.get(reverse("api:job-list"))
    assert [job["job_id"] for job in listed.json()["jobs"]] == [created.json()["job_id"]]

    too_big = client.post(
        reverse("api:job-list"),
        {"allocation": allocation.pk, "script": SCRIPT, "nodes": 99},
        content_type="application/json",
    )
    assert too_big.status_code == 400 and "allows" in str(too_big.json())
    wrong = client.post(
        reverse("api:job-list"),
        {"allocation": allocation.pk + 999, "script": SCRIPT},
        content_type="application/json",
    )
    assert wrong.status_code == 400
    junk = client.post(
        reverse("api:job-list"), {"allocation": "x", "nodes": "many"}, content_type="application/json"
    )
    assert junk.status_code == 400
    assert client.get(reverse("api:job-list"), {"scope": "all"}).status_code == 403
    assert Submission.objects.count() == 1


def test_a_long_queue_is_paged_with_its_queries_constant(
    allocation, owner, client, django_assert_max_num_queries
):
    from compute.backends.base import QueuedJob

    identity = give_identity(owner)
    backend = FakeBackend(cluster=allocation.partition.cluster)
    for n in range(30):
        backend.add_queued_job(
            allocation.account_name,
            QueuedJob(
                str(5000 + n),
                identity.username,
                "npu",
                "RUNNING",
                "None",
                name=f"q{n}",
                account=allocation.account_name,
                nodes=1,
                cpus=4,
                cards=1,
            ),
        )
    client.force_login(owner)
    client.get("/")  # fills what every page shares (the chrome, ...)
    with django_assert_max_num_queries(20):
        first = client.get(reverse("compute:job_list")).content.decode()
    assert first.count('href="/compute/jobs/fake/50') == 25 and "page=2" in first
    second = client.get(reverse("compute:job_list"), {"page": 2}).content.decode()
    assert second.count('href="/compute/jobs/fake/50') == 5
    api = client.get(reverse("api:job-list"), {"page": 1}).json()
    assert len(api["jobs"]) == 30 and api["has_next"] is False


def test_on_the_fake_cluster_a_job_runs_ends_writes_its_output_and_is_counted(
    allocation, owner, monkeypatch, tmp_path
):
    from compute import usage
    from compute.backends import fake
    from compute.models import Job

    record = services.submit_job(request_for(allocation, script=SCRIPT, time_limit_minutes=60), by=owner)
    backend = FakeBackend(cluster=record.cluster)
    assert backend.get_job(record.job_id).state == "PENDING"
    later = fake._now() + timedelta(seconds=fake.PENDING_SECONDS + 1)
    monkeypatch.setattr(fake, "_now", lambda: later)
    assert backend.get_job(record.job_id).state == "RUNNING"
    done = later + timedelta(seconds=fake.RUNNING_SECONDS + 1)
    monkeypatch.setattr(fake, "_now", lambda: done)
    job = backend.get_job(record.job_id)
    assert job.state == "COMPLETED" and job.exit_code == 0
    assert "hello from the test" in Path(record.stdout_path).read_text()
    usage.ingest_usage(backend=backend, since=done - timedelta(hours=1))
    counted = Job.objects.get(cluster=record.cluster, job_id=record.job_id)
    assert counted.allocation == allocation and counted.state == "COMPLETED"


def test_the_fragments_lead_a_browser_without_htmx_to_their_pages(owner, client):
    client.force_login(owner)
    assert client.get(reverse("compute:job_estimate"))["Location"] == reverse("compute:job_submit")
    answer = client.get(reverse("compute:job_queue"), {"scope": "mine"})
    assert answer.status_code == 302 and answer["Location"] == reverse("compute:job_list") + "?scope=mine"
    polled = client.get(reverse("compute:job_queue"), {"scope": "mine"}, headers={"HX-Request": "true"})
    assert polled.status_code == 200 and 'id="job-queue"' in polled.content.decode()
