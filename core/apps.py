from django.apps import AppConfig, apps
from django.db.models.signals import m2m_changed, post_delete, post_migrate, post_save, pre_delete
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
        _fast_choice_labels()
        # Permissions of new models exist only after migrate: keep the site roles' permissions complete.
        post_migrate.connect(_sync_roles, dispatch_uid="core.sync_role_permissions")
        # Site roles are cached between requests: forget them when a person's groups change.
        from django.contrib.auth import get_user_model  # noqa: PLC0415 - the auth models load with the apps
        from django.contrib.auth.models import Group  # noqa: PLC0415

        from core.roles import forget_site_roles  # noqa: PLC0415

        m2m_changed.connect(
            forget_site_roles, sender=get_user_model().groups.through, dispatch_uid="core.forget_site_roles"
        )
        pre_delete.connect(forget_site_roles, sender=Group, dispatch_uid="core.forget_site_roles_group")
        # So is whether a member of staff has an authenticator: forget it when one is added or removed.
        from allauth.mfa.models import Authenticator  # noqa: PLC0415

        from core.middleware import forget_mfa_enabled  # noqa: PLC0415

        post_save.connect(forget_mfa_enabled, sender=Authenticator, dispatch_uid="core.forget_mfa_saved")
        post_delete.connect(forget_mfa_enabled, sender=Authenticator, dispatch_uid="core.forget_mfa_deleted")


def _fast_choice_labels() -> None:
    """``get_<field>_display()`` without rebuilding the field's choices on every call.

    Django's ``Model._get_FIELD_display`` makes a hashable dict of all the field's choices each time it is
    called, hashing every lazy label (so translating each): about 40 µs, and a list page calls it a hundred
    times. For every field with a fixed list of choices whose ``get_<field>_display`` is Django's own, this
    puts in one that keeps the dict on the field, built once; the label is then translated as Django does
    (tests/core/test_choice_labels.py). Callable choices and models' own methods are left alone."""
    from functools import partialmethod  # noqa: PLC0415

    from django.db.models import Model  # noqa: PLC0415
    from django.utils.encoding import force_str  # noqa: PLC0415
    from django.utils.hashable import make_hashable  # noqa: PLC0415

    def display(self, field):
        labels = field.__dict__.get("_portal_choice_labels")
        if labels is None:
            labels = field.__dict__["_portal_choice_labels"] = dict(make_hashable(field.flatchoices))
        value = getattr(self, field.attname)
        try:
            label = labels.get(value, value)
        except TypeError:  # an unhashable value (a list, say): made hashable, as Django does
            label = labels.get(make_hashable(value), value)
        return force_str(label, strings_only=True)

    for model in apps.get_models():
        for field in model._meta.get_fields():
            if not getattr(field, "choices", None) or not isinstance(field.choices, (list, tuple)):
                continue
            name = f"get_{field.name}_display"
            current = model.__dict__.get(name)
            if isinstance(current, partialmethod) and current.func is Model._get_FIELD_display:
                setattr(model, name, partialmethod(display, field=field))


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
