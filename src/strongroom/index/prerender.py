"""Render each project's simple pages when the project changes, not when it is read.

bump_serial() sends ``project_changed`` inside the writer's transaction; the receiver here
stores both formats in a SimplePage row tagged with the new serial. Readers fetch the page
and the project's current serial in one query and use the page only when they match, so a
stale page can never be served, whatever process or server wrote it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.db import IntegrityError, connection, transaction
from django.utils.http import http_date

from strongroom.index import encoding, pages, root, root_pages
from strongroom.index.models import SimplePage
from strongroom.packages.models import Project, Release
from strongroom.packages.services import index_state


@dataclass(frozen=True)
class StoredPage:
    project_id: int
    serial: int
    last_modified: str
    body: bytes
    # The content coding of ``body`` (index.encoding), None for the identity page.
    coding: str | None = None
    visibility: str = "public"


def _page(project: Project, files: list[dict[str, Any]], versions: list[str]) -> SimplePage:
    files = pages.offered_files(project, files)
    if not files and project.status == Project.Status.QUARANTINED:
        versions = []
    html = pages.simple_project_html(project, files).encode()
    json = pages.simple_project_json(project, files, versions).encode()
    return SimplePage(
        project=project,
        listed=root_pages.is_listed(project),
        serial=project.last_serial,
        last_modified=http_date(project.last_changed.timestamp()),
        **encoding.stored_bodies(html, json),
    )


def column(json: bool, coding: str | None) -> str:
    """The SimplePage column holding the page in that format and coding."""
    base = "json" if json else "html"
    return base if coding is None else f"{base}_{coding}"


def render(project: Project) -> SimplePage:
    """The project's pages as of its current serial (unsaved)."""
    return _page(project, pages.project_files(project), pages.project_versions(project))


def store(project: Project, *, changed: bool = False) -> SimplePage:
    """Render and save the project's pages, unless a newer serial is stored already.

    ``changed``: called for a change to the project (not to fill in a missing page), so
    that a change to whether ``/simple/`` lists it is told to index.root. The common
    case, a change that leaves the listing as it was, costs no query more."""
    page = render(project)
    fields = {"serial": page.serial, "last_modified": page.last_modified, "listed": page.listed}
    with transaction.atomic():
        bodies = {name: getattr(page, name) for name in encoding.BODY_FIELDS}
        older = SimplePage.objects.filter(project=project, serial__lt=page.serial)
        if changed:
            updated = older.filter(listed=page.listed).update(**fields, **bodies)
            if not updated and older.update(**fields, **bodies):
                updated = 1
                root.listing_changed(page.serial)  # listed before and not now, or back
        else:
            updated = older.update(**fields, **bodies)
        if not updated and not SimplePage.objects.filter(project=project).exists():
            try:
                with transaction.atomic():
                    page.save(force_insert=True)
            except IntegrityError:
                pass  # another process stored it meanwhile; theirs is as new or newer
            else:
                if changed and page.listed:
                    root.listing_changed(page.serial)  # a new project (or a first page)
    return page


def on_project_changed(sender: object, project: Project, **kwargs: object) -> None:
    store(project, changed=True)


def on_project_removed(sender: object, normalized_name: str, **kwargs: object) -> None:
    """A deleted project leaves the root (the deletion bumped the index serial)."""
    root.listing_changed(index_state()[0])


# A project and its stored page, by name: the page is current when s.serial = p.last_serial.
_PAGE_OF = (
    "FROM packages_project p LEFT JOIN index_simplepage s ON s.project_id = p.id "
    "WHERE p.normalized_name = %s"
)
_FRESH_SQL = (
    "SELECT p.id, p.last_serial, s.serial, s.last_modified, s.{column}, p.visibility " + _PAGE_OF
)


def lookup(
    normalized_name: str, json: bool, coding: str | None = None, private: bool = False
) -> tuple[bool, StoredPage | None]:
    """(project exists, its stored page if current) in one query: in ``coding`` when a
    copy in that coding is stored, else the identity page (a second query, only for rows
    stored before compressed copies were).

    A private project's page only with ``private`` (its caller checked read access): the
    fast paths and the page memo never see one."""
    with connection.cursor() as cursor:
        cursor.execute(_FRESH_SQL.format(column=column(json, coding)), [normalized_name])
        row = cursor.fetchone()
    if row is None:
        return False, None
    if not _is_current(row, private):
        return True, None
    project_id, _last, serial, last_modified, body, visibility = row
    if coding is not None and not body:
        return lookup(normalized_name, json, private=private)
    return True, StoredPage(
        project_id, serial, last_modified, bytes(body), coding=coding, visibility=visibility
    )


def _is_current(row: tuple[Any, ...], private: bool) -> bool:
    _id, last_serial, serial, _modified, _body, visibility = row
    return serial is not None and serial == last_serial and (visibility == "public" or private)


# What lookup reads, for a caller that joins it into its own query on project ``p``
# (tokens.read_grant, for the private fast path): columns, join, then page_of_row.
PAGE_JOIN = "LEFT JOIN index_simplepage s ON s.project_id = p.id"


def page_columns(json: bool) -> str:
    """The identity page's columns, in the order page_of_row reads them."""
    return f"p.id, p.last_serial, s.serial, s.last_modified, s.{column(json, None)}, p.visibility"


def page_of_row(row: tuple[Any, ...], *, private: bool = False) -> StoredPage | None:
    """The stored identity page of a row of :func:`page_columns`, if current (a private
    project's only with ``private``, as in lookup)."""
    if not _is_current(row, private):
        return None
    project_id, _last, serial, last_modified, body, visibility = row
    return StoredPage(project_id, serial, last_modified, bytes(body), visibility=visibility)


_SERIAL_SQL = "SELECT p.id, p.last_serial, s.serial, p.visibility " + _PAGE_OF


def current_serial(normalized_name: str) -> tuple[int, int] | None:
    """(project id, serial) of the public project's stored page when it is current,
    without reading the page itself; None when there is no such project, no current page,
    or the project is private (the memo may then not answer)."""
    with connection.cursor() as cursor:
        cursor.execute(_SERIAL_SQL, [normalized_name])
        row = cursor.fetchone()
    if row is None or row[2] is None or row[1] != row[2] or row[3] != "public":
        return None
    return int(row[0]), int(row[2])


def rebuild_all(batch: int = 500) -> int:
    """Store current pages for every project missing one or holding an old one (bulk),
    then the root."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT p.id FROM packages_project p "
            "LEFT JOIN index_simplepage s ON s.project_id = p.id "
            "WHERE s.serial IS NULL OR s.serial != p.last_serial ORDER BY p.id"
        )
        stale = [row[0] for row in cursor.fetchall()]
    for start in range(0, len(stale), batch):
        ids = stale[start : start + batch]
        chunk = list(Project.objects.filter(pk__in=ids))
        files = pages.many_projects_files(ids)
        versions: dict[int, list[str]] = {pid: [] for pid in ids}
        for pid, version in Release.objects.filter(project_id__in=ids).values_list(
            "project_id", "version"
        ):
            versions[pid].append(version)
        rows = [_page(p, files[p.pk], pages.order_versions(versions[p.pk])) for p in chunk]
        with transaction.atomic():
            SimplePage.objects.filter(project_id__in=ids).delete()
            SimplePage.objects.bulk_create(rows)
    root.render_and_store()
    return len(stale)
