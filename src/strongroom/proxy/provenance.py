"""PEP 740 provenance of upstream files: fetched from the URL the upstream's page names,
once the file itself is verified and kept, and verified as an upload's attestations are
(publishing.attestations.verify_provenance), against the publisher each bundle states.

Only a verified provenance is advertised on the proxied simple page and served by the
Integrity API. One that fails is marked FAILED on the file's row, logged and audited
(``proxy:provenance:failed``); the file itself is still served (its sha256 was checked),
just not as attested. An upstream that does not answer for now (a timeout, a 5xx) leaves
the provenance PENDING: it is asked again on a download after UPSTREAM_MAX_AGE.
"""

from __future__ import annotations

import logging
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.db import transaction
from django.utils import timezone, translation

from strongroom.events.services import record_event
from strongroom.events.tags import EventTag
from strongroom.ops.metrics import PROXY_UPSTREAM_ERRORS
from strongroom.proxy import upstream
from strongroom.proxy.models import CachedFile
from strongroom.publishing import attestations

log = logging.getLogger(__name__)
State = CachedFile.ProvenanceState


def due(row: CachedFile) -> bool:
    """Whether ``row``'s provenance is to be fetched and verified now."""
    if row.is_metadata or row.provenance_state != State.PENDING or not row.provenance_url:
        return False
    if row.provenance_checked is None:
        return True
    retry = timedelta(seconds=upstream.config().max_age)
    return timezone.now() - row.provenance_checked >= retry


def _settle(row: CachedFile, **fields: Any) -> bool:
    """Write the outcome, only if no other worker settled this same URL meanwhile."""
    settled = CachedFile.objects.filter(
        pk=row.pk, provenance_state=State.PENDING, provenance_url=row.provenance_url
    ).update(provenance_checked=timezone.now(), **fields)
    if settled:
        for name, value in fields.items():
            setattr(row, name, value)
    return settled == 1


def _failed(row: CachedFile, reason: str) -> None:
    with transaction.atomic():
        if not _settle(row, provenance_state=State.FAILED, provenance=None,
                       provenance_error=reason[:500]):  # fmt: skip
            return
        record_event(
            EventTag.PROXY_PROVENANCE_FAILED,
            extra={"project": row.normalized_name, "filename": row.filename,
                   "sha256": row.sha256, "url": row.provenance_url, "reason": reason[:500]},
        )  # fmt: skip
    log.warning(
        "upstream provenance of %s (%s) failed verification: %s; the file is served without it",
        row.filename,
        row.provenance_url,
        reason,
    )


def _postponed(row: CachedFile, reason: str) -> None:
    PROXY_UPSTREAM_ERRORS.labels("provenance").inc()
    _settle(row, provenance_error=reason[:500])
    log.warning(
        "upstream provenance of %s (%s) not fetched: %s; asked again later",
        row.filename,
        row.provenance_url,
        reason,
    )


def check_provenance(row: CachedFile) -> str:
    """Fetch and verify ``row``'s upstream provenance when it is due; returns the state.

    Never raises for anything the upstream sends: a kept file is served whatever its
    provenance holds."""
    if not due(row):
        return row.provenance_state
    # Reasons are kept for staff and the audit log: in the site's language, not the
    # language of the client whose download happened to trigger the check.
    with translation.override(settings.LANGUAGE_CODE):
        try:
            raw = upstream.fetch_provenance(row.provenance_url, int(settings.ATTESTATIONS_MAX_SIZE))
            verified = attestations.verify_provenance(raw, row.filename, row.sha256)
        except upstream.ProvenanceUnusable as exc:
            _failed(row, str(exc))
        except upstream.UpstreamError as exc:
            _postponed(row, str(exc))
        except attestations.AttestationRefused as refused:
            if refused.status >= 500:  # our trust root is unreadable: not the file's fault
                _postponed(row, refused.message)
            else:
                _failed(row, refused.message)
        except Exception:  # what a hostile document trips on in a library: refused
            log.exception("verifying the upstream provenance of %s failed", row.filename)
            _failed(row, "the provenance could not be verified")
        else:
            if _settle(row, provenance_state=State.VERIFIED, provenance=verified.provenance,
                       provenance_error=""):  # fmt: skip
                log.info(
                    "upstream provenance of %s verified: signed by %s",
                    row.filename,
                    verified.repository or "(no repository)",
                )
    return row.provenance_state


def verified_provenance(normalized: str, version: str, filename: str) -> dict[str, Any] | None:
    """The verified provenance the proxy serves for an upstream file of ``normalized``
    named ``filename`` (of ``version``), or None; the caller checked that the name may
    be proxied and that the file is offered."""
    from packaging.version import InvalidVersion, Version

    from strongroom.proxy.render import file_version

    found = file_version(filename)
    try:
        if not found or Version(found) != Version(version):
            return None
    except InvalidVersion:
        return None
    record = (
        CachedFile.objects.filter(
            normalized_name=normalized,
            filename=filename,
            is_metadata=False,
            provenance_state=State.VERIFIED,
        )
        .values_list("provenance", flat=True)
        .first()
    )
    return dict(record) if isinstance(record, dict) else None


def verified_digests(normalized: str) -> set[str]:
    """The sha256 of the files of ``normalized`` whose provenance was verified."""
    return set(
        CachedFile.objects.filter(
            normalized_name=normalized, is_metadata=False, provenance_state=State.VERIFIED
        ).values_list("sha256", flat=True)
    )


def failed_digests(normalized: str) -> set[str]:
    """The sha256 of the files of ``normalized`` whose provenance failed verification."""
    return set(
        CachedFile.objects.filter(
            normalized_name=normalized, is_metadata=False, provenance_state=State.FAILED
        ).values_list("sha256", flat=True)
    )
