from django.urls import path

from strongroom.orgs import views

app_name = "orgs"
urlpatterns = [
    path("organizations/", views.organization_list, name="list"),
    path("organizations/invitations/", views.my_invitations, name="my_invitations"),
    path("organizations/invitations/<str:token>/", views.invitation, name="invitation"),
    path("organizations/<str:name>/", views.detail, name="detail"),
    path("organizations/<str:name>/two-factor/", views.two_factor, name="two_factor"),
    path("organizations/<str:name>/members/", views.members, name="members"),
    path("organizations/<str:name>/members/invite/", views.invite, name="invite"),
    path("organizations/<str:name>/members/role/", views.change_role, name="change_role"),
    path("organizations/<str:name>/members/remove/", views.remove_member, name="remove_member"),
    path(
        "organizations/<str:name>/invitations/revoke/",
        views.revoke_invitation,
        name="revoke_invitation",
    ),
    path("organizations/<str:name>/teams/", views.team_list, name="teams"),
    path("organizations/<str:name>/teams/<str:team>/", views.team_detail, name="team"),
    path("organizations/<str:name>/teams/<str:team>/rename/", views.team_rename, name="rename"),
    path("organizations/<str:name>/teams/<str:team>/delete/", views.team_delete, name="delete"),
    path("organizations/<str:name>/teams/<str:team>/add/", views.team_add, name="team_add"),
    path(
        "organizations/<str:name>/teams/<str:team>/remove/", views.team_remove, name="team_remove"
    ),
    path("organizations/<str:name>/teams/<str:team>/grant/", views.team_grant, name="grant"),
    path("organizations/<str:name>/teams/<str:team>/revoke/", views.team_revoke, name="revoke"),
    path("manage/project/<str:name>/transfer/", views.transfer, name="transfer"),
]
