"""Recovery codes, the secret box, the WebAuthn counter rule and the QR code."""

import base64

import pytest

from strongroom.mfa import qr, recovery, secrets_box
from strongroom.mfa.webauthn_ceremony import ClonedKey, check_sign_count


def test_eight_distinct_codes_of_64_bits():
    codes = recovery.generate_codes()
    assert len(codes) == 8 == len(set(codes))
    for code in codes:
        raw = recovery.normalize_code(code)
        assert len(raw) == 16 and int(raw, 16) >= 0  # 16 hex digits = 64 bits


def test_recovery_codes_are_stored_salted_and_checked_loosely():
    code = recovery.generate_codes(1)[0]
    stored = recovery.hash_code(code)
    assert recovery.normalize_code(code) not in stored
    assert recovery.hash_code(code) != stored  # a fresh salt each time
    assert recovery.check_code(code, stored)
    assert recovery.check_code(code.upper().replace("-", " "), stored)
    assert not recovery.check_code("0000-0000-0000-0000", stored)
    assert not recovery.check_code(code, "garbage")


def test_totp_secrets_are_encrypted_at_rest(settings):
    sealed = secrets_box.seal("JBSWY3DPEHPK3PXP")
    assert "JBSWY3DPEHPK3PXP" not in sealed
    assert secrets_box.unseal(sealed) == "JBSWY3DPEHPK3PXP"
    settings.SECRET_KEY = "another-key-" * 5
    with pytest.raises(ValueError):
        secrets_box.unseal(sealed)


@pytest.mark.parametrize(("stored", "received"), [(0, 0), (0, 1), (5, 6), (5, 100)])
def test_a_signature_counter_that_moves_forward_or_stays_zero_is_accepted(stored, received):
    check_sign_count(stored, received)


@pytest.mark.parametrize(("stored", "received"), [(5, 4), (5, 5), (5, 0), (1, 0)])
def test_a_counter_that_goes_backwards_means_a_possible_clone(stored, received):
    with pytest.raises(ClonedKey):
        check_sign_count(stored, received)


def test_qr_code_is_an_svg_data_uri():
    uri = qr.svg_data_uri("otpauth://totp/X:y?secret=ABC")
    assert uri.startswith("data:image/svg+xml;base64,")
    assert b"<svg" in base64.b64decode(uri.split(",", 1)[1])
