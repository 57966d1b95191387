"""Minting and verifying the macaroons behind API tokens.

The root key of each token is derived from the instance secret and the token id, so
the database alone (which holds ids and caveats) is not enough to rebuild a token.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from dataclasses import dataclass

from pymacaroons import Macaroon, Verifier
from pymacaroons.exceptions import MacaroonException

from strongroom.tokens.caveats import (
    Caveat,
    CaveatError,
    MalformedCaveat,
    UploadContext,
    check_all,
    parse_caveat,
    serialize_caveat,
)

IDENTIFIER_VERSION = 1
MAX_TOKEN_LENGTH = 16 * 1024


class MalformedToken(ValueError):
    """Not a token this server could have issued (or a holder narrowed)."""


class InvalidToken(ValueError):
    """A well-formed token whose signature or caveats do not hold."""


@dataclass(frozen=True)
class ParsedToken:
    token_id: str
    macaroon: Macaroon
    caveats: list[Caveat]


def derive_key(secret: str, token_id: str) -> bytes:
    return hmac.new(
        secret.encode(), b"strongroom.tokens.root-key:" + token_id.encode(), hashlib.sha256
    ).digest()


def mint(*, prefix: str, location: str, secret: str, token_id: str, caveats: list[Caveat]) -> str:
    identifier = json.dumps({"v": IDENTIFIER_VERSION, "id": token_id}, separators=(",", ":"))
    macaroon = Macaroon(
        location=location, identifier=identifier, key=derive_key(secret, token_id), version=1
    )
    for caveat in caveats:
        macaroon.add_first_party_caveat(serialize_caveat(caveat))
    return prefix + macaroon.serialize()


def parse(raw: str, *, prefix: str) -> ParsedToken:
    """Decode a token string without trusting it; MalformedToken for anything odd."""
    if not isinstance(raw, str) or len(raw) > MAX_TOKEN_LENGTH:
        raise MalformedToken("The API token is too long.")
    if not raw.startswith(prefix):
        raise MalformedToken(f"The API token does not start with {prefix!r}.")
    body = raw[len(prefix) :].strip()
    try:
        macaroon = Macaroon.deserialize(body)
        identifier = json.loads(macaroon.identifier)
        caveat_ids = [c.caveat_id for c in macaroon.caveats]
        if any(c.verification_key_id or c.location for c in macaroon.caveats):
            raise MalformedToken("The API token has a third-party caveat.")
        caveats = [parse_caveat(c) for c in caveat_ids]
    except MalformedToken:
        raise
    except (MacaroonException, MalformedCaveat, ValueError, TypeError, UnicodeError) as exc:
        raise MalformedToken("The API token is malformed.") from exc
    except Exception as exc:  # pymacaroons raises assorted errors on hostile input
        raise MalformedToken("The API token is malformed.") from exc
    if (
        not isinstance(identifier, dict)
        or identifier.get("v") != IDENTIFIER_VERSION
        or not isinstance(identifier.get("id"), str)
    ):
        raise MalformedToken("The API token is malformed.")
    return ParsedToken(token_id=identifier["id"], macaroon=macaroon, caveats=caveats)


def verify_signature(parsed: ParsedToken, *, secret: str) -> None:
    """Check the HMAC chain alone; raise InvalidToken. Caveats are checked separately."""
    verifier = Verifier()
    # Caveats are checked below with their reasons; here only the HMAC chain.
    verifier.satisfy_general(lambda _caveat: True)
    try:
        ok = verifier.verify(parsed.macaroon, derive_key(secret, parsed.token_id))
    except MacaroonException as exc:
        raise InvalidToken("The API token is not valid.") from exc
    except Exception as exc:
        raise InvalidToken("The API token is not valid.") from exc
    if not ok:
        raise InvalidToken("The API token is not valid.")


def verify(parsed: ParsedToken, *, secret: str, context: UploadContext, token_user: str) -> None:
    """Check the signature, then every caveat the token carries; raise InvalidToken."""
    verify_signature(parsed, secret=secret)
    try:
        check_all(parsed.caveats, context, token_user)
    except CaveatError as exc:
        raise InvalidToken(str(exc)) from exc
