"""Organisations, their members and teams, and the roles teams hold on projects.

PyPI's model: an organisation has Owners, Managers and Members; teams inside it hold
Owner or Maintainer on the organisation's projects (``packages.Project.organization``).
Every right these rows give is read from them at the moment it is used
(``packages.permissions.role_of``), so deleting a row ends the right at once.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from strongroom.packages.models import Role


class Organization(models.Model):
    name = models.CharField(_("name"), max_length=100)
    # packages.names-style normalisation: "Acme_Corp" and "acme.corp" are one name.
    normalized_name = models.CharField(max_length=100, unique=True)
    created = models.DateTimeField(auto_now_add=True)
    # Switched on by the organisation's Owners (orgs.services.set_two_factor_required):
    # members then need a second factor to act on any of its projects (mfa.policy).
    two_factor_required = models.BooleanField(
        _("two-factor authentication required"), default=False
    )

    class Meta:
        ordering = ["normalized_name"]

    def __str__(self) -> str:
        return self.name


class OrganizationRole(models.Model):
    class Name(models.TextChoices):
        OWNER = "Owner", _("Owner")
        MANAGER = "Manager", _("Manager")
        MEMBER = "Member", _("Member")

    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="roles")
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="organization_roles"
    )
    role_name = models.CharField(max_length=20, choices=Name.choices)
    created = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["role_name", "user__username"]
        constraints = [
            models.UniqueConstraint(fields=["organization", "user"], name="unique_org_member")
        ]

    def __str__(self) -> str:
        return f"{self.user} {self.role_name} of {self.organization}"


class OrganizationInvitation(models.Model):
    """A pending invitation to an email address (lower-cased).

    It is accepted by whoever holds that address verified: an account that exists now,
    or one registered later with that address (the invitation waits for it). Accepting,
    declining or revoking deletes it; the events keep it.
    """

    organization = models.ForeignKey(
        Organization, on_delete=models.CASCADE, related_name="invitations"
    )
    email = models.EmailField(max_length=254)
    inviter = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    role_name = models.CharField(max_length=20, choices=OrganizationRole.Name.choices)
    created = models.DateTimeField(auto_now_add=True)
    # Part of the signed link: the link works only while this row exists with this nonce.
    nonce = models.CharField(max_length=64)

    class Meta:
        ordering = ["created"]
        constraints = [
            models.UniqueConstraint(fields=["organization", "email"], name="unique_org_invitation")
        ]

    def __str__(self) -> str:
        return f"{self.email} invited as {self.role_name} of {self.organization}"

    @property
    def expires(self) -> datetime:
        return self.created + timedelta(seconds=settings.INVITATION_MAX_AGE)


class Team(models.Model):
    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="teams")
    name = models.CharField(_("name"), max_length=100)
    normalized_name = models.CharField(max_length=100)
    created = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["normalized_name"]
        constraints = [
            models.UniqueConstraint(
                fields=["organization", "normalized_name"], name="unique_team_name"
            )
        ]

    def __str__(self) -> str:
        return f"{self.organization}/{self.name}"


class TeamMember(models.Model):
    team = models.ForeignKey(Team, on_delete=models.CASCADE, related_name="members")
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="team_memberships"
    )
    created = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["team", "user"], name="unique_team_member")]

    def __str__(self) -> str:
        return f"{self.user} in {self.team}"


class TeamProjectRole(models.Model):
    """A team's role on one of its organisation's projects (Owner or Maintainer)."""

    team = models.ForeignKey(Team, on_delete=models.CASCADE, related_name="project_roles")
    project = models.ForeignKey(
        "packages.Project", on_delete=models.CASCADE, related_name="team_roles"
    )
    role_name = models.CharField(max_length=20, choices=Role.Name.choices)
    created = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["team", "project"], name="unique_team_project_role")
        ]

    def __str__(self) -> str:
        return f"{self.team} {self.role_name} of {self.project}"
