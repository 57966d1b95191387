from django.contrib import admin

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
