"""The staff audit page's filters (a GET form: links can be shared and bookmarked)."""

from __future__ import annotations

from datetime import datetime, time, timedelta
from typing import Any

from django import forms
from django.db.models import QuerySet
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from packaging.utils import canonicalize_name

from strongroom.accounts.models import User
from strongroom.events.models import Event
from strongroom.events.tags import EventTag
from strongroom.packages.models import Project


def _tag_choices() -> list[tuple[str, Any]]:
    return [("", _("Any")), *((tag.value, f"{tag.value} — {tag.label}") for tag in EventTag)]


class AuditFilterForm(forms.Form):
    user = forms.CharField(label=_("Account (username)"), required=False, max_length=50)
    project = forms.CharField(label=_("Project"), required=False, max_length=200)
    tag = forms.ChoiceField(label=_("Event"), required=False, choices=_tag_choices)
    ip = forms.GenericIPAddressField(label=_("IP address"), required=False)
    since = forms.DateField(
        label=_("From (date)"), required=False, widget=forms.DateInput(attrs={"type": "date"})
    )
    until = forms.DateField(
        label=_("Until (date, inclusive)"),
        required=False,
        widget=forms.DateInput(attrs={"type": "date"}),
    )

    def filter(self, events: QuerySet[Event]) -> QuerySet[Event]:
        """``events`` narrowed by the valid filters; dates are in the viewer's time zone."""
        data = self.cleaned_data
        if data.get("user"):
            user_ids = User.objects.filter(username__iexact=data["user"].strip()).values("pk")
            events = events.filter(user_id__in=user_ids) | events.filter(actor_id__in=user_ids)
        if data.get("project"):
            project_ids = Project.objects.filter(
                normalized_name=canonicalize_name(data["project"].strip())
            ).values("pk")
            events = events.filter(project_id__in=project_ids)
        if data.get("tag"):
            events = events.filter(tag=data["tag"])
        if data.get("ip"):
            events = events.filter(ip=data["ip"])
        zone = timezone.get_current_timezone()
        if data.get("since"):
            events = events.filter(created__gte=datetime.combine(data["since"], time(), zone))
        if data.get("until"):
            end = datetime.combine(data["until"] + timedelta(days=1), time(), zone)
            events = events.filter(created__lt=end)
        return events
