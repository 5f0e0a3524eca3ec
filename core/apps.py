from django.apps import AppConfig, apps
from django.db.models.signals import post_migrate
from django.utils.module_loading import autodiscover_modules
from django.utils.translation import gettext_lazy as _


class CoreConfig(AppConfig):
    """The kernel: audit trail, mail, errors, roles, the status-machine base, web helpers, hooks and signals.

    It knows no app. Apps plug in through their ``hooks.py``, which this config imports once every model is
    loaded (as Django's admin imports every ``admin.py``)."""

    name = "core"
    default = True  # this module also holds PlatformConfig, the base of the apps' configs
    verbose_name = _("Portal kernel")

    def ready(self):
        from core import metrics  # noqa: F401, PLC0415 - connects the Celery task signals in every process

        autodiscover_modules("hooks")
        # Permissions of new models exist only after migrate: keep the site roles' permissions complete.
        post_migrate.connect(_sync_roles, dispatch_uid="core.sync_role_permissions")


def _sync_roles(sender, using="default", **kwargs):
    from core.roles import sync_role_permissions  # roles imports the auth models: not before apps are ready

    sync_role_permissions(using=using)


class PlatformConfig(AppConfig):
    """Base of an app's config (import the module, ``from core import apps as core_apps``: Django picks an
    app's config as the one AppConfig class its apps.py holds). ``operator_managed`` apps have their models managed by operators in the back
    office (view, add, change); supervisors read every app's models whatever this says."""

    operator_managed = True
    # The app's entry in the main navigation (none without ``menu_url``) and its name in filters and reports.
    menu_url: str | None = None
    short_name = None

    @property
    def label_for_people(self):
        return self.short_name or self.verbose_name


def platform_configs() -> list[PlatformConfig]:
    """The apps that plug into the portal, in INSTALLED_APPS order: the one list of platforms."""
    return [config for config in apps.get_app_configs() if isinstance(config, PlatformConfig)]
