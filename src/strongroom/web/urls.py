from django.urls import path
from django.views.i18n import set_language

from strongroom.web import views

app_name = "web"
urlpatterns = [
    path("", views.home, name="home"),
    path("help/publishing/", views.publish_help, name="publish_help"),
    # The footer's language switcher posts here (Django's view: a cookie, no account needed).
    path("language/", set_language, name="set_language"),
]
