"""Tokens whose principal is a trusted publisher rather than an account.

The same macaroons as API tokens (``tokens.macaroons``, the tokens key), with a
``publisher`` caveat instead of a ``user`` one. The publishing app keeps the row (its id
is the token id) and decides whether the publisher may still upload; this module only
mints the string and checks its signature and caveats. Free of HTTP.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.conf import settings

from strongroom.keys import Purpose, candidates, current
from strongroom.tokens import macaroons
from strongroom.tokens.caveats import (
    Caveat,
    Expiry,
    ProjectRef,
    Projects,
    PublisherPrincipal,
    TokenContext,
    publisher_principal,
)


@dataclass(frozen=True)
class PublisherToken:
    """A publisher token whose signature and caveats hold for the context it was checked in."""

    token_id: str
    publisher_id: str


def mint_publisher_token(
    *, token_id: str, publisher_id: str, project: ProjectRef, not_before: int, expires_at: int
) -> str:
    """A token for ``publisher_id`` to upload to ``project`` alone, until ``expires_at``."""
    caveats: list[Caveat] = [
        PublisherPrincipal(publisher_id=publisher_id),
        Expiry(not_before=not_before, expires_at=expires_at),
        Projects(projects=(project,)),
    ]
    return macaroons.mint(
        prefix=settings.TOKEN_PREFIX,
        location=settings.BASE_URL,
        key=current(Purpose.TOKENS),
        token_id=token_id,
        caveats=caveats,
    )


def claimed_publisher(raw: str) -> tuple[str, str] | None:
    """(token id, publisher id) when ``raw`` is shaped like a publisher token; trusts nothing.

    Routes a presented token to the publishing app; :func:`verify_publisher_token` decides.
    """
    try:
        parsed = macaroons.parse(raw, prefix=settings.TOKEN_PREFIX)
    except macaroons.MalformedToken:
        return None
    principals = [c for c in parsed.caveats if isinstance(c, PublisherPrincipal)]
    if not principals:
        return None
    return parsed.token_id, principals[0].publisher_id


def verify_publisher_token(raw: str, context: TokenContext) -> PublisherToken:
    """Signature, then every caveat (the server's and any the holder appended) against
    ``context``, for the publisher the token names. Raises macaroons.InvalidToken or
    MalformedToken with the sentence to show."""
    parsed = macaroons.parse(raw, prefix=settings.TOKEN_PREFIX)
    principals = {c.publisher_id for c in parsed.caveats if isinstance(c, PublisherPrincipal)}
    if len(principals) != 1:
        raise macaroons.InvalidToken("The token does not name exactly one trusted publisher.")
    (publisher_id,) = principals
    macaroons.verify(
        parsed,
        keys=candidates(Purpose.TOKENS),
        context=context,
        token_user=publisher_principal(publisher_id),
    )
    return PublisherToken(token_id=parsed.token_id, publisher_id=publisher_id)
