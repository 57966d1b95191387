"""Minting and verifying the macaroons behind API tokens.

The root key of each token is derived from the tokens key (see ``strongroom.keys``) and the
token id, so the database alone (which holds ids and caveats) is not enough to rebuild a
token. The identifier names which key: ``{"v": 2, "id": ..., "k": <key id>}``. Version 1
identifiers (tokens minted before per-purpose keys) keyed the root key with the instance
secret itself; they still verify, under each secret the server still accepts.

A token string is accepted only in the one spelling this server writes: decoding and
re-encoding it must give the same characters back, so no two strings are the same token.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from dataclasses import dataclass

from pymacaroons import Macaroon, Verifier
from pymacaroons.exceptions import MacaroonException

from strongroom.keys import DerivedKey
from strongroom.tokens.caveats import (
    Caveat,
    CaveatError,
    MalformedCaveat,
    TokenContext,
    check_all,
    parse_caveat,
    serialize_caveat,
)

IDENTIFIER_VERSION = 2
LEGACY_IDENTIFIER_VERSION = 1
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
    version: int = IDENTIFIER_VERSION
    key_id: str = ""  # the tokens key that made it (version 2)


def root_key(key: DerivedKey, token_id: str) -> bytes:
    """The macaroon root key of one token, under the tokens key ``key``."""
    return hmac.new(
        key.key, b"strongroom.tokens.root-key:" + token_id.encode(), hashlib.sha256
    ).digest()


def mint(
    *, prefix: str, location: str, key: DerivedKey, token_id: str, caveats: list[Caveat]
) -> str:
    identifier = json.dumps(
        {"v": IDENTIFIER_VERSION, "id": token_id, "k": key.key_id}, separators=(",", ":")
    )
    macaroon = Macaroon(
        location=location, identifier=identifier, key=root_key(key, token_id), version=1
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
        if macaroon.version != 1 or macaroon.serialize() != body:
            # The decoder ignores what follows the last packet, padding and the base64
            # alphabet: only the spelling mint() writes names the token.
            raise MalformedToken("The API token is not in its canonical form.")
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
    if not isinstance(identifier, dict) or not isinstance(identifier.get("id"), str):
        raise MalformedToken("The API token is malformed.")
    version = identifier.get("v")
    if version == IDENTIFIER_VERSION and set(identifier) == {"v", "id", "k"}:
        key_id = identifier["k"]
        if not isinstance(key_id, str):
            raise MalformedToken("The API token is malformed.")
    elif version == LEGACY_IDENTIFIER_VERSION and set(identifier) == {"v", "id"}:
        key_id = ""
    else:
        raise MalformedToken("The API token is malformed.")
    return ParsedToken(
        token_id=identifier["id"],
        macaroon=macaroon,
        caveats=caveats,
        version=version,
        key_id=key_id,
    )


def _signature_holds(parsed: ParsedToken, key: bytes) -> bool:
    verifier = Verifier()
    # Caveats are checked by check_all with their reasons; here only the HMAC chain.
    verifier.satisfy_general(lambda _caveat: True)
    try:
        return bool(verifier.verify(parsed.macaroon, key))
    except MacaroonException:
        return False
    except Exception:  # pymacaroons raises assorted errors on hostile input
        return False


def verify_signature(
    parsed: ParsedToken, *, keys: list[DerivedKey], legacy_keys: list[DerivedKey]
) -> None:
    """Check the HMAC chain alone against the keys the server accepts; raise InvalidToken.

    ``keys`` are the accepted tokens keys, current first; a version 2 token is checked
    under the one whose id it names. ``legacy_keys`` are the instance secrets as keys, for
    version 1 tokens.
    """
    if parsed.version == LEGACY_IDENTIFIER_VERSION:
        roots = [root_key(k, parsed.token_id) for k in legacy_keys]
    else:
        roots = [
            root_key(k, parsed.token_id)
            for k in keys
            if hmac.compare_digest(k.key_id.encode(), parsed.key_id.encode())
        ]
    if not any(_signature_holds(parsed, root) for root in roots):
        raise InvalidToken("The API token is not valid.")


def verify(
    parsed: ParsedToken,
    *,
    keys: list[DerivedKey],
    legacy_keys: list[DerivedKey] | None = None,
    context: TokenContext,
    token_user: str,
) -> None:
    """Check the signature, then the context against every caveat; raise InvalidToken."""
    verify_signature(parsed, keys=keys, legacy_keys=legacy_keys or [])
    try:
        check_all(parsed.caveats, context, token_user)
    except CaveatError as exc:
        raise InvalidToken(str(exc)) from exc
