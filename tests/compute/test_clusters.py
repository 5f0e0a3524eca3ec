"""One portal drives two clusters (an accelerator cluster and an HPC cluster), each on its own backend."""

from decimal import Decimal

import pytest
from django.core.management import call_command
from django.urls import reverse

from compute import usage
from compute.backends import get_backend
from compute.backends.base import ClusterError
from compute.backends.fake import FakeBackend
from compute.models import Allocation, Job, Partition
from compute.services.allocations import sync_allocation
from compute.services.requests import approve_quota_request
from tests.accounts.factories import UserFactory, an_operator
from tests.compute.factories import PartitionFactory, job_record, make_quota_request

pytestmark = pytest.mark.django_db


class UnreachableBackend(FakeBackend):
    """A cluster whose controller does not answer, next to one that does."""

    def _maybe_fail(self, call: str) -> None:
        raise ClusterError(f"fake cluster {self.cluster_name}: slurmctld does not answer (simulated)")


@pytest.fixture
def clusters(db):
    """The accelerator partition on cluster "aicc" and the CPU partition on cluster "hpc"."""
    return {
        "aicc": PartitionFactory(slug="npu", cluster="aicc"),
        "hpc": PartitionFactory(
            slug="cpu",
            name_en="HPC CPU partition",
            name_zh="高性能计算 CPU 分区",
            cluster="hpc",
            slurm_partition="cpu",
            unit="core_hour",
            max_request=Decimal("100000"),
        ),
    }


def allocate(partition: Partition, username: str, amount=100) -> Allocation:
    """Requested, approved and provisioned by the sync task's own code: on the partition's cluster."""
    owner = UserFactory()
    request = make_quota_request(owner, partition=partition, username=username, amount=amount)
    approve_quota_request(request, by=an_operator())
    return sync_allocation(request.created_allocation.pk)


def fake(cluster: str) -> FakeBackend:
    return FakeBackend(cluster=cluster)


def test_each_allocation_converges_on_its_own_cluster_only(clusters):
    training = allocate(clusters["aicc"], "alice")
    simulation = allocate(clusters["hpc"], "bob", amount=5000)

    on_aicc = fake("aicc").read_account(training.account_name)
    on_hpc = fake("hpc").read_account(simulation.account_name)
    assert on_aicc.users == {"alice"} and on_aicc.partitions == {"npu"}
    assert on_aicc.limits == {"billing": 100 * 60}
    assert on_hpc.users == {"bob"} and on_hpc.partitions == {"cpu"}
    assert on_hpc.limits == {"billing": 5000 * 60}
    assert fake("hpc").read_account(training.account_name) is None
    assert fake("aicc").read_account(simulation.account_name) is None
    assert FakeBackend().list_accounts("") == []  # the default cluster got nothing
    assert {a.status for a in (training, simulation)} == {"active"}


def test_a_cluster_configured_on_its_own_gets_its_own_backend_and_options(clusters, settings, tmp_path):
    state = tmp_path / "hpc.json"
    settings.CLUSTERS = {
        "hpc": {"BACKEND": "compute.backends.fake.FakeBackend", "OPTIONS": {"state_file": str(state)}}
    }
    simulation = allocate(clusters["hpc"], "bob")
    training = allocate(clusters["aicc"], "alice")

    assert simulation.account_name in state.read_text()  # the HPC cluster's own state
    assert training.account_name not in state.read_text()
    assert get_backend("hpc").read_account(simulation.account_name).users == {"bob"}
    assert fake("aicc").read_account(training.account_name).users == {"alice"}


def test_ingest_counts_each_clusters_jobs_once(clusters):
    training = allocate(clusters["aicc"], "alice")
    simulation = allocate(clusters["hpc"], "bob", amount=5000)
    # Each cluster numbers its jobs itself: job 1 on aicc and job 1 on hpc are two jobs.
    fake("aicc").add_job(job_record(training, 1, cards=2, minutes=60))
    fake("hpc").add_job(job_record(simulation, 1, cards=64, minutes=30, user="bob"))

    first = usage.ingest_usage()
    again = usage.ingest_usage()

    assert (first.jobs, first.allocations, first.errors) == (2, 2, {})
    assert again.jobs == 2
    assert sorted(Job.objects.values_list("cluster", "job_id", "allocation_id")) == [
        ("aicc", "1", training.pk),
        ("hpc", "1", simulation.pk),
    ]
    training.refresh_from_db()
    simulation.refresh_from_db()
    assert training.used_amount == Decimal("2")  # 2 cards for an hour
    assert simulation.used_amount == Decimal("32")  # 64 cores for half an hour


def test_one_cluster_down_does_not_stop_the_others_ingest(clusters, settings):
    training = allocate(clusters["aicc"], "alice")
    simulation = allocate(clusters["hpc"], "bob", amount=5000)
    fake("aicc").add_job(job_record(training, 1, cards=2, minutes=60))
    fake("hpc").add_job(job_record(simulation, 1, cards=64, minutes=30, user="bob"))
    settings.CLUSTERS = {"hpc": {"BACKEND": "tests.compute.test_clusters.UnreachableBackend"}}

    result = usage.ingest_usage()

    assert result.jobs == 1 and list(result.errors) == ["hpc"]
    assert "slurmctld does not answer" in result.errors["hpc"]
    training.refresh_from_db()
    simulation.refresh_from_db()
    assert training.used_amount == Decimal("2")
    assert simulation.used_amount == 0


def test_reconcile_compares_each_cluster_with_its_own_allocations(clusters):
    training = allocate(clusters["aicc"], "alice")
    simulation = allocate(clusters["hpc"], "bob", amount=5000)

    run = usage.reconcile()

    # Neither account is "unknown" on the other cluster.
    assert (run.error, run.findings) == ("", [])
    FakeBackend.set_limits_by_hand(simulation.account_name, {"billing": 1}, cluster="hpc")
    run = usage.reconcile()
    assert [(f["kind"], f["cluster"], f["account"], f["repaired"]) for f in run.findings] == [
        ("limit_changed", "hpc", simulation.account_name, True)
    ]
    assert fake("hpc").read_account(simulation.account_name).limits == {"billing": 5000 * 60}
    assert fake("aicc").read_account(training.account_name).limits == {"billing": 100 * 60}


def test_one_cluster_down_does_not_stop_the_others_reconcile(clusters, settings):
    training = allocate(clusters["aicc"], "alice")
    allocate(clusters["hpc"], "bob")
    FakeBackend.set_limits_by_hand(training.account_name, {"billing": 1}, cluster="aicc")
    settings.CLUSTERS = {"hpc": {"BACKEND": "tests.compute.test_clusters.UnreachableBackend"}}

    run = usage.reconcile()

    assert run.error.startswith("hpc: ") and "slurmctld does not answer" in run.error
    assert [(f["kind"], f["cluster"], f["repaired"]) for f in run.findings] == [
        ("limit_changed", "aicc", True)
    ]
    assert fake("aicc").read_account(training.account_name).limits == {"billing": 100 * 60}


def test_an_allocation_on_a_cluster_that_is_down_waits_while_the_other_is_provisioned(clusters, settings):
    settings.CLUSTERS = {"hpc": {"BACKEND": "tests.compute.test_clusters.UnreachableBackend"}}
    owner = UserFactory()
    request = make_quota_request(owner, partition=clusters["hpc"], username="bob")
    approve_quota_request(request, by=an_operator())

    with pytest.raises(ClusterError):
        sync_allocation(request.created_allocation.pk)
    training = allocate(clusters["aicc"], "alice")

    waiting = Allocation.objects.get(pk=request.created_allocation.pk)
    assert waiting.status == "provisioning" and "slurmctld does not answer" in waiting.sync_error
    assert training.status == "active"


def test_the_demo_seeds_an_accelerator_cluster_and_an_hpc_cluster(settings):
    settings.DEBUG = True  # seed_demo refuses otherwise

    call_command("seed_demo", "--quiet")

    partitions = {p.slug: (p.cluster, p.slurm_partition, p.tres) for p in Partition.objects.all()}
    assert partitions == {"npu": ("aicc", "npu", "billing"), "cpu": ("hpc", "cpu", "billing")}
    for allocation in Allocation.objects.filter(status="active").select_related("partition"):
        cluster = allocation.partition.cluster
        other = "hpc" if cluster == "aicc" else "aicc"
        assert fake(cluster).read_account(allocation.account_name) is not None
        assert fake(other).read_account(allocation.account_name) is None
        assert allocation.used_amount > 0
    assert set(Allocation.objects.filter(status="active").values_list("partition__cluster", flat=True)) == {
        "aicc",
        "hpc",
    }


def test_the_drift_page_names_the_cluster_that_could_not_be_read(clusters, settings, client, operator, mfa):
    training = allocate(clusters["aicc"], "alice")
    allocate(clusters["hpc"], "bob")
    FakeBackend.set_limits_by_hand(training.account_name, {"billing": 1}, cluster="aicc")
    settings.CLUSTERS = {"hpc": {"BACKEND": "tests.compute.test_clusters.UnreachableBackend"}}
    client.force_login(mfa(operator))

    response = client.post(reverse("compute:reconcile_run"), follow=True)

    html = response.content.decode()
    assert "A cluster could not be read: hpc: fake cluster hpc: slurmctld does not answer" in html
    assert "These clusters could not be read (the others were compared):" in html
    assert "Limit differs" in html and training.account_name in html  # the other cluster was compared
    assert "repaired 1" in html
