"""Verifying an OIDC token (a JWT) with PyJWT, and matching its claims to a publisher.

The signature is checked against the issuer's cached JWKS (fetched again, at most every
``JWKS_REFRESH_SECONDS``, when the token names an unknown ``kid``); ``iss`` must be a
registered, enabled issuer; ``aud`` exactly our audience; ``exp``/``nbf``/``iat`` hold with
``OIDC_LEEWAY`` seconds of skew. Refusals are :class:`TokenRefused` with a sentence.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import urlparse

import jwt
from django.conf import settings
from django.utils import timezone
from django.utils.translation import gettext as _

from strongroom.publishing import oidc
from strongroom.publishing.models import Issuer, Publisher

# Asymmetric algorithms only: an "HS256" token signed with a public key is the classic
# key-confusion attack; "none" is no signature at all.
ALGORITHMS = ["RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "EdDSA"]
JWKS_REFRESH_SECONDS = 10
MAX_OIDC_LIFETIME = 24 * 3600
MAX_JWT_LENGTH = 16 * 1024
# GitHub events whose workflow runs code from someone else's fork with the base's identity.
UNTRUSTED_GITHUB_EVENTS = frozenset({"pull_request_target", "workflow_run"})


class TokenRefused(Exception):
    """An OIDC token this server will not exchange. ``code`` is PyPI's error code."""

    def __init__(self, message: str, *, code: str = "invalid-token", status: int = 422):
        super().__init__(message)
        self.message = message
        self.code = code
        self.status = status


@dataclass(frozen=True)
class VerifiedClaims:
    issuer: Issuer
    claims: dict[str, Any]

    @property
    def replay_key(self) -> str:
        """``jti``, or for issuers without one (Google) the token's own signature-bound hash."""
        return str(self.claims["jti"])


def audience_for(issuer: Issuer | None) -> str:
    return (issuer.audience if issuer is not None else "") or settings.OIDC_AUDIENCE


def _unverified(raw: str) -> tuple[dict[str, Any], dict[str, Any]]:
    if not isinstance(raw, str) or not raw or len(raw) > MAX_JWT_LENGTH:
        raise TokenRefused(_("The OIDC token is missing or too long."), code="invalid-payload")
    try:
        header = jwt.get_unverified_header(raw)
        claims = jwt.decode(raw, options={"verify_signature": False})
    except jwt.PyJWTError:
        raise TokenRefused(_("The OIDC token is not a valid JWT.")) from None
    if not isinstance(claims, dict):
        raise TokenRefused(_("The OIDC token is not a valid JWT."))
    return header, claims


def _key_set(issuer: Issuer, *, refresh: bool) -> dict[str, Any]:
    if refresh or not issuer.jwks:
        if not issuer.jwks_uri:
            issuer.jwks_uri = oidc.discover(issuer.url)
        issuer.jwks = oidc.fetch_jwks(issuer.jwks_uri)
        issuer.jwks_fetched = timezone.now()
        Issuer.objects.filter(pk=issuer.pk).update(
            jwks_uri=issuer.jwks_uri, jwks=issuer.jwks, jwks_fetched=issuer.jwks_fetched
        )
    return issuer.jwks


def _find_key(jwks: dict[str, Any], kid: object) -> jwt.PyJWK | None:
    for data in jwks.get("keys", []):
        if data.get("kid") == kid and data.get("use", "sig") == "sig":
            try:
                return jwt.PyJWK(data)
            except jwt.PyJWTError:
                raise oidc.IssuerUnavailable(
                    _("The issuer's key set holds a key this server cannot read.")
                ) from None
    return None


def signing_key(issuer: Issuer, kid: object, now: datetime) -> jwt.PyJWK:
    """The issuer's key ``kid``: from the cache, else from a fresh fetch of the JWKS."""
    key = _find_key(_key_set(issuer, refresh=False), kid)
    recently = issuer.jwks_fetched and now - issuer.jwks_fetched < timedelta(
        seconds=JWKS_REFRESH_SECONDS
    )
    if key is None and not recently:
        key = _find_key(_key_set(issuer, refresh=True), kid)
    if key is None:
        raise TokenRefused(
            _("The OIDC token is signed with a key (kid %(kid)s) that %(issuer)s does not publish.")
            % {"kid": str(kid)[:80], "issuer": issuer.url}
        )
    return key


def verify_oidc_token(raw: str, now: datetime | None = None) -> VerifiedClaims:
    """Check signature, ``iss``, ``aud``, times and the required claims; return the claims.

    Raises TokenRefused, or oidc.IssuerUnavailable when the issuer cannot be asked.
    """
    now = now or timezone.now()
    header, unverified = _unverified(raw)
    iss = unverified.get("iss")
    issuer = Issuer.objects.filter(url=iss, enabled=True).first() if isinstance(iss, str) else None
    if issuer is None:
        raise TokenRefused(
            _("The OIDC token's issuer (%(iss)s) is not a trusted issuer of this index.")
            % {"iss": str(iss)[:200]}
        )
    if header.get("alg") not in ALGORITHMS:
        raise TokenRefused(_("The OIDC token is not signed with an accepted algorithm."))
    key = signing_key(issuer, header.get("kid"), now)
    required = ["iss", "aud", "exp", "iat", "sub"]
    if issuer.kind != Issuer.Kind.GOOGLE:
        required.append("jti")
    try:
        claims = jwt.decode(
            raw,
            key=key,
            algorithms=[header["alg"]],
            audience=audience_for(issuer),
            issuer=issuer.url,
            leeway=settings.OIDC_LEEWAY,
            options={"require": required, "strict_aud": True},
        )
    except jwt.InvalidSignatureError:
        raise TokenRefused(_("The OIDC token's signature does not verify.")) from None
    except jwt.ExpiredSignatureError:
        raise TokenRefused(_("The OIDC token has expired.")) from None
    except jwt.ImmatureSignatureError:
        raise TokenRefused(
            _("The OIDC token is not valid yet (nbf or iat in the future).")
        ) from None
    except jwt.InvalidAudienceError:
        raise TokenRefused(
            _("The OIDC token's audience is not %(aud)s, the audience of this index.")
            % {"aud": audience_for(issuer)}
        ) from None
    except jwt.InvalidIssuerError:
        raise TokenRefused(_("The OIDC token's issuer does not match.")) from None
    except jwt.MissingRequiredClaimError as exc:
        raise TokenRefused(
            _("The OIDC token lacks the %(claim)s claim.") % {"claim": exc.claim}
        ) from None
    except jwt.PyJWTError as exc:
        raise TokenRefused(
            _("The OIDC token is not valid: %(why)s") % {"why": str(exc)[:200]}
        ) from None
    if int(claims["exp"]) > now.timestamp() + MAX_OIDC_LIFETIME:
        # The replay lock must outlive the token: a token valid for days is no CI token.
        raise TokenRefused(_("The OIDC token is valid for too long (more than a day)."))
    if "jti" not in claims:
        claims["jti"] = "sig:" + raw.rsplit(".", 1)[-1][:200]
    if not isinstance(claims["jti"], str) or not 0 < len(claims["jti"]) <= 200:
        raise TokenRefused(_("The OIDC token's jti claim is not valid."))
    return VerifiedClaims(issuer=issuer, claims=claims)


# --- matching claims to publishers ---------------------------------------------------------


def _text(claims: dict[str, Any], name: str) -> str:
    value = claims.get(name)
    return value if isinstance(value, str) else ""


def _github_workflow_matches(publisher: Publisher, claims: dict[str, Any]) -> bool:
    """The workflow that ran: a file of the publisher's repository (``workflow_ref``, the
    top-level workflow), or a reusable workflow named by its full path
    (``job_workflow_ref``: the workflow whose job is running when one calls another)."""
    workflow = publisher.workflow.lower().split("@", 1)[0]
    job = _text(claims, "job_workflow_ref").split("@", 1)[0].lower()
    top = _text(claims, "workflow_ref").split("@", 1)[0].lower()
    if "/" in workflow:
        return bool(job) and job == workflow
    folders = [".github/workflows"]
    if publisher.issuer.kind == Issuer.Kind.FORGEJO:
        folders += [".forgejo/workflows", ".gitea/workflows"]
    repository = publisher.repository.lower()
    return bool(top) and top in {f"{repository}/{folder}/{workflow}" for folder in folders}


def _environment_matches(publisher: Publisher, claims: dict[str, Any]) -> bool:
    if not publisher.environment:
        return True
    return _text(claims, "environment").lower() == publisher.environment.lower()


def publisher_matches(publisher: Publisher, claims: dict[str, Any]) -> bool:
    """Whether the verified ``claims`` are this publisher's CI identity."""
    kind = publisher.issuer.kind
    if kind in {Issuer.Kind.GITHUB, Issuer.Kind.FORGEJO}:
        return (
            _text(claims, "repository").lower() == publisher.repository.lower()
            and _github_workflow_matches(publisher, claims)
            and _environment_matches(publisher, claims)
        )
    if kind == Issuer.Kind.GITLAB:
        host = urlparse(publisher.issuer.url).netloc
        path = _text(claims, "project_path")
        expected = f"{host}/{path}//{publisher.workflow}"
        return (
            path.lower() == publisher.repository.lower()
            and _text(claims, "ci_config_ref_uri").split("@", 1)[0].lower() == expected.lower()
            and _environment_matches(publisher, claims)
        )
    if kind == Issuer.Kind.GOOGLE:
        sub = (publisher.claims or {}).get("sub")
        return (
            claims.get("email_verified") is True
            and _text(claims, "email").lower() == publisher.repository.lower()
            and (not sub or _text(claims, "sub") == sub)
        )
    policy = publisher.claims or {}
    return bool(policy.get("sub")) and all(
        isinstance(claims.get(name), str | int | bool) and str(claims.get(name)) == str(value)
        for name, value in policy.items()
    )


def identity_repository(issuer: Issuer, claims: dict[str, Any]) -> str | None:
    """The claim a publisher's ``repository`` must equal (case aside); None for generic kinds."""
    if issuer.kind == Issuer.Kind.GITLAB:
        return _text(claims, "project_path")
    if issuer.is_github_like:
        return _text(claims, "repository")
    if issuer.kind == Issuer.Kind.GOOGLE:
        return _text(claims, "email")
    return None


def untrusted_event(issuer: Issuer, claims: dict[str, Any]) -> str | None:
    """The event name when a github-like token comes from an event that runs fork code."""
    if issuer.is_github_like and _text(claims, "event_name") in UNTRUSTED_GITHUB_EVENTS:
        return _text(claims, "event_name")
    return None


def recorded_claims(issuer: Issuer, claims: dict[str, Any]) -> dict[str, str]:
    """The claims a file records: repository, workflow, ref, sha, run id, environment."""
    if issuer.kind == Issuer.Kind.GITLAB:
        picked = {
            "repository": _text(claims, "project_path"),
            "workflow": _text(claims, "ci_config_ref_uri"),
            "ref": _text(claims, "ref_path") or _text(claims, "ref"),
            "sha": _text(claims, "sha"),
            "run_id": str(claims.get("pipeline_id", "")),
        }
    elif issuer.is_github_like:
        picked = {
            "repository": _text(claims, "repository"),
            "workflow": _text(claims, "job_workflow_ref") or _text(claims, "workflow_ref"),
            "ref": _text(claims, "ref"),
            "sha": _text(claims, "sha"),
            "run_id": str(claims.get("run_id", "")),
        }
    else:
        picked = {
            "repository": _text(claims, "email") or _text(claims, "sub"),
            "workflow": "",
            "ref": _text(claims, "ref"),
            "sha": _text(claims, "sha"),
            "run_id": "",
        }
    picked["environment"] = _text(claims, "environment")
    picked["sub"] = _text(claims, "sub")
    return {k: v[:300] for k, v in picked.items()}
