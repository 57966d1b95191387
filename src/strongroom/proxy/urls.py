from django.urls import path

from strongroom.proxy import views

app_name = "proxy"
urlpatterns = [
    path("upstream/files/<str:sha256>/<str:filename>", views.download, name="download"),
    path("upstream/project/<str:name>/", views.project_page, name="project"),
]
