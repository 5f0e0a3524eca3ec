"""Back office of cluster identities (registered by compute/admin.py, which the admin autodiscovery imports).

Identities, keys, groups and the id counter change only through the services (each change audited and
published), so they are read-only here. The one task of the back office: resolving the hand-typed names the
migration could not keep (``UsernameConflict``): give the name to one of its people, or to nobody.
Supervisors see everything and change nothing, as in every other admin.
"""

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.shortcuts import get_object_or_404, redirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.html import format_html
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from accounts.models import User
from compute.identities import services
from compute.identities.models import ClusterGroup, ClusterIdentity, IdCounter, SshKey, UsernameConflict
from core.admin import ReadOnlyModelAdmin
from core.exceptions import DomainError
from core.roles import is_operator, is_read_only


class SshKeyInline(admin.TabularInline):
    model = SshKey
    extra = 0
    can_delete = False
    fields = [
        "name",
        "key_type",
        "bits",
        "fingerprint",
        "created_at",
        "expires_at",
        "removed_at",
        "published_at",
    ]
    readonly_fields = fields

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False


@admin.register(ClusterIdentity)
class ClusterIdentityAdmin(ReadOnlyModelAdmin):
    """Suspend, unsuspend and revoke keys on the operators' identity page (one service for page and API)."""

    list_display = [
        "username",
        "uid",
        "user",
        "status",
        "lock_reason",
        "lock_due_at",
        "published",
        "created_at",
    ]
    list_filter = ["status", "lock_reason"]
    search_fields = ["username", "user__email", "user__name"]
    list_select_related = ["user"]
    inlines = [SshKeyInline]

    @admin.display(boolean=True, description=gettext_lazy("published"))
    def published(self, obj):
        return obj.is_published


@admin.register(SshKey)
class SshKeyAdmin(ReadOnlyModelAdmin):
    """Operators revoke keys on the identity page (audited, mailed, published)."""

    list_display = ["name", "identity", "key_type", "fingerprint", "created_at", "expires_at", "removed_at"]
    list_filter = ["key_type", ("removed_at", admin.EmptyFieldListFilter)]
    search_fields = ["name", "fingerprint", "identity__username"]
    list_select_related = ["identity"]


@admin.register(ClusterGroup)
class ClusterGroupAdmin(ReadOnlyModelAdmin):
    list_display = ["name", "gid", "allocation", "created_at", "deleted_at", "published_at"]
    list_filter = [("deleted_at", admin.EmptyFieldListFilter)]
    search_fields = ["name"]
    list_select_related = ["allocation"]


@admin.register(IdCounter)
class IdCounterAdmin(ReadOnlyModelAdmin):
    list_display = ["name", "next_value"]
    list_filter = ["name"]
    search_fields = ["name"]


class ResolveForm(forms.Form):
    person = forms.ModelChoiceField(
        label=gettext_lazy("Give the name to"),
        queryset=User.objects.none(),
        required=False,
        empty_label=gettext_lazy("— nobody (everyone gets a name made from their email) —"),
    )

    def __init__(self, *args, conflict: UsernameConflict, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["person"].queryset = conflict.people.order_by("email")


@admin.register(UsernameConflict)
class UsernameConflictAdmin(ReadOnlyModelAdmin):
    list_display = ["username", "detail", "people_list", "found_at", "resolved_at", "resolve_link"]
    list_filter = [("resolved_at", admin.EmptyFieldListFilter)]
    search_fields = ["username", "people__email"]

    def get_queryset(self, request):
        return super().get_queryset(request).prefetch_related("people")

    @admin.display(description=gettext_lazy("people"))
    def people_list(self, obj):
        return ", ".join(person.email for person in obj.people.all())

    @admin.display(description=gettext_lazy("resolve"))
    def resolve_link(self, obj):
        if obj.resolved_at is not None:
            return "—"
        url = reverse("admin:compute_usernameconflict_resolve", args=[obj.pk])
        return format_html('<a href="{}">{}</a>', url, _("Resolve"))

    def get_urls(self):
        return [
            path(
                "<int:pk>/resolve/",
                self.admin_site.admin_view(self.resolve_view),
                name="compute_usernameconflict_resolve",
            ),
            *super().get_urls(),
        ]

    def resolve_view(self, request, pk):
        if is_read_only(request.user) or not is_operator(request.user):
            raise PermissionDenied
        conflict = get_object_or_404(UsernameConflict, pk=pk)
        form = ResolveForm(request.POST or None, conflict=conflict)
        if request.method == "POST" and form.is_valid():
            try:
                identity = services.resolve_conflict(
                    conflict, by=request.user, person=form.cleaned_data["person"]
                )
            except ValidationError as error:
                form.add_error("person", error.messages)
            except DomainError as error:
                form.add_error(None, str(error))
            else:
                if identity is None:
                    messages.success(
                        request, _("“%(name)s” is given to nobody.") % {"name": conflict.username}
                    )
                else:
                    messages.success(
                        request,
                        _("“%(name)s” is now the cluster identity of %(person)s.")
                        % {"name": identity.username, "person": identity.user.email or str(identity.user)},
                    )
                return redirect("admin:compute_usernameconflict_changelist")
        context = {
            **self.admin_site.each_context(request),
            "opts": self.model._meta,
            "conflict": conflict,
            "form": form,
            "title": _("Resolve the user name “%(name)s”") % {"name": conflict.username},
        }
        return TemplateResponse(request, "admin/compute/usernameconflict/resolve.html", context)
