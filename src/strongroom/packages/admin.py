from typing import Any

from django.contrib import admin
from django.http import HttpRequest

from strongroom.packages import services
from strongroom.packages.models import File, Project, Release, Role


@admin.register(Project)
class ProjectAdmin(admin.ModelAdmin):
    list_display = ["name", "created", "upload_limit"]
    search_fields = ["name", "normalized_name"]
    # Only the per-project upload limit is edited here; everything else goes
    # through the services, which record audit events.
    fields = ["name", "upload_limit"]
    readonly_fields = ["name"]

    def has_add_permission(self, request):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    def save_model(self, request: HttpRequest, obj: Any, form: Any, change: bool) -> None:
        services.save_by_staff(request, obj, list(form.changed_data))


@admin.register(Release)
class ReleaseAdmin(admin.ModelAdmin):
    list_display = ["project", "version", "yanked", "created"]
    search_fields = ["project__name"]

    def has_change_permission(self, request, obj=None):
        return False


@admin.register(File)
class FileAdmin(admin.ModelAdmin):
    list_display = ["filename", "size", "upload_time", "uploader"]
    search_fields = ["filename"]

    def has_change_permission(self, request, obj=None):
        return False


@admin.register(Role)
class RoleAdmin(admin.ModelAdmin):
    list_display = ["project", "user", "role_name"]

    def save_model(self, request: HttpRequest, obj: Any, form: Any, change: bool) -> None:
        services.role_changed_by_staff(request, obj, "change" if change else "add")

    def delete_model(self, request: HttpRequest, obj: Any) -> None:
        services.role_changed_by_staff(request, obj, "delete")

    def delete_queryset(self, request: HttpRequest, queryset: Any) -> None:
        for role in queryset.select_related("project", "user"):
            services.role_changed_by_staff(request, role, "delete")
