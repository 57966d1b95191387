from django.urls import path

from strongroom.packages import views

app_name = "packages"
urlpatterns = [
    path("project/<str:name>/", views.project_detail, name="project"),
    path("project/<str:name>/history/", views.history, name="history"),
    path("project/<str:name>/history/export", views.history_export, name="history_export"),
    path("project/<str:name>/<str:version>/", views.release_detail, name="release"),
    path("manage/project/<str:name>/delete/", views.delete_project, name="delete_project"),
    path("manage/project/<str:name>/release/<str:version>/yank/", views.yank, name="yank"),
    path("manage/project/<str:name>/release/<str:version>/unyank/", views.unyank, name="unyank"),
    path(
        "manage/project/<str:name>/release/<str:version>/delete/",
        views.delete_release,
        name="delete_release",
    ),
    path(
        "manage/project/<str:name>/file/<str:filename>/delete/",
        views.delete_file,
        name="delete_file",
    ),
]
