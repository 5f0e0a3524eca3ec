from django.utils.translation import gettext_lazy as _

from core import apps as core_apps


class AccountsConfig(core_apps.PlatformConfig):
    name = "accounts"
    verbose_name = _("People and organisations")
    short_name = _("People and organisations")
    operator_permissions = ("verify_organisation",)

    def ready(self):
        super().ready()
        from accounts import schema  # noqa: F401, PLC0415 - registers the schema's view of the auth classes
