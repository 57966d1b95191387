from django.urls import path

from strongroom.accounts import views

app_name = "accounts"
urlpatterns = [
    path("account/register/", views.register, name="register"),
    path("account/login/", views.login, name="login"),
    path("account/logout/", views.logout, name="logout"),
    path("account/verify-email/", views.verify_email, name="verify_email"),
    path("account/reset-password/", views.request_password_reset, name="request_password_reset"),
    path(
        "account/reset-password/<str:uidb64>/<str:token>/",
        views.reset_password,
        name="reset_password",
    ),
    path("account/reauthenticate/", views.reauthenticate, name="reauthenticate"),
    path("manage/account/", views.manage, name="manage"),
    path("manage/account/emails/", views.email_action, name="email_action"),
    path("manage/account/password/", views.change_password, name="change_password"),
    path("manage/account/sessions/", views.sessions, name="sessions"),
    path("manage/account/history/", views.security_history, name="security_history"),
    path(
        "manage/account/history/export",
        views.security_history_export,
        name="security_history_export",
    ),
    path("manage/account/time-zone/", views.time_zone, name="time_zone"),
]
