from django.utils.translation import gettext_lazy as _

from core import apps as core_apps


class AllianceConfig(core_apps.PlatformConfig):
    name = "alliance"
    verbose_name = _("Industry alliance")
    short_name = _("Alliance")
    menu_url = "alliance:index"
