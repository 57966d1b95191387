from typing import Any

from django.contrib import admin
from django.http import HttpRequest

from strongroom.accounts import services
from strongroom.accounts.models import Email, SessionRecord, User


class EmailInline(admin.TabularInline):
    model = Email
    extra = 0
    fields = ["email", "primary", "verified", "verified_at", "created"]
    readonly_fields = ["verified_at", "created"]


@admin.register(User)
class UserAdmin(admin.ModelAdmin):
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
    readonly_fields = ["date_joined", "last_login"]
    inlines = [EmailInline]

    def save_related(self, request: HttpRequest, form: Any, formsets: Any, change: bool) -> None:
        """After the account and its addresses are saved (one admin transaction): audit it."""
        super().save_related(request, form, formsets, change)
        changed = list(form.changed_data)
        if any(formset.has_changed() for formset in formsets):
            changed.append("emails")
        if changed or not change:
            services.record_staff_change(request, form.instance, changed, created=not change)


@admin.register(SessionRecord)
class SessionRecordAdmin(admin.ModelAdmin):
    list_display = ["user", "ip", "created", "last_seen"]
    search_fields = ["user__username", "ip"]
    readonly_fields = ["user", "ip", "user_agent", "created", "last_seen"]
