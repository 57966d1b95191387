"""The shared limits on second-factor attempts, with the limiter's clock injected."""

import pytest
from django.test import RequestFactory

from strongroom import ratelimit
from strongroom.mfa.services import common, limits
from strongroom.ratelimit import sqlite_storage

pytestmark = pytest.mark.django_db


class FakeClock:
    def __init__(self) -> None:
        self.now = 1_800_000_000.0

    def time(self) -> float:
        return self.now


@pytest.fixture
def clock(monkeypatch):
    fake = FakeClock()
    monkeypatch.setattr(sqlite_storage, "time", fake)
    monkeypatch.setattr(ratelimit, "time", fake)
    return fake


def _request(ip="192.0.2.1"):
    return RequestFactory().post("/", REMOTE_ADDR=ip)


def _fail(request, user):
    with pytest.raises(common.MfaError) as caught:
        limits._refuse(request, user, method="totp", reason="invalid_totp", message="no")
    assert not isinstance(caught.value, common.RateLimited)


def _spend(clock, user, count, *, step, ip_prefix="198.51.100."):
    """``count`` failures from distinct addresses, ``step`` seconds apart."""
    for n in range(count):
        limits.check_limits(_request(f"{ip_prefix}{n % 250}"), user)
        _fail(_request(f"{ip_prefix}{n % 250}"), user)
        clock.now += step


def test_five_failures_per_account_in_five_minutes(clock, user):
    _spend(clock, user, 5, step=1)
    with pytest.raises(common.RateLimited) as caught:
        limits.check_limits(_request("203.0.113.9"), user)
    assert "Too many two-factor attempts" in str(caught.value)
    assert 0 < caught.value.retry_after <= 300
    clock.now += 300
    limits.check_limits(_request("203.0.113.9"), user)


def test_twenty_failures_per_account_in_an_hour(clock, user):
    _spend(clock, user, 20, step=61)  # 5 per 5 minutes never trips at this pace
    with pytest.raises(common.RateLimited):
        limits.check_limits(_request(), user)
    clock.now += 3600
    limits.check_limits(_request(), user)


def test_fifty_failures_per_account_in_a_day(clock, user):
    _spend(clock, user, 50, step=181)  # 20 an hour never trips at this pace
    with pytest.raises(common.RateLimited):
        limits.check_limits(_request(), user)
    clock.now += 86400
    limits.check_limits(_request(), user)


def test_ten_failures_per_address_in_five_minutes_across_accounts(clock, db, settings):
    from tests.factories import UserFactory

    settings.MFA_LIMIT_PER_IP = "10/5minutes"  # the default is 30: several people's budgets

    users = [UserFactory() for _ in range(10)]
    for victim in users:
        limits.check_limits(_request("192.0.2.50"), victim)
        _fail(_request("192.0.2.50"), victim)
    fresh = UserFactory()
    with pytest.raises(common.RateLimited):
        limits.check_limits(_request("192.0.2.50"), fresh)
    limits.check_limits(_request("192.0.2.51"), fresh)
    clock.now += 301
    limits.check_limits(_request("192.0.2.50"), fresh)


def test_counts_are_shared_through_the_store_not_the_process(clock, user):
    _spend(clock, user, 5, step=1)
    ratelimit.reset_backend()  # a new backend object, as in another worker
    with pytest.raises(common.RateLimited):
        limits.check_limits(_request(), user)


# --- issue 21, items 6 and 7 ------------------------------------------------------------


def test_codes_in_flight_take_the_budget_before_they_are_checked(clock, user):
    """Five codes being checked on other workers leave no slot for a sixth: it is refused
    before its code is looked at; slots given back by successes are free again."""
    in_flight = [limits.check_limits(_request(), user) for _ in range(5)]
    with pytest.raises(common.RateLimited) as caught:
        limits.check_limits(_request(), user)
    assert str(caught.value) == (
        "Too many two-factor attempts for this account. Try again in 5 minutes."
    )
    in_flight[0].give_back()
    limits.check_limits(_request(), user)


def test_another_persons_wrong_codes_do_not_lock_out_this_account(clock, user, db):
    from tests.factories import UserFactory

    office = "192.0.2.70"
    colleagues = [UserFactory(), UserFactory()]
    for colleague in colleagues:  # each uses up their own budget from the office address
        for _attempt in range(5):
            limits.check_limits(_request(office), colleague)
            _fail(_request(office), colleague)
        with pytest.raises(common.RateLimited):
            limits.check_limits(_request(office), colleague)
    limits.check_limits(_request(office), user).give_back()


def test_the_address_budget_names_the_network(clock, db, settings):
    from tests.factories import UserFactory

    settings.MFA_LIMIT_PER_IP = "2/5minutes"
    for victim in (UserFactory(), UserFactory()):
        limits.check_limits(_request("192.0.2.60"), victim)
    with pytest.raises(common.RateLimited) as caught:
        limits.check_limits(_request("192.0.2.60"), UserFactory())
    assert str(caught.value) == (
        "Too many two-factor attempts from your network. Try again in 5 minutes."
    )
