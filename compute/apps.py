from django.apps import AppConfig
from django.core import checks
from django.utils.translation import gettext_lazy as _


class ComputeConfig(AppConfig):
    name = "compute"
    verbose_name = _("Public compute service")

    def ready(self):
        from compute import privacy  # noqa: F401 - registers the personal-data section
        from compute.vouchers import grant_incubation_voucher
        from projects.benefits import project_accepted

        # An accepted incubation application brings its programme's compute voucher.
        project_accepted.connect(grant_incubation_voucher, dispatch_uid="compute.grant_incubation_voucher")

        checks.register(check_cluster_backend, checks.Tags.compatibility, deploy=True)


def check_cluster_backend(app_configs, **kwargs):
    """Production on the fake cluster would grant nothing real: say so in check --deploy."""
    from django.conf import settings

    if settings.CLUSTER_BACKEND.endswith("FakeBackend"):
        return [
            checks.Warning(
                "CLUSTER_BACKEND is the fake in-memory cluster: approved quota is not provisioned anywhere.",
                hint="Set CLUSTER_BACKEND=compute.backends.slurm.SlurmBackend (see docs/slurm.md).",
                id="compute.W001",
            )
        ]
    return []
