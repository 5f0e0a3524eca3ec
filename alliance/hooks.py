"""What the alliance platform offers the rest of the portal (see core/hooks.py for what each hook means)."""

from django.db.models.signals import m2m_changed
from django.utils.translation import gettext_lazy as _

from accounts.models import Organisation
from alliance import demo, kept, privacy, reports
from alliance.models import (
    AllianceMembership,
    AllianceProfile,
    CapabilityTag,
    DirectoryEntry,
    Interest,
    Need,
    Solution,
)
from alliance.services import directory
from alliance.views import directory as directory_views
from core import hooks, signals
from core import reports as core_reports

hooks.register(
    hooks.AUDIT_LABELS,
    {
        "alliance_membership.apply": _("Alliance application filed"),
        "alliance_membership.approve": _("Alliance membership approved"),
        "alliance_membership.reject": _("Alliance application rejected"),
        "alliance_membership.suspend": _("Alliance membership suspended"),
        "alliance_membership.reinstate": _("Alliance membership reinstated"),
        "alliance_membership.withdraw": _("Alliance membership withdrawn"),
        "alliance_membership.change_tier": _("Alliance tier changed"),
        "alliance_membership.request_renewal": _("Alliance renewal requested"),
        "alliance_membership.renew": _("Alliance membership renewed"),
        "alliance_membership.reject_renewal": _("Alliance renewal rejected"),
        "alliance_membership.active": _("Alliance membership active again"),
        "alliance_membership.grace": _("Alliance membership in grace period"),
        "alliance_membership.expired": _("Alliance membership expired"),
        "alliance_membership.remind_renewal": _("Alliance renewal reminder sent"),
        "alliance_profile.visibility": _("Alliance profile privacy changed"),
        "alliance_profile.propose": _("Alliance profile change proposed"),
        "alliance_profile.approve": _("Alliance profile change published"),
        "alliance_profile.reject": _("Alliance profile change rejected"),
        "solution.create": _("Solution created"),
        "solution.update": _("Solution edited"),
        "solution.submit": _("Solution submitted"),
        "solution.withdraw": _("Solution withdrawn"),
        "solution.publish": _("Solution published"),
        "solution.reject": _("Solution rejected"),
        "need.post": _("Need posted"),
        "need.close": _("Need closed"),
        "need.reopen": _("Need reopened"),
        "interest.express": _("Interest expressed"),
        "capability.create": _("Capability added"),
        "capability.update": _("Capability changed"),
    },
)

hooks.register(hooks.PERSONAL_DATA, privacy.personal_data, name="alliance")

# The directory lists a copy of a member's name and type: bring it up to date when the organisation changes.
signals.organisation_changed.connect(
    directory.refresh_organisation, dispatch_uid="alliance.refresh_directory"
)

hooks.register(hooks.STAFF_MENU, "alliance/partials/staff_menu.html")
hooks.register(hooks.USER_MENU, "alliance/partials/user_menu.html")
hooks.register(hooks.API_URLS, "alliance.api_urls")

hooks.register(hooks.DASHBOARD_PANELS, "alliance/partials/dashboard_panel.html", order=30)
hooks.register(hooks.DEMO_DATA, demo.seed, order=20)
hooks.register(hooks.OVERSIGHT_REPORTS, reports.REPORTS, order=40)
core_reports.DATA.follow(*reports.READS)
# The report's kept figures follow every saved or deleted membership and organisation (alliance/reports.py).
reports.FIGURES.follow(AllianceMembership, Organisation)
# The directory's state (alliance/services/directory.py: STATE) follows its entries and their capabilities.
directory.STATE.follow(DirectoryEntry)
m2m_changed.connect(
    directory.STATE.changed,
    sender=DirectoryEntry.capabilities.through,
    dispatch_uid="pagecache.alliance-directory.capabilities",
)
# A visitor's kept view of a member's profile follows what it shows (alliance/views/directory.py).
directory_views.PROFILES.follow(DirectoryEntry, AllianceProfile, Solution, CapabilityTag, Organisation)
hooks.register(hooks.OVERVIEW_FIGURES, reports.transparency_figures)
# A need's page, kept for each person (alliance/kept.py), follows what it shows; capabilities are set after
# the need, solution or entry is saved, so a change of them starts a generation too.
kept.MEMBERSHIPS.follow(AllianceMembership, Organisation)
kept.NEED.follow(Need, Interest, Solution, DirectoryEntry, CapabilityTag, Organisation, AllianceMembership)
for _through in (
    Need.capabilities.through,
    Solution.capabilities.through,
    DirectoryEntry.capabilities.through,
):
    m2m_changed.connect(
        kept.NEED.changed, sender=_through, dispatch_uid=f"pagecache.alliance-need.{_through.__name__}"
    )
