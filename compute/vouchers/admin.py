"""The vouchers in the back office: read only, since money moves only through compute/vouchers/services/
(registered by compute/admin.py, which Django's admin autodiscovery imports)."""

from django.contrib import admin

from compute.vouchers.models import LedgerEntry, Settlement, Voucher, VoucherApplication, VoucherScheme
from core.admin import ReadOnlyModelAdmin


@admin.register(VoucherScheme)
class VoucherSchemeAdmin(ReadOnlyModelAdmin):
    """Schemes are created and changed on the vouchers pages (audited with what changed)."""

    list_display = [
        "name_en",
        "name_zh",
        "issuer",
        "subsidy_ratio",
        "total_budget",
        "valid_from",
        "valid_until",
    ]
    list_filter = ["issuer", "is_active", "small_enterprises_only", "for_incubated_projects"]
    search_fields = ["name_en", "name_zh", "issuer_name"]


@admin.register(Voucher)
class VoucherAdmin(ReadOnlyModelAdmin):
    list_display = ["code", "organisation", "scheme", "amount", "granted_on", "expires_on", "source"]
    list_filter = ["source", "scheme", "expires_on"]
    search_fields = ["code", "organisation__name_zh", "organisation__name_en"]
    list_select_related = ["organisation", "scheme"]


@admin.register(LedgerEntry)
class LedgerEntryAdmin(ReadOnlyModelAdmin):
    list_display = ["created_at", "voucher", "kind", "amount", "settlement", "note"]
    list_filter = ["kind", "created_at"]
    search_fields = ["voucher__code", "note"]
    list_select_related = ["voucher", "settlement"]


@admin.register(Settlement)
class SettlementAdmin(ReadOnlyModelAdmin):
    list_display = ["month", "allocation", "organisation", "units", "cost", "subsidy", "payable"]
    list_filter = ["month"]
    search_fields = ["allocation__account_name", "organisation__name_zh", "organisation__name_en"]
    list_select_related = ["allocation", "organisation"]


@admin.register(VoucherApplication)
class VoucherApplicationAdmin(ReadOnlyModelAdmin):
    list_display = ["created_at", "organisation", "scheme", "amount", "status", "decided_at"]
    list_filter = ["status", "scheme"]
    search_fields = ["organisation__name_zh", "organisation__name_en", "statement"]
    list_select_related = ["organisation", "scheme"]
