"""The proxy's changes: reserve a prefix, allow a shadow, let a release through the
cooldown (staff only, audited), and drop cached data (purge, the size cap's eviction)."""

from __future__ import annotations

import logging

from django.db import transaction
from django.db.models import Sum
from django.utils.translation import gettext as _
from packaging.utils import canonicalize_name

from strongroom.accounts.actors import Actor, require_staff
from strongroom.events.services import record_event
from strongroom.events.tags import EventTag
from strongroom.orgs.models import Organization
from strongroom.proxy import upstream
from strongroom.proxy.models import (
    CachedFile,
    CooldownExemption,
    NameReservation,
    ShadowAllowance,
    UpstreamPage,
)
from strongroom.proxy.names import normalize_prefix
from strongroom.storage import get_storage
from strongroom.storage.base import StorageUnavailable

log = logging.getLogger(__name__)


class ProxyError(Exception):
    """A refused change; ``str()`` is the sentence to show."""


def reserve_prefix(actor: Actor, prefix: str, organization: str) -> NameReservation:
    """Reserve ``prefix`` for ``organization``: only its members may create projects whose
    names start with it, and such names are never served from upstream."""
    with transaction.atomic():
        require_staff(actor)
        normalized = normalize_prefix(prefix)
        if len(normalized.rstrip("-")) < 2:
            raise ProxyError(_("A prefix needs at least two letters or digits."))
        org = Organization.objects.filter(normalized_name=canonicalize_name(organization)).first()
        if org is None:
            raise ProxyError(_("No organisation named '%(org)s'.") % {"org": organization})
        if NameReservation.objects.filter(prefix=normalized).exists():
            raise ProxyError(
                _("The prefix '%(prefix)s' is already reserved.") % {"prefix": normalized}
            )
        reservation = NameReservation.objects.create(prefix=normalized, organization=org)
        record_event(
            EventTag.NAMESPACE_PREFIX_RESERVE,
            actor=actor,
            extra={"prefix": normalized, "organization": org.name},
        )
    return reservation


def allow_shadow(actor: Actor, project: str) -> ShadowAllowance:
    """Let a local project take ``project`` although the upstream has it (a fork)."""
    with transaction.atomic():
        user = require_staff(actor)
        normalized = canonicalize_name(project)
        allowance, _created = ShadowAllowance.objects.get_or_create(
            normalized_name=normalized, defaults={"created_by": user}
        )
        record_event(EventTag.PROXY_SHADOW_ALLOW, actor=actor, extra={"project": normalized})
    return allowance


def allow_cooldown(actor: Actor, project: str, version: str = "") -> CooldownExemption:
    """Offer ``project``'s upstream files (of ``version`` only, when given) at once,
    whatever the cooldown: for a security fix that cannot wait."""
    from packaging.version import InvalidVersion, Version

    with transaction.atomic():
        user = require_staff(actor)
        normalized = canonicalize_name(project)
        if version:
            try:
                version = str(Version(version))
            except InvalidVersion:
                raise ProxyError(
                    _("'%(version)s' is not a valid version.") % {"version": version}
                ) from None
        exemption, _created = CooldownExemption.objects.get_or_create(
            normalized_name=normalized, version=version, defaults={"created_by": user}
        )
        record_event(
            EventTag.PROXY_COOLDOWN_ALLOW,
            actor=actor,
            extra={"project": normalized, "version": version},
        )
    return exemption


def _drop(rows: list[CachedFile]) -> int:
    storage = get_storage()
    dropped = 0
    for row in rows:
        try:
            storage.delete(row.storage_path)
        except (FileNotFoundError, StorageUnavailable) as exc:
            log.warning("could not delete cached upstream file %s: %s", row.storage_path, exc)
        CachedFile.objects.filter(pk=row.pk).update(stored=False, last_used=None)
        dropped += 1
    return dropped


def evict_to_cap() -> int:
    """Drop the least recently used cached files until the total is under
    UPSTREAM_CACHE_SIZE (no cap: nothing). Returns how many were dropped."""
    cap = upstream.config().cache_bytes
    if not cap:
        return 0
    stored = CachedFile.objects.filter(stored=True)
    total = stored.aggregate(total=Sum("size"))["total"] or 0
    victims = []
    for row in stored.order_by("last_used", "pk"):
        if total <= cap:
            break
        victims.append(row)
        total -= row.size
    return _drop(victims)


def purge(project: str | None = None) -> tuple[int, int]:
    """Drop cached pages and files (of one project, or all): (pages, files)."""
    files = CachedFile.objects.all()
    pages = UpstreamPage.objects.all()
    if project:
        normalized = canonicalize_name(project)
        files, pages = (
            files.filter(normalized_name=normalized),
            pages.filter(normalized_name=normalized),
        )
    dropped = _drop(list(files.filter(stored=True)))
    files.delete()
    page_count, _detail = pages.delete()
    return page_count, dropped
