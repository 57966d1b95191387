from typing import Any

from django.contrib import admin, messages
from django.http import HttpRequest
from django.utils.translation import gettext_lazy as _

from strongroom.mfa.policy import project_requires_two_factor
from strongroom.packages import critical, services
from strongroom.packages.governance import collaborators_without_two_factor
from strongroom.packages.models import File, Project, Release, Role, RoleInvitation
from strongroom.web.actor import actor_from
from strongroom.web.admin_site import ServiceAdmin


@admin.register(Project)
class ProjectAdmin(ServiceAdmin):
    list_display = ["name", "created", "upload_limit", "marked_critical", "popular"]
    list_filter = ["marked_critical", "popular", "two_factor_required"]
    search_fields = ["name", "normalized_name"]
    # Only the per-project upload limit is edited here (through services.save_by_staff);
    # everything else goes through the services, which record audit events (the actions
    # below included).
    fields = [
        "name",
        "upload_limit",
        "two_factor_policy",
        "lacking_two_factor",
        "marked_critical",
        "popular",
        "critical_since",
    ]
    readonly_fields = [
        "name",
        "two_factor_policy",
        "lacking_two_factor",
        "marked_critical",
        "popular",
        "critical_since",
    ]
    actions = ["mark_critical", "unmark_critical"]

    @admin.display(description=_("two-factor requirement"))
    def two_factor_policy(self, obj: Project) -> str:
        return project_requires_two_factor(obj) or str(_("none"))

    @admin.display(description=_("collaborators without a second factor"))
    def lacking_two_factor(self, obj: Project) -> str:
        return ", ".join(u.username for u in collaborators_without_two_factor(obj)) or "—"

    @admin.action(description=_("Mark the selected projects critical (emails collaborators)"))
    def mark_critical(self, request, queryset):
        for project in queryset:
            critical.mark_critical(actor_from(request), project)
        messages.success(request, _("Marked critical."))

    @admin.action(description=_("Remove the staff critical mark"))
    def unmark_critical(self, request, queryset):
        for project in queryset:
            critical.unmark_critical(actor_from(request), project)
        messages.success(request, _("Staff mark removed."))

    service_fields = ("upload_limit",)

    def save_by_service(self, request: HttpRequest, obj: Any, changed: list[str]) -> None:
        services.save_by_staff(actor_from(request), obj, changed)


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
