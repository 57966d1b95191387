"""Invitations to an organisation: signed, expiring links sent to an email address.

The address may have no account yet: the invitation waits until someone registers and
verifies it, then they accept it like anyone else (``pending_invitations`` lists it)."""

from __future__ import annotations

import secrets
from datetime import datetime, timedelta

from django.conf import settings
from django.core import signing
from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import transaction
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from strongroom.accounts.actors import Actor, require_user
from strongroom.accounts.models import Email, User
from strongroom.events.tags import EventTag
from strongroom.notify.services import send_email
from strongroom.orgs.models import Organization, OrganizationInvitation, OrganizationRole
from strongroom.orgs.services import (
    OWNER,
    Name,
    OrgError,
    event,
    lock,
    notify,
    require_org_role,
    role_in,
    role_label,
)
from strongroom.web.http import absolute_url

_SALT = "strongroom.orgs.invitation"


def invitation_token(invitation: OrganizationInvitation) -> str:
    return signing.dumps({"i": invitation.pk, "n": invitation.nonce}, salt=_SALT)


def _invitee_address(identifier: str) -> tuple[str, User | None]:
    """The address to invite and the account holding it verified (if any)."""
    identifier = (identifier or "").strip()
    if "@" not in identifier:
        user = User.objects.filter(username__iexact=identifier, is_active=True).first()
        if user is None or not identifier:
            raise OrgError(
                _("No account has the username “%(who)s”. Invite an email address instead.")
                % {"who": identifier}
            )
        primary = user.primary_email
        if primary is None or not primary.verified:
            raise OrgError(
                _("%(username)s must verify their email address before they can be invited.")
                % {"username": user.username}
            )
        return primary.email.lower(), user
    try:
        validate_email(identifier)
    except ValidationError:
        raise OrgError(_("“%(who)s” is not an email address.") % {"who": identifier}) from None
    address = identifier.lower()
    holder = Email.objects.filter(email__iexact=address, verified=True).select_related("user")
    email = holder.first()
    return address, email.user if email is not None else None


def invite_member(
    actor: Actor, organization: Organization, identifier: str, role_name: str
) -> OrganizationInvitation:
    """Invite a username or any email address to a role; emails a signed, expiring link.

    An address without an account yet is fine: the invitation waits until someone
    registers and verifies that address, then they accept it like anyone else."""
    if role_name not in Name.values:
        raise OrgError(_("Choose Owner, Manager or Member."))
    with transaction.atomic():
        organization = lock(organization)
        require_org_role(actor, organization, OWNER)
        address, invitee = _invitee_address(identifier)
        who = {"who": invitee.username if invitee else address, "organization": organization.name}
        if invitee is not None and role_in(invitee, organization) is not None:
            raise OrgError(_("%(who)s is already a member of %(organization)s.") % who)
        if OrganizationInvitation.objects.filter(organization=organization, email=address).exists():
            raise OrgError(
                _("%(who)s already has a pending invitation; revoke it to send a new one.") % who
            )
        invitation = OrganizationInvitation.objects.create(
            organization=organization,
            email=address,
            inviter=actor.user,
            role_name=role_name,
            nonce=secrets.token_urlsafe(24),
        )
        event(
            EventTag.ORGANIZATION_MEMBER_INVITE,
            actor,
            organization,
            email=address,
            username=invitee.username if invitee else None,
            role=role_name,
        )
        send_email(
            [address],
            "organization_invitation",
            {
                "organization": organization,
                "role": role_label(role_name),
                "inviter": actor.username,
                "has_account": invitee is not None,
                "invitation_url": absolute_url(
                    reverse("orgs:invitation", args=[invitation_token(invitation)])
                ),
                "register_url": absolute_url(reverse("accounts:register")),
                "expires": invitation.expires,
            },
            actor=actor,
            client_to=[],
        )
        notify(
            actor,
            organization,
            _("%(actor)s invited %(who)s to be a %(role)s of %(organization)s.")
            % {"actor": actor.username, "role": role_label(role_name), **who},
        )
    return invitation


def _invalid() -> OrgError:
    return OrgError(_("This invitation link is not valid."))


def check_invitation(token: str, user: User) -> OrganizationInvitation:
    """The pending invitation ``token`` was made for, if it is genuine, fresh, unused and
    addressed to one of ``user``'s verified addresses; else OrgError saying which."""
    expired = _(
        "This invitation has expired. Ask an Owner of the organisation to invite you again."
    )
    try:
        payload = signing.loads(token, salt=_SALT, max_age=settings.INVITATION_MAX_AGE)
    except signing.SignatureExpired:
        raise OrgError(expired) from None
    except signing.BadSignature:
        raise _invalid() from None
    if (
        not isinstance(payload, dict)
        or type(payload.get("i")) is not int
        or not isinstance(payload.get("n"), str)
    ):
        raise _invalid()
    invitation = (
        OrganizationInvitation.objects.select_related("organization", "inviter")
        .filter(pk=payload["i"])
        .first()
    )
    if invitation is None or not secrets.compare_digest(invitation.nonce, payload["n"]):
        raise OrgError(_("This invitation has already been accepted, declined or revoked."))
    if not user.emails.filter(email__iexact=invitation.email, verified=True).exists():
        raise OrgError(
            _(
                "This invitation is for %(email)s. Log in with the account that has this "
                "address verified, or add and verify it on your account."
            )
            % {"email": invitation.email}
        )
    if invitation.expires <= timezone.now():
        raise OrgError(expired)
    return invitation


def pending_invitations(user: User) -> list[OrganizationInvitation]:
    """Invitations addressed to any of ``user``'s verified addresses, including ones sent
    before the account existed."""
    addresses = [
        e.lower() for e in user.emails.filter(verified=True).values_list("email", flat=True)
    ]
    return list(
        OrganizationInvitation.objects.filter(email__in=addresses, created__gt=_oldest_valid())
        .select_related("organization", "inviter")
        .order_by("created")
    )


def _oldest_valid() -> datetime:
    return timezone.now() - timedelta(seconds=settings.INVITATION_MAX_AGE)


def _claim(invitation: OrganizationInvitation) -> None:
    """Use the invitation up, under the organisation's lock (taken first, as every other
    change to the organisation does): of two requests with the same link, one wins."""
    deleted, _rows = OrganizationInvitation.objects.filter(
        pk=invitation.pk, nonce=invitation.nonce
    ).delete()
    if not deleted:
        raise OrgError(_("This invitation has already been accepted, declined or revoked."))


def accept_invitation(actor: Actor, token: str) -> Organization:
    """The acting user joins the organisation with the role they were invited to."""
    user = require_user(actor)
    with transaction.atomic():
        invitation = check_invitation(token, user)
        organization = lock(invitation.organization)
        _claim(invitation)
        if role_in(user, organization) is not None:
            raise OrgError(
                _("You are already a member of %(organization)s.")
                % {"organization": organization.name}
            )
        OrganizationRole.objects.create(
            organization=organization, user=user, role_name=invitation.role_name
        )
        event(
            EventTag.ORGANIZATION_MEMBER_ACCEPT,
            actor,
            organization,
            email=invitation.email,
            role=invitation.role_name,
        )
        notify(
            actor,
            organization,
            _("%(username)s accepted the invitation and is now a %(role)s of %(organization)s.")
            % {
                "username": user.username,
                "role": role_label(invitation.role_name),
                "organization": organization.name,
            },
            user,
        )
    return organization


def decline_invitation(actor: Actor, token: str) -> Organization:
    user = require_user(actor)
    with transaction.atomic():
        invitation = check_invitation(token, user)
        organization = lock(invitation.organization)
        _claim(invitation)
        event(
            EventTag.ORGANIZATION_MEMBER_DECLINE,
            actor,
            organization,
            email=invitation.email,
            role=invitation.role_name,
        )
        notify(
            actor,
            organization,
            _("%(username)s declined the invitation to %(organization)s.")
            % {"username": user.username, "organization": organization.name},
            user,
        )
    return organization


def revoke_invitation(
    actor: Actor, organization: Organization, invitation_id: int
) -> OrganizationInvitation:
    with transaction.atomic():
        organization = lock(organization)
        require_org_role(actor, organization, OWNER)
        invitation = OrganizationInvitation.objects.filter(
            organization=organization, pk=invitation_id
        ).first()
        if invitation is None:
            raise OrgError(_("That invitation was already accepted, declined or revoked."))
        invitation.delete()
        event(
            EventTag.ORGANIZATION_MEMBER_REVOKE_INVITE,
            actor,
            organization,
            email=invitation.email,
            role=invitation.role_name,
        )
        notify(
            actor,
            organization,
            _("%(actor)s revoked the invitation of %(email)s to %(organization)s.")
            % {
                "actor": actor.username,
                "email": invitation.email,
                "organization": organization.name,
            },
            invitation.email,
        )
    return invitation
