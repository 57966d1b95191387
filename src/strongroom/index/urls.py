from django.urls import path

from strongroom.index import integrity, views
from strongroom.packages import versions

versions.register_url_converter()

app_name = "index"
urlpatterns = [
    path("simple/", views.simple_index, name="simple"),
    path("simple/<str:name>/", views.simple_project, name="simple_project"),
    path("pypi/<str:name>/json", views.project_json, name="project_json"),
    path("pypi/<str:name>/<version:version>/json", views.project_json, name="release_json"),
    path("packages/<path:path>", views.download, name="download"),
    path(
        "integrity/<str:name>/<str:version>/<str:filename>/provenance",
        integrity.provenance,
        name="provenance",
    ),
]
