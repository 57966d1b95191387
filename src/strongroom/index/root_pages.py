"""What the stored ``/simple/`` root holds (index.root decides when it is rendered): the
listing's bodies, built by PostgreSQL (root_sql) or here on the embedded database, wrapped
into both documents with their gzip and zstd copies."""

from __future__ import annotations

import json as jsonlib
import time

from django.db import connection
from django.utils.http import http_date

from strongroom.index import encoding, pages, root_sql
from strongroom.index.models import SimpleIndex
from strongroom.packages.models import Project
from strongroom.packages.services import index_state

# The root's one row (SimpleIndex), and the listing's (IndexListing).
ROW = 1


def is_listed(project: Project) -> bool:
    """Whether the stored (public) root lists ``project``."""
    return (
        project.visibility == Project.Visibility.PUBLIC
        and project.status != Project.Status.QUARANTINED
    )


def listed_names() -> list[tuple[str, str]]:
    """(name, normalised name) of every project the public root lists, by name."""
    return list(
        Project.objects.filter(visibility=Project.Visibility.PUBLIC)
        .exclude(status=Project.Status.QUARANTINED)
        .order_by("normalized_name")
        .values_list("name", "normalized_name")
    )


def render_bodies_in_python() -> root_sql.Bodies:
    """The listing's links and entries as of now, built here (the embedded database). The
    serial is read before the listing, so the listing holds at least every change up to
    that serial."""
    serial, changed = index_state()
    names = listed_names()
    links = pages.simple_index_links(names).encode()
    entries = ", ".join(jsonlib.dumps({"name": name}) for name, _normalized in names).encode()
    return root_sql.Bodies(serial, changed, links, entries)


def render_bodies() -> root_sql.Bodies:
    """The listing's bodies, by PostgreSQL when it is the database (root_sql)."""
    if connection.vendor == "postgresql":
        return root_sql.render_bodies()
    return render_bodies_in_python()


def page_of(bodies: root_sql.Bodies) -> SimpleIndex:
    """The root (unsaved) holding ``bodies``: both documents and their compressed copies."""
    html_head, html_tail = (
        part.encode() for part in pages.simple_index_html_around("\0").split("\0")
    )
    json_head, json_tail = (part.encode() for part in pages.simple_index_json_ends(bodies.serial))
    html = b"".join((html_head, bodies.html_links, html_tail))
    json = b"".join((json_head, bodies.json_entries, json_tail))
    changed = bodies.changed
    return SimpleIndex(
        id=ROW,
        serial=bodies.serial,
        last_modified=http_date(changed.timestamp() if changed else time.time()),
        **encoding.stored_bodies(html, json),
    )


def render() -> SimpleIndex:
    """The public root as of now (unsaved)."""
    return page_of(render_bodies())
