"""Cached upstream pages: fetched once, revalidated with If-None-Match after
UPSTREAM_MAX_AGE, served stale when the upstream fails (stale-if-error)."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.db import IntegrityError, transaction
from django.utils import timezone

from strongroom.ops.metrics import PROXY_CACHE, PROXY_UPSTREAM_ERRORS
from strongroom.proxy import upstream
from strongroom.proxy.models import CachedFile, UpstreamPage

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Unavailable:
    """No page to answer: the upstream failed and nothing is cached (a 503)."""

    reason: str


def _provenance_changed(digest: str, url: str) -> None:
    """The page names another provenance URL (or none) for a known file: what was checked
    no longer applies; a new URL is checked on the file's next download."""
    state = CachedFile.ProvenanceState.PENDING if url else CachedFile.ProvenanceState.NONE
    CachedFile.objects.filter(sha256=digest, is_metadata=False).update(
        provenance_url=url, provenance_state=state, provenance=None, provenance_error="",
        provenance_checked=None,
    )  # fmt: skip


def _remember_files(normalized: str, files: list[dict[str, object]]) -> None:
    """Rows for every file (and metadata) the page lists, so downloads know their
    upstream URL, expected digest and provenance URL; existing rows keep their stored
    state (and their checked provenance while the page names the same URL)."""
    digests = [str(f["sha256"]) for f in files]
    known: dict[tuple[str, bool], str] = {}
    for start in range(0, len(digests), 500):  # within every database's parameter limit
        batch = digests[start : start + 500]
        rows = CachedFile.objects.filter(sha256__in=batch)
        known.update(
            ((digest, meta), url)
            for digest, meta, url in rows.values_list("sha256", "is_metadata", "provenance_url")
        )
    new = []
    for entry in files:
        digest, filename, url = str(entry["sha256"]), str(entry["filename"]), str(entry["url"])
        provenance_url = str(entry.get("provenance_url") or "")
        if (digest, False) not in known:
            size = int(str(entry.get("size") or 0))
            state = CachedFile.ProvenanceState.PENDING if provenance_url else ""
            new.append(CachedFile(sha256=digest, normalized_name=normalized, filename=filename,
                                  url=url, expected=digest, size=size,
                                  provenance_url=provenance_url,
                                  provenance_state=state))  # fmt: skip
        elif known[(digest, False)] != provenance_url:
            _provenance_changed(digest, provenance_url)
        meta = str(entry.get("metadata_sha256") or "")
        if meta and (digest, True) not in known:
            new.append(CachedFile(sha256=digest, is_metadata=True, normalized_name=normalized,
                                  filename=filename, url=url + ".metadata",
                                  expected=meta))  # fmt: skip
    if new:
        CachedFile.objects.bulk_create(new, ignore_conflicts=True, batch_size=500)


def _store(normalized: str, page: upstream.Page, now: datetime) -> UpstreamPage:
    files = [f.as_dict() for f in page.files]
    with transaction.atomic():
        _remember_files(normalized, files)
        defaults = {
            "name": page.name or normalized,
            "etag": page.etag,
            "fetched_at": now,
            "status": page.status,
            "status_reason": page.status_reason,
            "files": files,
            "last_used": now,
        }
        try:
            with transaction.atomic():  # a savepoint: the race below leaves the rest usable
                stored, _created = UpstreamPage.objects.update_or_create(
                    normalized_name=normalized, defaults=defaults
                )
        except IntegrityError:  # another worker stored it at the same moment
            stored = UpstreamPage.objects.get(normalized_name=normalized)
    return stored


def get_page(normalized: str, now: datetime | None = None) -> UpstreamPage | Unavailable | None:
    """The cached page for ``normalized``, refreshed when older than UPSTREAM_MAX_AGE.

    None when the upstream has no such project; Unavailable when it failed and nothing is
    cached. The caller has checked that the name may be proxied (proxy.names).
    """
    now = now or timezone.now()
    cached = UpstreamPage.objects.filter(normalized_name=normalized).first()
    max_age = timedelta(seconds=upstream.config().max_age)
    if cached is not None and now - cached.fetched_at < max_age:
        PROXY_CACHE.labels("hit").inc()
        if now - cached.last_used > timedelta(minutes=1):  # not a write per request
            UpstreamPage.objects.filter(pk=cached.pk).update(last_used=now)
        return cached
    PROXY_CACHE.labels("miss").inc()
    try:
        page = upstream.fetch_page(normalized, cached.etag if cached is not None else "")
    except upstream.UpstreamError as exc:
        PROXY_UPSTREAM_ERRORS.labels("page").inc()
        log.warning("upstream %s failed for %s: %s", upstream.describe(), normalized, exc)
        if cached is not None:
            return cached  # stale-if-error
        return Unavailable(str(exc))
    log.info(
        "proxy page %s: %s from upstream %s (cache miss)",
        normalized,
        "revalidated" if page.not_modified else ("absent" if page.missing else "fetched"),
        upstream.describe(),
    )
    if page.missing:
        if cached is not None:
            cached.delete()
        return None
    if page.not_modified and cached is not None:
        UpstreamPage.objects.filter(pk=cached.pk).update(fetched_at=now, last_used=now)
        cached.fetched_at = now
        return cached
    return _store(normalized, page, now)
