from allauth.mfa.utils import is_mfa_enabled
from django.contrib import messages
from django.shortcuts import redirect
from django.urls import reverse
from django.utils.translation import gettext as _

from accounts.roles import requires_mfa

# Paths that only staff reach; operators and supervisors must have MFA switched on before entering them.
# Every platform keeps its staff pages under <platform>/operator/.
STAFF_PREFIXES = ("/admin/", "/operator/", "/oversight/")
STAFF_SEGMENT = "/operator/"


class StaffMFAMiddleware:
    """Operators and supervisors reach the back office only after they have enabled two-factor authentication."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        path = request.path_info
        staff_page = path.startswith(STAFF_PREFIXES) or STAFF_SEGMENT in path
        if staff_page and not path.startswith("/admin/logout"):
            user = request.user
            if user.is_authenticated and requires_mfa(user) and not is_mfa_enabled(user):
                messages.warning(
                    request,
                    _(
                        "Staff must protect their account with two-factor authentication before using the back office."
                    ),
                )
                return redirect(reverse("mfa_activate_totp") + "?next=" + path)
        return self.get_response(request)
