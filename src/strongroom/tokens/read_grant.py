"""May this read token read this private project, now? The private read fast path's
verification (``index.private_fast``), in one query.

The same rules as ``tokens.services.verify_token`` followed by
``packages.visibility.can_read``: format, signature, the stored row (so a revoked token
is refused on the next request), an active account, every caveat (stored and appended)
against the time of the request and the project, current organisation membership for an
organisation-scoped token, and a current role on the project. Only the refusal reasons
are left out: the caller then lets the full path answer, which gives them.

What is remembered per process is only what a token string itself fixes: its parsed
macaroon, that its signature holds under the keys the server accepts (the key ring is
part of the cache key, so a retired secret is no longer trusted), and its appended
caveats. Keyed by a hash of the string: any other string (tampered, narrowed further) is
a different entry, verified afresh. Revocation, expiry, the stored caveats, the account
and the roles are read from the database or the clock on every call, never remembered.

A caller that can prove nothing at all was written to the database since a grant was
read (``index.private_fast``, by SQLite's ``data_version`` as the page memo does) may keep
the :class:`Grant` and :func:`recheck` it instead: the rows it was decided on are then the
current rows, so only what depends on the clock is checked again (every caveat, against
the time of the request) and "last used" is recorded as on a full read.
"""

from __future__ import annotations

import hashlib
import json
import uuid
from collections import OrderedDict
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import lru_cache
from threading import Lock
from typing import Any

from django.conf import settings
from django.db import DEFAULT_DB_ALIAS, connections
from django.db.backends.base.base import BaseDatabaseWrapper

from strongroom.accounts.models import User
from strongroom.keys import Purpose, candidates, legacy_candidates, secrets_in_order
from strongroom.ops import metrics
from strongroom.orgs.models import OrganizationRole
from strongroom.packages.models import Project
from strongroom.packages.permissions import has_role_sql
from strongroom.tokens import macaroons
from strongroom.tokens.caveats import (
    Caveat,
    CaveatError,
    InOrganization,
    MalformedCaveat,
    Permission,
    TokenContext,
    check_all,
    parse_caveat,
)
from strongroom.tokens.models import ApiToken
from strongroom.tokens.services import LAST_USED_RESOLUTION, _uuid_or_none

CACHE_SIZE = 4096
_ACCEPTED = metrics.TOKEN_VERIFICATIONS.labels("accepted")  # the same child every time


@dataclass(frozen=True)
class _Signed:
    """What a token string fixes once its signature held: its id and appended caveats."""

    token_id: uuid.UUID
    appended: tuple[Caveat, ...]


class SignatureCache:
    """A bounded per-process map from (key ring, hash of a token string) to :class:`_Signed`.

    Holds only strings whose signature held: garbage cannot evict real entries faster
    than real tokens do, and nothing in it says the token is still valid."""

    def __init__(self, size: int = CACHE_SIZE) -> None:
        self._size = size
        self._entries: OrderedDict[bytes, _Signed] = OrderedDict()
        self._lock = Lock()

    def get(self, key: bytes) -> _Signed | None:
        with self._lock:
            entry = self._entries.get(key)
            if entry is not None:
                self._entries.move_to_end(key)
            return entry

    def put(self, key: bytes, entry: _Signed) -> None:
        with self._lock:
            self._entries[key] = entry
            self._entries.move_to_end(key)
            while len(self._entries) > self._size:
                self._entries.popitem(last=False)

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()

    def __len__(self) -> int:
        return len(self._entries)


SIGNATURES = SignatureCache()


@lru_cache(maxsize=16)
def _ring_digest(secrets: tuple[str, ...]) -> bytes:
    # The accepted keys (current, fallbacks, legacy) are all derived from these secrets.
    hasher = hashlib.sha256(b"strongroom.tokens.read-grant.ring")
    for secret in secrets:
        encoded = secret.encode("utf-8", "surrogatepass")
        hasher.update(len(encoded).to_bytes(4, "big") + encoded)
    return hasher.digest()


def _cache_key(raw: str) -> bytes:
    ring = _ring_digest(tuple(secrets_in_order()))
    return hashlib.sha256(ring + raw.encode("utf-8", "surrogatepass")).digest()


def _signed(raw: str) -> _Signed | None:
    """The token string's id and appended caveats when it is ours and its signature holds
    under the accepted keys; None otherwise (never cached)."""
    key = _cache_key(raw)
    entry = SIGNATURES.get(key)
    if entry is not None:
        return entry
    try:
        parsed = macaroons.parse(raw, prefix=settings.TOKEN_PREFIX)
        macaroons.verify_signature(
            parsed,
            keys=candidates(Purpose.TOKENS),
            legacy_keys=legacy_candidates(Purpose.TOKENS),
        )
    except (macaroons.MalformedToken, macaroons.InvalidToken):
        return None
    token_id = _uuid_or_none(parsed.token_id)
    if token_id is None:
        return None
    entry = _Signed(token_id=uuid.UUID(token_id), appended=tuple(parsed.caveats))
    SIGNATURES.put(key, entry)
    return entry


def _stored_caveats(value: object) -> tuple[Caveat, ...] | None:
    """The row's caveats, read from it every time; their parsing is remembered by text."""
    text = value if isinstance(value, str) else json.dumps(value, sort_keys=True)
    return _parse_stored(text)


@lru_cache(maxsize=1024)
def _parse_stored(text: str) -> tuple[Caveat, ...] | None:
    # A pure function of the text: what the row says now is what is checked.
    try:
        data = json.loads(text)
        if not isinstance(data, list):
            return None
        return tuple(parse_caveat(json.dumps(item)) for item in data)
    except (MalformedCaveat, TypeError, ValueError, RecursionError):
        return None


@lru_cache(maxsize=8)
def _grant_sql(vendor: str, by_name: bool, columns: str, join: str) -> str:
    token, user, project = (
        ApiToken._meta.db_table,
        User._meta.db_table,
        Project._meta.db_table,
    )
    member = OrganizationRole._meta.db_table
    role = has_role_sql(project="p.id", user="t.user_id", organization="p.organization_id")
    match = "p.normalized_name = %s" if by_name else "p.id = %s"
    # Table names from the models, the caller's columns and join from its code; every
    # value is a parameter.
    sql = (
        f"SELECT t.user_id, t.caveats, u.is_active, p.id, p.organization_id,"  # noqa: S608
        f" CASE WHEN {role} THEN 1 ELSE 0 END,"
        f" CASE WHEN EXISTS (SELECT 1 FROM {member} om WHERE om.organization_id ="
        f" p.organization_id AND om.user_id = t.user_id) THEN 1 ELSE 0 END,"
        f" t.last_used, t.last_used_ip{', ' + columns if columns else ''}"
        f" FROM {token} t JOIN {user} u ON u.id = t.user_id JOIN {project} p ON {match}"
        f" {join} WHERE t.id = %s"
    )
    # Run on the driver's own cursor (see _fetch): in its parameter style.
    return sql.replace("%s", "?") if vendor == "sqlite" else sql


def _fetch(db: BaseDatabaseWrapper, sql: str, params: list[object]) -> tuple[Any, ...] | None:
    """One row, on the database driver's cursor of Django's connection (errors still
    raised as Django's DatabaseError). Django's cursor wrapper (query logging, parameter
    style rewriting) cost several times the query itself on this path."""
    db.ensure_connection()
    with db.wrap_database_errors:
        cursor = db.connection.cursor()
        try:
            cursor.execute(sql, params)
            row = cursor.fetchone()
            return tuple(row) if row is not None else None
        finally:
            cursor.close()


@dataclass(frozen=True, slots=True)
class Grant:
    """A read the current rows allowed: the token, its caveats (stored and appended), the
    project it was checked against, when the token was last recorded as used, and the
    caller's columns (``extra``)."""

    token_id: uuid.UUID
    caveats: tuple[Caveat, ...]
    owner: str
    project_id: str
    normalized_name: str
    organization_id: str | None
    last_used: datetime | None
    last_ip: str | None
    extra: tuple[Any, ...]


def grant_key(raw: str) -> bytes:
    """What identifies the token string ``raw`` under the keys the server accepts now: a
    hash of both (a retired secret, or any other string, gives another key)."""
    return _cache_key(raw)


def may_read(raw: str, project_id: int, normalized_name: str, *, now: datetime, ip: str) -> bool:
    """Whether the read token ``raw`` lets its holder read the private project
    ``project_id`` (named ``normalized_name``) at ``now``. False for every reason the
    full path would refuse (it then answers with the reason)."""
    return _read(raw, project_id, normalized_name, "", "", now=now, ip=ip) is not None


def read_with(
    raw: str, normalized_name: str, *, columns: str, join: str, now: datetime, ip: str
) -> Grant | None:
    """The grant, with ``columns`` (of the project ``p`` and what ``join`` adds) as its
    ``extra``, when the read token ``raw`` lets its holder read the project named
    ``normalized_name`` as a private project at ``now``; None otherwise. One query for
    the decision and the caller's data."""
    return _read(raw, None, normalized_name, columns, join, now=now, ip=ip)


def recheck(grant: Grant, *, now: datetime, ip: str) -> bool:
    """Whether ``grant`` still holds at ``now``, for a caller that proved nothing was
    written to the database since it was read (so its token row, account, roles,
    memberships and project are still the current ones): every caveat again, against
    ``now``; "last used" recorded as :func:`read_with` records it.

    Never call it without that proof: a revocation, a removed role or membership or a
    disabled account is a write, and only a query sees it."""
    project = TokenContext(
        now, Permission.READ, grant.project_id, grant.normalized_name, grant.organization_id
    )
    try:
        check_all(grant.caveats, project, grant.owner)
    except CaveatError:
        return False
    _accepted(grant.token_id, grant.last_used, grant.last_ip, now=now, ip=ip)
    return True


def _accepted(
    token_id: uuid.UUID, last_used: datetime | None, last_ip: str | None, *, now: datetime, ip: str
) -> None:
    _ACCEPTED.inc()
    if last_used is None or last_ip != ip or abs(now - last_used) >= LAST_USED_RESOLUTION:
        ApiToken.objects.filter(pk=token_id).update(last_used=now, last_used_ip=ip)


def _read(
    raw: str,
    project_id: int | None,
    normalized_name: str,
    columns: str,
    join: str,
    *,
    now: datetime,
    ip: str,
) -> Grant | None:
    signed = _signed(raw)
    if signed is None:
        return None
    token_id = signed.token_id
    db = connections[DEFAULT_DB_ALIAS]  # once: each use of the proxy looks it up again
    native = db.features.has_native_uuid_field
    sql = _grant_sql(db.vendor, project_id is None, columns, join)
    match = normalized_name if project_id is None else project_id
    row = _fetch(db, sql, [match, token_id if native else token_id.hex])
    if row is None:
        return None  # revoked, never existed, or no such project
    user_id, stored, active, found_id, organization_id, has_role, is_member = row[:7]
    last_used, last_ip, extra = row[7], row[8], row[9:]
    stored_caveats = _stored_caveats(stored)
    if not active or stored_caveats is None:
        return None
    # A caveat both stored and in the macaroon is checked once: each check depends only
    # on the caveat and the request, so a repeat refuses nothing the first did not.
    caveats = tuple(dict.fromkeys(stored_caveats + signed.appended))
    # As the ORM spells it (SQLite hands a UUID back as its hex digits).
    owner = str(user_id if isinstance(user_id, uuid.UUID) else User._meta.pk.to_python(user_id))
    organization = str(organization_id) if organization_id is not None else None
    # verify_token checks the caveats for reading the index, then the reader's
    # token_allows for the project; the project's check refuses all the index's does
    # (only the project and organisation caveats differ, and pass for the index).
    found = str(found_id)
    project = TokenContext(now, Permission.READ, found, normalized_name, organization)
    try:
        check_all(caveats, project, owner)
    except CaveatError:
        return None
    # An organisation caveat held for this project only if it names the project's own
    # organisation, so membership of that one organisation is the membership to check.
    if any(isinstance(c, InOrganization) for c in caveats) and not is_member:
        return None
    if not has_role:
        return None
    if last_used is not None and last_used.tzinfo is None:
        last_used = last_used.replace(tzinfo=UTC)  # SQLite keeps UTC without a zone
    last_ip = str(last_ip) if last_ip is not None else None
    _accepted(token_id, last_used, last_ip, now=now, ip=ip)
    return Grant(
        token_id, caveats, owner, found, normalized_name, organization, last_used, last_ip,
        tuple(extra),
    )  # fmt: skip
