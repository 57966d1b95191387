"""The Django admin, as this site runs it: staff with a second factor only, and no bulk
delete (until the staff console replaces it, writes go through the services)."""

from __future__ import annotations

from functools import update_wrapper
from typing import Any, TypeVar

from django.contrib import admin
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.urls import reverse

from strongroom.mfa.staff import is_verified_staff, refuse_unverified_staff

_View = TypeVar("_View", bound=Any)


class StaffAdminSite(admin.AdminSite):
    """``has_permission`` asks mfa.staff; a staff account whose session has not passed a
    second factor gets the page that says what to do, not the admin's login redirect."""

    def __init__(self, name: str = "admin") -> None:
        super().__init__(name)
        # delete_selected deletes rows around the services: no event, no serial bump.
        self.disable_action("delete_selected")

    def has_permission(self, request: HttpRequest) -> bool:
        return is_verified_staff(request)

    # These two answer with a redirect where Django's render a page (hence the ignores).
    def password_change(  # type: ignore[override]
        self, request: HttpRequest, extra_context: Any = None
    ) -> HttpResponse:
        """The account page changes passwords (breach check, event, email, sessions)."""
        return HttpResponseRedirect(reverse("accounts:change_password"))

    def logout(  # type: ignore[override]
        self, request: HttpRequest, extra_context: Any = None
    ) -> HttpResponse:
        """The site's logout (it records the event), not the admin's own."""
        from strongroom.accounts.views import logout

        return logout(request)

    def admin_view(self, view: _View, cacheable: bool = False) -> _View:
        inner = super().admin_view(view, cacheable)

        def guarded(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
            refuse_unverified_staff(request)
            return inner(request, *args, **kwargs)

        return update_wrapper(guarded, inner)  # type: ignore[return-value]


class ServiceAdmin(admin.ModelAdmin):
    """A ModelAdmin that never writes around the services: read-only, no add or delete.

    A subclass may name ``service_fields``, the fields staff may edit; the edit is then
    saved by ``save_by_service`` (which must call the service that records the event),
    and everything else on the page stays read-only.
    """

    service_fields: tuple[str, ...] = ()

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return bool(self.service_fields) and super().has_change_permission(request, obj)

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> list[str]:
        shown = list(self.fields or [f.name for f in self.model._meta.fields])
        declared = list(super().get_readonly_fields(request, obj))
        return declared + [f for f in shown if f not in self.service_fields and f not in declared]

    def save_model(self, request: HttpRequest, obj: Any, form: Any, change: bool) -> None:
        changed = [f for f in form.changed_data if f in self.service_fields]
        if change and changed:
            self.save_by_service(request, obj, changed)

    def save_by_service(self, request: HttpRequest, obj: Any, changed: list[str]) -> None:
        raise NotImplementedError(f"{type(self).__name__} names service_fields: save them")

    def save_related(self, request: HttpRequest, form: Any, formsets: Any, change: bool) -> None:
        """Inlines are read-only; nothing related is saved from here."""
        for formset in formsets:  # what the admin's change message reads after a save
            formset.new_objects, formset.changed_objects, formset.deleted_objects = [], [], []

    def delete_model(self, request: HttpRequest, obj: Any) -> None:
        raise PermissionError("the admin deletes nothing")

    def delete_queryset(self, request: HttpRequest, queryset: Any) -> None:
        raise PermissionError("the admin deletes nothing")


class ReadOnlyInline(admin.TabularInline):
    """An inline that only shows rows."""

    extra = 0
    can_delete = False

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False
