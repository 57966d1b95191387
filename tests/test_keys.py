"""Per-purpose keys and secret-key rotation: with the old key among the fallbacks, sessions,
API tokens and the audit chain keep verifying; without it they fail closed."""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import subprocess
import sys

import pytest
from pymacaroons import Macaroon

from strongroom import keys
from strongroom.accounts.actors import Actor
from strongroom.events import chain
from strongroom.events.chain import rekey_chain, verify_chain
from strongroom.events.services import record_event
from strongroom.events.tags import EventTag
from strongroom.tokens import services as tokens
from strongroom.tokens.contexts import upload_context
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db
OLD = "old-secret-key-" * 4
NEW = "new-secret-key-" * 4


@pytest.fixture
def old_key(settings):
    settings.SECRET_KEY = OLD
    settings.SECRET_KEY_FALLBACKS = []
    return settings


def _rotate(settings, *, keep_old: bool) -> None:
    settings.SECRET_KEY = NEW
    settings.SECRET_KEY_FALLBACKS = [OLD] if keep_old else []


def test_each_purpose_has_its_own_key_and_none_is_the_secret(old_key):
    derived = {p: keys.current(p) for p in keys.Purpose}
    assert len({d.key for d in derived.values()}) == len(keys.Purpose)
    assert len({d.key_id for d in derived.values()}) == len(keys.Purpose)
    assert all(OLD.encode() not in d.key for d in derived.values())
    assert "key=" not in repr(derived[keys.Purpose.TOKENS])


def test_fallbacks_are_read_from_the_environment_comma_or_space_separated(tmp_path):
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "strongroom.settings",
        "STRONGROOM_DATA_DIR": str(tmp_path),
        "STRONGROOM_SECRET_KEY": NEW,
        "STRONGROOM_SECRET_KEY_FALLBACKS": f" {OLD}, older-one  oldest,,",
    }
    env.pop("STRONGROOM_DATABASE_URL", None)
    code = "from django.conf import settings; print(settings.SECRET_KEY_FALLBACKS)"
    out = subprocess.run(
        [sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True
    )
    assert out.stdout.strip() == repr([OLD, "older-one", "oldest"])


# --- sessions (Django's SECRET_KEY_FALLBACKS) ---------------------------------------------


def test_a_session_survives_rotation_only_with_the_old_key_as_fallback(old_key, user):
    from django.test import Client

    from tests.conftest import log_in

    kept, dropped = Client(), Client()
    for client in (kept, dropped):
        assert log_in(client, user.username).status_code == 302
        assert client.get("/manage/account/").status_code == 200
    _rotate(old_key, keep_old=False)
    assert dropped.get("/manage/account/").status_code == 302
    _rotate(old_key, keep_old=True)
    assert kept.get("/manage/account/").status_code == 200
    # Django re-keys the session's auth hash on use: it no longer needs the old key.
    _rotate(old_key, keep_old=False)
    assert kept.get("/manage/account/").status_code == 200


# --- API tokens ---------------------------------------------------------------------------


def _context():
    return upload_context(None, "alpha")


def test_a_token_survives_rotation_only_with_the_old_key_as_fallback(old_key, user):
    _token, raw = tokens.create_token(
        Actor.of(user), name="ci", project_names=None, expires_at=None
    )
    _rotate(old_key, keep_old=True)
    assert tokens.verify_token(raw, _context()).user == user
    _rotate(old_key, keep_old=False)
    with pytest.raises(tokens.TokenError, match="signature does not match"):
        tokens.verify_token(raw, _context())


def test_a_token_is_checked_under_the_key_it_names_only(old_key, user):
    _token, raw = tokens.create_token(
        Actor.of(user), name="ci", project_names=None, expires_at=None
    )
    macaroon = Macaroon.deserialize(raw.removeprefix("strongroom-"))
    identifier = json.loads(macaroon.identifier)
    assert identifier["k"] == keys.current(keys.Purpose.TOKENS).key_id
    assert identifier["k"] not in OLD


def _legacy_token(token) -> str:
    """The string the pre-upgrade code minted for ``token``: root key from the raw secret."""
    root = hmac.new(
        OLD.encode(), b"strongroom.tokens.root-key:" + str(token.pk).encode(), hashlib.sha256
    ).digest()
    identifier = json.dumps({"v": 1, "id": str(token.pk)}, separators=(",", ":"))
    macaroon = Macaroon(location="Strongroom", identifier=identifier, key=root, version=1)
    for caveat in token.caveats:
        macaroon.add_first_party_caveat(json.dumps(caveat, separators=(",", ":"), sort_keys=True))
    return "strongroom-" + macaroon.serialize()


def test_tokens_minted_before_the_upgrade_keep_working_and_rotate_like_the_rest(old_key, user):
    token, _raw = tokens.create_token(
        Actor.of(user), name="ci", project_names=None, expires_at=None
    )
    legacy = _legacy_token(token)
    assert tokens.verify_token(legacy, _context()).user == user
    _rotate(old_key, keep_old=True)
    assert tokens.verify_token(legacy, _context()).user == user
    _rotate(old_key, keep_old=False)
    with pytest.raises(tokens.TokenError, match="signature does not match"):
        tokens.verify_token(legacy, _context())


def test_a_v2_token_cannot_be_verified_with_the_raw_secret_derivation(old_key, user):
    token, _raw = tokens.create_token(
        Actor.of(user), name="ci", project_names=None, expires_at=None
    )
    legacy = _legacy_token(token)
    # Relabel the legacy token as v2 naming the current key: the raw-secret root key
    # must not be accepted for it.
    macaroon = Macaroon.deserialize(legacy.removeprefix("strongroom-"))
    kid = keys.current(keys.Purpose.TOKENS).key_id
    ident = json.dumps({"v": 2, "id": str(token.pk), "k": kid}, separators=(",", ":"))
    root = hmac.new(
        OLD.encode(), b"strongroom.tokens.root-key:" + str(token.pk).encode(), hashlib.sha256
    ).digest()
    forged = Macaroon(location="Strongroom", identifier=ident, key=root, version=1)
    for caveat in macaroon.caveats:
        forged.add_first_party_caveat(caveat.caveat_id)
    with pytest.raises(tokens.TokenError, match="signature does not match"):
        tokens.verify_token("strongroom-" + forged.serialize(), _context())


# --- the audit chain ----------------------------------------------------------------------


def _events(n: int, label: str) -> None:
    user = UserFactory()
    for i in range(n):
        record_event(EventTag.ACCOUNT_LOGIN_SUCCESS, actor=user, extra={"n": i, "at": label})


def test_the_chain_verifies_across_a_rotation_only_with_the_old_key(old_key):
    _events(3, "before")
    _rotate(old_key, keep_old=True)
    _events(2, "after")
    result = verify_chain()
    assert result.ok and result.checked == 5, result
    _rotate(old_key, keep_old=False)
    broken = verify_chain()
    assert not broken.ok and broken.sequence == 1, broken


def test_rekey_lets_the_old_key_go(old_key):
    _events(3, "before")
    _rotate(old_key, keep_old=True)
    _events(2, "after")
    assert rekey_chain().ok
    _rotate(old_key, keep_old=False)
    result = verify_chain()
    assert result.ok and result.checked == 5, result


def test_rekey_refuses_a_broken_chain_and_writes_nothing(old_key):
    from strongroom.events.models import Event

    _events(3, "before")
    Event.objects.filter(sequence=2).update(extra={"n": 99})
    hashes = list(Event.objects.order_by("sequence").values_list("hash", flat=True))
    _rotate(old_key, keep_old=True)
    assert not rekey_chain().ok
    assert list(Event.objects.order_by("sequence").values_list("hash", flat=True)) == hashes


def test_events_written_before_the_upgrade_still_verify(old_key, monkeypatch):
    legacy = hmac.new(OLD.encode(), b"strongroom audit chain v1", hashlib.sha256).digest()
    with monkeypatch.context() as patch:
        patch.setattr(chain, "_key", lambda: legacy)  # the pre-upgrade writer
        _events(3, "legacy")
    _events(2, "derived")
    result = verify_chain()
    assert result.ok and result.checked == 5, result


def test_an_event_forged_with_a_key_not_held_is_caught(old_key):
    from strongroom.events.models import Event

    _events(3, "x")
    event = Event.objects.get(sequence=3)
    wrong = hmac.new(b"attacker", b"strongroom audit chain v1", hashlib.sha256).digest()
    event.extra = {"n": 1000}
    event.hash = chain._event_hash(event, wrong)
    event.save()
    assert not verify_chain().ok
