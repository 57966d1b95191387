"""Who must keep a second factor, and who may not upload or manage a project without one.

This is the one place that says so: the account pages (removing a factor), the upload API
(upload.services.check_permission), the project pages and the admin all ask it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from django.conf import settings
from django.core.exceptions import PermissionDenied
from django.db.models import Q
from django.utils.translation import gettext as _

from strongroom.mfa.services.queries import has_second_factor

if TYPE_CHECKING:
    from strongroom.accounts.models import User
    from strongroom.packages.models import Project


class TwoFactorNeeded(PermissionDenied):
    """Raised by a page the user may not use until they set up a second factor; the 403
    handler (web.views.forbidden) explains why and links to the setup."""

    def __init__(self, reason: str):
        super().__init__(reason)
        self.reason = reason


# Projects whose own rule requires a second factor from every collaborator.
REQUIRES_TWO_FACTOR = Q(two_factor_required=True) | Q(marked_critical=True) | Q(popular=True)


def site_requires_for_uploaders() -> bool:
    return settings.REQUIRE_2FA in {"all", "uploaders"}


def project_requires_two_factor(project: Project) -> str | None:
    """Why collaborators of ``project`` need two-factor authentication, or None."""
    if settings.REQUIRE_2FA == "all":
        return _("This site requires two-factor authentication for every account.")
    if settings.REQUIRE_2FA == "uploaders":
        return _("This site requires two-factor authentication for everyone who publishes.")
    if project.is_critical:
        return _(
            "%(project)s is a critical project: two-factor authentication is required "
            "to publish or manage it."
        ) % {"project": project.name}
    if project.two_factor_required:
        return _(
            "The owners of %(project)s require two-factor authentication to publish or manage it."
        ) % {"project": project.name}
    return organization_requires_two_factor(project)


def organization_requires_two_factor(project: Project) -> str | None:
    """Why members must have a second factor for ``project``'s organisation, or None.
    Read from the database now: a requirement switched on meanwhile counts."""
    if project.organization_id is None:
        return None
    from strongroom.orgs.models import Organization

    name = (
        Organization.objects.filter(pk=project.organization_id, two_factor_required=True)
        .values_list("name", flat=True)
        .first()
    )
    if name is None:
        return None
    return _(
        "The organisation %(organization)s requires two-factor authentication to "
        "publish or manage its projects."
    ) % {"organization": name}


def two_factor_required_for(user: User) -> str | None:
    """The reason ``user`` must keep two-factor authentication, or None when nothing does."""
    if settings.REQUIRE_2FA == "all":
        return _("This site requires two-factor authentication for every account.")
    from strongroom.packages.models import Project

    projects = Project.objects.filter(roles__user=user)
    if settings.REQUIRE_2FA == "uploaders" and projects.exists():
        return _("This site requires two-factor authentication for everyone who publishes.")
    project = projects.filter(REQUIRES_TWO_FACTOR).order_by("normalized_name").first()
    if project is not None:
        return _("you collaborate on %(project)s, which requires it.") % {"project": project.name}
    role = (
        user.organization_roles.filter(organization__two_factor_required=True)
        .select_related("organization")
        .first()
    )
    if role is not None:
        return _("you are a member of the organisation %(organization)s, which requires it.") % {
            "organization": role.organization.name
        }
    return None


def two_factor_refusal(user: User, project: Project | None) -> str | None:
    """Why ``user`` may not upload to or manage ``project`` (None: a new project) yet.

    None when no rule applies or the user has a second factor.
    """
    if project is None:
        reason = (
            _("This site requires two-factor authentication for everyone who publishes.")
            if site_requires_for_uploaders()
            else None
        )
    else:
        reason = project_requires_two_factor(project)
    if reason is None or has_second_factor(user):
        return None
    return reason
