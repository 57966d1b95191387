"""Account recovery as the user sees it: the request, and the links in the emails."""

from django.urls import path

from strongroom.console import recovery_views

app_name = "recovery"

urlpatterns = [
    path("account/recovery/", recovery_views.start, name="start"),
    path("account/recovery/confirm/<str:token>/", recovery_views.confirm, name="confirm"),
    path("account/recovery/cancel/<str:token>/", recovery_views.cancel, name="cancel"),
]
