"""The "Your projects" page: every project a user holds a role on (directly, through an
organisation or a team), with that role, its last release, critical and two-factor flags
and how many collaborators lack a second factor.

Everything is computed by the database in one query per page (plus one count), however many
projects the user has: sorting and filtering happen on annotations, never in Python.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from django.db.models import (
    BooleanField,
    Count,
    ExpressionWrapper,
    F,
    IntegerField,
    OuterRef,
    Q,
    QuerySet,
    Subquery,
    Value,
)
from django.db.models.functions import Coalesce

from strongroom.mfa.policy import site_requires_for_uploaders
from strongroom.mfa.services.queries import second_factor_exists
from strongroom.packages.models import Project, Release, Role
from strongroom.packages.permissions import holds_role, strongest_role

if TYPE_CHECKING:
    from django.http import QueryDict

    from strongroom.accounts.models import User

# GET "sort" value -> the annotation it orders by (a leading "-" reverses).
SORTS = {
    "name": "normalized_name",
    "role": "role_name",
    "release": "last_release_at",
    "critical": "critical",
    "2fa": "requires_2fa",
    "lacking": "lacking_2fa",
}
YES_NO = {"yes": True, "no": False}


@dataclass(frozen=True)
class Filters:
    q: str = ""
    role: str = ""
    critical: str = ""
    requires_2fa: str = ""
    lacking: str = ""
    sort: str = "name"

    @classmethod
    def from_query(cls, query: QueryDict) -> Filters:
        def pick(name: str, allowed: set[str] | dict[str, bool]) -> str:
            value = query.get(name, "")
            return value if value in allowed else ""

        sort = query.get("sort", "name")
        if sort.removeprefix("-") not in SORTS:
            sort = "name"
        return cls(
            q=query.get("q", "").strip()[:200],
            role=pick("role", set(Role.Name.values)),
            critical=pick("critical", YES_NO),
            requires_2fa=pick("2fa", YES_NO),
            lacking=pick("lacking", YES_NO),
            sort=sort,
        )

    def as_query(self, **changes: str) -> dict[str, str]:
        values = {
            "q": self.q,
            "role": self.role,
            "critical": self.critical,
            "2fa": self.requires_2fa,
            "lacking": self.lacking,
            "sort": self.sort,
        }
        values.update(changes)
        return {k: v for k, v in values.items() if v}


def _lacking_two_factor() -> Subquery:
    """How many collaborators of the outer row's project have no second factor."""
    lacking = (
        Role.objects.filter(project=OuterRef("pk"))
        .exclude(second_factor_exists("user"))
        .order_by()
        .values("project")
        .annotate(n=Count("pk"))
        .values("n")
    )
    return Subquery(lacking, output_field=IntegerField())


def projects_of(user: User, filters: Filters) -> QuerySet[Project]:
    """The projects the user holds a role on (their own, their organisations' and their
    teams', through packages.permissions), each annotated with ``role_name`` and what the
    page shows, filtered and sorted."""
    newest = Release.objects.filter(project=OuterRef("pk")).order_by("-created")
    critical = Q(marked_critical=True) | Q(popular=True)
    requires = (
        Value(True)
        if site_requires_for_uploaders()
        else ExpressionWrapper(critical | Q(two_factor_required=True), output_field=BooleanField())
    )
    rows = Project.objects.filter(holds_role(user)).annotate(
        role_name=strongest_role(user),
        last_release=Subquery(newest.values("version")[:1]),
        last_release_at=Subquery(newest.values("created")[:1]),
        critical=ExpressionWrapper(critical, output_field=BooleanField()),
        requires_2fa=requires,
        lacking_2fa=Coalesce(_lacking_two_factor(), 0),
    )
    if filters.q:
        rows = rows.filter(name__icontains=filters.q)
    if filters.role:
        rows = rows.filter(role_name=filters.role)
    if filters.critical:
        rows = rows.filter(critical=YES_NO[filters.critical])
    if filters.requires_2fa:
        rows = rows.filter(requires_2fa=YES_NO[filters.requires_2fa])
    if filters.lacking:
        rows = (
            rows.filter(lacking_2fa__gt=0)
            if filters.lacking == "yes"
            else rows.filter(lacking_2fa=0)
        )
    field = SORTS[filters.sort.removeprefix("-")]
    descending = filters.sort.startswith("-")
    order = F(field).desc(nulls_last=True) if descending else F(field).asc(nulls_last=True)
    return rows.order_by(order, "normalized_name")
