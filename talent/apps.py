from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class TalentConfig(AppConfig):
    name = "talent"
    verbose_name = _("Talent training")

    def ready(self):
        from portal.audit import register_action_labels
        from talent import privacy  # noqa: F401 - registers the personal-data section

        register_action_labels(ACTION_LABELS)


ACTION_LABELS = {
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
}
