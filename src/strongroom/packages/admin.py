from django.contrib import admin
from django.utils.translation import gettext_lazy as _

from strongroom.mfa.policy import project_requires_two_factor
from strongroom.packages.governance import collaborators_without_two_factor
from strongroom.packages.models import File, Project, Release, Role, RoleInvitation
from strongroom.web.admin_site import ServiceAdmin


@admin.register(Project)
class ProjectAdmin(ServiceAdmin):
    """Shown only: limits, the critical mark, status and removal are the console's."""

    list_display = ["name", "created", "upload_limit", "marked_critical", "popular"]
    list_filter = ["marked_critical", "popular", "two_factor_required"]
    search_fields = ["name", "normalized_name"]
    fields = [
        "name",
        "upload_limit",
        "total_size_limit",
        "two_factor_policy",
        "lacking_two_factor",
        "marked_critical",
        "popular",
        "critical_since",
    ]
    readonly_fields = ["two_factor_policy", "lacking_two_factor"]

    @admin.display(description=_("two-factor requirement"))
    def two_factor_policy(self, obj: Project) -> str:
        return project_requires_two_factor(obj) or str(_("none"))

    @admin.display(description=_("collaborators without a second factor"))
    def lacking_two_factor(self, obj: Project) -> str:
        return ", ".join(u.username for u in collaborators_without_two_factor(obj)) or "—"


# Releases, files, roles and invitations change only through the services (events, emails,
# the index serial): the admin shows them.


@admin.register(Release)
class ReleaseAdmin(ServiceAdmin):
    list_display = ["project", "version", "yanked", "created"]
    search_fields = ["project__name"]


@admin.register(File)
class FileAdmin(ServiceAdmin):
    list_display = ["filename", "size", "upload_time", "uploader"]
    search_fields = ["filename"]


@admin.register(Role)
class RoleAdmin(ServiceAdmin):
    list_display = ["project", "user", "role_name"]
    search_fields = ["project__name", "user__username"]


@admin.register(RoleInvitation)
class RoleInvitationAdmin(ServiceAdmin):
    list_display = ["project", "invitee", "role_name", "created"]
