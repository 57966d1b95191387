from django.contrib import admin
from django.contrib.auth.models import Group

from strongroom.accounts.models import Email, SessionRecord, User
from strongroom.web.admin_site import ReadOnlyInline, ServiceAdmin

# Rights come from the staff flag (granted in the console), never from groups: the
# stock admin's group editor would be a way around that.
admin.site.unregister(Group)


class EmailInline(ReadOnlyInline):
    model = Email
    fields = readonly_fields = ("email", "primary", "verified", "verified_at", "created")


@admin.register(User)
class UserAdmin(ServiceAdmin):
    """Shown only: the staff console suspends, reactivates, grants and revokes staff."""

    list_display = ["username", "email", "is_active", "is_staff", "date_joined", "last_login"]
    list_filter = ["is_active", "is_staff"]
    search_fields = ["username", "emails__email"]
    fields = [
        "username",
        "name",
        "is_active",
        "is_staff",
        "is_superuser",
        "date_joined",
        "last_login",
    ]
    inlines = [EmailInline]


@admin.register(SessionRecord)
class SessionRecordAdmin(ServiceAdmin):
    list_display = ["user", "ip", "created", "last_seen"]
    search_fields = ["user__username", "ip"]
    fields = ["user", "ip", "user_agent", "created", "last_seen"]
