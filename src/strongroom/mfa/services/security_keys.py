"""Security keys and passkeys: registration and removal."""

from __future__ import annotations

from django.contrib.sessions.backends.base import SessionBase
from django.db import transaction
from django.utils.translation import gettext as _
from webauthn.helpers import base64url_to_bytes

from strongroom.accounts.actors import Actor
from strongroom.mfa import webauthn_ceremony as ceremony
from strongroom.mfa.models import LABEL_MAX_LENGTH, SecurityKey
from strongroom.mfa.services.challenges import _store_challenge, _take_challenge
from strongroom.mfa.services.changes import (
    _factor_added,
    _factor_removed,
    _lock,
    _refuse_removing_last_factor,
    _require_may_change_factors,
)
from strongroom.mfa.services.common import (
    MfaError,
)


def webauthn_registration_options(
    actor: Actor, session: SessionBase, rp: ceremony.RelyingParty, *, passkey: bool
) -> str:
    """Options JSON for the browser to create a credential for ``user``."""
    user = _require_may_change_factors(actor, adding=True)
    existing = list(SecurityKey.objects.filter(user=user).values_list("credential_id", flat=True))
    options, challenge = ceremony.registration_options(
        rp,
        user_id=user.pk.bytes,
        user_name=user.username,
        exclude=existing,
        passkey=passkey,
    )
    _store_challenge(session, "register", challenge, passkey=passkey)
    return options


def clean_label(label: str) -> str:
    label = " ".join((label or "").split())
    if not label:
        raise MfaError(_("Give the key a name, so you can tell your keys apart."))
    if len(label) > LABEL_MAX_LENGTH:
        raise MfaError(
            _("The name can be at most %(max)d characters long.") % {"max": LABEL_MAX_LENGTH}
        )
    return label


def add_security_key(
    actor: Actor,
    session: SessionBase,
    rp: ceremony.RelyingParty,
    *,
    label: str,
    credential: str,
) -> list[str] | None:
    """Register the credential the browser created for the acting user, against the
    challenge held in ``session``; returns recovery codes if it is the first factor."""
    user = _require_may_change_factors(actor, adding=True)
    label = clean_label(label)
    state = _take_challenge(session, "register")
    if state is None:
        raise MfaError(_("The registration took too long or was already used. Try again."))
    try:
        new = ceremony.verify_registration(
            rp,
            credential,
            challenge=base64url_to_bytes(state["challenge"]),
            passkey=bool(state.get("passkey")),
        )
    except ceremony.CeremonyError as exc:
        raise MfaError(_("The security key could not be registered. Try again.")) from exc
    with transaction.atomic():
        _lock(user)
        if SecurityKey.objects.filter(user=user, label__iexact=label).exists():
            raise MfaError(_("You already have a key with this name. Choose another name."))
        if SecurityKey.objects.filter(credential_id=new.credential_id).exists():
            raise MfaError(_("This key is already registered."))
        passkey = bool(state.get("passkey")) and new.user_verified
        SecurityKey.objects.create(
            user=user,
            label=label,
            credential_id=new.credential_id,
            public_key=new.public_key,
            sign_count=new.sign_count,
            is_passkey=passkey,
            backed_up=new.backed_up,
            transports=new.transports,
        )
        return _factor_added(actor, session, user, "passkey" if passkey else "webauthn", label)


def remove_security_key(
    actor: Actor, session: SessionBase | None, key_id: int, typed_label: str
) -> None:
    """Remove a key after re-authentication, once its label was typed to confirm."""
    user = _require_may_change_factors(actor, adding=False)
    with transaction.atomic():
        _lock(user)
        key = SecurityKey.objects.filter(user=user, pk=key_id).first()
        if key is None:
            raise MfaError(_("That key is not on your account."))
        if " ".join((typed_label or "").split()) != key.label:
            raise MfaError(_("Type the key's name exactly to confirm its removal."))
        method = "passkey" if key.is_passkey else "webauthn"
        key.delete()
        _refuse_removing_last_factor(user)
        _factor_removed(actor, session, user, method, key.label)
