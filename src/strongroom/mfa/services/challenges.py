"""WebAuthn relying party and the single-use challenge held in the session."""

from __future__ import annotations

import time
from typing import Any

from django.conf import settings
from django.contrib.sessions.backends.base import SessionBase
from django.http import HttpRequest
from django.http.request import split_domain_port
from webauthn.helpers import bytes_to_base64url

from strongroom.mfa import webauthn_ceremony as ceremony

CHALLENGE_KEY = "strongroom_mfa_challenge"
CHALLENGE_MAX_AGE = 5 * 60


def relying_party(request: HttpRequest) -> ceremony.RelyingParty:
    """The WebAuthn relying party: configured id, else this request's host name."""
    host = request.get_host()
    domain, _port = split_domain_port(host)
    return ceremony.RelyingParty(
        id=settings.WEBAUTHN_RP_ID or domain,
        name=settings.WEBAUTHN_RP_NAME,
        origin=f"{request.scheme}://{host}",
    )


def _store_challenge(session: SessionBase, purpose: str, challenge: bytes, **extra: Any) -> None:
    session[CHALLENGE_KEY] = {
        "purpose": purpose,
        "challenge": bytes_to_base64url(challenge),
        "at": time.time(),
        **extra,
    }


def _take_challenge(session: SessionBase, purpose: str) -> dict[str, Any] | None:
    """The pending challenge for ``purpose``, once (a challenge is single use)."""
    state = session.pop(CHALLENGE_KEY, None)
    if not isinstance(state, dict) or state.get("purpose") != purpose:
        return None
    if time.time() - float(state.get("at", 0)) > CHALLENGE_MAX_AGE:
        return None
    return state
