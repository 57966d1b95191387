"""``/simple/`` rendered when what it lists changes, not when it is read.

The root lists every public, unquarantined project: at PyPI's size (600,000 projects,
tens of MB of HTML and JSON) building it is seconds of work, so it is neither built
per request nor on every upload. A change that alters the listing (a new listed project,
a deletion, a visibility or status change: ``prerender.store`` sees the project's
``listed`` flag flip) records its serial in ``IndexListing`` inside its own transaction,
and once that commits the process renders the root again in a background thread (one per
process, requests coalesced) and stores it in ``SimpleIndex``, both formats and their gzip
and zstd copies, keeps those bodies as its own memo, then purges the root's surrogate key.
An upload to a listed project changes nothing here.

On PostgreSQL the database builds both bodies in one ``string_agg`` query (root_sql; the
same bytes as index.pages), and the bodies go to and from the database as binary values:
the render holds the GIL only to wrap and compress them (zlib and zstd release it). On the
embedded SQLite database, and inside a transaction (which another thread's connection
could not see), the render runs in the committing thread instead, still after the commit,
in Python (small indexes: milliseconds).

Readers serve the stored row: one small query for its serial (the ETag), and the bytes
from this process's memo. Meanwhile a render runs, a reader gets the previous root: stale
for at most the render time, never missing. When another process stored a newer root,
this process's readers get the memo's previous body at once, marked for no shared cache to
keep (the purge after the render may be met by it), while one background fetch per
process reads the new body (_Fetcher); only a process with no body yet reads it in the
request. ``strongroom serve`` renders a missing or stale root before its workers start
(prepare_at_start); only when there is still no stored root (the application started
some other way on a new or migrated index) does a read render it, once per process. A
stored root older than the listing's last change is rendered again by a reader's process
too when the writer's process did not do it within ``_GRACE_SECONDS`` (it died, or the
data came from a restore). Tests that need the fresh root wait with ``wait_for_render()``
(and ``wait_for_fetch()``).
"""

from __future__ import annotations

import atexit
import dataclasses
import hashlib
import json as jsonlib
import logging
import os
import threading
import time
from collections.abc import Iterable
from dataclasses import dataclass

from django.db import IntegrityError, connection, transaction

from strongroom.index import encoding, pages, root_pages, root_sql
from strongroom.index.caching import INDEX_KEY
from strongroom.index.models import IndexListing, SimpleIndex
from strongroom.packages.models import Project
from strongroom.packages.permissions import projects_with_role
from strongroom.packages.visibility import Reader, readable_projects
from strongroom.tokens.caveats import InOrganization, Projects

logger = logging.getLogger(__name__)

_ROW = root_pages.ROW
# How long a stale root is left to the process whose change made it stale.
_GRACE_SECONDS = 60.0


def store(page: SimpleIndex) -> bool:
    """Save ``page`` unless a root as new or newer is stored; whether it was saved."""
    fields = {
        name: getattr(page, name) for name in ("serial", "last_modified", *encoding.BODY_FIELDS)
    }
    with transaction.atomic():
        if connection.vendor == "postgresql":
            updated = root_sql.update_root(fields)  # binary parameters: see root_sql
        else:
            updated = bool(
                SimpleIndex.objects.filter(pk=_ROW, serial__lt=page.serial).update(**fields)
            )
        if updated:
            return True
        if SimpleIndex.objects.filter(pk=_ROW).exists():
            return False
        try:
            with transaction.atomic():
                page.save(force_insert=True)
        except IntegrityError:
            return False  # another process stored one meanwhile, as new or newer
    return True


def render_and_store() -> SimpleIndex:
    """Render the root, store it, and purge the CDN's copy once that is committed."""
    from strongroom.index.purge import purge_keys

    page = root_pages.render()
    if store(page):
        transaction.on_commit(lambda: _remember(page))
        # Waited for as a change's purge is (a render in the committing thread holds its
        # request that long at most, as the project's own purge does).
        transaction.on_commit(lambda: purge_keys([INDEX_KEY]))
    return page


def listing_changed(serial: int) -> None:
    """Record, in the caller's transaction, that the change at ``serial`` alters what the
    root lists; the root is rendered again once the transaction commits."""
    now = time.time()
    if not IndexListing.objects.filter(pk=_ROW).update(changed_serial=serial, changed_at=now):
        try:
            with transaction.atomic():
                IndexListing.objects.create(id=_ROW, changed_serial=serial, changed_at=now)
        except IntegrityError:
            IndexListing.objects.filter(pk=_ROW).update(changed_serial=serial, changed_at=now)
    transaction.on_commit(_after_commit)


def _renders_here() -> bool:
    """Whether to render in this thread rather than the background one: inside a
    transaction (a test capturing on-commit callbacks, a reader in one), whose changes
    another thread's connection would not see; or on the embedded SQLite database, a
    single file whose writers take turns anyway and whose indexes are small (the render
    is milliseconds there). The same answer decides whether a reader reads a newer
    stored body itself or leaves it to the fetch thread (stored())."""
    return connection.in_atomic_block or connection.vendor == "sqlite"


def _after_commit() -> None:
    if _renders_here():
        render_and_store()
    else:
        renderer.request()


# After a background render that took T seconds, the next one starts no sooner than
# _PAUSE_FACTOR * T later (at most _PAUSE_MAX seconds): however fast listing changes come,
# rendering the root takes at most a third of one core of the database and of this
# process, and the root lags a change by at most about four render times.
_PAUSE_FACTOR = 2.0
_PAUSE_MAX = 60.0


class _Renderer:
    """One background thread per process rendering the root, requests coalesced: every
    request made while a render runs is met by one more render after it, paced (see
    _PAUSE_FACTOR)."""

    def __init__(self) -> None:
        self._reset()

    def _reset(self) -> None:
        # Also in a forked child (gunicorn's workers): the parent's thread does not run
        # there, and its lock may have been held at the fork.
        self._cond = threading.Condition()
        self._wanted = 0
        self._done = 0
        self._thread: threading.Thread | None = None
        self._next_at = 0.0  # monotonic time before which no render starts

    def request(self) -> None:
        with self._cond:
            if self._thread is None or not self._thread.is_alive():
                self._done = self._wanted  # what a dead thread left undone is asked again
                self._thread = threading.Thread(target=self._run, name="index-root", daemon=True)
                self._thread.start()
            self._wanted += 1
            self._cond.notify_all()

    def request_if_idle(self) -> None:
        """A reader's request: only when this process is not rendering already."""
        with self._cond:
            idle = self._done >= self._wanted
        if idle:
            self.request()

    def _run(self) -> None:
        cond = self._cond
        while True:
            with cond:
                while self._done >= self._wanted:
                    cond.wait()
                # Requests that arrive during the pause are met by this same render.
                while (pause := self._next_at - time.monotonic()) > 0:
                    cond.wait(pause)
                target = self._wanted
            started = time.monotonic()
            try:
                if connection.vendor == "postgresql":
                    root_sql.background_bounds()
                render_and_store()
            except Exception:  # the stored root stays; the next change or reader retries
                logger.exception("rendering /simple/ failed")
            finally:
                connection.close()  # this thread's own connection: not kept idle
                ended = time.monotonic()
                with cond:
                    self._next_at = ended + min(_PAUSE_MAX, _PAUSE_FACTOR * (ended - started))
                    self._done = max(self._done, target)
                    cond.notify_all()

    def wait(self, timeout: float = 30.0) -> bool:
        """Wait until every render requested so far is done (tests, exit)."""
        with self._cond:
            if self._thread is None:
                return True
            return self._cond.wait_for(lambda: self._done >= self._wanted, timeout)


renderer = _Renderer()
os.register_at_fork(after_in_child=renderer._reset)
wait_for_render = renderer.wait
# A short-lived process (a CLI command) stores the root it changed before it exits.
atexit.register(renderer.wait, 60.0)

_cold_lock = threading.Lock()

_STATE_SQL = (
    "SELECT r.serial, l.changed_serial, l.changed_at FROM index_simpleindex r "
    "LEFT JOIN index_indexlisting l ON l.id = 1 WHERE r.id = 1"
)


def prepare_at_start() -> float | None:
    """Render and store the root before the workers start when none is stored (a new,
    migrated or restored index) or the stored one is older than the listing's last change,
    so that no request renders it (at 600,000 projects that is seconds, within a
    request's statement timeout; unbounded growth would not be). The seconds it took, or
    None when the stored root was current. Called by ``strongroom serve``."""
    with connection.cursor() as cursor:
        cursor.execute(_STATE_SQL)
        row = cursor.fetchone()
    if row is not None and (row[1] is None or row[0] >= row[1]):
        return None
    started = time.monotonic()
    if connection.vendor == "postgresql":
        root_sql.background_bounds()  # no client waits on this one either
    try:
        render_and_store()
    finally:
        if connection.vendor == "postgresql":
            connection.close()  # the bounds above are this connection's only
    return time.monotonic() - started


def current_serial() -> int:
    """The serial of the stored root (which the ETag holds), rendering it first when
    none is stored and asking for a new one when it is stale (see the module's text)."""
    with connection.cursor() as cursor:
        cursor.execute(_STATE_SQL)
        row = cursor.fetchone()
    if row is None:
        with _cold_lock:
            return render_and_store().serial  # the first read of a new or migrated index
    serial, changed_serial, changed_at = row
    if changed_serial is not None and serial < changed_serial:
        if _renders_here():
            return render_and_store().serial
        if time.time() - float(changed_at) > _GRACE_SECONDS:
            renderer.request_if_idle()
    return int(serial)


@dataclass(frozen=True, slots=True)
class StoredRoot:
    serial: int
    last_modified: str
    body: bytes
    # A previous root, served while this process fetches the stored one: a shared cache
    # must not keep it (the purge that follows a render could otherwise be met by it).
    previous: bool = False


_BODY_SQL = "SELECT serial, last_modified, {column} FROM index_simpleindex WHERE id = 1"
# The bodies last read or rendered here, per format and coding, with their serial: a
# process reads the (tens of MB) root from the database once per render, not once per
# request, and the process that rendered it not at all.
_memo: dict[str, StoredRoot] = {}
_memo_lock = threading.Lock()


def column(json: bool, coding: str | None) -> str:
    base = "json" if json else "html"
    return base if coding is None else f"{base}_{coding}"


def _remember(page: SimpleIndex) -> None:
    """Keep the bodies of ``page``, just stored, as this process's memo."""
    with _memo_lock:
        for name in encoding.BODY_FIELDS:
            _memo[name] = StoredRoot(page.serial, page.last_modified, bytes(getattr(page, name)))


def _fetch(name: str) -> StoredRoot | None:
    """The stored body ``name`` read from the database into the memo; None if no root is
    stored."""
    if connection.vendor == "postgresql":
        row = root_sql.fetch_row(_BODY_SQL.format(column=name))
    else:
        with connection.cursor() as cursor:
            cursor.execute(_BODY_SQL.format(column=name))
            row = cursor.fetchone()
    if row is None:
        return None
    found = StoredRoot(int(row[0]), row[1], bytes(row[2]))
    with _memo_lock:
        _memo[name] = found
    return found


class _Fetcher:
    """One thread per process at a time reading new bodies into the memo, so that a reader
    arriving after another process stored a new root is answered from the memo's
    previous body at once instead of waiting for tens of MB (and for the GIL while they
    are decoded): at most one fetch runs, each body wanted is read once."""

    def __init__(self) -> None:
        self._reset()

    def _reset(self) -> None:
        self._lock = threading.Lock()
        self._wanted: set[str] = set()
        self._thread: threading.Thread | None = None

    def request(self, name: str) -> None:
        with self._lock:
            self._wanted.add(name)
            if self._thread is None or not self._thread.is_alive():  # none, or it died
                self._thread = threading.Thread(
                    target=self._run, name="index-root-fetch", daemon=True
                )
                self._thread.start()

    def _run(self) -> None:
        try:
            while True:
                with self._lock:
                    if not self._wanted:
                        self._thread = None
                        return
                    name = self._wanted.pop()
                try:
                    _fetch(name)
                except Exception:  # the memo's previous body stays; the next read asks again
                    logger.exception("reading the stored /simple/ failed")
        finally:
            connection.close()  # this thread's own connection: not kept idle

    def wait(self, timeout: float = 30.0) -> bool:
        """Wait until no fetch runs (tests)."""
        deadline = time.monotonic() + timeout
        while True:
            with self._lock:
                thread = self._thread
            if thread is None:
                return True
            thread.join(max(0.0, deadline - time.monotonic()))
            if thread.is_alive():
                return False


fetcher = _Fetcher()
os.register_at_fork(after_in_child=fetcher._reset)
wait_for_fetch = fetcher.wait


def stored(json: bool, coding: str | None) -> StoredRoot:
    """The stored root in that format and coding (rendered first if there is none). When
    this process holds an older body than the stored one, that body while the new one is
    fetched in the background (outside a transaction on PostgreSQL; see _renders_here)."""
    serial = current_serial()
    name = column(json, coding)
    with _memo_lock:
        found = _memo.get(name)
    if found is not None and found.serial == serial:
        return found
    if found is not None and not _renders_here():
        fetcher.request(name)
        return dataclasses.replace(found, previous=True)
    fetched = _fetch(name)
    if fetched is None:  # removed meanwhile (a test flushing the database): render again
        with _cold_lock:
            page = render_and_store()
        return StoredRoot(page.serial, page.last_modified, bytes(getattr(page, name)))
    return fetched


def forget_memo() -> None:
    """For tests that reset the database (and so the serial) between runs."""
    with _memo_lock:
        _memo.clear()


def private_names(reader: Reader) -> list[tuple[str, str]] | None:
    """What ``reader`` sees in ``/simple/`` beyond the stored public root: the private,
    unquarantined projects they may read (by name). None when their listing is not the
    public one plus extras (a token scoped to projects or an organisation: it lists only
    its scope), which is then rendered for them (:func:`reader_names`)."""
    token = reader.token
    if token is not None and any(isinstance(c, Projects | InOrganization) for c in token.caveats):
        return None
    if reader.user is None:
        return []
    return list(
        Project.objects.filter(pk__in=projects_with_role(reader.user))
        .exclude(visibility=Project.Visibility.PUBLIC)
        .exclude(status=Project.Status.QUARANTINED)
        .order_by("normalized_name")
        .values_list("name", "normalized_name")
    )


def reader_names(reader: Reader) -> list[tuple[str, str]]:
    """The whole listing of a reader whose token is scoped (see private_names)."""
    return list(
        readable_projects(reader)
        .exclude(status=Project.Status.QUARANTINED)
        .order_by("normalized_name")
        .values_list("name", "normalized_name")
    )


def with_extras(body: bytes, json: bool, names: Iterable[tuple[str, str]]) -> bytes:
    """The stored identity root ``body`` with ``names`` listed after its own, in the
    format it is in (the bytes pages.simple_index_* would give, with those names last)."""
    names = list(names)
    if not names:
        return body
    if json:
        entries = ", ".join(jsonlib.dumps({"name": name}) for name, _normalized in names)
        head, tail = body[:-2], body[-2:]  # ...] and } of the document
        joiner = b"" if head.endswith(b"[") else b", "
        return head + joiner + entries.encode() + tail
    links = pages.simple_index_links(names).encode()
    at = body.rindex(b"\n  </main>")
    joiner = b"" if body[:at].endswith(b"</h1>\n") else b"\n"
    return body[:at] + joiner + links + body[at:]


def extras_tag(names: list[tuple[str, str]]) -> str:
    """A short digest of ``names`` for the ETag of a root carrying them."""
    digest = hashlib.sha256("\n".join(n for _name, n in names).encode()).hexdigest()
    return digest[:16]
