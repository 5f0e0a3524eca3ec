"""What the training platform offers the rest of the portal (see core/hooks.py for what each hook means)."""

from django.db.models.signals import m2m_changed, post_save
from django.utils.translation import gettext_lazy as _

from accounts.models import Consent, Organisation, User
from alliance.models import AllianceMembership
from core import hooks, signals
from core import reports as core_reports
from talent import demo, kept, privacy, reports, sweepers
from talent.models import Attendance, Certificate, Cohort, Course, Enrolment, Programme, SeatPool, Session
from talent.views import catalogue

hooks.register(
    hooks.AUDIT_LABELS,
    {
        "need.training_offered": _("Told that a course answering the need opened"),
        "talent_pool.contact": _("Contacted through the talent pool"),
        "enrolment.request": _("Enrolment requested"),
        "enrolment.enrol": _("Enrolled"),
        "enrolment.waitlist": _("Put on the waitlist"),
        "enrolment.offer": _("Seat offered"),
        "enrolment.accept_offer": _("Seat offer accepted"),
        "enrolment.offer_expire": _("Seat offer expired"),
        "enrolment.withdraw": _("Withdrawn from a cohort"),
        "enrolment.approve": _("Enrolment request approved"),
        "enrolment.decline": _("Enrolment request declined"),
        "enrolment.assign_pool_seat": _("Organisation seat assigned"),
        "enrolment.score": _("Score recorded"),
        "enrolment.finish": _("Cohort outcome recorded"),
        "seat_pool.reserve": _("Organisation seats reserved"),
        "attendance.mark": _("Attendance marked"),
        "attendance.check_in": _("Checked in"),
        "session.new_checkin_code": _("New check-in code"),
        "session.create": _("Session added"),
        "session.update": _("Session changed"),
        "certificate.issue": _("Certificate issued"),
        "certificate.revoke": _("Certificate revoked"),
        "cohort.create": _("Cohort created"),
        "cohort.update": _("Cohort changed"),
        "cohort.status": _("Cohort status changed"),
        "cohort.finish": _("Cohort completed"),
        "cohort.bulk_enrol": _("Bulk enrolment from a file"),
        "course.create": _("Course created"),
        "course.update": _("Course changed"),
        "training_programme.create": _("Training programme created"),
        "training_programme.update": _("Training programme changed"),
    },
)

hooks.register(hooks.PERSONAL_DATA, privacy.personal_data, name="talent")

# A deleted person leaves open cohorts (seats go to the waitlist); certificates keep a pseudonym.
signals.account_deleting.connect(privacy.forget_learner, dispatch_uid="talent.forget_learner")

hooks.register(hooks.STAFF_MENU, "talent/partials/staff_menu.html")
hooks.register(hooks.USER_MENU, "talent/partials/user_menu.html")
hooks.register(hooks.API_URLS, "talent.api_urls")

hooks.register(hooks.DASHBOARD_PANELS, "talent/partials/dashboard_panel.html", order=10)
hooks.register(hooks.DEMO_DATA, demo.seed, order=40)
hooks.register(hooks.OVERSIGHT_REPORTS, reports.REPORTS, order=30)
core_reports.DATA.follow(*reports.READS)
hooks.register(hooks.OVERVIEW_FIGURES, reports.transparency_figures)
hooks.register(hooks.STUCK_WORK, sweepers.unoffered_seats)


# The public catalogue's cached body (core/pagecache.py) is rendered anew after any change it shows.
catalogue.CATALOGUE.follow(Programme, Course, Cohort, Enrolment, SeatPool)

# The staff's kept pages (talent/kept.py) are rendered anew after any change they show. Who runs a cohort (its
# instructors) is no part of a body: it is read on every request and names the roster's audience in its key.
kept.MANAGE.follow(Programme, Course, Cohort, Enrolment, SeatPool)
kept.ROSTER.follow(Course, Cohort, Session, Enrolment, Attendance, Certificate, SeatPool, Organisation)
kept.LEARNER.follow(Course, Cohort, Session, Enrolment, Attendance, Certificate, Consent)
post_save.connect(kept.forget_roster_person, sender=User, dispatch_uid="pagecache.talent-roster.User.saved")
# A course's and a cohort's page, kept for each person and for visitors (talent/kept.py: COURSE); who teaches
# is set after the cohort or course is saved, so a change of the instructors starts a generation too.
kept.COURSE.follow(Programme, Course, Cohort, Session, Enrolment, SeatPool, Organisation, AllianceMembership)
for _through in (Course.instructors.through, Cohort.instructors.through):
    m2m_changed.connect(
        kept.COURSE.changed, sender=_through, dispatch_uid=f"pagecache.talent-course.{_through.__name__}"
    )
post_save.connect(kept.forget_course_person, sender=User, dispatch_uid="pagecache.talent-course.User.saved")
