"""Attestation services: a file's provenance, a project's attestation policy, and the
change of signing repository on its attested releases (flagged; held back when required)."""

from __future__ import annotations

from typing import Any

from django.db import transaction
from django.urls import reverse
from django.utils.translation import gettext as _

from strongroom.accounts.actors import Actor, NotPermitted, require_user
from strongroom.accounts.models import User
from strongroom.events.services import record_event
from strongroom.events.tags import EventTag
from strongroom.mfa.services.queries import has_second_factor
from strongroom.notify.services import send_security_email
from strongroom.packages import permissions
from strongroom.packages.models import File, Project, Role
from strongroom.publishing.attestations import Verified
from strongroom.publishing.models import AttestationPolicy, FileProvenance, Publisher
from strongroom.web.http import absolute_url


class AttestationPolicyError(Exception):
    """An owner's policy change that cannot be made; the message says why."""


def requires_attestations(project: Project | None) -> bool:
    if project is None:
        return False
    return AttestationPolicy.objects.filter(project=project, require_attestations=True).exists()


def attested_repository(project: Project) -> str:
    """The signing repository of the project's attested releases: the one an owner
    confirmed last, else the one that signed its latest attested file ('' if none)."""
    policy = AttestationPolicy.objects.filter(project=project).first()
    if policy is not None and policy.confirmed_repository:
        return policy.confirmed_repository
    latest = (
        FileProvenance.objects.filter(file__project=project)
        .order_by("-created", "-pk")
        .values_list("repository", flat=True)
        .first()
    )
    return latest or ""


def settings_url(project: Project) -> str:
    return absolute_url(reverse("publishing:attestations", args=[project.normalized_name]))


def _notify_owners(actor: Actor, project: Project, previous: str, new: str, event: Any) -> None:
    owners = User.objects.filter(
        project_roles__project=project, project_roles__role_name=Role.Name.OWNER, is_active=True
    ).distinct()
    for owner in owners:
        send_security_email(
            owner,
            "attestation_repository_changed",
            {
                "project": project.name,
                "previous": previous,
                "new": new,
                "held": requires_attestations(project),
                "settings_url": settings_url(project),
            },
            actor=actor,
            event=event,
        )


def _flag_change(actor: Actor, project: Project, previous: str, new: str, held: bool) -> None:
    event = record_event(
        EventTag.PROJECT_ATTESTATION_REPOSITORY_CHANGED,
        actor=actor,
        project=project,
        extra={"project": project.name, "previous": previous, "new": new, "held_back": held},
    )
    _notify_owners(actor, project, previous, new, event)


def hold_back(actor: Actor, project: Project, new: str) -> str:
    """A required-attestations project got an upload signed by another repository: flag it,
    keep the repository for an owner to confirm; returns the sentence refusing the upload."""
    previous = attested_repository(project)
    with transaction.atomic():
        policy, _created = AttestationPolicy.objects.select_for_update().get_or_create(
            project=project
        )
        if policy.held_repository != new:
            policy.held_repository = new
            policy.save(update_fields=["held_repository"])
            _flag_change(actor, project, previous, new, held=True)
    return _(
        "The upload is held back: it is signed by %(new)s, but %(project)s's attested "
        "releases were signed by %(previous)s. An owner must confirm the new repository "
        "at %(url)s before it may upload."
    ) % {"new": new, "previous": previous, "project": project.name, "url": settings_url(project)}


def record_provenance(actor: Actor, file: File, verified: Verified) -> FileProvenance:
    """Inside the upload's transaction: keep the file's provenance; a new signing repository
    (the policy is off, or an owner confirmed it) is flagged to the owners."""
    previous = attested_repository(file.project)
    if previous and previous != verified.repository:
        policy = AttestationPolicy.objects.filter(project=file.project).first()
        confirmed = policy is not None and policy.confirmed_repository == verified.repository
        if not confirmed:
            _flag_change(actor, file.project, previous, verified.repository, held=False)
    return FileProvenance.objects.create(
        file=file,
        provenance=verified.provenance,
        repository=verified.repository[:500],
        workflow=verified.workflow[:500],
        commit=verified.commit[:100],
        predicate_types=verified.predicate_types,
    )


def _require_sensitive(actor: Actor, what: str) -> None:
    user = require_user(actor)
    if actor.needs_reauthentication():
        raise NotPermitted(_("Confirm your password before %(what)s.") % {"what": what})
    if not has_second_factor(user):
        raise NotPermitted(
            _("Set up two-factor authentication before %(what)s.") % {"what": what},
            two_factor=True,
        )


def set_attestations_required(actor: Actor, project: Project, required: bool) -> None:
    """An Owner requires attestations: uploads without valid ones from the project's
    trusted publisher are refused."""
    _require_sensitive(actor, _("changing the project's attestation policy"))
    with transaction.atomic():
        project = Project.objects.select_for_update().get(pk=project.pk)
        permissions.require_role(actor, project, permissions.OWNER)
        if required and not Publisher.objects.filter(project=project).exists():
            raise AttestationPolicyError(
                _("Add a trusted publisher first: only a trusted publisher can send attestations.")
            )
        policy, _created = AttestationPolicy.objects.get_or_create(project=project)
        if policy.require_attestations == required:
            return
        policy.require_attestations = required
        policy.save(update_fields=["require_attestations"])
        tag = (
            EventTag.PROJECT_ATTESTATIONS_REQUIRED_ENABLE
            if required
            else EventTag.PROJECT_ATTESTATIONS_REQUIRED_DISABLE
        )
        record_event(tag, actor=actor, project=project, extra={"project": project.name})


def confirm_repository(actor: Actor, project: Project, repository: str) -> None:
    """An Owner confirms the held-back signing repository: its uploads are accepted."""
    _require_sensitive(actor, _("confirming a new signing repository"))
    with transaction.atomic():
        project = Project.objects.select_for_update().get(pk=project.pk)
        permissions.require_role(actor, project, permissions.OWNER)
        policy = AttestationPolicy.objects.filter(project=project).first()
        if policy is None or not policy.held_repository or policy.held_repository != repository:
            raise AttestationPolicyError(_("No upload from that repository is waiting."))
        previous = attested_repository(project)
        policy.confirmed_repository = policy.held_repository
        policy.held_repository = ""
        policy.save(update_fields=["confirmed_repository", "held_repository"])
        record_event(
            EventTag.PROJECT_ATTESTATION_REPOSITORY_CONFIRMED,
            actor=actor,
            project=project,
            extra={"project": project.name, "previous": previous, "new": repository},
        )


def policy_of(project: Project) -> AttestationPolicy:
    return AttestationPolicy.objects.filter(project=project).first() or AttestationPolicy(
        project=project
    )
