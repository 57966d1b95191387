"""The bodies of ``/simple/`` (index.root) rendered by PostgreSQL, in one query.

At PyPI's size (600,000 projects) building the root in Python took most of its 14 s
render: a row object per project fetched, then ~34 MB of HTML and ~16 MB of JSON built
string by string while holding the GIL, which every request of the process waits for.
Here the server builds both bodies with ``string_agg`` and sends them as two values
(binary results: no per-row objects, no decoding); Python only wraps them and compresses
(zlib and zstd release the GIL).

The bytes are those of index.pages' renderer, escaping included, which
tests/index/test_root_sql.py checks on awkward names: Django's ``escape`` is five
replacements; json.dumps (``ensure_ascii``) escapes ``"`` and ``\\`` and writes every
character outside printable ASCII as ``\\uXXXX`` (a surrogate pair above U+FFFF), which
``to_json`` does not do for non-ASCII and DEL, so names with such characters (names are
normalised and validated, so none in practice) take a character-by-character path.
Ordered by the normalised name in the database's collation, as the ORM's listing is.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

import psycopg
from django.db import connection

from strongroom.packages.models import IndexSerial, Project


@dataclass(frozen=True, slots=True)
class Bodies:
    """The root's uncompressed bodies and the index state they were rendered at."""

    serial: int
    changed: datetime | None
    html_links: bytes
    json_entries: bytes


def _html(column: str) -> str:
    """SQL for django.utils.html.escape() of ``column``."""
    expression = column
    for char, entity in (("&", "&amp;"), ("<", "&lt;"), (">", "&gt;"), ('"', "&quot;")):
        expression = f"replace({expression}, '{char}', '{entity}')"
    return f"replace({expression}, '''', '&#x27;')"


# One character as json.dumps writes it inside a string (ensure_ascii).
_JSON_CHAR = (
    "CASE WHEN c = '\"' THEN '\\\"' WHEN c = '\\' THEN '\\\\' "
    "WHEN c = chr(8) THEN '\\b' WHEN c = chr(12) THEN '\\f' WHEN c = chr(10) THEN '\\n' "
    "WHEN c = chr(13) THEN '\\r' WHEN c = chr(9) THEN '\\t' "
    "WHEN ascii(c) BETWEEN 32 AND 126 THEN c "
    "WHEN ascii(c) < 65536 THEN '\\u' || lpad(to_hex(ascii(c)), 4, '0') "
    "ELSE '\\u' || to_hex(55296 + ((ascii(c) - 65536) >> 10)) "
    "|| '\\u' || to_hex(56320 + ((ascii(c) - 65536) & 1023)) END"
)


def _json(column: str) -> str:
    """SQL for json.dumps() of the text ``column``."""
    return (
        # Constants only (column names of this module), no input: S608 does not apply.
        f"CASE WHEN {column} ~ '^[ -~]*$' THEN to_json({column})::text "  # noqa: S608
        f"ELSE '\"' || (SELECT string_agg({_JSON_CHAR}, '' ORDER BY i) "
        f"FROM unnest(string_to_array({column}, NULL)) WITH ORDINALITY AS t(c, i)) || '\"' END"
    )


def _query() -> str:
    project = Project._meta.db_table
    serial = IndexSerial._meta.db_table
    order = "ORDER BY p.normalized_name"
    link = (
        f"'    <a href=\"/simple/' || {_html('p.normalized_name')} || '/\">' "
        f"|| {_html('p.name')} || '</a><br>'"
    )
    entry = f"'{{\"name\": ' || {_json('p.name')} || '}}'"
    # The serial and the listing in one statement: one snapshot, so the listing holds
    # exactly the changes up to that serial.
    return (
        f"SELECT (SELECT value FROM {serial} WHERE id = 1), "  # noqa: S608 (constants)
        f"(SELECT changed FROM {serial} WHERE id = 1), "
        f"convert_to(coalesce(string_agg({link}, chr(10) {order}), ''), 'UTF8'), "
        f"convert_to(coalesce(string_agg({entry}, ', ' {order}), ''), 'UTF8') "
        f"FROM {project} p WHERE p.visibility = '{Project.Visibility.PUBLIC.value}' "
        f"AND p.status <> '{Project.Status.QUARANTINED.value}'"
    )


QUERY = _query()


def render_bodies() -> Bodies:
    """The listing's links and entries as of now, built by PostgreSQL."""
    connection.ensure_connection()
    # psycopg's own cursor (Django's binds on the client side, which cannot ask for
    # binary results): the bytea values arrive as bytes, neither hex nor decoded text.
    with psycopg.Cursor(connection.connection) as cursor:
        cursor.execute(QUERY, binary=True)
        row = cursor.fetchone()
    assert row is not None  # an aggregate gives one row
    serial, changed, links, entries = row
    return Bodies(int(serial or 0), changed, bytes(links), bytes(entries))


def fetch_row(sql: str) -> tuple[Any, ...] | None:
    """One row of ``sql`` with binary results (a stored body as bytes, not hex text to
    decode: half the bytes on the wire, no work in Python)."""
    connection.ensure_connection()
    with psycopg.Cursor(connection.connection) as cursor:
        cursor.execute(sql, binary=True)
        return cursor.fetchone()


def update_root(fields: dict[str, Any]) -> bool:
    """Store ``fields`` (index.root.store's) over an older root, with binary parameters:
    Django's client-side binding sends tens of MB of bytea as hex text in the statement
    (the store took 10-13 s of the 600,000-project render, and could meet the statement
    timeout). Whether a row was updated."""
    names = list(fields)
    assignments = ", ".join(f"{name} = %s" for name in names)
    sql = f"UPDATE index_simpleindex SET {assignments} WHERE id = 1 AND serial < %s"  # noqa: S608
    values = [fields[name] for name in names]
    connection.ensure_connection()
    with psycopg.Cursor(connection.connection) as cursor:
        cursor.execute(sql, [*values, fields["serial"]], binary=True)
        return cursor.rowcount > 0


# A request's bounds (settings.DATABASE_STATEMENT_TIMEOUT, 10 s) are for a client waiting;
# the render thread has no client, and on a loaded server the render and its store of
# ~70 MB took longer than that at 600,000 projects (bench/results/root-render.md).
BACKGROUND_STATEMENT_TIMEOUT = "120s"


def background_bounds() -> None:
    """Bounds of the render thread's own connection (closed after each render, so they
    never reach a request's)."""
    connection.ensure_connection()
    if hasattr(connection.connection, "reply_timeout"):
        connection.connection.reply_timeout = 150.0
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT set_config('statement_timeout', %s, false)", [BACKGROUND_STATEMENT_TIMEOUT]
        )
