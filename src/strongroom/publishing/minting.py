"""Exchanging an OIDC token for an upload token, and using that token to upload.

``mint_upload_token`` is PyPI's ``/_/oidc/mint-token``: verify the JWT, find the one
publisher its claims match, take its ``jti`` (the replay lock), mint a macaroon whose
principal is the publisher. The upload pipeline then calls ``identify_publisher_token``
(before the body is read), ``check_publisher_upload`` (once the project is known) and,
in its own transaction, ``create_pending_project`` and ``record_trusted_upload``.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from strongroom import ratelimit
from strongroom.accounts.actors import Actor
from strongroom.events.services import record_event
from strongroom.events.tags import EventTag
from strongroom.packages import services as packages
from strongroom.packages.models import File, Project
from strongroom.publishing import oidc
from strongroom.publishing.models import MintedToken, PublishedFile, Publisher, UsedJti
from strongroom.publishing.verify import (
    TokenRefused,
    VerifiedClaims,
    identity_repository,
    publisher_matches,
    recorded_claims,
    untrusted_event,
    verify_oidc_token,
)
from strongroom.tokens import macaroons
from strongroom.tokens.caveats import Permission, ProjectRef, TokenContext
from strongroom.tokens.contexts import upload_context
from strongroom.tokens.principals import (
    claimed_publisher,
    mint_publisher_token,
    verify_publisher_token,
)

# Refused exchanges per client address: each refusal is an audit event and may cost a JWKS
# fetch, so an anonymous client cannot make the index do either without bound.
REFUSED_MINTS = ratelimit.Limit("oidc:mint-refused:ip", "30/minute")


class PublisherTokenError(Exception):
    """A publisher token refused at upload; ``str(exc)`` is the sentence twine prints."""


@dataclass(frozen=True)
class Minted:
    token: str
    expires: datetime
    publisher: Publisher
    minted: MintedToken


@dataclass(frozen=True)
class PublisherCredential:
    """A publisher token that is ours, exists and has not expired; authorises nothing by
    itself (``check_publisher_upload`` does, for one project)."""

    raw: str
    minted: MintedToken

    @property
    def publisher(self) -> Publisher:
        return self.minted.publisher

    def describe(self) -> dict[str, Any]:
        """The audit ``extra`` of an upload through this token: who and which claims."""
        return {
            "method": "trusted_publisher",
            "publisher_id": str(self.minted.publisher_id),
            "publisher": self.publisher.summary(),
            "token_id": str(self.minted.pk),
            "claims": self.minted.claims,
        }


def _refuse(actor: Actor, error: TokenRefused, claims: dict[str, Any] | None) -> TokenRefused:
    extra: dict[str, Any] = {"reason": error.message, "code": error.code}
    if claims:
        extra.update({k: str(claims.get(k, ""))[:300] for k in ("iss", "sub", "repository", "jti")})
    with transaction.atomic():
        record_event(EventTag.PUBLISHING_TOKEN_REFUSED, actor=actor, extra=extra)
    return error


def _unverified_claims(raw: object) -> dict[str, Any] | None:
    import jwt

    try:
        claims = jwt.decode(str(raw), options={"verify_signature": False})
    except Exception:  # anything unreadable is recorded without claims
        return None
    return claims if isinstance(claims, dict) else None


def _matching_publisher(verified: VerifiedClaims, now: datetime) -> Publisher:
    candidates = Publisher.objects.filter(issuer=verified.issuer).select_related(
        "issuer", "project", "pending_owner"
    )
    repository = identity_repository(verified.issuer, verified.claims)
    if repository is not None:  # narrow in the database; publisher_matches decides
        candidates = candidates.filter(repository__iexact=repository)
    matches = [
        p
        for p in candidates
        if publisher_matches(p, verified.claims)
        and (p.project_id is not None or (p.pending_expires and p.pending_expires > now))
        # A suspended (inactive) account's pending publishers mint nothing.
        and (
            p.project_id is not None or (p.pending_owner is not None and p.pending_owner.is_active)
        )
    ]
    # A pending publisher whose project now exists (created by hand) matches nothing.
    matches = [
        p
        for p in matches
        if p.project_id is not None
        or not Project.objects.filter(normalized_name=p.pending_name).exists()
    ]
    if not matches:
        raise TokenRefused(
            _(
                "No trusted publisher matches this token's claims (repository %(repository)s, "
                "workflow %(workflow)s, environment %(environment)s): check the publisher "
                "configured on the project."
            )
            % {
                "repository": verified.claims.get("repository")
                or verified.claims.get("project_path")
                or verified.claims.get("sub"),
                "workflow": verified.claims.get("job_workflow_ref")
                or verified.claims.get("workflow_ref")
                or verified.claims.get("ci_config_ref_uri")
                or "-",
                "environment": verified.claims.get("environment") or "-",
            },
            code="invalid-publisher",
        )
    if len(matches) > 1:
        raise TokenRefused(
            _(
                "This token matches %(count)d trusted publishers (%(projects)s); a token can "
                "publish one project: use one workflow or environment per project."
            )
            % {
                "count": len(matches),
                "projects": ", ".join(
                    sorted(
                        p.project.normalized_name if p.project else p.pending_name for p in matches
                    )
                ),
            },
            code="invalid-publisher",
        )
    return matches[0]


def _take_jti(verified: VerifiedClaims, now: datetime) -> None:
    """The replay lock: the unique row of (issuer, jti), kept until the token's expiry plus
    the leeway, after which the token is refused as expired anyway."""
    keep = datetime.fromtimestamp(int(verified.claims["exp"]), tz=now.tzinfo) + timedelta(
        seconds=settings.OIDC_LEEWAY + 60
    )
    UsedJti.objects.filter(keep_until__lt=now).delete()
    try:
        with transaction.atomic():
            UsedJti.objects.create(
                issuer=verified.issuer.url, jti=verified.replay_key, keep_until=keep
            )
    except IntegrityError:
        raise TokenRefused(
            _("This OIDC token was already exchanged (its jti was used): request a new one."),
        ) from None


def mint_upload_token(
    actor: Actor, raw: object, *, single_use: bool = False, now: datetime | None = None
) -> Minted:
    """Exchange a verified OIDC token for an upload token of the publisher it matches.

    Raises TokenRefused (recorded as ``publishing:token:refused``), or
    oidc.IssuerUnavailable (the issuer could not be asked: nothing is minted).
    """
    now = now or timezone.now()
    claims = _unverified_claims(raw)
    address = actor.ip or ""
    if ratelimit.is_exceeded(REFUSED_MINTS, address):
        error = TokenRefused(
            _("Too many refused token requests from this address: retry in %(seconds)d seconds.")
            % {"seconds": ratelimit.retry_after(REFUSED_MINTS, address)},
            code="rate-limited",
            status=429,
        )
        if ratelimit.first_refusal(REFUSED_MINTS, address):  # one event per period
            raise _refuse(actor, error, claims)
        raise error
    try:
        if not isinstance(raw, str):
            raise TokenRefused(
                _('Send the OIDC token as {"token": "..."}.'), code="invalid-payload"
            )
        verified = verify_oidc_token(raw, now)
        event = untrusted_event(verified.issuer, verified.claims)
        if event is not None:
            raise TokenRefused(
                _(
                    "Tokens from %(event)s workflows are refused: they run code from pull "
                    "requests with the repository's identity."
                )
                % {"event": event},
                code="invalid-publisher",
            )
        publisher = _matching_publisher(verified, now)
        with transaction.atomic():
            _take_jti(verified, now)
            minted = _create_token(actor, verified, publisher, single_use, now)
    except TokenRefused as error:
        ratelimit.hit(REFUSED_MINTS, address)
        raise _refuse(actor, error, claims) from None
    except oidc.IssuerUnavailable as exc:
        ratelimit.hit(REFUSED_MINTS, address)
        raise _refuse(
            actor, TokenRefused(str(exc), code="issuer-unavailable", status=503), claims
        ) from None
    return minted


def _create_token(
    actor: Actor, verified: VerifiedClaims, publisher: Publisher, single_use: bool, now: datetime
) -> Minted:
    expires = now + timedelta(seconds=settings.PUBLISHER_TOKEN_SECONDS)
    project = publisher.project
    name = project.normalized_name if project is not None else publisher.pending_name
    claims = recorded_claims(verified.issuer, verified.claims)
    minted = MintedToken.objects.create(
        publisher=publisher,
        project_name=name,
        expires=expires,
        single_use=single_use,
        claims=claims,
    )
    raw = mint_publisher_token(
        token_id=str(minted.pk),
        publisher_id=str(publisher.pk),
        project=ProjectRef(id=str(project.pk) if project is not None else "", name=name),
        not_before=int(now.timestamp()),
        expires_at=int(expires.timestamp()),
    )
    record_event(
        EventTag.PUBLISHING_TOKEN_MINTED,
        actor=actor,
        project=project,
        user=publisher.pending_owner,
        extra={"project": name, "publisher_id": str(publisher.pk),
               "publisher": publisher.summary(), "token_id": str(minted.pk),
               "expires": expires.isoformat(), "single_use": single_use, "claims": claims,
               "pending": project is None},
    )  # fmt: skip
    return Minted(token=raw, expires=expires, publisher=publisher, minted=minted)


# --- the upload side -------------------------------------------------------------------------


def is_publisher_token(raw: str) -> bool:
    return claimed_publisher(raw) is not None


def _minted_row(raw: str) -> MintedToken:
    claimed = claimed_publisher(raw)
    row = None
    if claimed is not None:
        token_id, publisher_id = claimed
        try:
            row = (
                MintedToken.objects.select_related("publisher__issuer", "publisher__project")
                .filter(pk=token_id, publisher_id=publisher_id)
                .first()
            )
        except Exception:  # a token id that is no UUID
            row = None
    if row is None:
        raise PublisherTokenError(
            _("Invalid API token: the trusted publisher was removed or the token does not exist.")
        )
    return row


def _verify(raw: str, row: MintedToken, context: TokenContext) -> None:
    try:
        verify_publisher_token(raw, context)
    except (macaroons.InvalidToken, macaroons.MalformedToken) as exc:
        raise PublisherTokenError(str(exc)) from None
    if not row.publisher.issuer.enabled:
        raise PublisherTokenError(_("The trusted publisher's issuer was disabled by the staff."))
    if row.single_use and row.used_at is not None:
        raise PublisherTokenError(_("This single-use upload token was already used."))


def identify_publisher_token(raw: str, now: datetime | None = None) -> PublisherCredential:
    """A publisher token that exists, verifies and has not expired (checked before the
    upload's body is read); the project scope waits for ``check_publisher_upload``."""
    row = _minted_row(raw)
    now = now or timezone.now()
    # The project the token was minted for: refuses early what no upload could use
    # (expired, spent, tampered); the upload's own project is checked once it is known.
    project_id = str(row.publisher.project_id) if row.publisher.project_id else None
    # Publisher tokens never carry an organisation caveat: the organisation does not matter
    # to this early check.
    context = TokenContext(
        now=now,
        permission=Permission.UPLOAD,
        project_id=project_id,
        project_name=row.project_name,
        organization_id=None,
    )
    _verify(raw, row, context)
    return PublisherCredential(raw=raw, minted=row)


def check_publisher_upload(
    credential: PublisherCredential, project: Project | None, name: str
) -> None:
    """May this publisher token upload to ``project`` (None: create ``name``)? Its caveats
    against this project, and the publisher still bound to it (or still pending for it)."""
    context = upload_context(project, name)
    row = _minted_row(credential.raw)
    _verify(credential.raw, row, context)
    publisher = row.publisher
    if project is not None and publisher.project_id != project.pk:
        raise PublisherTokenError(
            _("This trusted publisher may not upload to %(project)s.") % {"project": project.name}
        )
    if project is None and (publisher.project_id is not None or publisher.pending_name != name):
        raise PublisherTokenError(
            _("This trusted publisher may not create the project %(project)s.") % {"project": name}
        )


def create_pending_project(credential: PublisherCredential, name: str, actor: Actor) -> Project:
    """The first trusted upload of a pending publisher: create the project owned by the
    user who registered the publisher, and bind the publisher to it (caller's transaction)."""
    publisher = Publisher.objects.select_for_update().get(pk=credential.minted.publisher_id)
    if (
        publisher.project_id is not None
        or publisher.pending_owner is None
        or not publisher.pending_expires
        or publisher.pending_expires <= timezone.now()
    ):
        raise PublisherTokenError(_("The pending trusted publisher expired or was removed."))
    owner = publisher.pending_owner
    project = packages.create_project(
        Actor(user=owner, ip=actor.ip, user_agent=actor.user_agent), name
    )
    publisher.project = project
    publisher.pending_expires = None
    publisher.save(update_fields=["project", "pending_expires"])
    record_event(
        EventTag.PROJECT_PUBLISHER_ADD,
        actor=actor,
        user=owner,
        project=project,
        extra={"project": project.name, "publisher_id": str(publisher.pk),
               "from_pending": True, **publisher.identity()},
    )  # fmt: skip
    return project


def record_trusted_upload(credential: PublisherCredential, file: File) -> PublishedFile:
    """Record which publisher and claims uploaded ``file``; a single-use token is spent
    here, in the upload's transaction (a refused upload does not spend it)."""
    row = (
        MintedToken.objects.select_for_update()
        .select_related("publisher__issuer")
        .get(pk=credential.minted.pk)
    )
    # One conditional UPDATE: of two uploads racing with one single-use token, one wins.
    spent = MintedToken.objects.filter(pk=row.pk, used_at=None).update(used_at=timezone.now())
    if row.single_use and not spent:
        raise PublisherTokenError(_("This single-use upload token was already used."))
    publisher, claims = row.publisher, row.claims
    return PublishedFile.objects.create(
        file=file,
        publisher=publisher,
        issuer=publisher.issuer.url,
        kind=publisher.issuer.kind,
        repository=claims.get("repository", "") or publisher.repository,
        workflow=claims.get("workflow", "") or publisher.workflow,
        environment=claims.get("environment", ""),
        ref=claims.get("ref", ""),
        sha=claims.get("sha", ""),
        run_id=claims.get("run_id", ""),
        summary=publisher.summary()[:800],
        claims=claims,
    )
