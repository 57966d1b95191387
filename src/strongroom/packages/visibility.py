"""Who may read a project: the one access decision of the read path and every listing.

A project is public or private (``Project.visibility``, set at write time by its Owners);
the site is in ``STRONGROOM_READ_ACCESS`` mode ``public`` or ``authenticated``. A reader
is whoever a request proves to be: a signed-in user, the holder of a verified token, or
nobody. Membership is answered by the role lookup in ``packages.permissions`` (which
organisation and team roles extend), so this module needs no change for them.

Free of HTTP: ``index.access`` builds the reader from a request.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from django.conf import settings
from django.db.models import Q, QuerySet

from strongroom.packages.models import Project
from strongroom.packages.permissions import projects_with_role, role_of
from strongroom.tokens.caveats import (
    CaveatError,
    InOrganization,
    Permission,
    Projects,
    TokenContext,
    check_all,
)

if TYPE_CHECKING:
    from strongroom.accounts.models import User
    from strongroom.tokens.services import VerifiedToken


@dataclass(frozen=True)
class Reader:
    """Who reads: ``user`` (None: anonymous) and, when they proved it with a token, that
    token verified for reading the index (its scope then narrows what they may read)."""

    user: User | None = None
    token: VerifiedToken | None = None

    @property
    def is_anonymous(self) -> bool:
        return self.user is None

    def token_allows(self, project: Project) -> bool:
        """Whether the token (if any) allows reading ``project``: every caveat again,
        against this project, with the token's own checks (no further query)."""
        if self.token is None:
            return True
        context = TokenContext(
            now=self.token.context.now,
            permission=Permission.READ,
            project_id=str(project.pk),
            project_name=project.normalized_name,
            organization_id=(
                str(project.organization_id) if project.organization_id is not None else None
            ),
        )
        try:
            check_all(self.token.caveats, context, self.user_id)
        except CaveatError:
            return False
        return True

    @property
    def user_id(self) -> str:
        return str(self.user.pk) if self.user is not None else ""


ANONYMOUS = Reader()


def site_requires_authentication() -> bool:
    """True in ``authenticated`` mode: every read needs a session or a read credential."""
    return settings.READ_ACCESS == "authenticated"


def is_publicly_readable(project: Project) -> bool:
    """Readable by anyone who can reach the server: public project, public site."""
    return not project.is_private and not site_requires_authentication()


def can_read(reader: Reader, project: Project) -> bool:
    """Whether ``reader`` may read ``project`` (its pages, metadata and files).

    Public projects: anyone on a public site, any signed-in reader on an authenticated
    one. Private projects: those holding a role on it (its collaborators, and members of
    its organisation or teams with a role). A token further limits both to its scope.
    """
    if is_publicly_readable(project):
        return True
    if reader.user is None or not reader.token_allows(project):
        return False
    if not project.is_private:
        return True
    return role_of(reader.user, project) is not None


def readable_projects(reader: Reader | User | None) -> QuerySet[Project]:
    """Every project ``reader`` may read, as a queryset filter for listings: /simple/, the
    JSON API, search, user pages and "Your projects" use it."""
    if not isinstance(reader, Reader):
        signed_in = reader is not None and reader.is_authenticated
        reader = Reader(user=reader) if signed_in else ANONYMOUS
    projects = Project.objects.all()
    if reader.user is None:
        if site_requires_authentication():
            return projects.none()
        return projects.filter(visibility=Project.Visibility.PUBLIC)
    projects = projects.filter(
        Q(visibility=Project.Visibility.PUBLIC) | Q(pk__in=projects_with_role(reader.user))
    )
    if reader.token is not None:
        for caveat in reader.token.caveats:
            if isinstance(caveat, Projects):
                projects = projects.filter(_scope_filter(caveat))
            elif isinstance(caveat, InOrganization):
                # Membership itself was checked when the token was verified.
                organization = caveat.organization_id
                projects = (
                    projects.filter(organization_id=int(organization))
                    if organization.isdigit()
                    else projects.none()
                )
    return projects


def _scope_filter(caveat: Projects) -> Q:
    """The projects a projects caveat names (by name, and by id where the server set it),
    the same rule as ``Projects.check``."""
    query = Q(pk__in=[])
    for ref in caveat.projects:
        if not ref.id:
            query |= Q(normalized_name=ref.name)
        elif ref.id.isdigit():
            query |= Q(normalized_name=ref.name, pk=int(ref.id))
        # any other id names no project of this server
    return query
