from django.urls import path

from strongroom.web import views

app_name = "web"
urlpatterns = [
    path("", views.home, name="home"),
    path("help/publishing/", views.publish_help, name="publish_help"),
]
