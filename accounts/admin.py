from django.contrib import admin, messages
from django.contrib.auth.models import Group
from django.utils.translation import gettext_lazy as _

from accounts import services
from accounts.models import (
    AdmissionRequest,
    ApiToken,
    Consent,
    Invitation,
    Membership,
    OnboardingBatch,
    OnboardingRow,
    Organisation,
    OrganisationDomain,
    PhoneNumber,
    SamlAssertion,
    SamlMembership,
    User,
)
from core.admin import PortalModelAdmin, ReadOnlyModelAdmin
from core.exceptions import DomainError


@admin.register(User)
class UserAdmin(ReadOnlyModelAdmin):
    list_display = ["email", "name", "is_active", "is_staff", "date_joined", "last_login"]
    list_filter = ["is_active", "is_staff", "groups"]
    search_fields = ["email", "name"]
    exclude = ["password"]
    ordering = ["-id"]


class MembershipInline(admin.TabularInline):
    model = Membership
    extra = 0
    fields = ["user", "role", "created_at"]
    readonly_fields = fields
    can_delete = False

    def has_add_permission(self, request, obj=None):
        return False


@admin.register(Organisation)
class OrganisationAdmin(PortalModelAdmin):
    list_display = ["name_zh", "name_en", "kind", "sector", "city", "verification_status", "created_at"]
    list_filter = ["verification_status", "kind", "sector"]
    search_fields = ["name_zh", "name_en", "uscc", "city"]
    readonly_fields = [
        "verification_status",
        "verification_decided_by",
        "verification_decided_at",
        "verification_reason",
        "created_by",
        "created_at",
        "updated_at",
    ]
    inlines = [MembershipInline]
    actions = ["verify_selected"]
    ordering = ["-id"]

    def has_add_permission(self, request):
        # Organisations are created by their people in the portal, which makes the creator owner.
        return False

    def save_model(self, request, obj, form, change):
        fields = {
            name: form.cleaned_data[name] for name in form.changed_data if name in Organisation.PROFILE_FIELDS
        }
        try:
            services.update_organisation(Organisation.objects.get(pk=obj.pk), by=request.user, **fields)
        except DomainError as error:
            messages.error(request, str(error))

    @admin.action(description=_("Verify the selected organisations (pending only)"), permissions=["verify"])
    def verify_selected(self, request, queryset):
        done = 0
        for organisation in queryset:
            try:
                services.verify_organisation(organisation, by=request.user)
                done += 1
            except DomainError as error:
                messages.warning(request, f"{organisation}: {error}")
        messages.success(request, _("%(n)d organisation(s) verified.") % {"n": done})

    def has_verify_permission(self, request):
        return request.user.has_perm("accounts.verify_organisation")


@admin.register(Membership)
class MembershipAdmin(ReadOnlyModelAdmin):
    list_display = ["user", "organisation", "role", "created_at"]
    list_filter = ["role"]
    search_fields = ["user__email", "organisation__name_zh", "organisation__name_en"]
    list_select_related = ["user", "organisation"]
    raw_id_fields = ["user", "organisation"]


@admin.register(Invitation)
class InvitationAdmin(ReadOnlyModelAdmin):
    list_display = ["email", "organisation", "role", "status", "created_at", "expires_at"]
    list_filter = ["status", "role"]
    search_fields = ["email", "organisation__name_zh", "organisation__name_en"]
    list_select_related = ["organisation"]
    exclude = ["token"]


admin.site.unregister(Group)


@admin.register(ApiToken)
class ApiTokenAdmin(ReadOnlyModelAdmin):
    """Superusers only (no role has permissions on tokens); never the digest. People revoke in the portal."""

    list_display = ["name", "user", "display_prefix", "scope", "expires_at", "last_used_at", "revoked_at"]
    list_filter = ["scope", ("revoked_at", admin.EmptyFieldListFilter)]
    search_fields = ["name", "user__email", "display_prefix"]
    exclude = ["digest"]
    ordering = ["-id"]


@admin.register(Group)
class GroupAdmin(ReadOnlyModelAdmin):
    list_display = ["name"]
    search_fields = ["name"]


@admin.register(Consent)
class ConsentAdmin(ReadOnlyModelAdmin):
    list_display = ["user", "purpose", "given_at", "withdrawn_at", "notice_version"]
    list_filter = ["purpose", "withdrawn_at"]
    search_fields = ["user__email"]
    list_select_related = ["user"]
    raw_id_fields = ["user"]


# --- sign-in and onboarding: read here, changed through the portal's pages (which audit and mail) ---------


@admin.register(PhoneNumber)
class PhoneNumberAdmin(ReadOnlyModelAdmin):
    list_display = ["number", "user", "verified", "verified_at", "created_at"]
    list_filter = ["verified"]
    search_fields = ["number", "user__email", "user__name"]
    ordering = ["-id"]


@admin.register(OnboardingBatch)
class OnboardingBatchAdmin(ReadOnlyModelAdmin):
    list_display = [
        "id",
        "organisation",
        "created_by",
        "source",
        "status",
        "row_count",
        "error_count",
        "created_at",
    ]
    list_filter = ["status", "source"]
    search_fields = ["organisation__name_zh", "organisation__name_en", "created_by__email", "file_name"]
    ordering = ["-id"]


@admin.register(OnboardingRow)
class OnboardingRowAdmin(ReadOnlyModelAdmin):
    list_display = ["batch", "line", "kind", "email", "phone", "role", "status", "error", "sent_count"]
    list_filter = ["status", "kind", "error"]
    search_fields = ["email", "phone", "name", "organisation__name_zh"]
    exclude = ["token"]
    ordering = ["-id"]


@admin.register(OrganisationDomain)
class OrganisationDomainAdmin(ReadOnlyModelAdmin):
    list_display = ["domain", "organisation", "status", "verified_by_method", "verified_at"]
    list_filter = ["status", "verified_by_method"]
    search_fields = ["domain", "organisation__name_zh", "organisation__name_en"]
    ordering = ["domain"]


@admin.register(AdmissionRequest)
class AdmissionRequestAdmin(ReadOnlyModelAdmin):
    list_display = ["organisation", "user", "email", "status"]
    list_filter = ["status"]
    search_fields = ["email", "user__name", "organisation__name_zh", "organisation__name_en"]
    ordering = ["-id"]


@admin.register(SamlMembership)
class SamlMembershipAdmin(ReadOnlyModelAdmin):
    list_display = ["membership", "app", "created_at", "updated_at"]
    list_filter = ["app"]
    search_fields = ["app", "membership__user__email", "membership__organisation__name_zh"]
    ordering = ["-id"]


@admin.register(SamlAssertion)
class SamlAssertionAdmin(ReadOnlyModelAdmin):
    list_display = ["issuer", "app", "not_on_or_after", "accepted_at"]
    list_filter = ["app"]
    search_fields = ["issuer", "assertion_id"]
    ordering = ["-id"]
