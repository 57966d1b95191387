"""Staff pages for reports and project status, mounted under STRONGROOM_ADMIN_PATH
(strongroom.urls) so the staff console can link them into its navigation."""

from django.urls import path

from strongroom.packages import status_views

app_name = "reports"
urlpatterns = [
    path("reports/", status_views.report_queue, name="queue"),
    path("reports/<int:report_id>/", status_views.report_detail, name="detail"),
    path("reports/<int:report_id>/resolve/", status_views.resolve, name="resolve"),
    path(
        "reports/<int:report_id>/quarantine/",
        status_views.quarantine_from_report,
        name="quarantine",
    ),
    path("project-status/<str:name>/", status_views.project_status, name="project_status"),
    path(
        "project-status/<str:name>/<str:action>",
        status_views.change_status,
        name="change_status",
    ),
]
