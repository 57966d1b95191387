"""Organisations and their members: the guard, create, change a role, remove, and the
organisation's two-factor requirement. Each function is one transaction with its audit
event and emails; invitations are in orgs.invitations, teams in orgs.teams, project
transfers in orgs.transfer."""

from __future__ import annotations

import re

from django.db import IntegrityError, transaction
from django.urls import reverse
from django.utils.translation import gettext as _

from strongroom.accounts.actors import (
    Actor,
    NotPermitted,
    require_recent_authentication,
    require_user,
)
from strongroom.accounts.models import User
from strongroom.events.services import record_event
from strongroom.events.tags import EventTag
from strongroom.mfa.services.queries import has_second_factor
from strongroom.notify.services import send_email
from strongroom.orgs.models import (
    Organization,
    OrganizationRole,
    TeamMember,
)
from strongroom.web.http import absolute_url

_SALT = "strongroom.orgs.invitation"
MAX_NAME_LENGTH = 50
_NAME = re.compile(r"^[A-Za-z0-9](?:[A-Za-z0-9._-]*[A-Za-z0-9])?$")
_SEPARATORS = re.compile(r"[-_.]+")

Name = OrganizationRole.Name
OWNER = frozenset({Name.OWNER.value})
MANAGERS = frozenset({Name.OWNER.value, Name.MANAGER.value})
MEMBERS = frozenset(Name.values)


class OrgError(Exception):
    """A refused change to an organisation or a team; ``str(exc)`` is the sentence to show."""


# --- names and queries ------------------------------------------------------------------------


def normalize_name(name: str) -> str:
    """One form for names that differ only in case or in runs of ``-``, ``_`` and ``.``."""
    return _SEPARATORS.sub("-", name).lower()


def clean_name(name: str, what: str) -> tuple[str, str]:
    """The stripped name and its normal form, or OrgError saying what a name may be."""
    name = (name or "").strip()
    if not name or len(name) > MAX_NAME_LENGTH or not _NAME.match(name):
        raise OrgError(
            _(
                "A %(what)s name is 1 to %(max)d letters, digits, “-”, “_” or “.”, and starts "
                "and ends with a letter or digit."
            )
            % {"what": what, "max": MAX_NAME_LENGTH}
        )
    return name, normalize_name(name)


def find_organization(name: str) -> Organization | None:
    return Organization.objects.filter(normalized_name=normalize_name(name or "")).first()


def role_in(user: User | None, organization: Organization) -> str | None:
    """``user``'s role in ``organization`` now, or None."""
    if user is None or not user.is_authenticated:
        return None
    return (
        OrganizationRole.objects.filter(organization=organization, user=user)
        .values_list("role_name", flat=True)
        .first()
    )


def organizations_of(user: User) -> list[tuple[Organization, str]]:
    roles = OrganizationRole.objects.filter(user=user).select_related("organization")
    return [(r.organization, r.role_name) for r in roles.order_by("organization__normalized_name")]


def owned_organizations(user: User) -> list[Organization]:
    """The organisations ``user`` may move a project into: those they own."""
    return [o for o, role in organizations_of(user) if role == Name.OWNER]


def owners(organization: Organization) -> list[User]:
    return list(
        User.objects.filter(
            organization_roles__organization=organization,
            organization_roles__role_name=Name.OWNER,
        )
    )


def require_fresh(actor: Actor) -> User:
    """The acting user, who in a browser session must have proved their password within
    REAUTH_MAX_AGE (as every organisation page that changes something asks); the CLI and
    the system act without a session and pass."""
    user = require_user(actor)
    require_recent_authentication(
        actor, _("Confirm your password before changing an organisation.")
    )
    return user


def require_org_role(
    actor: Actor, organization: Organization, roles: frozenset[str] = OWNER
) -> tuple[User, str]:
    """The acting user and their role in ``organization``, which must be one of ``roles``
    and met with the second factor the organisation requires, in a recently
    re-authenticated session when it is one; otherwise NotPermitted. Every service that
    changes an organisation, its members, invitations, teams or projects calls it.

    Call it inside the service's transaction, after locking the organisation row, so a
    role changed meanwhile is seen."""
    user = require_fresh(actor)
    role = role_in(user, organization)
    if role not in roles:
        if roles == OWNER:
            message = _("Only an Owner of %(organization)s may do that.")
        elif roles == MANAGERS:
            message = _("Only an Owner or a Manager of %(organization)s may do that.")
        else:
            message = _("Only a member of %(organization)s may do that.")
        raise NotPermitted(message % {"organization": organization.name})
    if organization.two_factor_required and not has_second_factor(user):
        raise NotPermitted(
            _("The organisation %(organization)s requires two-factor authentication.")
            % {"organization": organization.name},
            two_factor=True,
        )
    assert role is not None
    return user, role


def lock(organization: Organization) -> Organization:
    """Lock the organisation row: every change to its members or teams takes this lock,
    so two concurrent changes cannot each see another Owner and leave none."""
    return Organization.objects.select_for_update().get(pk=organization.pk)


def role_label(role_name: str) -> str:
    return str(Name(role_name).label)


def notify(actor: Actor, organization: Organization, summary: str, *affected: User | str) -> None:
    """Tell every Owner and the affected people (accounts or addresses) what changed."""
    addresses = {u.email for u in owners(organization) if u.email}
    for person in affected:
        address = person if isinstance(person, str) else person.email
        if address:
            addresses.add(address)
    send_email(
        addresses,
        "organization_changed",
        {
            "organization": organization,
            "summary": summary,
            "organization_url": absolute_url(
                reverse("orgs:detail", args=[organization.normalized_name])
            ),
        },
        actor=actor,
    )


def event(
    tag: EventTag,
    actor: Actor,
    organization: Organization,
    user: User | None = None,
    **extra: object,
) -> None:
    record_event(
        tag,
        actor=actor,
        user=user if user is not None else actor.user,
        extra={"organization": organization.normalized_name, **extra},
    )


# --- creating ---------------------------------------------------------------------------------


def create_organization(actor: Actor, name: str) -> Organization:
    """A new organisation with the acting user as its first Owner. The user needs a
    verified primary email; the name must not collide with another after normalisation."""
    user = require_user(actor)
    if not user.has_verified_primary_email:
        raise OrgError(_("Verify your primary email address before creating an organisation."))
    name, normalized = clean_name(name, _("organisation"))
    taken = _("An organisation named %(name)s already exists.") % {"name": name}
    try:
        with transaction.atomic():
            if Organization.objects.filter(normalized_name=normalized).exists():
                raise OrgError(taken)
            organization = Organization.objects.create(name=name, normalized_name=normalized)
            OrganizationRole.objects.create(
                organization=organization, user=user, role_name=Name.OWNER
            )
            event(EventTag.ORGANIZATION_CREATE, actor, organization, name=name)
            notify(
                actor,
                organization,
                _("%(actor)s created the organisation %(organization)s.")
                % {"actor": user.username, "organization": name},
            )
    except IntegrityError:
        # The same name created by a concurrent request: one wins, the other is told.
        raise OrgError(taken) from None
    return organization


# --- members ----------------------------------------------------------------------------------


def _member(organization: Organization, username: str) -> OrganizationRole:
    role = (
        OrganizationRole.objects.select_related("user")
        .filter(organization=organization, user__username__iexact=(username or "").strip())
        .first()
    )
    if role is None:
        raise OrgError(
            _("%(username)s is not a member of %(organization)s.")
            % {"username": username, "organization": organization.name}
        )
    return role


def _last_owner(organization: Organization, role: OrganizationRole) -> bool:
    return (
        role.role_name == Name.OWNER
        and OrganizationRole.objects.filter(organization=organization, role_name=Name.OWNER).count()
        == 1
    )


def change_member_role(
    actor: Actor, organization: Organization, username: str, role_name: str
) -> OrganizationRole:
    """An Owner makes a member Owner, Manager or Member; the last Owner stays an Owner."""
    if role_name not in Name.values:
        raise OrgError(_("Choose Owner, Manager or Member."))
    with transaction.atomic():
        organization = lock(organization)
        require_org_role(actor, organization, OWNER)
        role = _member(organization, username)
        old = role.role_name
        if old == role_name:
            return role
        if _last_owner(organization, role):
            raise OrgError(
                _(
                    "%(username)s is the last Owner of %(organization)s: make another member "
                    "an Owner first."
                )
                % {"username": role.user.username, "organization": organization.name}
            )
        role.role_name = role_name
        role.save(update_fields=["role_name"])
        event(
            EventTag.ORGANIZATION_MEMBER_ROLE_CHANGE,
            actor,
            organization,
            role.user,
            username=role.user.username,
            old_role=old,
            role=role_name,
        )
        notify(
            actor,
            organization,
            _("%(actor)s made %(username)s a %(role)s of %(organization)s.")
            % {
                "actor": actor.username,
                "username": role.user.username,
                "role": role_label(role_name),
                "organization": organization.name,
            },
            role.user,
        )
    return role


def remove_member(actor: Actor, organization: Organization, username: str) -> User:
    """An Owner removes a member, or a member leaves. Every right the membership gave ends
    in the same transaction: their team places go with it (never the last Owner)."""
    with transaction.atomic():
        organization = lock(organization)
        user = require_fresh(actor)
        role = _member(organization, username)
        leaving = role.user_id == user.pk
        if not leaving:
            require_org_role(actor, organization, OWNER)
        if _last_owner(organization, role):
            raise OrgError(
                _(
                    "%(username)s is the last Owner of %(organization)s: make another member "
                    "an Owner first."
                )
                % {"username": role.user.username, "organization": organization.name}
            )
        teams = list(
            TeamMember.objects.filter(team__organization=organization, user=role.user).values_list(
                "team__name", flat=True
            )
        )
        TeamMember.objects.filter(team__organization=organization, user=role.user).delete()
        role.delete()
        event(
            EventTag.ORGANIZATION_MEMBER_REMOVE,
            actor,
            organization,
            role.user,
            username=role.user.username,
            role=role.role_name,
            teams=sorted(teams),
            left=leaving,
        )
        notify(
            actor,
            organization,
            _("%(username)s is no longer a member of %(organization)s.")
            % {"username": role.user.username, "organization": organization.name},
            role.user,
        )
    return role.user


def set_two_factor_required(actor: Actor, organization: Organization, required: bool) -> None:
    """Owners require (or stop requiring) a second factor from every member acting on the
    organisation or its projects (mfa.policy applies it to the projects)."""
    with transaction.atomic():
        organization = lock(organization)
        require_org_role(actor, organization, OWNER)
        if organization.two_factor_required == required:
            return
        organization.two_factor_required = required
        organization.save(update_fields=["two_factor_required"])
        tag = (
            EventTag.ORGANIZATION_TWO_FACTOR_REQUIRED_ENABLE
            if required
            else EventTag.ORGANIZATION_TWO_FACTOR_REQUIRED_DISABLE
        )
        event(tag, actor, organization)
        summary = (
            _(
                "%(actor)s now requires two-factor authentication from every member of "
                "%(organization)s."
            )
            if required
            else _("%(actor)s no longer requires two-factor authentication in %(organization)s.")
        )
        notify(
            actor,
            organization,
            summary % {"actor": actor.username, "organization": organization.name},
        )
