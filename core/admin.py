from allauth.account.decorators import secure_admin_login
from django.contrib import admin
from django.utils.translation import gettext_lazy as _

from core.models import AuditEvent, OutboxMessage
from core.roles import is_read_only, is_supervisor

admin.site.site_header = _("AI Computing Center back office")
admin.site.site_title = _("AI Computing Center")
admin.site.index_title = _("Back office")
# The back office signs people in through allauth (password, then MFA, rate limits, audit), never through
# Django's own password-only login form.
admin.site.login = secure_admin_login(admin.site.login)


class PortalModelAdmin(admin.ModelAdmin):
    """Base of every ModelAdmin: supervisors may view any record and never change one."""

    list_per_page = 50
    show_full_result_count = False  # no COUNT(*) of the whole table on every page

    def has_view_permission(self, request, obj=None):
        return is_supervisor(request.user) or super().has_view_permission(request, obj)

    def has_add_permission(self, request):
        return not is_read_only(request.user) and super().has_add_permission(request)

    def has_change_permission(self, request, obj=None):
        return not is_read_only(request.user) and super().has_change_permission(request, obj)

    def has_delete_permission(self, request, obj=None):
        return not is_read_only(request.user) and super().has_delete_permission(request, obj)

    def has_module_permission(self, request):
        return is_supervisor(request.user) or super().has_module_permission(request)


class ReadOnlyModelAdmin(PortalModelAdmin):
    """Records that change only through the portal's services (so that each change is audited)."""

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(AuditEvent)
class AuditEventAdmin(ReadOnlyModelAdmin):
    list_display = ["created_at", "actor_label", "platform", "action", "target_label", "organisation"]
    list_filter = ["platform", "action", "created_at"]
    search_fields = ["actor_label", "action", "target_label", "reason"]
    date_hierarchy = "created_at"
    list_select_related = ["organisation"]
    raw_id_fields = ["actor", "organisation"]


@admin.register(OutboxMessage)
class OutboxMessageAdmin(ReadOnlyModelAdmin):
    """What waits to be delivered and why (the relay and the sweeper deliver it, nobody edits it)."""

    list_display = ["created_at", "kind", "name", "attempts", "next_attempt_at", "delivered_at", "last_error"]
    list_filter = ["kind", ("delivered_at", admin.EmptyFieldListFilter)]
    search_fields = ["name", "key", "last_error"]
    date_hierarchy = "created_at"
    exclude = ["payload"]  # a mail's body may hold a sign-in or password-reset link
