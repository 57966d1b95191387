from django.urls import path

from strongroom.packages import browse_views, status_views, versions, views
from strongroom.packages import governance_views as gov

versions.register_url_converter()

app_name = "packages"
urlpatterns = [
    path("search/", browse_views.search_page, name="search"),
    path("projects/", browse_views.browse_page, name="browse"),
    path("user/<str:username>/", browse_views.user_page, name="user"),
    path("project/<str:name>/", views.project_detail, name="project"),
    path("project/<str:name>/history/", views.history, name="history"),
    path("project/<str:name>/report/", status_views.report, name="report"),
    path("project/<str:name>/history/export", views.history_export, name="history_export"),
    path("project/<str:name>/<version:version>/", views.release_detail, name="release"),
    path("manage/project/<str:name>/archive/", status_views.archive, name="archive"),
    path("manage/project/<str:name>/delete/", views.delete_project, name="delete_project"),
    path("manage/projects/", gov.your_projects, name="your_projects"),
    path("manage/project/<str:name>/collaborators/", gov.collaborators, name="collaborators"),
    path("manage/project/<str:name>/collaborators/invite/", gov.invite, name="invite"),
    path("manage/project/<str:name>/collaborators/role/", gov.change_role, name="change_role"),
    path("manage/project/<str:name>/collaborators/remove/", gov.remove, name="remove"),
    path(
        "manage/project/<str:name>/invitations/revoke/",
        gov.revoke_invitation,
        name="revoke_invitation",
    ),
    path("manage/project/<str:name>/leave/", gov.leave, name="leave"),
    path("manage/project/<str:name>/settings/", gov.project_settings, name="settings"),
    path(
        "manage/project/<str:name>/settings/two-factor/",
        gov.two_factor_requirement,
        name="two_factor_requirement",
    ),
    path("manage/project/<str:name>/settings/visibility/", gov.visibility, name="visibility"),
    path("account/invitations/", gov.my_invitations, name="my_invitations"),
    path("account/invitations/<str:token>/", gov.invitation, name="invitation"),
    path("help/critical-projects/", gov.critical_help, name="critical_help"),
    path("manage/project/<str:name>/release/<version:version>/yank/", views.yank, name="yank"),
    path(
        "manage/project/<str:name>/release/<version:version>/unyank/", views.unyank, name="unyank"
    ),
    path(
        "manage/project/<str:name>/release/<version:version>/delete/",
        views.delete_release,
        name="delete_release",
    ),
    path(
        "manage/project/<str:name>/file/<str:filename>/delete/",
        views.delete_file,
        name="delete_file",
    ),
]
