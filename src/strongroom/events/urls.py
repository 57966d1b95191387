from django.urls import path

from strongroom.events import views

app_name = "events"
urlpatterns = [
    path("manage/audit/", views.staff_audit, name="staff_audit"),
    path("manage/audit/export", views.staff_audit_export, name="staff_audit_export"),
]
