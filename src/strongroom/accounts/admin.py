from typing import Any

from django.contrib import admin
from django.http import HttpRequest

from strongroom.accounts import services
from strongroom.accounts.models import Email, SessionRecord, User
from strongroom.web.actor import actor_from
from strongroom.web.admin_site import ReadOnlyInline, ServiceAdmin


class EmailInline(ReadOnlyInline):
    model = Email
    fields = readonly_fields = ("email", "primary", "verified", "verified_at", "created")


@admin.register(User)
class UserAdmin(ServiceAdmin):
    """Accounts are created, renamed and deleted through the services only; here staff
    may only switch the flags, through accounts.services (which records the event)."""

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
    service_fields = services.STAFF_FLAGS
    inlines = [EmailInline]

    def save_by_service(self, request: HttpRequest, obj: Any, changed: list[str]) -> None:
        services.change_account_by_staff(actor_from(request), obj, changed)


@admin.register(SessionRecord)
class SessionRecordAdmin(ServiceAdmin):
    list_display = ["user", "ip", "created", "last_seen"]
    search_fields = ["user__username", "ip"]
    fields = ["user", "ip", "user_agent", "created", "last_seen"]
