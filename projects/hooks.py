"""What the incubation platform offers the rest of the portal (see core/hooks.py for what each hook means)."""

from django.db.models.signals import post_delete, post_save
from django.utils.translation import gettext_lazy as _

from accounts.models import Organisation
from core import hooks, pagecache
from core import reports as core_reports
from projects import demo, kept, privacy, reports
from projects.models import (
    Application,
    Attachment,
    Call,
    CoApplicant,
    Criterion,
    Programme,
    Project,
    ReviewAssignment,
)
from projects.views import public

hooks.register(
    hooks.AUDIT_LABELS,
    {
        "application.create": _("Application drafted"),
        "application.update": _("Application edited"),
        "application.submit": _("Application submitted"),
        "application.resubmit": _("Application resubmitted"),
        "application.withdraw": _("Application withdrawn"),
        "application.invite_co_applicant": _("Co-applicant invited"),
        "application.add_attachment": _("Attachment added"),
        "application.remove_attachment": _("Attachment removed"),
        "application.start_screening": _("Screening started"),
        "application.request_information": _("More information requested"),
        "application.start_review": _("Review started"),
        "application.close_review": _("Review closed"),
        "application.accept": _("Application accepted"),
        "application.waitlist": _("Application waitlisted"),
        "application.reject": _("Application rejected"),
        "review.assign": _("Reviewer assigned"),
        "review.decline": _("Review declined (conflict of interest)"),
        "review.save_draft": _("Review draft saved"),
        "review.submit": _("Review submitted"),
        "project.create": _("Incubated project started"),
        "project.add_mentor": _("Mentor added"),
        "project.remove_mentor": _("Mentor removed"),
        "project.active": _("Project active"),
        "project.at_risk": _("Project at risk"),
        "project.graduated": _("Project graduated"),
        "project.terminated": _("Project terminated"),
        "project.onboarding": _("Project onboarding"),
        "project.showcase_consent": _("Showcase consent changed"),
        "project.progress_report": _("Progress report filed"),
        "milestone.create": _("Milestone planned"),
        "milestone.submit": _("Milestone submitted"),
        "milestone.accept": _("Milestone accepted"),
        "milestone.request_changes": _("Milestone changes requested"),
        "programme.create": _("Programme created"),
        "programme.update": _("Programme changed"),
        "criterion.create": _("Review criterion created"),
        "criterion.update": _("Review criterion changed"),
        "call.create": _("Call created"),
        "call.update": _("Call changed"),
    },
)

hooks.register(hooks.PERSONAL_DATA, privacy.personal_data, name="projects")

hooks.register(hooks.STAFF_MENU, "projects/partials/staff_menu.html")
hooks.register(hooks.USER_MENU, "projects/partials/user_menu.html")
hooks.register(hooks.API_URLS, "projects.api_urls")

hooks.register(hooks.DASHBOARD_PANELS, "projects/partials/dashboard_panel.html", order=20)
hooks.register(hooks.DEMO_DATA, demo.seed, order=30)
hooks.register(hooks.OVERSIGHT_REPORTS, reports.REPORTS, order=20)
core_reports.DATA.follow(*reports.READS)
hooks.register(hooks.OVERVIEW_FIGURES, reports.transparency_figures)


# The public open calls' and call pages' cached bodies (core/pagecache.py): anew after any change they show.
public.OPEN_CALLS.follow(Call, Programme, Criterion)

# The lists, kept per state of what they show (projects/kept.py): the applications' rows, the calls of their
# filter, their attachments and reviewers (the API's); a call's ranking (its deadline, its applications and their reviews' figures); the
# projects' rows (their organisation and programme).
kept.APPLICATIONS.follow(Application, Call, Organisation, Attachment, ReviewAssignment)
kept.RANKING.follow(Call, Application, ReviewAssignment, Organisation)
kept.PROJECTS.follow(Project, Organisation, Programme)


def _forget_co_applicant(sender, instance, **kwargs):
    """Co-applicants see the application among theirs: what they may see changed (core/pagecache.py: person)."""
    pagecache.forget_person(instance.user_id)


post_save.connect(_forget_co_applicant, sender=CoApplicant, dispatch_uid="projects.kept.co_applicant_saved")
post_delete.connect(
    _forget_co_applicant, sender=CoApplicant, dispatch_uid="projects.kept.co_applicant_deleted"
)
