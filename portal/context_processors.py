from core import hooks
from core.apps import platform_configs
from core.roles import is_operator, is_supervisor


def portal(request):
    """What base.html needs on every page: the platforms' menus and who is asking."""
    user = getattr(request, "user", None)
    return {
        "PLATFORMS": [(c.menu_url, c.label_for_people) for c in platform_configs() if c.menu_url],
        "STAFF_MENU": hooks.values(hooks.STAFF_MENU),
        "USER_MENU": hooks.values(hooks.USER_MENU),
        "DASHBOARD_PANELS": hooks.values(hooks.DASHBOARD_PANELS),
        "IS_OPERATOR": is_operator(user) if user else False,
        "IS_SUPERVISOR": is_supervisor(user) if user else False,
        # The demonstration banner: shown while an app has something to say (compute: the cluster is a fake).
        "DEMO_NOTICES": [notice for notice in (fn() for fn in hooks.values(hooks.DEMO_NOTICES)) if notice],
    }
