"""The context a token is verified against: what the request does with it (upload to a
project, or read one or the whole index), when, and the project's organisation."""

from __future__ import annotations

from datetime import datetime

from django.utils import timezone

from strongroom.packages.models import Project
from strongroom.tokens.caveats import Permission, TokenContext


def upload_context(project: Project | None, name: str, now: datetime | None = None) -> TokenContext:
    """The context of uploading to ``project`` (None: creating a project called ``name``)."""
    return TokenContext(
        now=now or timezone.now(),
        permission=Permission.UPLOAD,
        project_id=str(project.pk) if project is not None else None,
        project_name=project.normalized_name if project is not None else name,
        organization_id=_organization_of(project),
    )


def _organization_of(project: Project | None) -> str | None:
    """The id of the organisation owning ``project`` (None: none, or no project)."""
    if project is None or project.organization_id is None:
        return None
    return str(project.organization_id)


def read_context(project: Project | None, now: datetime | None = None) -> TokenContext:
    """The context of reading ``project`` (None: the index, narrowed to the token's scope)."""
    return TokenContext(
        now=now or timezone.now(),
        permission=Permission.READ,
        project_id=str(project.pk) if project is not None else None,
        project_name=project.normalized_name if project is not None else "",
        organization_id=_organization_of(project),
    )
