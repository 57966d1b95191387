"""Who holds which role on a project: invitations, role changes, leaving, and the project's
two-factor requirement. Each function is one transaction with its audit event and emails."""

from __future__ import annotations

import secrets
from typing import TYPE_CHECKING, Any

from django.conf import settings
from django.core import signing
from django.db import transaction
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from strongroom.accounts.actors import Actor, require_user
from strongroom.accounts.models import Email, User
from strongroom.events.services import record_event
from strongroom.events.tags import EventTag
from strongroom.mfa.policy import two_factor_refusal
from strongroom.mfa.services.queries import second_factor_exists
from strongroom.notify.services import send_email, send_security_email
from strongroom.packages.models import Project, Role, RoleInvitation
from strongroom.packages.permissions import OWNER, require_role
from strongroom.packages.services import PackageError
from strongroom.web.http import absolute_url

if TYPE_CHECKING:
    from collections.abc import Iterable

_SALT = "strongroom.packages.invitation"


class GovernanceError(PackageError):
    """A refused change to a project's collaborators; ``str(exc)`` is the sentence to show."""


# --- queries ------------------------------------------------------------------------------


def owners(project: Project) -> list[User]:
    return list(
        User.objects.filter(project_roles__project=project, project_roles__role_name="Owner")
    )


def collaborators_without_two_factor(project: Project) -> list[User]:
    """Collaborators of ``project`` who have neither an authenticator app nor a security key."""
    return list(
        User.objects.filter(project_roles__project=project)
        .exclude(second_factor_exists("pk"))
        .order_by("username")
    )


def _lock_roles(project: Project) -> list[Role]:
    return list(Role.objects.select_for_update().filter(project=project).select_related("user"))


def _owner_count(project: Project) -> int:
    return Role.objects.filter(project=project, role_name=Role.Name.OWNER).count()


def _p(project: Project) -> dict[str, str]:
    return {"project": project.name}


def _role_label(role_name: str) -> str:
    return str(Role.Name(role_name).label)


def _addresses(users: Iterable[User]) -> list[str]:
    return [address for address in (u.email for u in users) if address]


def _notify(
    actor: Actor,
    project: Project,
    summary: str,
    affected: User | None,
) -> None:
    """Tell the affected account and every Owner what changed on ``project``."""
    people = owners(project)
    if affected is not None:
        people.append(affected)
    send_email(
        _addresses(people),
        "project_collaborators_changed",
        {
            "project": project,
            "summary": summary,
            "collaborators_url": absolute_url(
                reverse("packages:collaborators", args=[project.normalized_name])
            ),
        },
        actor=actor,
    )


def _event(
    tag: EventTag,
    actor: Actor,
    project: Project,
    user: User | None,
    **extra: Any,
) -> None:
    record_event(
        tag,
        actor=actor,
        user=user,
        project=project,
        extra={"project": project.name, **extra},
    )


# --- invitations ------------------------------------------------------------------------------


def find_account(identifier: str) -> User | None:
    """The account with this username, or with this verified email address."""
    identifier = identifier.strip()
    if "@" in identifier:
        email = (
            Email.objects.filter(email__iexact=identifier, verified=True)
            .select_related("user")
            .first()
        )
        return email.user if email else None
    return User.objects.filter(username__iexact=identifier, is_active=True).first()


def invitation_token(invitation: RoleInvitation) -> str:
    return signing.dumps({"i": invitation.pk, "n": invitation.nonce}, salt=_SALT)


def invite(actor: Actor, project: Project, identifier: str, role_name: str) -> RoleInvitation:
    """Invite an account (by username or verified email) to a role; emails a signed link."""
    if role_name not in Role.Name.values:
        raise GovernanceError(_("Choose Owner or Maintainer."))
    with transaction.atomic():
        _lock_roles(project)
        require_role(actor, project, OWNER)
        invitee = find_account(identifier)
        if invitee is None:
            raise GovernanceError(
                _("No account has the username or verified email address “%(who)s”.")
                % {"who": identifier.strip()}
            )
        who = {"username": invitee.username, **_p(project)}
        if Role.objects.filter(project=project, user=invitee).exists():
            raise GovernanceError(_("%(username)s is already a collaborator.") % who)
        if RoleInvitation.objects.filter(project=project, invitee=invitee).exists():
            raise GovernanceError(
                _("%(username)s already has a pending invitation; revoke it to send a new one.")
                % who
            )
        if not invitee.has_verified_primary_email:
            raise GovernanceError(
                _("%(username)s must verify their email address before they can be invited.") % who
            )
        invitation = RoleInvitation.objects.create(
            project=project,
            invitee=invitee,
            inviter=actor.user,
            role_name=role_name,
            nonce=secrets.token_urlsafe(24),
        )
        _event(
            EventTag.PROJECT_ROLE_INVITE,
            actor,
            project,
            invitee,
            username=invitee.username,
            role=role_name,
        )
        link = reverse("packages:invitation", args=[invitation_token(invitation)])
        send_security_email(
            invitee,
            "project_invitation",
            {
                "project": project,
                "role": _role_label(role_name),
                "inviter": actor.username,
                "invitation_url": absolute_url(link),
                "expires": invitation.created + _max_age(),
                "requires_two_factor": two_factor_refusal(invitee, project),
            },
            actor=actor,
        )
        _notify(
            actor,
            project,
            _("%(actor)s invited %(username)s to be a %(role)s of %(project)s.")
            % {"actor": actor.username, "role": _role_label(role_name), **who},
            None,
        )
    return invitation


def _max_age() -> Any:
    from datetime import timedelta

    return timedelta(seconds=settings.INVITATION_MAX_AGE)


def check_invitation(token: str, user: User) -> RoleInvitation:
    """The pending invitation ``token`` was made for, if it is genuine, fresh, unused and
    addressed to ``user``; else GovernanceError saying which."""
    try:
        payload = signing.loads(token, salt=_SALT, max_age=settings.INVITATION_MAX_AGE)
    except signing.SignatureExpired:
        raise GovernanceError(
            _("This invitation has expired. Ask an Owner of the project to invite you again.")
        ) from None
    except signing.BadSignature:
        raise GovernanceError(_("This invitation link is not valid.")) from None
    if (
        not isinstance(payload, dict)
        or not isinstance(payload.get("i"), int)
        or not isinstance(payload.get("n"), str)
    ):
        raise GovernanceError(_("This invitation link is not valid."))
    invitation = (
        RoleInvitation.objects.select_for_update(of=("self",))
        .select_related("project", "inviter", "invitee")
        .filter(pk=payload["i"])
        .first()
    )
    if invitation is None or not secrets.compare_digest(invitation.nonce, payload["n"]):
        raise GovernanceError(_("This invitation has already been accepted, declined or revoked."))
    if invitation.invitee_id != user.pk:
        raise GovernanceError(
            _("This invitation is for another account. Log in as the account it was sent to.")
        )
    if invitation.expires <= timezone.now():
        raise GovernanceError(
            _("This invitation has expired. Ask an Owner of the project to invite you again.")
        )
    return invitation


def accept_invitation(actor: Actor, token: str) -> Project:
    """The acting user joins with the role they were invited to."""
    user = require_user(actor)
    with transaction.atomic():
        invitation = check_invitation(token, user)
        project = invitation.project
        if not user.has_verified_primary_email:
            raise GovernanceError(_("Verify your primary email address before joining a project."))
        refusal = two_factor_refusal(user, project)
        if refusal is not None:
            raise GovernanceError(
                _("%(reason)s Set up two-factor authentication, then open this link again.")
                % {"reason": refusal}
            )
        Role.objects.create(project=project, user=user, role_name=invitation.role_name)
        invitation.delete()
        _event(
            EventTag.PROJECT_ROLE_ACCEPT,
            actor,
            project,
            user,
            username=user.username,
            role=invitation.role_name,
        )
        _notify(
            actor,
            project,
            _("%(username)s accepted the invitation and is now a %(role)s of %(project)s.")
            % {"username": user.username, "role": _role_label(invitation.role_name), **_p(project)},
            user,
        )
    return project


def decline_invitation(actor: Actor, token: str) -> Project:
    user = require_user(actor)
    with transaction.atomic():
        invitation = check_invitation(token, user)
        project = invitation.project
        invitation.delete()
        _event(
            EventTag.PROJECT_ROLE_DECLINE,
            actor,
            project,
            user,
            username=user.username,
            role=invitation.role_name,
        )
        _notify(
            actor,
            project,
            _("%(username)s declined the invitation to %(project)s.")
            % {"username": user.username, **_p(project)},
            user,
        )
    return project


def revoke_invitation(actor: Actor, project: Project, invitation_id: int) -> RoleInvitation:
    with transaction.atomic():
        require_role(actor, project, OWNER)
        invitation = (
            RoleInvitation.objects.select_for_update(of=("self",))
            .select_related("invitee")
            .filter(project=project, pk=invitation_id)
            .first()
        )
        if invitation is None:
            raise GovernanceError(_("That invitation was already accepted, declined or revoked."))
        invitation.delete()
        invitee = invitation.invitee
        _event(
            EventTag.PROJECT_ROLE_REVOKE_INVITE,
            actor,
            project,
            invitee,
            username=invitee.username,
            role=invitation.role_name,
        )
        _notify(
            actor,
            project,
            _("%(actor)s revoked the invitation of %(username)s to %(project)s.")
            % {"actor": actor.username, "username": invitee.username, **_p(project)},
            invitee,
        )
    return invitation


# --- roles ----------------------------------------------------------------------------------


def _target_role(project: Project, role_id: int) -> Role:
    role = Role.objects.select_related("user").filter(project=project, pk=role_id).first()
    if role is None:
        raise GovernanceError(_("That collaborator is no longer on the project."))
    return role


def change_role(actor: Actor, project: Project, role_id: int, role_name: str) -> Role:
    """Make a collaborator Owner or Maintainer; the last Owner cannot be demoted."""
    if role_name not in Role.Name.values:
        raise GovernanceError(_("Choose Owner or Maintainer."))
    with transaction.atomic():
        _lock_roles(project)
        require_role(actor, project, OWNER)
        role = _target_role(project, role_id)
        old = role.role_name
        if old == role_name:
            raise GovernanceError(
                _("%(username)s is already a %(role)s.")
                % {"username": role.user.username, "role": _role_label(role_name)}
            )
        if old == Role.Name.OWNER and _owner_count(project) == 1:
            raise GovernanceError(
                _("%(project)s needs at least one Owner: make someone else an Owner first.")
                % _p(project)
            )
        role.role_name = role_name
        role.save(update_fields=["role_name"])
        _event(
            EventTag.PROJECT_ROLE_CHANGE,
            actor,
            project,
            role.user,
            username=role.user.username,
            old_role=old,
            role=role_name,
        )
        _notify(
            actor,
            project,
            _("%(actor)s made %(username)s a %(role)s of %(project)s (was %(old)s).")
            % {
                "actor": actor.username,
                "username": role.user.username,
                "role": _role_label(role_name),
                "old": _role_label(old),
                **_p(project),
            },
            role.user,
        )
    return role


def remove_collaborator(actor: Actor, project: Project, role_id: int) -> Role:
    """An Owner removes someone else (to remove yourself, leave the project)."""
    with transaction.atomic():
        _lock_roles(project)
        require_role(actor, project, OWNER)
        role = _target_role(project, role_id)
        if role.user_id == require_user(actor).pk:
            raise GovernanceError(_("To remove yourself, leave the project."))
        role.delete()
        _event(
            EventTag.PROJECT_ROLE_REMOVE,
            actor,
            project,
            role.user,
            username=role.user.username,
            role=role.role_name,
        )
        _notify(
            actor,
            project,
            _("%(actor)s removed %(username)s (%(role)s) from %(project)s.")
            % {
                "actor": actor.username,
                "username": role.user.username,
                "role": _role_label(role.role_name),
                **_p(project),
            },
            role.user,
        )
    return role


def leave_project(actor: Actor, project: Project) -> None:
    """Any collaborator may leave, except the last Owner. No second factor is needed to
    give up access."""
    user = require_user(actor)
    with transaction.atomic():
        _lock_roles(project)
        role = Role.objects.filter(project=project, user=user).first()
        if role is None:
            raise GovernanceError(_("You are not a collaborator on %(project)s.") % _p(project))
        if role.role_name == Role.Name.OWNER and _owner_count(project) == 1:
            raise GovernanceError(
                _(
                    "You are the last Owner of %(project)s: make someone else an Owner "
                    "before you leave, or delete the project."
                )
                % _p(project)
            )
        role.delete()
        _event(
            EventTag.PROJECT_ROLE_LEAVE,
            actor,
            project,
            user,
            username=user.username,
            role=role.role_name,
        )
        _notify(
            actor,
            project,
            _("%(username)s (%(role)s) left %(project)s.")
            % {"username": user.username, "role": _role_label(role.role_name), **_p(project)},
            user,
        )


# --- the project's two-factor requirement ------------------------------------------------------


def set_two_factor_required(actor: Actor, project: Project, required: bool) -> None:
    """Owners switch the requirement on (refused while a collaborator lacks a second factor,
    naming them) or off."""
    with transaction.atomic():
        _lock_roles(project)
        require_role(actor, project, OWNER)
        if project.two_factor_required == required:
            return
        if required:
            lacking = collaborators_without_two_factor(project)
            if lacking:
                raise GovernanceError(
                    _(
                        "These collaborators have no second factor yet: %(names)s. Ask them "
                        "to set one up, or remove them, then try again."
                    )
                    % {"names": ", ".join(u.username for u in lacking)}
                )
        project.two_factor_required = required
        project.save(update_fields=["two_factor_required"])
        tag = (
            EventTag.PROJECT_TWO_FACTOR_REQUIRED_ENABLE
            if required
            else EventTag.PROJECT_TWO_FACTOR_REQUIRED_DISABLE
        )
        _event(tag, actor, project, actor.user)
        summary = (
            _("%(actor)s now requires two-factor authentication to publish or manage %(project)s.")
            if required
            else _("%(actor)s no longer requires two-factor authentication for %(project)s.")
        ) % {"actor": actor.username, **_p(project)}
        send_email(
            _addresses(User.objects.filter(project_roles__project=project)),
            "project_collaborators_changed",
            {
                "project": project,
                "summary": summary,
                "collaborators_url": absolute_url(
                    reverse("packages:settings", args=[project.normalized_name])
                ),
            },
            actor=actor,
        )
