"""The Django admin, as this site runs it: staff with a second factor only, strictly
read-only. It shows database rows; the staff console (strongroom.console) changes them,
each change through a service with its ``admin:*`` audit event."""

from __future__ import annotations

from functools import update_wrapper
from typing import Any, TypeVar

from django.contrib import admin
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.urls import reverse

from strongroom.mfa.staff import is_verified_staff, refuse_unverified_staff

_View = TypeVar("_View", bound=Any)

# Methods that change nothing; every other request to the admin is refused (403).
_READING = frozenset({"GET", "HEAD", "OPTIONS"})


class StaffAdminSite(admin.AdminSite):
    """``has_permission`` asks mfa.staff; a staff account whose session has not passed a
    second factor gets the page that says what to do, not the admin's login redirect.

    Read-only whatever a ModelAdmin says: a POST (or any other writing method) to any
    admin page is refused, for a superuser too. Only the site's own logout and password
    change, which hand over to the account pages, take one.
    """

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
        hands_over = getattr(view, "__func__", None) in (
            StaffAdminSite.logout,
            StaffAdminSite.password_change,
        )

        def guarded(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
            refuse_unverified_staff(request)
            if request.method not in _READING and not hands_over:
                raise PermissionDenied
            return inner(request, *args, **kwargs)

        return update_wrapper(guarded, inner)  # type: ignore[return-value]


class ServiceAdmin(admin.ModelAdmin):
    """A ModelAdmin that only shows rows: no add, change or delete, no actions.

    Every change is made in the staff console (strongroom.console), through a service
    that asks for the second factor again and records an ``admin:*`` event.
    """

    actions = None  # no action list at all (Django's delete_selected included)

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def save_model(self, request: HttpRequest, obj: Any, form: Any, change: bool) -> None:
        raise PermissionDenied

    def save_related(self, request: HttpRequest, form: Any, formsets: Any, change: bool) -> None:
        raise PermissionDenied

    def delete_model(self, request: HttpRequest, obj: Any) -> None:
        raise PermissionDenied

    def delete_queryset(self, request: HttpRequest, queryset: Any) -> None:
        raise PermissionDenied


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
