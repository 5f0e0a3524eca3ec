from django.conf import settings
from django.core import checks
from django.utils.translation import gettext_lazy as _

from core import apps as core_apps


class ComputeConfig(core_apps.PlatformConfig):
    name = "compute"
    verbose_name = _("Public compute service")
    short_name = _("Compute")
    menu_url = "compute:index"

    def ready(self):
        checks.register(check_cluster_backend, checks.Tags.compatibility, deploy=True)


def check_cluster_backend(app_configs, **kwargs):
    """Production on the fake cluster would grant nothing real: say so in check --deploy."""
    if settings.CLUSTER_BACKEND.endswith("FakeBackend"):
        return [
            checks.Warning(
                "CLUSTER_BACKEND is the fake in-memory cluster: approved quota is not provisioned anywhere.",
                hint="Set CLUSTER_BACKEND=compute.backends.slurm.SlurmBackend (see docs/slurm.md).",
                id="compute.W001",
            )
        ]
    return []
