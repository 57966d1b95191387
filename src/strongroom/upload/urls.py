from django.urls import path

from strongroom.upload import views

app_name = "upload"
urlpatterns = [
    path("legacy/", views.upload, name="upload"),
    path("legacy", views.upload),
]
