from django.urls import path

from projects import views

app_name = "projects"

urlpatterns = [
    path("", views.index, name="index"),
    path("calls/", views.call_list, name="call_list"),
    path("calls/<int:pk>/", views.call_detail, name="call_detail"),
    path("calls/<int:call_pk>/apply/", views.application_create, name="application_create"),
    path("showcase/", views.showcase, name="showcase"),
    path("applications/", views.application_list, name="application_list"),
    path("applications/<int:pk>/", views.application_detail, name="application_detail"),
    path("applications/<int:pk>/edit/", views.application_edit, name="application_edit"),
    path("applications/<int:pk>/autosave/", views.application_autosave, name="application_autosave"),
    path("applications/<int:pk>/submit/", views.application_submit, name="application_submit"),
    path("applications/<int:pk>/withdraw/", views.application_withdraw, name="application_withdraw"),
    path("applications/<int:pk>/co-applicants/", views.application_invite, name="application_invite"),
    path("applications/<int:pk>/attachments/", views.attachment_upload, name="attachment_upload"),
    path("applications/<int:pk>/transition/", views.application_transition, name="application_transition"),
    path(
        "applications/<int:pk>/request-information/",
        views.application_request_information,
        name="application_request_information",
    ),
    path("applications/<int:pk>/assign/", views.application_assign, name="application_assign"),
    path("applications/<int:pk>/decide/", views.application_decide, name="application_decide"),
    path("attachments/<int:pk>/", views.attachment_download, name="attachment_download"),
    path("attachments/<int:pk>/delete/", views.attachment_delete, name="attachment_delete"),
    path("operator/applications/", views.operator_applications, name="operator_applications"),
    path("operator/calls/<int:pk>/ranking/", views.call_ranking, name="call_ranking"),
    path("operator/calls/<int:pk>/auto-assign/", views.call_auto_assign, name="call_auto_assign"),
    path("reviews/", views.review_list, name="review_list"),
    path("reviews/<int:pk>/", views.review_form, name="review_form"),
    path("reviews/<int:pk>/autosave/", views.review_autosave, name="review_autosave"),
    path("reviews/<int:pk>/decline/", views.review_decline, name="review_decline"),
    path("incubated/", views.project_list, name="project_list"),
    path("incubated/<int:pk>/", views.project_detail, name="project_detail"),
    path("incubated/<int:pk>/status/", views.project_status, name="project_status"),
    path("incubated/<int:pk>/mentors/", views.project_mentor, name="project_mentor"),
    path("incubated/<int:pk>/milestones/", views.milestone_create, name="milestone_create"),
    path("incubated/<int:pk>/reports/", views.report_create, name="report_create"),
    path("incubated/<int:pk>/showcase/", views.project_showcase, name="project_showcase"),
    path("milestones/<int:pk>/submit/", views.milestone_submit, name="milestone_submit"),
    path("milestones/<int:pk>/review/", views.milestone_review, name="milestone_review"),
    path("milestones/<int:pk>/evidence/", views.milestone_evidence, name="milestone_evidence"),
]
