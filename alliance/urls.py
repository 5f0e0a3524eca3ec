from django.urls import path

from alliance.views import directory, membership, needs, operator, profiles, solutions

app_name = "alliance"

urlpatterns = [
    path("", directory.index, name="index"),
    path("members/<int:organisation_id>/", directory.member_profile, name="member_profile"),
    path("members/<int:organisation_id>/edit/", profiles.profile_edit, name="profile_edit"),
    path("mine/", membership.mine, name="mine"),
    path("join/", membership.apply, name="apply"),
    path("memberships/", operator.membership_list, name="membership_list"),
    path("memberships/<int:pk>/", membership.membership_detail, name="membership_detail"),
    path("memberships/<int:pk>/decide/", membership.membership_decide, name="membership_decide"),
    path("memberships/<int:pk>/suspend/", membership.membership_suspend, name="membership_suspend"),
    path("memberships/<int:pk>/reinstate/", membership.membership_reinstate, name="membership_reinstate"),
    path("memberships/<int:pk>/withdraw/", membership.membership_withdraw, name="membership_withdraw"),
    path("memberships/<int:pk>/renew/", membership.renewal_request, name="renewal_request"),
    path("renewals/<int:pk>/decide/", membership.renewal_decide, name="renewal_decide"),
    path("revisions/<int:pk>/decide/", profiles.revision_decide, name="revision_decide"),
    path("members/<int:organisation_id>/solutions/new/", solutions.solution_create, name="solution_create"),
    path("solutions/<int:pk>/", solutions.solution_detail, name="solution_detail"),
    path("solutions/<int:pk>/edit/", solutions.solution_edit, name="solution_edit"),
    path("solutions/<int:pk>/<str:action>/", solutions.solution_action, name="solution_action"),
    path("needs/", needs.need_list, name="need_list"),
    path("needs/new/", needs.need_create, name="need_create"),
    path("needs/<int:pk>/", needs.need_detail, name="need_detail"),
    path("needs/<int:pk>/interest/", needs.interest_create, name="interest_create"),
    path("needs/<int:pk>/<str:action>/", needs.need_action, name="need_action"),
    path("queue/", operator.queue, name="queue"),
    path("talent-needs/", operator.talent_needs, name="talent_needs"),
]
