from django.urls import path

from projects.views import applicant, incubation, operator, public, review

app_name = "projects"

urlpatterns = [
    path("", public.index, name="index"),
    path("calls/", public.call_list, name="call_list"),
    path("calls/<int:pk>/", public.call_detail, name="call_detail"),
    path("calls/<int:call_pk>/apply/", applicant.application_create, name="application_create"),
    path("showcase/", public.showcase, name="showcase"),
    path("applications/", applicant.application_list, name="application_list"),
    path("applications/<int:pk>/", applicant.application_detail, name="application_detail"),
    path("applications/<int:pk>/edit/", applicant.application_edit, name="application_edit"),
    path("applications/<int:pk>/autosave/", applicant.application_autosave, name="application_autosave"),
    path("applications/<int:pk>/submit/", applicant.application_submit, name="application_submit"),
    path("applications/<int:pk>/withdraw/", applicant.application_withdraw, name="application_withdraw"),
    path("applications/<int:pk>/co-applicants/", applicant.application_invite, name="application_invite"),
    path("applications/<int:pk>/attachments/", applicant.attachment_upload, name="attachment_upload"),
    path("applications/<int:pk>/transition/", operator.application_transition, name="application_transition"),
    path(
        "applications/<int:pk>/request-information/",
        operator.application_request_information,
        name="application_request_information",
    ),
    path("applications/<int:pk>/assign/", operator.application_assign, name="application_assign"),
    path("applications/<int:pk>/decide/", operator.application_decide, name="application_decide"),
    path("attachments/<int:pk>/", applicant.attachment_download, name="attachment_download"),
    path("attachments/<int:pk>/delete/", applicant.attachment_delete, name="attachment_delete"),
    path("operator/applications/", operator.operator_applications, name="operator_applications"),
    path("operator/calls/<int:pk>/ranking/", operator.call_ranking, name="call_ranking"),
    path("operator/calls/<int:pk>/auto-assign/", operator.call_auto_assign, name="call_auto_assign"),
    path("reviews/", review.review_list, name="review_list"),
    path("reviews/<int:pk>/", review.review_form, name="review_form"),
    path("reviews/<int:pk>/autosave/", review.review_autosave, name="review_autosave"),
    path("reviews/<int:pk>/decline/", review.review_decline, name="review_decline"),
    path("incubated/", incubation.project_list, name="project_list"),
    path("incubated/<int:pk>/", incubation.project_detail, name="project_detail"),
    path("incubated/<int:pk>/status/", incubation.project_status, name="project_status"),
    path("incubated/<int:pk>/mentors/", incubation.project_mentor, name="project_mentor"),
    path("incubated/<int:pk>/milestones/", incubation.milestone_create, name="milestone_create"),
    path("incubated/<int:pk>/reports/", incubation.report_create, name="report_create"),
    path("incubated/<int:pk>/showcase/", incubation.project_showcase, name="project_showcase"),
    path("milestones/<int:pk>/submit/", incubation.milestone_submit, name="milestone_submit"),
    path("milestones/<int:pk>/review/", incubation.milestone_review, name="milestone_review"),
    path("milestones/<int:pk>/evidence/", incubation.milestone_evidence, name="milestone_evidence"),
]
