"""Ends sessions whose record was deleted, and keeps "last seen" fresh."""

from __future__ import annotations

import zoneinfo
from collections.abc import Callable
from datetime import timedelta

from django.contrib import auth
from django.http import HttpRequest, HttpResponse
from django.utils import timezone

from strongroom.accounts.models import SessionRecord
from strongroom.accounts.services import SESSION_RECORD_KEY
from strongroom.web.http import client_ip

_TOUCH_EVERY = timedelta(seconds=60)


class SessionTrackingMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        user = getattr(request, "user", None)
        if user is not None and user.is_authenticated:
            record_id = request.session.get(SESSION_RECORD_KEY)
            record = (
                SessionRecord.objects.filter(pk=record_id, user_id=user.pk)
                .only("pk", "last_seen", "ip")
                .first()
                if record_id
                else None
            )
            if record is None:
                # Ended from another browser, by a password change, or never recorded.
                auth.logout(request)
            else:
                now = timezone.now()
                if now - record.last_seen > _TOUCH_EVERY:
                    SessionRecord.objects.filter(pk=record.pk).update(
                        last_seen=now, ip=client_ip(request)
                    )
        return self.get_response(request)


class TimeZoneMiddleware:
    """Show times in the signed-in user's chosen zone (UTC for everyone else)."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        user = getattr(request, "user", None)
        zone = getattr(user, "time_zone", "") if user is not None and user.is_authenticated else ""
        try:
            timezone.activate(zoneinfo.ZoneInfo(zone)) if zone else timezone.deactivate()
        except (zoneinfo.ZoneInfoNotFoundError, ValueError):
            timezone.deactivate()
        try:
            return self.get_response(request)
        finally:
            timezone.deactivate()
