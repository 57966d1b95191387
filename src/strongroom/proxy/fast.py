"""Cached proxied pages at the speed of local ones: one small query proves the name may
still be proxied and the cached page is fresh, and each worker keeps the pages it
rendered in memory while that query's answer does not change.

Anything else (a page to fetch or revalidate, a locked name, an unknown one) is None:
the full view (proxy.views) answers it.
"""

from __future__ import annotations

import threading
import time
from datetime import UTC, datetime

from django.db import connection
from django.utils import timezone
from django.utils.dateparse import parse_datetime

from strongroom.index import negotiation
from strongroom.ops.metrics import PROXY_CACHE
from strongroom.proxy import render, upstream
from strongroom.proxy.models import UpstreamPage
from strongroom.proxy.names import candidate_prefixes
from strongroom.proxy.provenance import verified_digests

_SHORT = {negotiation.JSON: "j", negotiation.HTML_V1: "v", negotiation.HTML: "h"}
# While a cooldown is set, files come out of it as time passes: a rendered page is
# rebuilt at least this often.
COOLDOWN_REBUILD_SECONDS = 30
_MAX_ENTRIES = 512

# Whether the name is locked (a local project, a reserved prefix) and what the page's
# rendering depends on (when it was fetched, the cooldown exemptions, which files' PEP 740
# provenance was verified: every change of that sets provenance_checked), in one query.
_STATE_SQL = (
    "SELECT u.id, u.fetched_at, "
    "(SELECT COUNT(*) FROM packages_project WHERE normalized_name = %s), "
    "(SELECT COUNT(*) FROM proxy_namereservation WHERE prefix IN ({prefixes})), "
    "(SELECT COUNT(*) FROM proxy_cooldownexemption WHERE normalized_name = %s), "
    "(SELECT MAX(provenance_checked) FROM proxy_cachedfile WHERE normalized_name = %s) "
    "FROM proxy_upstreampage u WHERE u.normalized_name = %s"
)

# (normalized, media) -> (state, database version, expires (monotonic), ETag, body)
_memo: dict[tuple[str, str], tuple[tuple[object, ...], int | None, float, str, bytes]] = {}
_lock = threading.Lock()


def page_etag(
    page_id: int, fetched_at: datetime, offered: int, media: str, attested: int = 0
) -> str:
    return f'"u{page_id}-{fetched_at.timestamp():.0f}-{offered}-{attested}{_SHORT[media]}"'


def _aware(value: object) -> datetime | None:
    moment = parse_datetime(value) if isinstance(value, str) else value
    if not isinstance(moment, datetime):
        return None
    return timezone.make_aware(moment, UTC) if timezone.is_naive(moment) else moment


def render_page(page: UpstreamPage, media: str) -> tuple[str, bytes]:
    """(ETag, body) of ``page`` in ``media`` as offered now."""
    files = render.offered_files(page, timezone.now())
    attested = verified_digests(page.normalized_name) & {f["sha256"] for f in files}
    body = (
        render.page_json(page, files, attested)
        if media == negotiation.JSON
        else render.page_html(page, files, attested)
    )
    return page_etag(page.pk, page.fetched_at, len(files), media, len(attested)), body


def cached_answer(
    normalized: str, media: str, version: int | None = None
) -> tuple[str, bytes, float] | None:
    """(ETag, body, monotonic expiry) of the fresh cached page of ``normalized``, or None
    (see above).

    ``version`` is the database's data version (SQLite's, read by index.fastwsgi) when
    known: while it has not changed nothing was written anywhere, so a rendered page
    still within its lifetime is answered without any query.
    """
    config = upstream.config()
    if not config.enabled:
        return None
    key = (normalized, media)
    entry = _memo.get(key)
    now = time.monotonic()
    if entry is not None and version is not None and entry[1] == version and now < entry[2]:
        PROXY_CACHE.labels("hit").inc()
        return entry[3], entry[4], entry[2]
    prefixes = candidate_prefixes(normalized) or [""]  # "" matches no reservation
    sql = _STATE_SQL.format(prefixes=", ".join(["%s"] * len(prefixes)))
    with connection.cursor() as cursor:
        cursor.execute(sql, [normalized, *prefixes, normalized, normalized, normalized])
        row = cursor.fetchone()
    if row is None:
        return None
    page_id, fetched_raw, local, reserved, exemptions, provenance_checked = row
    fetched_at = _aware(fetched_raw)
    if local or reserved or fetched_at is None:
        return None
    remaining = config.max_age - (timezone.now() - fetched_at).total_seconds()
    if remaining <= 0:
        return None  # to revalidate: the full view does it
    lifetime = min(remaining, COOLDOWN_REBUILD_SECONDS) if config.cooldown else remaining
    state = (page_id, fetched_raw, exemptions, config.cooldown, provenance_checked)
    if entry is not None and entry[0] == state and now < entry[2]:
        with _lock:
            _memo[key] = (state, version, entry[2], entry[3], entry[4])
        PROXY_CACHE.labels("hit").inc()
        return entry[3], entry[4], entry[2]
    page = UpstreamPage.objects.filter(pk=page_id).first()
    if page is None:
        return None
    etag, body = render_page(page, media)
    with _lock:
        if len(_memo) >= _MAX_ENTRIES:
            _memo.clear()
        _memo[key] = (state, version, now + lifetime, etag, body)
    PROXY_CACHE.labels("hit").inc()
    return etag, body, now + lifetime


def forget() -> None:
    """For tests that reset the database between runs."""
    _memo.clear()
