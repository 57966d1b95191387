from django.contrib import admin
from django.http import HttpRequest

from strongroom.events.models import Event


@admin.register(Event)
class EventAdmin(admin.ModelAdmin):
    list_display = ["created", "tag", "actor", "user", "ip"]
    list_filter = ["tag"]
    search_fields = ["user__username", "actor__username", "ip"]
    date_hierarchy = "created"

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False
