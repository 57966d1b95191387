from django.urls import path

from strongroom.ops import views

app_name = "ops"

urlpatterns = [
    path("_/metrics", views.metrics, name="metrics"),
]
