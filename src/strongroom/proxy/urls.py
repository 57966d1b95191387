from django.urls import path

from strongroom.index.access import read_view
from strongroom.proxy import views

app_name = "proxy"
urlpatterns = [
    path("upstream/files/<str:sha256>/<str:filename>", read_view(views.download), name="download"),
    path("upstream/project/<str:name>/", read_view(views.project_page), name="project"),
]
