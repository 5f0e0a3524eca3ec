from django.urls import path

from alliance import views

app_name = "alliance"

urlpatterns = [
    path("", views.index, name="index"),
    path("members/<int:organisation_id>/", views.member_profile, name="member_profile"),
    path("members/<int:organisation_id>/edit/", views.profile_edit, name="profile_edit"),
    path("mine/", views.mine, name="mine"),
    path("join/", views.apply, name="apply"),
    path("memberships/", views.membership_list, name="membership_list"),
    path("memberships/<int:pk>/", views.membership_detail, name="membership_detail"),
    path("memberships/<int:pk>/decide/", views.membership_decide, name="membership_decide"),
    path("memberships/<int:pk>/suspend/", views.membership_suspend, name="membership_suspend"),
    path("memberships/<int:pk>/reinstate/", views.membership_reinstate, name="membership_reinstate"),
    path("memberships/<int:pk>/withdraw/", views.membership_withdraw, name="membership_withdraw"),
    path("memberships/<int:pk>/renew/", views.renewal_request, name="renewal_request"),
    path("renewals/<int:pk>/decide/", views.renewal_decide, name="renewal_decide"),
    path("revisions/<int:pk>/decide/", views.revision_decide, name="revision_decide"),
    path("members/<int:organisation_id>/solutions/new/", views.solution_create, name="solution_create"),
    path("solutions/<int:pk>/", views.solution_detail, name="solution_detail"),
    path("solutions/<int:pk>/edit/", views.solution_edit, name="solution_edit"),
    path("solutions/<int:pk>/<str:action>/", views.solution_action, name="solution_action"),
    path("needs/", views.need_list, name="need_list"),
    path("needs/new/", views.need_create, name="need_create"),
    path("needs/<int:pk>/", views.need_detail, name="need_detail"),
    path("needs/<int:pk>/interest/", views.interest_create, name="interest_create"),
    path("needs/<int:pk>/<str:action>/", views.need_action, name="need_action"),
    path("queue/", views.queue, name="queue"),
    path("talent-needs/", views.talent_needs, name="talent_needs"),
]
