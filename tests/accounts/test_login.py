import pytest
from django.test import override_settings

from strongroom.accounts.models import SessionRecord
from strongroom.events.models import Event
from tests.conftest import log_in

pytestmark = pytest.mark.django_db


def test_login_with_username_rotates_session_and_records_event(client, user, password):
    client.get("/account/login/")
    before = client.cookies.get("strongroom_session")
    response = client.post("/account/login/", {"login": "ALICE", "password": password})
    assert response.status_code == 302
    after = client.cookies["strongroom_session"].value
    assert before is None or before.value != after
    assert SessionRecord.objects.filter(user=user).count() == 1
    event = Event.objects.get(tag="account:login:success")
    assert event.user == user and event.extra == {"method": "password"}


def test_failed_login_for_unknown_username_is_recorded_without_the_name(client):
    response = client.post("/account/login/", {"login": "nobody-here", "password": "x" * 10})
    assert response.status_code == 400
    assert b"The username or password is not correct." in response.content
    event = Event.objects.get(tag="account:login:failure")
    assert event.user is None
    assert event.extra["reason"] == "unknown_user"
    assert "nobody-here" not in str(event.extra)
    assert len(event.extra["login_hash"]) == 32


# --- login by email, failure limits -----------------------------------------------------


def test_login_with_verified_email_in_any_case(client, user, password):
    assert log_in(client, "Alice@EXAMPLE.org", password).status_code == 302


def test_successful_login_redirects_to_a_safe_next_only(client, user, password):
    response = client.post(
        "/account/login/",
        {"login": "alice", "password": password, "next": "/manage/account/sessions/"},
    )
    assert response["Location"] == "/manage/account/sessions/"
    client.post("/account/logout/")
    response = client.post(
        "/account/login/",
        {"login": "alice", "password": password, "next": "https://evil.example/"},
    )
    assert response["Location"] == "/manage/account/"


def _fail(client, login="alice", ip="10.0.0.1", **extra):
    return client.post(
        "/account/login/", {"login": login, "password": "wrong-password"}, REMOTE_ADDR=ip, **extra
    )


def test_eleventh_attempt_is_limited_even_with_the_right_password(client, user, password):
    for _attempt in range(10):
        assert _fail(client).status_code == 400
    response = log_in(client, "alice", password, REMOTE_ADDR="10.0.0.1")
    assert response.status_code == 429
    assert int(response["Retry-After"]) > 0
    assert response.content.decode().strip() == (
        "Too many failed sign-ins for this account from your network. Try again in 5 minutes."
    )
    assert not SessionRecord.objects.exists()
    hit = Event.objects.get(tag="account:ratelimit:hit")
    assert hit.user == user and hit.extra["limit"] == "login:ip-account"


def test_limited_browser_sees_the_message_on_the_page(client, user):
    for _attempt in range(10):
        _fail(client)
    response = _fail(client, HTTP_ACCEPT="text/html,application/xhtml+xml")
    assert response.status_code == 429
    assert response["Content-Type"].startswith("text/html")
    assert (
        "Too many failed sign-ins for this account from your network. Try again in 5 minutes."
        in response.content.decode()
    )
    assert 'name="login"' in response.content.decode()


def test_account_limit_holds_across_ips_and_spellings_of_the_name(client, user):
    """Changing IP, letter case, width, or using the email does not buy more attempts."""
    spellings = ["alice", "ALICE", "Alice", "alice@example.org", "ａｌｉｃｅ"]  # noqa: RUF001
    for attempt in range(20):
        response = _fail(client, login=spellings[attempt % 5], ip=f"10.0.1.{attempt}")
        assert response.status_code == 400
    response = _fail(client, login="aLiCe", ip="10.0.2.1")
    assert response.status_code == 429
    assert response.content.decode().strip() == (
        "Too many failed sign-ins for this account. Try again in 5 minutes."
    )


def test_ip_limit_holds_across_accounts(client, db):
    """Credential stuffing: one address failing across many accounts is stopped."""
    for attempt in range(30):
        assert _fail(client, login=f"nobody{attempt}").status_code == 400
    response = _fail(client, login="someone-else")
    assert response.status_code == 429
    assert response.content.decode().strip() == (
        "Too many failed sign-ins from your network. Try again in 5 minutes."
    )
    # Another address is not affected.
    assert _fail(client, login="someone-else", ip="10.9.9.9").status_code == 400


@override_settings(LOGIN_FAILURE_LIMIT_GLOBAL="5/5minutes")
def test_global_limit_holds_across_ips_and_accounts(client, db):
    for attempt in range(5):
        assert _fail(client, login=f"n{attempt}", ip=f"10.0.3.{attempt}").status_code == 400
    assert _fail(client, login="fresh", ip="10.0.4.1").status_code == 429


@override_settings(LOGIN_FAILURE_LIMIT_PER_ACCOUNT="3/5minutes")
def test_limits_are_configurable(client, user):
    for attempt in range(3):
        _fail(client, ip=f"10.0.5.{attempt}")
    assert _fail(client, ip="10.0.6.1").status_code == 429


def test_success_does_not_count_against_the_limit(client, user, password):
    for _attempt in range(9):
        _fail(client)
    for _attempt in range(3):
        assert log_in(client, "alice", password, REMOTE_ADDR="10.0.0.1").status_code == 302
        client.post("/account/logout/", REMOTE_ADDR="10.0.0.1")


def test_inactive_user_cannot_log_in(client, user, password):
    user.is_active = False
    user.save()
    assert log_in(client, "alice", password).status_code == 400
    assert Event.objects.get(tag="account:login:failure").extra["reason"] == "inactive"


def test_overlong_login_fields_get_messages(client, db):
    response = client.post("/account/login/", {"login": "a" * 300, "password": "p" * 5000})
    assert response.status_code == 400
    assert response.content.count(b'class="error"') == 2


# --- cookies ----------------------------------------------------------------------------


def test_session_cookie_is_httponly_lax_and_not_secure_over_http(client, user, password):
    log_in(client, "alice", password)
    cookie = client.cookies["strongroom_session"]
    assert cookie["httponly"] is True
    assert cookie["samesite"] == "Lax"
    assert not cookie["secure"]


def test_cookies_are_secure_over_https(client, user, password):
    client.get("/account/login/", secure=True)
    assert client.cookies["strongroom_csrf"]["secure"] is True
    response = log_in(client, "alice", password, secure=True)
    assert response.status_code == 302
    cookie = client.cookies["strongroom_session"]
    assert cookie["secure"] is True
    assert cookie["httponly"] is True
    assert cookie["samesite"] == "Lax"


def test_logout_ends_the_session_and_records_it(client, user, password):
    log_in(client, "alice", password)
    response = client.post("/account/logout/")
    assert response.status_code == 302
    assert not SessionRecord.objects.exists()
    assert Event.objects.filter(tag="account:logout", user=user).exists()
    assert client.get("/manage/account/").status_code == 302
    # Logging out requires POST: a link cannot log people out.
    assert client.get("/account/logout/").status_code == 405


def test_login_replaces_an_existing_anonymous_session_id(client, user, password):
    """Session fixation: a session id planted before login is worthless after it."""
    from django.contrib.sessions.models import Session

    session = client.session
    session["planted"] = "by-attacker"
    session.save()
    planted = client.cookies["strongroom_session"].value
    assert Session.objects.filter(session_key=planted).exists()
    assert log_in(client, "alice", password).status_code == 302
    assert client.cookies["strongroom_session"].value != planted
    assert not Session.objects.filter(session_key=planted).exists()
    attacker = type(client)()
    attacker.cookies["strongroom_session"] = planted
    assert attacker.get("/manage/account/").status_code == 302


# --- issue 21, items 6, 7 and 16: counted before checked, keyed per account, aggregated --


def test_one_persons_typos_do_not_lock_out_another_account_from_the_same_network(
    client, user, password
):
    from django.test import Client

    from tests.factories import UserFactory

    UserFactory(username="bob")
    for _attempt in range(10):
        assert _fail(client).status_code == 400
    assert log_in(client, "alice", password, REMOTE_ADDR="10.0.0.1").status_code == 429
    # Bob, behind the same office address: his wrong password is still checked (400,
    # not 429) and his right one signs him in.
    bob = Client()
    assert _fail(bob, login="bob").status_code == 400
    assert log_in(bob, "bob", password, REMOTE_ADDR="10.0.0.1").status_code == 302
    # Alice elsewhere (her phone, another network) is not locked out either.
    assert log_in(Client(), "alice", password, REMOTE_ADDR="10.7.7.7").status_code == 302


def test_reauthentication_is_not_blocked_by_stuffing_from_the_same_network(client, user):
    from django.test import Client

    from tests.conftest import make_auth_stale
    from tests.factories import PASSWORD

    assert log_in(client, "alice", PASSWORD, REMOTE_ADDR="10.0.0.1").status_code == 302
    stuffer = Client()
    for attempt in range(30):
        assert _fail(stuffer, login=f"victim{attempt}").status_code == 400
    assert _fail(stuffer, login="alice").status_code == 429  # the address is stopped
    make_auth_stale(client)
    right = client.post(
        "/account/reauthenticate/",
        {"password": PASSWORD, "next": "/manage/account/"},
        REMOTE_ADDR="10.0.0.1",
    )
    assert right.status_code == 302 and right["Location"] == "/manage/account/"


def test_attempts_in_flight_take_the_budget_before_they_are_checked(rf, user, password):
    """Ten attempts being checked on other workers leave no slot for an eleventh: it is
    refused without its password being checked, even the right one."""
    from strongroom.accounts import services

    request = rf.post("/", REMOTE_ADDR="10.0.0.1")
    in_flight = [services.check_login_limits(request, "alice", user) for _ in range(10)]
    with pytest.raises(services.RateLimited) as caught:
        services.authenticate_password(request, "alice", password)
    assert "for this account from your network" in str(caught.value)
    assert not Event.objects.filter(tag="account:login:failure").exists()  # never checked
    for held in in_flight:  # they turned out right: their slots come back
        held.give_back()
    assert services.authenticate_password(request, "alice", password) == user


@override_settings(LOGIN_FAILURE_LIMIT_PER_ACCOUNT="3/5minutes")
def test_a_refused_attempt_takes_no_slot_of_the_other_budgets(client, user):
    for attempt in range(3):
        assert _fail(client, ip=f"10.0.8.{attempt}").status_code == 400
    for _attempt in range(20):  # refused by the account's budget, from one address
        assert _fail(client, login="alice", ip="10.0.9.1").status_code == 429
    # The slots those refusals took in the other budgets before the account's said no
    # were given back: all ten of this address's tries at alice are still there.
    with override_settings(LOGIN_FAILURE_LIMIT_PER_ACCOUNT="100/5minutes"):
        for _attempt in range(10):
            assert _fail(client, login="alice", ip="10.0.9.1").status_code == 400
        assert _fail(client, login="alice", ip="10.0.9.1").status_code == 429


def test_refusals_are_recorded_once_per_limit_and_address_not_each(client, user):
    for _attempt in range(10):
        _fail(client)
    for _attempt in range(25):
        assert _fail(client).status_code == 429
    hits = Event.objects.filter(tag="account:ratelimit:hit")
    assert hits.count() == 1
    assert hits.get().extra["once_per_seconds"] == 300
    # Another address's refusals get their own record.
    answers = [_fail(client, ip="10.0.0.2").status_code for _attempt in range(20)]
    assert answers == [400] * 10 + [429] * 10
    assert Event.objects.filter(tag="account:ratelimit:hit").count() == 2
