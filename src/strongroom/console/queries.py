"""What the console's pages show: searches and one account's or project's state."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.db.models import Q, QuerySet, Sum
from packaging.utils import canonicalize_name

from strongroom.accounts.models import User
from strongroom.console.models import RecoveryRequest, Suspension
from strongroom.events.models import Event
from strongroom.mfa.models import TOTPDevice
from strongroom.packages.models import Project, Role
from strongroom.tokens.models import ApiToken

RESULTS = 50
RECENT_EVENTS = 25


def search_users(query: str) -> QuerySet[User]:
    users = User.objects.order_by("username")
    query = query.strip()
    if query:
        users = users.filter(
            Q(username__icontains=query) | Q(emails__email__icontains=query)
        ).distinct()
    return users[:RESULTS]


def search_projects(query: str) -> QuerySet[Project]:
    projects = Project.objects.order_by("normalized_name")
    query = query.strip()
    if query:
        projects = projects.filter(normalized_name__contains=canonicalize_name(query))
    return projects[:RESULTS]


def recent_events(**subject: Any) -> QuerySet[Event]:
    return (
        Event.objects.filter(**subject)
        .select_related("actor", "user", "project")
        .order_by("-created", "-pk")[:RECENT_EVENTS]
    )


def account_overview(user: User) -> dict[str, Any]:
    return {
        "target": user,
        "emails": list(user.emails.all()),
        "totp": TOTPDevice.objects.filter(user=user, confirmed=True).first(),
        "security_keys": list(user.security_keys.all()),
        "recovery_codes_left": user.recovery_codes.filter(used_at__isnull=True).count(),
        "sessions": list(user.session_records.all()),
        "tokens": list(ApiToken.objects.filter(user=user).prefetch_related("projects")),
        "roles": list(Role.objects.filter(user=user).select_related("project")),
        "suspension": Suspension.objects.filter(user=user).first(),
        "recoveries": list(RecoveryRequest.objects.filter(user=user)[:5]),
    }


def project_overview(project: Project) -> dict[str, Any]:
    return {
        "project": project,
        "roles": list(Role.objects.filter(project=project).select_related("user")),
        "releases": project.releases.count(),
        "files": project.files.count(),
        "total_size": project.files.aggregate(total=Sum("size"))["total"] or 0,
        "total_size_limit": project.total_size_limit or settings.PROJECT_SIZE_LIMIT,
    }


def open_recoveries() -> QuerySet[RecoveryRequest]:
    return RecoveryRequest.objects.filter(status__in=RecoveryRequest.OPEN).select_related("user")


def closed_recoveries() -> QuerySet[RecoveryRequest]:
    return (
        RecoveryRequest.objects.exclude(status__in=RecoveryRequest.OPEN)
        .select_related("user", "decided_by")
        .order_by("-decided_at", "-created")[:RESULTS]
    )
