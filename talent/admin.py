from django.contrib import admin

from core.admin import PortalModelAdmin, ReadOnlyModelAdmin
from talent.models import (
    Attendance,
    Certificate,
    Cohort,
    Course,
    Enrolment,
    NeedNotice,
    Programme,
    SeatPool,
    Session,
)


@admin.register(Programme)
class ProgrammeAdmin(PortalModelAdmin):
    list_display = ["slug", "title_zh", "title_en", "is_published"]
    list_filter = ["is_published"]
    search_fields = ["slug", "title_zh", "title_en"]


@admin.register(Course)
class CourseAdmin(PortalModelAdmin):
    list_display = ["slug", "title_zh", "title_en", "programme", "category", "level", "is_published"]
    list_filter = ["is_published", "category", "level", "programme"]
    search_fields = ["slug", "title_zh", "title_en"]
    list_select_related = ["programme"]
    filter_horizontal = ["instructors"]


class SessionInline(admin.TabularInline):
    model = Session
    extra = 0
    fields = ["title", "starts_at", "ends_at", "place", "online_url"]


@admin.register(Cohort)
class CohortAdmin(PortalModelAdmin):
    """Seats, audience and dates; enrolments change only through the portal's services (audited)."""

    list_display = ["__str__", "starts_on", "ends_on", "capacity", "audience", "access", "status"]
    list_filter = ["status", "audience", "access", "course__category"]
    search_fields = ["name", "course__title_zh", "course__title_en", "course__slug"]
    list_select_related = ["course"]
    filter_horizontal = ["instructors"]
    inlines = [SessionInline]
    date_hierarchy = "starts_on"


@admin.register(Session)
class SessionAdmin(PortalModelAdmin):
    list_display = ["title", "cohort", "starts_at", "ends_at", "place"]
    search_fields = ["title", "cohort__name", "cohort__course__title_zh"]
    list_select_related = ["cohort__course"]
    list_filter = ["starts_at"]
    raw_id_fields = ["cohort"]


@admin.register(SeatPool)
class SeatPoolAdmin(ReadOnlyModelAdmin):
    list_display = ["organisation", "cohort", "seats", "created_at"]
    search_fields = ["organisation__name_zh", "cohort__name"]
    list_select_related = ["organisation", "cohort__course"]
    list_filter = ["created_at"]


@admin.register(Enrolment)
class EnrolmentAdmin(ReadOnlyModelAdmin):
    list_display = ["user", "cohort", "status", "status_changed_at", "score"]
    list_filter = ["status", "cohort__course"]
    search_fields = ["user__email", "user__name", "cohort__name", "cohort__course__title_zh"]
    list_select_related = ["user", "cohort__course"]
    raw_id_fields = ["user", "cohort", "seat_pool", "decided_by"]


@admin.register(Attendance)
class AttendanceAdmin(ReadOnlyModelAdmin):
    list_display = ["enrolment", "session", "present", "method", "marked_at"]
    list_filter = ["present", "method"]
    search_fields = ["enrolment__user__email", "session__title"]
    list_select_related = ["enrolment__user", "enrolment__cohort__course", "session"]


@admin.register(Certificate)
class CertificateAdmin(ReadOnlyModelAdmin):
    """Revoking is done on the cohort page (audited and mailed)."""

    list_display = ["code", "holder_name", "course_title_zh", "issued_on", "status"]
    list_filter = ["status", "issued_on"]
    search_fields = ["code", "holder_name", "course_title_zh", "course_title_en"]


@admin.register(NeedNotice)
class NeedNoticeAdmin(ReadOnlyModelAdmin):
    list_display = ["sent_at", "need", "cohort"]
    list_filter = ["sent_at"]
    search_fields = ["need__title", "need__organisation__name_zh", "cohort__name"]
    list_select_related = ["need", "cohort"]
