from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class AllianceConfig(AppConfig):
    name = "alliance"
    verbose_name = _("Industry alliance")

    def ready(self):
        from alliance import privacy  # noqa: F401 - registers the personal-data section
        from portal.audit import register_action_labels

        register_action_labels(
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
            }
        )
