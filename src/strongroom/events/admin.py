from django.contrib import admin

from strongroom.events.models import Event
from strongroom.web.admin_site import ServiceAdmin


@admin.register(Event)
class EventAdmin(ServiceAdmin):
    """The audit log is written by events.record_event() only; the admin shows it."""

    list_display = ["created", "tag", "actor", "user", "ip"]
    list_filter = ["tag"]
    search_fields = ["user__username", "actor__username", "ip"]
    date_hierarchy = "created"
