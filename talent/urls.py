from django.urls import path

from talent.views import catalogue, learner, manage, pool, teaching

app_name = "talent"

urlpatterns = [
    path("", catalogue.index, name="index"),
    path("programmes/<slug:slug>/", catalogue.programme_detail, name="programme_detail"),
    path("courses/<slug:slug>/", catalogue.course_detail, name="course_detail"),
    path("cohorts/<int:pk>/", catalogue.cohort_detail, name="cohort_detail"),
    path("cohorts/<int:pk>/enrol/", catalogue.cohort_enrol, name="cohort_enrol"),
    path("cohorts/<int:pk>/seats/", manage.seat_pools, name="seat_pools"),
    path("my/", learner.my_enrolments, name="my_enrolments"),
    path("pool/", pool.talent_pool, name="pool"),
    path("pool/<int:pk>/contact/", pool.talent_pool_contact, name="pool_contact"),
    path("my/schedule.ics", learner.schedule_ics, name="schedule_ics"),
    path("enrolments/<int:pk>/accept/", learner.enrolment_accept, name="enrolment_accept"),
    path("enrolments/<int:pk>/withdraw/", learner.enrolment_withdraw, name="enrolment_withdraw"),
    path("enrolments/<int:pk>/decide/", teaching.enrolment_decide, name="enrolment_decide"),
    path("sessions/<int:pk>/check-in/", learner.session_checkin, name="session_checkin"),
    path("teaching/", teaching.teaching, name="teaching"),
    path("teaching/cohorts/<int:pk>/", teaching.roster, name="roster"),
    path("teaching/cohorts/<int:pk>/scores/", teaching.roster_scores, name="roster_scores"),
    path("teaching/cohorts/<int:pk>/complete/", teaching.roster_complete, name="roster_complete"),
    path("teaching/sessions/<int:pk>/", teaching.attendance, name="attendance"),
    path("teaching/sessions/<int:pk>/new-code/", teaching.session_new_code, name="session_new_code"),
    path("certificates/<str:code>/revoke/", teaching.certificate_revoke, name="certificate_revoke"),
    path("manage/", manage.manage, name="manage"),
    path("manage/programmes/new/", manage.programme_form, name="programme_create"),
    path("manage/programmes/<int:pk>/", manage.programme_form, name="programme_edit"),
    path("manage/courses/new/", manage.course_form, name="course_create"),
    path("manage/courses/<int:pk>/", manage.course_form, name="course_edit"),
    path("manage/cohorts/new/", manage.cohort_form, name="cohort_create"),
    path("manage/cohorts/<int:pk>/", manage.cohort_form, name="cohort_edit"),
    path("manage/cohorts/<int:pk>/status/", manage.cohort_status, name="cohort_status"),
    path("manage/cohorts/<int:pk>/bulk/", manage.cohort_bulk, name="cohort_bulk"),
    path("manage/cohorts/<int:cohort_pk>/sessions/new/", manage.session_form, name="session_create"),
    path("manage/sessions/<int:pk>/", manage.session_form, name="session_edit"),
]
