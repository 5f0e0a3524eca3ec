from django.utils.translation import gettext_lazy as _

from core import apps as core_apps


class ProjectsConfig(core_apps.PlatformConfig):
    name = "projects"
    verbose_name = _("Application innovation incubation")
    short_name = _("Incubation")
    menu_url = "projects:index"
