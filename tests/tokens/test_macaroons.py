"""Token primitives: minting, offline narrowing, tampering, malformed input."""

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pymacaroons import Macaroon

from strongroom.keys import DerivedKey
from strongroom.tokens import macaroons
from strongroom.tokens.caveats import (
    Expiry,
    OwnedBy,
    Permission,
    ProjectRef,
    Projects,
    TokenContext,
)

PREFIX = "strongroom-"
KEY = DerivedKey(key_id="k1", key=b"instance tokens key")
NOW = datetime(2026, 11, 21, 12, 0, tzinfo=UTC)


def _mint(*caveats, token_id="tok-1"):
    return macaroons.mint(
        prefix=PREFIX, location="test", key=KEY, token_id=token_id, caveats=list(caveats)
    )


def _verify(raw, project="alpha", project_id="p-alpha", now=NOW, user="u-1"):
    parsed = macaroons.parse(raw, prefix=PREFIX)
    ctx = TokenContext(
        now=now,
        permission=Permission.UPLOAD,
        project_id=project_id,
        project_name=project,
        organization_id=None,
    )
    macaroons.verify(parsed, keys=[KEY], context=ctx, token_user=user)
    return parsed


def test_scoped_token_is_valid_for_its_projects_only():
    raw = _mint(
        OwnedBy("u-1"),
        Projects((ProjectRef("p-alpha", "alpha"), ProjectRef("p-beta", "beta"))),
    )
    _verify(raw, "alpha", "p-alpha")
    _verify(raw, "beta", "p-beta")
    with pytest.raises(macaroons.InvalidToken, match="scoped to alpha, beta and is not valid"):
        _verify(raw, "gamma", "p-gamma")


def test_project_reregistered_under_the_same_name_is_refused():
    raw = _mint(Projects((ProjectRef("p-alpha", "alpha"),)))
    with pytest.raises(macaroons.InvalidToken):
        _verify(raw, "alpha", "p-someone-elses-alpha")


def test_expired_and_not_yet_valid_tokens_are_refused():
    start = int(NOW.timestamp())
    raw = _mint(Expiry(not_before=start, expires_at=start + 3600))
    _verify(raw, now=NOW + timedelta(minutes=59))
    with pytest.raises(macaroons.InvalidToken, match="expired"):
        _verify(raw, now=NOW + timedelta(hours=1))
    with pytest.raises(macaroons.InvalidToken, match="not valid yet"):
        _verify(raw, now=NOW - timedelta(seconds=1))


def test_holder_can_narrow_a_token_offline():
    raw = _mint(OwnedBy("u-1"))
    macaroon = Macaroon.deserialize(raw.removeprefix(PREFIX))
    macaroon.add_first_party_caveat('{"v":1,"t":"projects","p":[{"n":"alpha"}]}')
    narrowed = PREFIX + macaroon.serialize()
    _verify(narrowed, "alpha", "p-alpha")
    with pytest.raises(macaroons.InvalidToken, match="not valid for beta"):
        _verify(narrowed, "beta", "p-beta")


def test_removing_a_caveat_breaks_the_signature():
    raw = _mint(OwnedBy("u-1"), Projects((ProjectRef("p-alpha", "alpha"),)))
    original = Macaroon.deserialize(raw.removeprefix(PREFIX))
    stripped = Macaroon(
        location=original.location, identifier=original.identifier, key=b"guess", version=1
    )
    stripped.add_first_party_caveat(original.caveats[0].caveat_id)
    with pytest.raises(macaroons.InvalidToken, match="not valid"):
        _verify(PREFIX + stripped.serialize(), "beta", "p-beta")


def test_token_signed_with_another_instance_secret_is_refused():
    other = DerivedKey(key_id=KEY.key_id, key=b"another instance's key")
    raw = macaroons.mint(prefix=PREFIX, location="x", key=other, token_id="tok-1", caveats=[])
    with pytest.raises(macaroons.InvalidToken):
        _verify(raw)


def test_unknown_caveat_type_makes_the_token_malformed():
    raw = _mint()
    macaroon = Macaroon.deserialize(raw.removeprefix(PREFIX))
    macaroon.add_first_party_caveat('{"v":1,"t":"ip","allow":"0.0.0.0/0"}')
    with pytest.raises(macaroons.MalformedToken):
        macaroons.parse(PREFIX + macaroon.serialize(), prefix=PREFIX)


@pytest.mark.parametrize(
    "raw",
    ["", "pypi-AgEIcHlwaS5vcmc", PREFIX, PREFIX + "!!!", PREFIX + "AAAA", PREFIX + "x" * 20000],
)
def test_malformed_strings_raise_malformed_token(raw):
    with pytest.raises(macaroons.MalformedToken):
        macaroons.parse(raw, prefix=PREFIX)


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=400))
def test_any_string_is_parsed_or_refused_cleanly(text):
    for candidate in (text, PREFIX + text):
        try:
            parsed = macaroons.parse(candidate, prefix=PREFIX)
        except macaroons.MalformedToken:
            continue
        with pytest.raises((macaroons.InvalidToken,)):
            _verify_any(parsed)


def _verify_any(parsed):
    ctx = TokenContext(
        now=NOW,
        permission=Permission.UPLOAD,
        project_id="p",
        project_name="p",
        organization_id=None,
    )
    macaroons.verify(parsed, keys=[KEY], context=ctx, token_user="u")
    raise macaroons.InvalidToken("verified a random string")  # should be impossible


@settings(max_examples=200, deadline=None)
@given(st.binary(max_size=300))
def test_mutated_real_tokens_never_raise_anything_else(noise):
    raw = _mint(OwnedBy("u-1"))
    body = raw.removeprefix(PREFIX)
    cut = len(noise) % max(1, len(body))
    candidate = PREFIX + body[:cut] + noise.decode("latin-1") + body[cut:]
    try:
        parsed = macaroons.parse(candidate, prefix=PREFIX)
        _verify(candidate, user="u-1") if parsed else None
    except (macaroons.MalformedToken, macaroons.InvalidToken):
        pass
