from django.conf import settings
from django.core import checks
from django.core.exceptions import ImproperlyConfigured
from django.utils.module_loading import import_string
from django.utils.translation import gettext_lazy as _

from compute.backends.fake import FakeBackend
from compute.identities.directory.fake import FakeDirectory
from core import apps as core_apps


class ComputeConfig(core_apps.PlatformConfig):
    name = "compute"
    verbose_name = _("Public compute service")
    short_name = _("Compute")
    menu_url = "compute:index"

    def ready(self):
        checks.register(check_cluster_backend, checks.Tags.compatibility, deploy=True)
        # Here rather than in a system check: gunicorn and the Celery worker run no checks, and a portal that
        # approves quota on a pretend cluster must not start at all by mistake.
        refuse_fake_cluster()
        refuse_fake_directory()


def fake_clusters() -> list[str]:
    """The settings that put a cluster on the fake backend: ``CLUSTER_BACKEND`` (the backend of every cluster
    CLUSTERS does not list) and ``CLUSTERS["<name>"]`` entries."""
    if not isinstance(settings.CLUSTERS, dict) or not all(
        isinstance(config, dict) for config in settings.CLUSTERS.values()
    ):
        raise ImproperlyConfigured(
            'CLUSTERS must be a JSON object like {"aicc": {"BACKEND": "...", "OPTIONS": {...}}}.'
        )
    paths = {"CLUSTER_BACKEND": settings.CLUSTER_BACKEND}
    for name, config in settings.CLUSTERS.items():
        paths[f'CLUSTERS["{name}"]'] = config.get("BACKEND", settings.CLUSTER_BACKEND)
    found = []
    for setting, path in paths.items():
        try:
            backend = import_string(path)
        except ImportError as error:
            raise ImproperlyConfigured(
                f"{setting}: the cluster backend {path!r} cannot be imported ({error})."
            ) from error
        if isinstance(backend, type) and issubclass(backend, FakeBackend):
            found.append(setting)
    return found


def refuse_fake_directory() -> None:
    """The directory the cluster reads belongs to the same pretence: on the fake one nobody can log in, so
    with DEBUG off it needs ALLOW_FAKE_CLUSTER too."""
    try:
        directory = import_string(settings.DIRECTORY_BACKEND)
    except ImportError as error:
        raise ImproperlyConfigured(
            f"DIRECTORY_BACKEND: {settings.DIRECTORY_BACKEND!r} cannot be imported ({error})."
        ) from error
    fake = isinstance(directory, type) and issubclass(directory, FakeDirectory)
    if fake and not (settings.DEBUG or settings.ALLOW_FAKE_CLUSTER):
        raise ImproperlyConfigured(
            "The fake directory is configured (DIRECTORY_BACKEND) while DEBUG is off: cluster identities and "
            "SSH keys would be published nowhere. Set DIRECTORY_BACKEND=compute.identities.directory.ldap."
            "LdapDirectory (docs/deployment.md), or set ALLOW_FAKE_CLUSTER=true if this site is a "
            "demonstration on purpose."
        )


def refuse_fake_cluster() -> None:
    """With DEBUG off, the fake cluster needs ALLOW_FAKE_CLUSTER: otherwise the process stops at start-up.
    A malformed CLUSTERS or a backend path that cannot be imported stops it in any mode."""
    found = fake_clusters()
    if found and not (settings.DEBUG or settings.ALLOW_FAKE_CLUSTER):
        raise ImproperlyConfigured(
            f"The fake cluster backend is configured ({', '.join(found)}) while DEBUG is off: approved quota "
            "would be provisioned on no real cluster. Set CLUSTER_BACKEND=compute.backends.slurm.SlurmBackend "
            "(and CLUSTERS for several clusters; see docs/slurm.md), or set ALLOW_FAKE_CLUSTER=true if this "
            "site is a demonstration on purpose."
        )


def check_cluster_backend(app_configs, **kwargs):
    """A site allowed to run on the fake cluster (ALLOW_FAKE_CLUSTER) still hears it from check --deploy."""
    found = fake_clusters()
    if found:
        return [
            checks.Warning(
                f"The fake cluster backend is configured ({', '.join(found)}): approved quota is not "
                "provisioned anywhere.",
                hint="Set CLUSTER_BACKEND=compute.backends.slurm.SlurmBackend (see docs/slurm.md). With DEBUG "
                "off the portal starts on the fake only while ALLOW_FAKE_CLUSTER is true.",
                id="compute.W001",
            )
        ]
    return []
