"""Hostile TOTP codes: other scripts' digits and arbitrary text never give a 500.

``str.isdigit`` is true for Arabic-Indic, fullwidth, superscript and many other digits;
``hmac.compare_digest`` raises on non-ASCII text. Only ASCII 0-9 is a code.
"""

import time

import pytest
from django.test import Client
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from strongroom import ratelimit
from strongroom.events.models import Event
from strongroom.mfa import totp
from strongroom.mfa.models import TOTPDevice
from tests.factories import PASSWORD
from tests.mfa.conftest import SECRET, current_code

pytestmark = pytest.mark.django_db

# Zero in scripts whose digits str.isdigit() accepts: Arabic-Indic, Extended Arabic-Indic,
# Devanagari, fullwidth, mathematical bold; superscripts are digits without a zero block.
_ZEROS = {"arabic": 0x660, "persian": 0x6F0, "devanagari": 0x966, "fullwidth": 0xFF10,
          "bold": 0x1D7CE}  # fmt: skip
_SUPERSCRIPTS = "⁰¹²³⁴⁵⁶⁷⁸⁹"


def _in_script(code: str, script: str) -> str:
    if script == "superscript":
        return "".join(_SUPERSCRIPTS[int(ch)] for ch in code)
    return "".join(chr(_ZEROS[script] + int(ch)) for ch in code)


SCRIPTS = [*_ZEROS, "superscript"]

hostile_codes = st.one_of(
    st.text(alphabet=st.characters(blacklist_categories=("Cs",)), max_size=20),
    st.text(alphabet=st.characters(whitelist_categories=("Nd", "No", "Nl")), max_size=12),
    st.sampled_from(["١٢٣٤٥٦", "１２３４５６", "¹²³⁴⁵⁶", "१२३४५६", "\x00" * 6, " " * 12, "-" * 6]),  # noqa: RUF001
)
fuzz = settings(
    max_examples=50,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)


@pytest.mark.parametrize("script", SCRIPTS)
def test_the_right_code_in_other_digits_is_refused_at_login(half_signed_in, totp_user, script):
    response = half_signed_in.post(
        "/account/two-factor/", {"code": _in_script(current_code(), script)}
    )
    assert response.status_code == 400
    assert b"digits (0 to 9)" in response.content
    assert half_signed_in.get("/manage/account/").status_code == 302  # still signed out
    assert TOTPDevice.objects.get(user=totp_user).last_used_step is None


@pytest.mark.parametrize("script", SCRIPTS)
def test_the_right_code_in_other_digits_is_refused_at_enrolment(signed_in, user, script):
    page = signed_in.get("/manage/account/totp-provision").content.decode()
    secret = page.split('data-secret="')[1].split('"')[0]
    code = _in_script(totp.code_at_step(secret, totp.time_step(time.time())), script)
    response = signed_in.post("/manage/account/totp-provision", {"code": code})
    assert response.status_code == 400
    assert b"digits (0 to 9)" in response.content
    assert not TOTPDevice.objects.filter(user=user, confirmed=True).exists()
    assert not Event.objects.filter(tag="account:two_factor:method_added").exists()


@pytest.mark.parametrize("script", SCRIPTS)
def test_the_primitive_refuses_other_digits_without_raising(script):
    now = 1_700_000_000.0
    code = totp.code_at_step(SECRET, totp.time_step(now))
    check = totp.verify_totp(SECRET, _in_script(code, script), now=now, last_used_step=None)
    assert check.status is totp.TotpStatus.INVALID
    assert totp.verify_totp(SECRET, code, now=now, last_used_step=None).ok


@settings(max_examples=400, deadline=None)
@given(code=hostile_codes)
def test_verify_totp_never_raises(code):
    check = totp.verify_totp(SECRET, code, now=1_700_000_000.0, last_used_step=None)
    if not totp.well_formed(code):
        assert check.status is totp.TotpStatus.INVALID


@fuzz
@given(code=hostile_codes)
def test_any_text_at_the_login_step_never_errors(totp_user, code):
    ratelimit._backend().reset()  # type: ignore[attr-defined]
    client = Client()
    client.post("/account/login/", {"login": totp_user.username, "password": PASSWORD})
    response = client.post("/account/two-factor/", {"code": code})
    assert response.status_code in {400, 429}
    assert client.get("/manage/account/").status_code == 302


@fuzz
@given(code=hostile_codes)
def test_any_text_at_enrolment_never_errors(user, code):
    ratelimit._backend().reset()  # type: ignore[attr-defined]
    client = Client()
    client.post("/account/login/", {"login": user.username, "password": PASSWORD})
    assert client.get("/manage/account/totp-provision").status_code == 200
    response = client.post("/manage/account/totp-provision", {"code": code})
    assert response.status_code == 400
    assert not TOTPDevice.objects.filter(user=user, confirmed=True).exists()
