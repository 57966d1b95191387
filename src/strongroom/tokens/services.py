"""Creating, verifying and revoking API tokens: each rule once, for every path."""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from django.conf import settings
from django.db import transaction
from django.db.models import F, Q
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from strongroom.accounts.actors import Actor, require_user
from strongroom.accounts.models import User
from strongroom.events.services import record_event
from strongroom.events.tags import EventTag
from strongroom.keys import Purpose, candidates, current, legacy_candidates
from strongroom.notify.services import send_security_email
from strongroom.ops import metrics
from strongroom.orgs.models import Organization, OrganizationRole
from strongroom.orgs.services import normalize_name
from strongroom.packages.models import Project, Role
from strongroom.packages.permissions import role_of
from strongroom.tokens import macaroons
from strongroom.tokens.caveats import (
    Caveat,
    CaveatError,
    Expiry,
    InOrganization,
    OwnedBy,
    Permission,
    Permissions,
    ProjectRef,
    Projects,
    TokenContext,
    check_all,
    parse_caveat,
)
from strongroom.tokens.models import ApiToken
from strongroom.web.http import absolute_url

if TYPE_CHECKING:
    from strongroom.events.models import Event

MAX_NAME_LENGTH = 100


class TokenError(Exception):
    """A refused token action or a refused token; ``str(exc)`` is the sentence to show.

    ``token`` is the stored token the refusal concerns, when the string named one.
    """

    def __init__(self, message: str, token: ApiToken | None = None):
        super().__init__(message)
        self.token = token


@dataclass(frozen=True)
class PresentedToken:
    """A token string that is ours, exists and whose signature holds: it says who holds it
    and authorises nothing. Only :func:`verify_token`, given what the request does, does."""

    raw: str
    token: ApiToken

    @property
    def user(self) -> User:
        return self.token.user


@dataclass(frozen=True)
class VerifiedToken:
    """A token that allows the :class:`TokenContext` it was verified against."""

    token: ApiToken
    caveats: list[Caveat]
    context: TokenContext

    @property
    def user(self) -> User:
        return self.token.user


def _location() -> str:
    return settings.BASE_URL


def uploadable_projects(user: User) -> list[Project]:
    """Projects the user may upload to, and so may scope a token to."""
    owned = Q(organization__roles__user=user, organization__roles__role_name="Owner")
    through_team = Q(
        team_roles__team__members__user=user,
        team_roles__team__organization=F("organization"),
        organization__roles__user=user,
    )
    return list(
        Project.objects.filter(Q(roles__user=user) | owned | through_team)
        .order_by("normalized_name")
        .distinct()
    )


def readable_projects(user: User) -> list[Project]:
    """Projects the user may read, and so may scope a read token to."""
    from strongroom.packages.visibility import readable_projects as readable

    return list(readable(user).order_by("normalized_name"))


def create_token(
    actor: Actor,
    *,
    name: str,
    project_names: list[str] | None,
    expires_at: datetime | None,
    organization_name: str | None = None,
    read: bool = False,
) -> tuple[ApiToken, str]:
    """Mint a token for the acting user; returns the row and the secret string, which is
    never stored.

    ``project_names`` None means the whole account. ``organization_name`` limits the token
    to the projects that organisation owns when it is used, while the user is still one of
    its members. ``read`` makes a read token (it installs what its holder may read, within
    its scope, and never uploads); otherwise an upload token. Needs a verified primary
    email and, in a browser session, a recent
    re-authentication.
    """
    user = require_user(actor)
    if actor.needs_reauthentication():
        raise TokenError(_("Confirm your password before creating an API token."))
    if not user.has_verified_primary_email:
        raise TokenError(_("Verify your primary email address before creating API tokens."))
    name = (name or "").strip()
    if not name or len(name) > MAX_NAME_LENGTH:
        raise TokenError(
            _("Give the token a name of 1 to %(max)d characters.") % {"max": MAX_NAME_LENGTH}
        )
    now = timezone.now()
    if expires_at is not None and expires_at <= now:
        raise TokenError(_("The expiry date must be in the future."))
    projects: list[Project] = []
    if project_names is not None:
        scopable = readable_projects(user) if read else uploadable_projects(user)
        allowed = {p.normalized_name: p for p in scopable}
        missing = [n for n in project_names if n not in allowed]
        if not project_names or missing:
            message = (
                _("You can only scope a read token to projects you can read: %(names)s")
                if read
                else _("You can only scope a token to projects you can upload to: %(names)s")
            )
            raise TokenError(message % {"names": ", ".join(missing) or "—"})
        projects = [allowed[n] for n in dict.fromkeys(project_names)]
    organization = _token_organization(user, organization_name)

    with transaction.atomic():
        if ApiToken.objects.filter(user=user, name=name).exists():
            raise TokenError(_("You already have a token named %(name)s.") % {"name": name})
        caveats: list[Caveat] = [
            OwnedBy(user_id=str(user.pk)),
            Expiry(
                not_before=int(now.timestamp()),
                expires_at=int(expires_at.timestamp()) if expires_at else None,
            ),
        ]
        if read:
            caveats.append(Permissions((Permission.READ,)))
        if projects:
            caveats.append(
                Projects(tuple(ProjectRef(str(p.pk), p.normalized_name) for p in projects))
            )
        if organization is not None:
            caveats.append(InOrganization(str(organization.pk), organization.normalized_name))
        token = ApiToken.objects.create(
            user=user,
            name=name,
            caveats=[c.to_json() for c in caveats],
            expires=expires_at,
        )
        token.projects.set(projects)
        raw = macaroons.mint(
            prefix=settings.TOKEN_PREFIX,
            location=_location(),
            key=current(Purpose.TOKENS),
            token_id=str(token.pk),
            caveats=caveats,
        )
        scope: list[str] | str = [p.normalized_name for p in projects] or "account"
        if organization is not None:
            scope = [*([] if scope == "account" else scope), f"org:{organization.normalized_name}"]
        extra = {
            "token_id": str(token.pk),
            "name": name,
            "scope": scope,
            "permission": "read" if read else "upload",
            "expires": expires_at.isoformat() if expires_at else None,
        }
        event = record_event(EventTag.ACCOUNT_API_TOKEN_ADDED, actor=actor, user=user, extra=extra)
        for project in projects:
            record_event(
                EventTag.PROJECT_API_TOKEN_ADDED,
                actor=actor,
                user=user,
                project=project,
                extra={**extra, "project": project.normalized_name},
            )
        send_security_email(
            user,
            "token_created",
            {
                "token_name": name,
                "scope": ", ".join(scope) if scope != "account" else _("the entire account"),
                "expires": expires_at,
                "tokens_url": absolute_url(reverse("tokens:list")),
            },
            actor=actor,
            event=event,
        )
    return token, raw


def _token_organization(user: User, name: str | None) -> Organization | None:
    """The organisation a token is scoped to; the user must be one of its members."""
    if name is None:
        return None
    organization = Organization.objects.filter(normalized_name=normalize_name(name)).first()
    if (
        organization is None
        or not OrganizationRole.objects.filter(organization=organization, user=user).exists()
    ):
        raise TokenError(
            _("You can only scope a token to an organisation you are a member of: %(name)s")
            % {"name": name}
        )
    return organization


def _check_membership(token: ApiToken, caveats: list[Caveat]) -> None:
    """An organisation-scoped token works only while its owner is a member, now."""
    for caveat in caveats:
        if not isinstance(caveat, InOrganization):
            continue
        organization_id = _int_or_none(caveat.organization_id)
        if (
            organization_id is None
            or not OrganizationRole.objects.filter(
                organization_id=organization_id, user_id=token.user_id
            ).exists()
        ):
            raise TokenError(
                _(
                    "This API token is scoped to the organisation %(name)s, of which its "
                    "owner is no longer a member."
                )
                % {"name": caveat.name},
                token,
            )


def _int_or_none(value: str) -> int | None:
    return int(value) if value.isdigit() and len(value) < 19 else None


def expiry_from_choice(choice: str, date: datetime | None = None) -> datetime | None:
    """The expiry for the form's choice: "30", "90", "365" days, "date", or "none"."""
    if choice in {"30", "90", "365"}:
        return timezone.now() + timedelta(days=int(choice))
    if choice == "date":
        if date is None:
            raise TokenError(_("Choose an expiry date."))
        return date
    if choice == "none":
        return None
    raise TokenError(_("Choose when the token expires."))


def _revoke(token: ApiToken, tag: EventTag, actor: Actor, extra: dict) -> Event:
    projects = list(token.projects.all())
    base = {"token_id": str(token.pk), "name": token.name, **extra}
    event = record_event(tag, actor=actor, user=token.user, extra=base)
    for project in projects:
        record_event(
            EventTag.PROJECT_API_TOKEN_REMOVED,
            actor=actor,
            user=token.user,
            project=project,
            extra={**base, "project": project.normalized_name},
        )
    token.delete()
    return event


def revoke_token(actor: Actor, token_id: str) -> ApiToken:
    """Revoke one token: its owner, or an Owner of a project it is scoped to, may.

    Takes effect on the very next request (verification looks the row up each time).
    """
    user = require_user(actor)
    if actor.needs_reauthentication():
        raise TokenError(_("Confirm your password before revoking an API token."))
    token_uuid = _uuid_or_none(token_id)
    with transaction.atomic():
        token = (
            ApiToken.objects.select_for_update()
            .select_related("user")
            .filter(pk=token_uuid)
            .first()
            if token_uuid is not None
            else None
        )
        if token is None or not may_revoke(user, token):
            raise TokenError(_("That API token does not exist or was already revoked."))
        event = _revoke(
            token, EventTag.ACCOUNT_API_TOKEN_REMOVED, actor, {"revoked_by": user.username}
        )
        send_security_email(
            token.user,
            "token_revoked",
            {
                "token_name": token.name,
                "revoked_by": user,
                "tokens_url": absolute_url(reverse("tokens:list")),
            },
            actor=actor,
            event=event,
        )
    return token


def may_revoke(actor: User, token: ApiToken) -> bool:
    if token.user_id == actor.pk:
        return True
    # An Owner of a project the token is scoped to, however they hold it (their own role,
    # an organisation they own, a team): the one role lookup decides.
    return any(role_of(actor, project) == Role.Name.OWNER for project in token.projects.all())


def tokens_for_project(project: Project) -> list[ApiToken]:
    return list(project.api_tokens.select_related("user").prefetch_related("projects"))


def revoke_leaked(actor: Actor, raw: str, url: str) -> bool:
    """Revoke a token found published at ``url``; False when it is not ours or unknown.

    Anyone may report (``actor`` is usually anonymous): holding the token is the right."""
    try:
        parsed = macaroons.parse(raw, prefix=settings.TOKEN_PREFIX)
    except macaroons.MalformedToken:
        return False
    with transaction.atomic():
        token = (
            ApiToken.objects.select_for_update()
            .select_related("user")
            .filter(pk=_uuid_or_none(parsed.token_id) or "")
            .first()
        )
        if token is None:
            return False
        try:
            _check_signature(parsed)
        except macaroons.InvalidToken:
            return False
        event = _revoke(token, EventTag.ACCOUNT_API_TOKEN_REMOVED_LEAK, actor, {"url": url})
        send_security_email(
            token.user,
            "token_leaked",
            {
                "token_name": token.name,
                "url": url,
                "tokens_url": absolute_url(reverse("tokens:list")),
            },
            event=event,
        )
    return True


def _uuid_or_none(value: object) -> str | None:
    if not isinstance(value, str) or len(value) > 64:
        return None
    try:
        return str(uuid.UUID(value))
    except (ValueError, TypeError, AttributeError):
        return None


def _check_signature(parsed: macaroons.ParsedToken) -> None:
    macaroons.verify_signature(
        parsed, keys=candidates(Purpose.TOKENS), legacy_keys=legacy_candidates(Purpose.TOKENS)
    )


def identify_token(raw: str) -> PresentedToken:
    """Who holds this token string: format, existence, signature and an active account.

    For refusing a bad token early (before an upload's body is read). It grants nothing:
    whatever the request then does is authorised by :func:`verify_token`. TokenError says why.
    """
    try:
        token, parsed = _identify(raw)
        # Refuse early what no request could use (expired, someone else's), so an expired
        # token cannot make the server receive a whole upload first. The project scope and
        # the permission wait for verify_token, which re-checks all of this anyway.
        early = TokenContext(
            now=timezone.now(),
            permission=Permission.UPLOAD,
            project_id=None,
            project_name="",
            organization_id=None,
        )
        try:
            for caveat in _caveats(token, parsed):
                if not isinstance(caveat, Projects | InOrganization):
                    caveat.check(early, str(token.user_id))
        except CaveatError as exc:
            raise TokenError(str(exc), token) from None
    except TokenError:
        # Counted here or in verify_token, never both: a token refused here goes no further.
        metrics.TOKEN_VERIFICATIONS.labels("refused").inc()
        raise
    return PresentedToken(raw=raw, token=token)


def _caveats(token: ApiToken, parsed: macaroons.ParsedToken) -> list[Caveat]:
    """The server's caveats (stored) and the holder's (appended to the string)."""
    try:
        stored = [parse_caveat_dict(c) for c in token.caveats]
    except (ValueError, TypeError):
        raise TokenError(
            _("Invalid API token: its stored caveats are unreadable."), token
        ) from None
    return stored + parsed.caveats


def _identify(raw: str) -> tuple[ApiToken, macaroons.ParsedToken]:
    try:
        parsed = macaroons.parse(raw, prefix=settings.TOKEN_PREFIX)
    except macaroons.MalformedToken as exc:
        raise TokenError(_("Invalid API token: %(why)s") % {"why": str(exc)}) from None
    token_id = _uuid_or_none(parsed.token_id)
    token = (
        ApiToken.objects.select_related("user").filter(pk=token_id).first() if token_id else None
    )
    if token is None:
        raise TokenError(_("Invalid API token: it was revoked or does not exist."))
    try:
        _check_signature(parsed)
    except macaroons.InvalidToken:
        raise TokenError(_("Invalid API token: the signature does not match."), token) from None
    if not token.user.is_active:
        raise TokenError(_("Invalid API token: its account is disabled."), token)
    return token, parsed


# "Last used" is kept to the minute: an installer reading hundreds of pages with a read
# token must not turn every read into a write.
LAST_USED_RESOLUTION = timedelta(seconds=60)


def verify_token(raw: str, context: TokenContext, *, ip: str | None = None) -> VerifiedToken:
    """Does this token allow ``context``? Format, existence, signature, then every caveat
    (stored and appended by the holder) against the whole context: permission, project,
    time. A caveat this server does not know refuses the token.

    One database lookup by token id plus HMAC work. Raises TokenError saying why, and
    nothing else, whatever the string.
    """
    try:
        token, parsed = _identify(raw)
        caveats = _caveats(token, parsed)
        try:
            check_all(caveats, context, str(token.user_id))
        except CaveatError as exc:
            # Each caveat says in a full sentence what the token does not allow.
            raise TokenError(str(exc), token) from None
        _check_membership(token, caveats)
    except TokenError:
        metrics.TOKEN_VERIFICATIONS.labels("refused").inc()
        raise
    metrics.TOKEN_VERIFICATIONS.labels("accepted").inc()
    if (
        token.last_used is None
        or token.last_used_ip != ip
        or abs(context.now - token.last_used) >= LAST_USED_RESOLUTION
    ):
        ApiToken.objects.filter(pk=token.pk).update(last_used=context.now, last_used_ip=ip)
    return VerifiedToken(token=token, caveats=caveats, context=context)


def parse_caveat_dict(data: dict) -> Caveat:
    return parse_caveat(json.dumps(data))
