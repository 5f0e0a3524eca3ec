from django.conf import settings
from django.utils.translation import gettext_lazy as _

from accounts.roles import is_operator, is_supervisor

PLATFORMS = (
    ("compute:index", _("Compute")),
    ("projects:index", _("Incubation")),
    ("alliance:index", _("Alliance")),
    ("talent:index", _("Training")),
)


def portal(request):
    user = getattr(request, "user", None)
    return {
        "PLATFORMS": PLATFORMS,
        "IS_OPERATOR": is_operator(user) if user else False,
        "IS_SUPERVISOR": is_supervisor(user) if user else False,
        "DEMO_MODE": settings.DEBUG,
    }
