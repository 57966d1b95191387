"""The staff console at STRONGROOM_ADMIN_PATH (the recovery pages users see: recovery_urls)."""

from django.conf import settings
from django.urls import path

from strongroom.console import recovery_views, views

app_name = "console"

ADMIN = settings.ADMIN_PATH

urlpatterns = [
    path(f"{ADMIN}/", views.index, name="index"),
    path(f"{ADMIN}/confirm-with-key", views.key_options, name="key_options"),
    path(f"{ADMIN}/users/", views.users, name="users"),
    path(f"{ADMIN}/users/<str:username>/", views.user, name="user"),
    path(f"{ADMIN}/users/<str:username>/suspend", views.suspend, name="suspend"),
    path(f"{ADMIN}/users/<str:username>/reactivate", views.reactivate, name="reactivate"),
    path(f"{ADMIN}/users/<str:username>/grant-staff", views.grant_staff, name="grant_staff"),
    path(f"{ADMIN}/users/<str:username>/revoke-staff", views.revoke_staff, name="revoke_staff"),
    path(f"{ADMIN}/users/<str:username>/end-sessions", views.end_sessions, name="end_sessions"),
    path(
        f"{ADMIN}/users/<str:username>/tokens/<str:token_id>/revoke",
        views.revoke_token,
        name="revoke_token",
    ),
    path(
        f"{ADMIN}/users/<str:username>/emails/<int:email_id>/verify",
        views.verify_email,
        name="verify_email",
    ),
    path(f"{ADMIN}/projects/", views.projects, name="projects"),
    path(f"{ADMIN}/projects/<str:name>/", views.project, name="project"),
    path(f"{ADMIN}/projects/<str:name>/limits", views.set_upload_limit, name="upload_limit"),
    path(
        f"{ADMIN}/projects/<str:name>/size-limit",
        views.set_total_size_limit,
        name="total_size_limit",
    ),
    path(f"{ADMIN}/projects/<str:name>/critical", views.mark_critical, name="mark_critical"),
    path(f"{ADMIN}/projects/<str:name>/uncritical", views.unmark_critical, name="unmark_critical"),
    path(f"{ADMIN}/projects/<str:name>/remove", views.remove_project, name="remove_project"),
    path(f"{ADMIN}/recovery/", recovery_views.queue, name="recoveries"),
    path(f"{ADMIN}/recovery/<int:request_id>/", recovery_views.review, name="recovery"),
    path(f"{ADMIN}/recovery/<int:request_id>/approve", recovery_views.approve, name="approve"),
    path(f"{ADMIN}/recovery/<int:request_id>/reject", recovery_views.reject, name="reject"),
]
