from django.utils.translation import gettext_lazy as _

from core import apps as core_apps


class TalentConfig(core_apps.PlatformConfig):
    name = "talent"
    verbose_name = _("Talent training")
    short_name = _("Training")
    menu_url = "talent:index"
