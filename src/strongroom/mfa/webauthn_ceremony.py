"""Thin wrappers around py_webauthn for the two ceremonies, free of HTTP and the database.

The caller supplies the relying party (id, name, origin) and keeps the challenge between
the options and the response.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import webauthn
from webauthn.helpers import base64url_to_bytes, bytes_to_base64url
from webauthn.helpers.exceptions import WebAuthnException
from webauthn.helpers.structs import (
    AttestationConveyancePreference,
    AuthenticatorSelectionCriteria,
    PublicKeyCredentialDescriptor,
    ResidentKeyRequirement,
    UserVerificationRequirement,
)


class CeremonyError(Exception):
    """The browser's answer did not verify."""


class ClonedKey(CeremonyError):
    """The signature counter did not move forward: the key may have been copied."""


@dataclass(frozen=True)
class RelyingParty:
    id: str
    name: str
    origin: str


@dataclass(frozen=True)
class NewCredential:
    credential_id: str  # base64url
    public_key: str  # base64url COSE key
    sign_count: int
    user_verified: bool
    backed_up: bool
    transports: list[str]


def _descriptors(credential_ids: list[str]) -> list[PublicKeyCredentialDescriptor]:
    return [PublicKeyCredentialDescriptor(id=base64url_to_bytes(c)) for c in credential_ids]


def registration_options(
    rp: RelyingParty,
    *,
    user_id: bytes,
    user_name: str,
    exclude: list[str],
    passkey: bool,
) -> tuple[str, bytes]:
    """Options JSON for navigator.credentials.create() and the challenge to keep.

    A passkey is a discoverable credential with user verification; a plain security key
    is neither, so it works with any U2F-era key.
    """
    selection = AuthenticatorSelectionCriteria(
        resident_key=(
            ResidentKeyRequirement.REQUIRED if passkey else ResidentKeyRequirement.DISCOURAGED
        ),
        require_resident_key=passkey,
        user_verification=(
            UserVerificationRequirement.REQUIRED
            if passkey
            else UserVerificationRequirement.DISCOURAGED
        ),
    )
    options = webauthn.generate_registration_options(
        rp_id=rp.id,
        rp_name=rp.name,
        user_id=user_id,
        user_name=user_name,
        user_display_name=user_name,
        attestation=AttestationConveyancePreference.NONE,
        authenticator_selection=selection,
        exclude_credentials=_descriptors(exclude),
    )
    return webauthn.options_to_json(options), options.challenge


def verify_registration(
    rp: RelyingParty, credential: str, *, challenge: bytes, passkey: bool
) -> NewCredential:
    try:
        verified = webauthn.verify_registration_response(
            credential=credential,
            expected_challenge=challenge,
            expected_rp_id=rp.id,
            expected_origin=rp.origin,
            require_user_verification=passkey,
        )
        transports = json.loads(credential).get("response", {}).get("transports", []) or []
    except (WebAuthnException, ValueError, TypeError, KeyError, AttributeError) as exc:
        raise CeremonyError(str(exc)) from exc
    return NewCredential(
        credential_id=bytes_to_base64url(verified.credential_id),
        public_key=bytes_to_base64url(verified.credential_public_key),
        sign_count=verified.sign_count,
        user_verified=verified.user_verified,
        backed_up=verified.credential_backed_up,
        transports=[str(t) for t in transports if isinstance(t, str)][:8],
    )


def authentication_options(
    rp: RelyingParty, *, allow: list[str], require_user_verification: bool
) -> tuple[str, bytes]:
    """Options JSON for navigator.credentials.get(); ``allow`` empty asks for a passkey."""
    options = webauthn.generate_authentication_options(
        rp_id=rp.id,
        allow_credentials=_descriptors(allow),
        user_verification=(
            UserVerificationRequirement.REQUIRED
            if require_user_verification
            else UserVerificationRequirement.DISCOURAGED
        ),
    )
    return webauthn.options_to_json(options), options.challenge


def credential_id_of(credential: str) -> tuple[str, str | None]:
    """The credential id (base64url) and user handle a browser answer claims, unverified."""
    try:
        data: Any = json.loads(credential)
        raw_id = data["rawId"] if "rawId" in data else data["id"]
        handle = data.get("response", {}).get("userHandle")
        bytes_to_base64url(base64url_to_bytes(str(raw_id)))
    except (ValueError, TypeError, KeyError, AttributeError) as exc:
        raise CeremonyError("malformed credential") from exc
    return str(raw_id), str(handle) if handle else None


def check_sign_count(stored: int, received: int) -> None:
    """Raise ClonedKey unless the counter moved forward (WebAuthn §6.1.1).

    Keys that keep no counter report 0 every time; only when either side is nonzero
    must the new value be larger.
    """
    if (stored > 0 or received > 0) and received <= stored:
        raise ClonedKey(f"signature counter {received} is not above {stored}")


def verify_authentication(
    rp: RelyingParty,
    credential: str,
    *,
    challenge: bytes,
    public_key: str,
    sign_count: int,
    require_user_verification: bool,
) -> int:
    """Verify an assertion; return the new signature counter."""
    try:
        verified = webauthn.verify_authentication_response(
            credential=credential,
            expected_challenge=challenge,
            expected_rp_id=rp.id,
            expected_origin=rp.origin,
            credential_public_key=base64url_to_bytes(public_key),
            # Counted here as 0 so the library does not raise; check_sign_count then
            # tells a cloned key apart from an invalid signature.
            credential_current_sign_count=0,
            require_user_verification=require_user_verification,
        )
    except (WebAuthnException, ValueError, TypeError, KeyError, AttributeError) as exc:
        raise CeremonyError(str(exc)) from exc
    check_sign_count(sign_count, verified.new_sign_count)
    return verified.new_sign_count
