"""The closed, versioned set of caveats an API token can carry.

Each caveat is a JSON object ``{"v": 1, "t": <type>, ...}``. Unknown types or versions
make the whole token invalid: a server that does not understand a restriction must not
ignore it. Free of HTTP and of the database, with an injectable clock.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any

from django.utils.translation import gettext as _

CAVEAT_VERSION = 1
# Timestamps outside 1970..9999 are no date this server could have written: refusing them
# at parse time keeps every later comparison and message on ordinary integers.
MAX_TIMESTAMP = 253402300799


class CaveatError(ValueError):
    """A caveat that does not hold; ``str(exc)`` says why in a sentence."""


class MalformedCaveat(ValueError):
    """A caveat this server does not understand."""


@dataclass(frozen=True)
class ProjectRef:
    id: str
    name: str


class Permission(StrEnum):
    """What a request wants a token to allow."""

    UPLOAD = "upload"
    READ = "read"


# What a token without a permission caveat grants (every token minted before read tokens):
# upload, and read only of the projects it is scoped to (check_all).
GRANTED_PERMISSIONS = frozenset({Permission.UPLOAD})


@dataclass(frozen=True)
class TokenContext:
    """Everything a request does with a token; every caveat is checked against all of it.

    There are no defaults: a caller cannot leave the project out and have a scoped token
    pass for lack of a project to compare with.
    """

    now: datetime
    permission: Permission
    # None: a project that does not exist yet (upload), or, for READ, the index as a
    # whole: a project scope then narrows what is listed instead of refusing the token.
    project_id: str | None
    project_name: str  # normalised name of the project acted on ("" for the index)
    organization_id: str | None  # the organisation owning that project; None: none

    @property
    def is_listing(self) -> bool:
        return self.permission is Permission.READ and self.project_id is None


@dataclass(frozen=True)
class Expiry:
    not_before: int
    expires_at: int | None

    def to_json(self) -> dict[str, Any]:
        return {"v": 1, "t": "expiry", "nbf": self.not_before, "exp": self.expires_at}

    def check(self, ctx: TokenContext, token_user: str) -> None:
        now = int(ctx.now.timestamp())
        if now < self.not_before:
            raise CaveatError(_("This API token is not valid yet."))
        if self.expires_at is not None and now >= self.expires_at:
            when = datetime.fromtimestamp(self.expires_at, UTC).strftime("%Y-%m-%d %H:%M UTC")
            raise CaveatError(_("This API token expired on %(when)s.") % {"when": when})


@dataclass(frozen=True)
class Projects:
    projects: tuple[ProjectRef, ...]

    def to_json(self) -> dict[str, Any]:
        return {
            "v": 1,
            "t": "projects",
            "p": [{"id": p.id, "n": p.name} for p in self.projects],
        }

    def check(self, ctx: TokenContext, token_user: str) -> None:
        if ctx.is_listing:
            return  # the listing shows only these projects (packages.visibility)
        for project in self.projects:
            # The server names projects by id and name; an id that no longer matches
            # means the name was freed and registered again by someone else. A holder
            # narrowing a token offline may name projects by name alone (id "").
            if project.name == ctx.project_name and project.id in ("", ctx.project_id):
                return
        names = ", ".join(sorted(p.name for p in self.projects))
        raise CaveatError(
            _("This API token is scoped to %(names)s and is not valid for %(project)s.")
            % {"names": names, "project": ctx.project_name}
        )


@dataclass(frozen=True)
class OwnedBy:
    user_id: str

    def to_json(self) -> dict[str, Any]:
        return {"v": 1, "t": "user", "id": self.user_id}

    def check(self, ctx: TokenContext, token_user: str) -> None:
        if self.user_id != token_user:
            raise CaveatError(_("This API token does not belong to its owner."))


@dataclass(frozen=True)
class InOrganization:
    """Valid only for projects the organisation owns at the time of use. Whether the
    token's owner is still a member is checked against the database by the verifier
    (tokens.services.verify_token): this module stays free of it."""

    organization_id: str
    name: str

    def to_json(self) -> dict[str, Any]:
        return {"v": 1, "t": "org", "id": self.organization_id, "n": self.name}

    def check(self, ctx: TokenContext, token_user: str) -> None:
        if ctx.is_listing:
            return  # the listing shows only the organisation's projects (packages.visibility)
        if ctx.organization_id is None or ctx.organization_id != self.organization_id:
            raise CaveatError(
                _(
                    "This API token is scoped to the organisation %(organization)s and is not "
                    "valid for %(project)s, which it does not own."
                )
                % {"organization": self.name, "project": ctx.project_name}
            )


@dataclass(frozen=True)
class PublisherPrincipal:
    """The token's principal is a trusted publisher, not an account (tokens.principals)."""

    publisher_id: str

    def to_json(self) -> dict[str, Any]:
        return {"v": 1, "t": "publisher", "id": self.publisher_id}

    def check(self, ctx: TokenContext, token_user: str) -> None:
        if token_user != publisher_principal(self.publisher_id):
            raise CaveatError(_("This token belongs to a trusted publisher, not to this account."))


def publisher_principal(publisher_id: str) -> str:
    """The principal a publisher's tokens are verified for (never a user id: those are ints)."""
    return f"publisher:{publisher_id}"


@dataclass(frozen=True)
class Permissions:
    """What the token may do; a token carrying it grants exactly these permissions.

    Several such caveats (a holder narrowing offline) grant what all of them allow."""

    permissions: tuple[Permission, ...]

    def to_json(self) -> dict[str, Any]:
        return {"v": 1, "t": "permissions", "p": [str(p) for p in self.permissions]}

    def check(self, ctx: TokenContext, token_user: str) -> None:
        if ctx.permission in self.permissions:
            return
        if self.permissions == (Permission.READ,):
            raise CaveatError(_("This API token is a read token: it cannot upload."))
        allowed = ", ".join(str(p) for p in self.permissions)
        raise CaveatError(_("This API token only allows: %(allowed)s.") % {"allowed": allowed})


Caveat = Expiry | Projects | OwnedBy | InOrganization | PublisherPrincipal | Permissions


def _int(value: Any, *, optional: bool = False) -> int | None:
    if value is None and optional:
        return None
    if isinstance(value, bool) or not isinstance(value, int):
        raise MalformedCaveat("expected an integer timestamp")
    if not 0 <= value <= MAX_TIMESTAMP:
        raise MalformedCaveat("timestamp out of range")
    return value


_FIELDS = {
    "expiry": {"v", "t", "nbf", "exp"},
    "projects": {"v", "t", "p"},
    "user": {"v", "t", "id"},
    "org": {"v", "t", "id", "n"},
    "publisher": {"v", "t", "id"},
    "permissions": {"v", "t", "p"},
}


def parse_caveat(raw: str | bytes) -> Caveat:
    """Decode one caveat; raise MalformedCaveat for anything outside the known set."""
    try:
        data = json.loads(raw)
    except (ValueError, UnicodeDecodeError, RecursionError) as exc:
        # RecursionError: deeply nested arrays; ValueError also covers integers too long
        # for int() and invalid UTF-8 in bytes.
        raise MalformedCaveat("caveat is not JSON") from exc
    if not isinstance(data, dict) or type(data.get("v")) is not int or data["v"] != CAVEAT_VERSION:
        raise MalformedCaveat("unknown caveat version")
    kind = data.get("t")
    fields = _FIELDS.get(kind) if isinstance(kind, str) else None
    if fields is None:
        raise MalformedCaveat(f"unknown caveat type {str(kind)[:40]!r}")
    if not set(data) <= fields:
        # A field this server does not know may be a restriction it would fail to apply.
        raise MalformedCaveat(f"unknown field in a {kind} caveat")
    if kind == "expiry":
        nbf = _int(data.get("nbf"))
        assert nbf is not None
        return Expiry(not_before=nbf, expires_at=_int(data.get("exp"), optional=True))
    if kind == "projects":
        items = data.get("p")
        if not isinstance(items, list) or not items:
            raise MalformedCaveat("a projects caveat needs at least one project")
        refs = []
        for item in items:
            if (
                not isinstance(item, dict)
                or not set(item) <= {"id", "n"}
                or not isinstance(item.get("id", ""), str)
                or not isinstance(item.get("n"), str)
            ):
                raise MalformedCaveat("a project is {id, n}")
            refs.append(ProjectRef(id=item.get("id", ""), name=item["n"]))
        return Projects(projects=tuple(refs))
    if kind == "org":
        if not isinstance(data.get("id"), str) or not isinstance(data.get("n"), str):
            raise MalformedCaveat("an org caveat needs an id and a name")
        return InOrganization(organization_id=data["id"], name=data["n"])
    if kind == "permissions":
        values = data.get("p")
        known = {str(p) for p in Permission}
        if (
            not isinstance(values, list)
            or not values
            or not all(isinstance(v, str) and v in known for v in values)
        ):
            raise MalformedCaveat("a permissions caveat names known permissions")
        return Permissions(tuple(Permission(v) for v in dict.fromkeys(values)))
    if not isinstance(data.get("id"), str):
        raise MalformedCaveat(f"a {kind} caveat needs an id")
    if kind == "publisher":
        return PublisherPrincipal(publisher_id=data["id"])
    return OwnedBy(user_id=data["id"])


def serialize_caveat(caveat: Caveat) -> str:
    return json.dumps(caveat.to_json(), separators=(",", ":"), sort_keys=True)


def _not_granted(permission: Permission) -> str:
    # Translated only when refused: every accepted token passes through check_all.
    return _("API tokens do not grant the %(permission)s permission.") % {"permission": permission}


def check_all(caveats: Sequence[Caveat], ctx: TokenContext, token_user: str) -> None:
    """Raise CaveatError unless the token allows ``ctx``: its permission, then every caveat.

    A token without a permissions caveat is an upload token: it reads only the projects
    it is scoped to (an account-wide upload token reads nothing it could not read without)."""
    if not any(isinstance(c, Permissions) for c in caveats):
        scoped = any(isinstance(c, Projects) for c in caveats)
        if ctx.permission is Permission.READ and not scoped:
            raise CaveatError(
                _(
                    "This API token is an account-wide upload token, which does not read "
                    "private projects: create a read token to install."
                )
            )
        if ctx.permission not in GRANTED_PERMISSIONS | {Permission.READ}:
            raise CaveatError(_not_granted(ctx.permission))
    elif ctx.permission not in set(Permission):
        raise CaveatError(_not_granted(ctx.permission))
    for caveat in caveats:
        caveat.check(ctx, token_user)
