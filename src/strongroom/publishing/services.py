"""Trusted publishing's writes: issuers, publishers (pending ones too) and the policy.

Each function checks the actor's right itself, changes what it changes, records its audit
event and sends its emails in one transaction. Minting and the upload side live in
``publishing.minting``.
"""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.db import transaction
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from packaging.utils import canonicalize_name

from strongroom.accounts.actors import Actor, NotPermitted, require_staff, require_user
from strongroom.accounts.models import User
from strongroom.console.reauth import Proof, confirm_staff_action
from strongroom.events.services import record_event
from strongroom.events.tags import EventTag
from strongroom.mfa.services.queries import has_second_factor
from strongroom.notify.services import send_security_email
from strongroom.packages import permissions
from strongroom.packages.models import Project, Role
from strongroom.publishing import oidc
from strongroom.publishing.models import Issuer, Publisher, PublishingPolicy
from strongroom.web.http import absolute_url

MAX_FIELD = 300
# A project name (PEP 508's rule for distribution names).
PROJECT_NAME_RE = re.compile(r"^([A-Z0-9]|[A-Z0-9][A-Z0-9._-]*[A-Z0-9])$", re.IGNORECASE)


class PublishingError(Exception):
    """A refused publishing change; ``str(exc)`` is the sentence to show."""


# --- issuers (staff) ------------------------------------------------------------------------


def add_issuer(
    actor: Actor, *, url: str, kind: str, audience: str = "", proof: Proof | None = None
) -> Issuer:
    """Register an OIDC issuer: its discovery document and key set are fetched now, so an
    issuer that cannot be used is refused before anyone relies on it. Staff, who confirm
    it with their second factor (``proof``: console.reauth), or the CLI.

    The proof is checked (and spent) in a transaction of its own before anything is
    fetched: no staff session without the second factor makes the server fetch a URL, and
    no database lock is held while the issuer answers.
    """
    require_staff(actor)
    url = (url or "").strip()
    if kind not in Issuer.Kind.values:
        raise PublishingError(
            _("The kind must be one of: %(kinds)s.") % {"kinds": ", ".join(Issuer.Kind.values)}
        )
    try:
        oidc.require_safe_url(url)
    except oidc.UnsafeIssuerUrl as exc:
        raise PublishingError(str(exc)) from None
    if Issuer.objects.filter(url=url).exists():
        raise PublishingError(_("The issuer %(url)s is already registered.") % {"url": url})
    with transaction.atomic():
        confirm_staff_action(actor, proof)
    try:
        jwks_uri = oidc.discover(url)
        jwks = oidc.fetch_jwks(jwks_uri)
    except oidc.IssuerUnavailable as exc:
        raise PublishingError(
            _("The issuer could not be used: %(why)s") % {"why": str(exc)}
        ) from None
    with transaction.atomic():
        if Issuer.objects.filter(url=url).exists():  # added while this one was fetched
            raise PublishingError(_("The issuer %(url)s is already registered.") % {"url": url})
        issuer = Issuer.objects.create(
            url=url,
            kind=kind,
            audience=(audience or "").strip()[:200],
            jwks_uri=jwks_uri,
            jwks=jwks,
            jwks_fetched=timezone.now(),
        )
        record_event(
            EventTag.PUBLISHING_ISSUER_ADD,
            actor=actor,
            extra={"issuer": url, "kind": kind, "audience": issuer.audience},
        )
    return issuer


def set_issuer_enabled(
    actor: Actor, issuer_id: int, enabled: bool, *, proof: Proof | None = None
) -> Issuer:
    """Enable or disable an issuer: a disabled issuer's tokens mint nothing. Staff confirm
    it with their second factor (``proof``, checked in this transaction), or the CLI."""
    require_staff(actor)
    with transaction.atomic():
        confirm_staff_action(actor, proof)
        issuer = Issuer.objects.select_for_update().filter(pk=issuer_id).first()
        if issuer is None:
            raise PublishingError(_("That issuer does not exist."))
        if issuer.enabled != enabled:
            issuer.enabled = enabled
            issuer.save(update_fields=["enabled"])
            tag = (
                EventTag.PUBLISHING_ISSUER_ENABLE if enabled else EventTag.PUBLISHING_ISSUER_DISABLE
            )
            record_event(tag, actor=actor, extra={"issuer": issuer.url})
    return issuer


# --- publishers (owners, and users for pending ones) ----------------------------------------


def _clean(value: Any) -> str:
    text = str(value or "").strip()
    if len(text) > MAX_FIELD:
        raise PublishingError(
            _("Each field holds at most %(max)d characters.") % {"max": MAX_FIELD}
        )
    return text


def parse_claim_policy(text: str) -> dict[str, str]:
    """``claim=value`` lines into a policy; ``sub`` is required."""
    policy: dict[str, str] = {}
    for line in (text or "").splitlines():
        if not line.strip():
            continue
        name, sep, value = line.partition("=")
        if not sep or not name.strip() or not value.strip():
            raise PublishingError(_("Write each claim as name=value on its own line."))
        policy[_clean(name)] = _clean(value)
    return policy


def _identity_fields(issuer: Issuer, data: dict[str, Any]) -> dict[str, Any]:
    """The publisher's fields for ``issuer``'s kind, validated; PublishingError says what
    is missing."""
    repository = _clean(data.get("repository"))
    workflow = _clean(data.get("workflow"))
    environment = _clean(data.get("environment"))
    claims: dict[str, str] = {}
    if issuer.kind == Issuer.Kind.GENERIC:
        claims = data.get("claims") or {}
        if not isinstance(claims, dict) or not claims.get("sub"):
            raise PublishingError(
                _("A publisher for a generic issuer needs a claim policy naming at least sub.")
            )
        claims = {_clean(k): _clean(v) for k, v in claims.items()}
        return {"repository": "", "workflow": "", "environment": "", "claims": claims}
    if issuer.kind == Issuer.Kind.GOOGLE:
        if "@" not in repository:
            raise PublishingError(_("Give the service account's email address."))
        sub = _clean(data.get("sub"))
        return {
            "repository": repository,
            "workflow": "",
            "environment": "",
            "claims": {"sub": sub} if sub else {},
        }
    if repository.count("/") < 1 or repository.startswith("/") or repository.endswith("/"):
        raise PublishingError(
            _("Give the repository as owner/name (for GitLab: the project path, group/project).")
        )
    if not workflow or workflow.startswith("/") or workflow.endswith("/"):
        if issuer.kind == Issuer.Kind.GITLAB:
            raise PublishingError(_("Give the CI file's path, for example .gitlab-ci.yml."))
        raise PublishingError(_("Give the workflow file's name, for example release.yml."))
    return {
        "repository": repository,
        "workflow": workflow,
        "environment": environment,
        "claims": {},
    }


def _issuer(issuer_id: Any) -> Issuer:
    try:
        issuer = Issuer.objects.filter(pk=int(issuer_id), enabled=True).first()
    except (TypeError, ValueError):
        issuer = None
    if issuer is None:
        raise PublishingError(_("Choose one of the index's enabled issuers."))
    return issuer


def _require_sensitive(actor: Actor, what: str) -> User:
    """A signed-in user who re-authenticated recently and has a second factor."""
    user = require_user(actor)
    if actor.needs_reauthentication():
        raise NotPermitted(_("Confirm your password before %(what)s.") % {"what": what})
    if not has_second_factor(user):
        raise NotPermitted(
            _("Set up two-factor authentication before %(what)s.") % {"what": what},
            two_factor=True,
        )
    return user


def _notify_owners(actor: Actor, project: Project, publisher: str, added: bool, event: Any) -> None:
    settings_url = absolute_url(reverse("publishing:project", args=[project.normalized_name]))
    owners = User.objects.filter(
        project_roles__project=project, project_roles__role_name=Role.Name.OWNER, is_active=True
    ).distinct()
    for owner in owners:
        send_security_email(
            owner,
            "publisher_changed",
            {
                "project": project.name,
                "publisher": publisher,
                "added": added,
                "by": actor.username,
                "settings_url": settings_url,
            },
            actor=actor,
            event=event,
        )


def add_publisher(actor: Actor, project: Project, data: dict[str, Any]) -> Publisher:
    """An Owner (re-authenticated, with a second factor) adds a trusted publisher to the
    project; every Owner is told by email."""
    _require_sensitive(actor, _("adding a trusted publisher"))
    issuer = _issuer(data.get("issuer"))
    fields = _identity_fields(issuer, data)
    with transaction.atomic():
        project = Project.objects.select_for_update().get(pk=project.pk)
        permissions.require_role(actor, project, permissions.OWNER)
        if Publisher.objects.filter(project=project, issuer=issuer, **fields).exists():
            raise PublishingError(_("This project already has that trusted publisher."))
        publisher = Publisher.objects.create(project=project, issuer=issuer, **fields)
        event = record_event(
            EventTag.PROJECT_PUBLISHER_ADD,
            actor=actor,
            project=project,
            extra={"project": project.name, "publisher_id": str(publisher.pk),
                   **publisher.identity()},
        )  # fmt: skip
        _notify_owners(actor, project, publisher.summary(), True, event)
    return publisher


def remove_publisher(actor: Actor, project: Project, publisher_id: str) -> Publisher:
    """An Owner removes a publisher; tokens minted for it stop working at once."""
    _require_sensitive(actor, _("removing a trusted publisher"))
    with transaction.atomic():
        project = Project.objects.select_for_update().get(pk=project.pk)
        permissions.require_role(actor, project, permissions.OWNER)
        publisher = (
            Publisher.objects.select_related("issuer")
            .filter(pk=_uuid(publisher_id) or "", project=project)
            .first()
        )
        if publisher is None:
            raise PublishingError(_("That trusted publisher does not exist."))
        summary, identity = publisher.summary(), publisher.identity()
        publisher.delete()
        event = record_event(
            EventTag.PROJECT_PUBLISHER_REMOVE,
            actor=actor,
            project=project,
            extra={"project": project.name, "publisher_id": str(publisher_id), **identity},
        )
        _notify_owners(actor, project, summary, False, event)
    return publisher


def _uuid(value: Any) -> str | None:
    import uuid

    try:
        return str(uuid.UUID(str(value)))
    except (ValueError, TypeError, AttributeError):
        return None


def add_pending_publisher(actor: Actor, name: str, data: dict[str, Any]) -> Publisher:
    """A verified user (re-authenticated, with a second factor) registers a publisher for a
    project name that does not exist yet; the first trusted upload creates the project,
    owned by that user. Expires after PENDING_PUBLISHER_DAYS."""
    user = _require_sensitive(actor, _("adding a pending publisher"))
    if not user.has_verified_primary_email:
        raise PublishingError(_("Verify your primary email address before adding a publisher."))
    name = (name or "").strip()
    if len(name) > 200 or not PROJECT_NAME_RE.match(name):
        raise PublishingError(
            _("Give a valid project name: letters, digits and . _ - (not at either end).")
        )
    normalized = canonicalize_name(name)
    issuer = _issuer(data.get("issuer"))
    fields = _identity_fields(issuer, data)
    now = timezone.now()
    with transaction.atomic():
        if Project.objects.filter(normalized_name=normalized).exists():
            raise PublishingError(
                _("The project %(name)s already exists: add a publisher on its settings page.")
                % {"name": normalized}
            )
        taken = Publisher.objects.filter(
            pending_name=normalized, project=None, pending_expires__gt=now
        ).exclude(pending_owner=user)
        if taken.exists():
            raise PublishingError(
                _("Someone else already has a pending publisher for %(name)s.")
                % {"name": normalized}
            )
        publisher = Publisher.objects.create(
            issuer=issuer,
            pending_name=normalized,
            pending_owner=user,
            pending_expires=now + timedelta(days=settings.PENDING_PUBLISHER_DAYS),
            **fields,
        )
        record_event(
            EventTag.ACCOUNT_PENDING_PUBLISHER_ADD,
            actor=actor,
            extra={"project": normalized, "publisher_id": str(publisher.pk),
                   "expires": str(publisher.pending_expires), **publisher.identity()},
        )  # fmt: skip
    return publisher


def remove_pending_publisher(actor: Actor, publisher_id: str) -> None:
    user = require_user(actor)
    with transaction.atomic():
        publisher = Publisher.objects.filter(
            pk=_uuid(publisher_id) or "", project=None, pending_owner=user
        ).first()
        if publisher is None:
            raise PublishingError(_("That pending publisher does not exist."))
        identity = publisher.identity()
        publisher.delete()
        record_event(
            EventTag.ACCOUNT_PENDING_PUBLISHER_REMOVE,
            actor=actor,
            extra={"project": publisher.pending_name, "publisher_id": str(publisher_id),
                   **identity},
        )  # fmt: skip


def pending_publishers(user: User) -> list[Publisher]:
    return list(Publisher.objects.filter(project=None, pending_owner=user).select_related("issuer"))


def project_publishers(project: Project) -> list[Publisher]:
    return list(Publisher.objects.filter(project=project).select_related("issuer"))


# --- policy ---------------------------------------------------------------------------------


def requires_trusted_publishing(project: Project | None) -> bool:
    if project is None:
        return False
    return PublishingPolicy.objects.filter(
        project=project, require_trusted_publishing=True
    ).exists()


def set_trusted_publishing_required(actor: Actor, project: Project, required: bool) -> None:
    """An Owner requires trusted publishing: API tokens and passwords are refused for it."""
    _require_sensitive(actor, _("changing how the project may be published"))
    with transaction.atomic():
        project = Project.objects.select_for_update().get(pk=project.pk)
        permissions.require_role(actor, project, permissions.OWNER)
        if required and not Publisher.objects.filter(project=project).exists():
            raise PublishingError(
                _("Add a trusted publisher first: otherwise nothing could publish the project.")
            )
        policy, _created = PublishingPolicy.objects.get_or_create(project=project)
        if policy.require_trusted_publishing == required:
            return
        policy.require_trusted_publishing = required
        policy.save(update_fields=["require_trusted_publishing"])
        tag = (
            EventTag.PROJECT_TRUSTED_PUBLISHING_REQUIRED_ENABLE
            if required
            else EventTag.PROJECT_TRUSTED_PUBLISHING_REQUIRED_DISABLE
        )
        record_event(tag, actor=actor, project=project, extra={"project": project.name})
