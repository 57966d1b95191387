"""Hypothesis over every route of the URLconf: path parameters, query strings, POST bodies.

Each route is fuzzed anonymously and as the Owner of a project with a release and a file
(freshly re-authenticated, so the manage pages run their forms). No answer is a 500 (the
test client re-raises a view's exception), and a refused request stores nothing.
"""

from __future__ import annotations

import pytest
from django.test import Client
from hypothesis import given, settings
from hypothesis import strategies as st

from strongroom import ratelimit
from strongroom.packages.models import File
from tests import fuzzing
from tests.distributions import post_upload, upload_form
from tests.factories import PASSWORD

pytestmark = pytest.mark.django_db(transaction=True)

ROUTES = [route for route in fuzzing.routes() if not route.startswith("admin/")]
FIELDS = fuzzing.field_names()
# Signing out or cancelling the login would only fuzz the anonymous pages again.
SESSION_ENDERS = {"account/logout/", "account/two-factor/cancel"}


@pytest.fixture
def published(client, user):
    assert post_upload(client, upload_form(version="1.0")).status_code == 200
    return File.objects.get()


def _known(published: File) -> dict[str, list[str]]:
    return {
        "name": ["sample", "Sample", "missing"],
        "version": ["1.0", "1.0.0", "2.0"],
        "filename": [published.filename],
        "path": [published.path.removeprefix("packages/"), published.path + ".metadata"],
        "key_id": ["1"],
        "token": ["x"],
        "uidb64": ["MQ"],
    }


@pytest.fixture
def owner(published) -> Client:
    return Client()


def _signed_in(client: Client) -> Client:
    """``client``, signed in as the Owner again if an earlier example signed it out."""
    if "_auth_user_id" not in client.session:
        response = client.post("/account/login/", {"login": "alice", "password": PASSWORD})
        assert response.status_code == 302
    return client


def _check(response, before, route):
    assert response.status_code < 500, (route, response.status_code)
    if response.status_code >= 400:
        assert fuzzing.stored_state() == before, (route, response.status_code)


def test_every_route_is_walked():
    assert len(ROUTES) >= 50
    assert "pypi/<str:name>/<version:version>/json" in ROUTES
    assert "manage/project/<str:name>/release/<version:version>/yank/" in ROUTES


@pytest.mark.parametrize("route", ROUTES)
@settings(fuzzing.FUZZ, max_examples=5)
@given(data=st.data())
def test_no_input_to_a_route_gives_a_500(published, owner, route, data):
    ratelimit._backend().reset()  # type: ignore[attr-defined]
    known = _known(published)
    values = {
        name: data.draw(fuzzing.segment(converter, known.get(name, [])), label=name)
        for converter, name in fuzzing.parameters(route)
    }
    url = fuzzing.fill(route, values)
    if data.draw(st.booleans(), label="post"):
        send, payload = "post", data.draw(fuzzing.form_data(FIELDS), label="body")
    else:
        send, payload = "get", data.draw(fuzzing.query_data(), label="query")
    clients = [Client()] + ([] if route in SESSION_ENDERS else [_signed_in(owner)])
    for client in clients:
        before = fuzzing.stored_state()
        _check(getattr(client, send)(url, payload), before, route)


@pytest.fixture
def staff(db) -> Client:
    """A staff member signed in with both factors (staff pages may require the second)."""
    from tests.factories import UserFactory
    from tests.governance.conftest import give_totp
    from tests.mfa.conftest import current_code

    member = UserFactory(username="sofia", staff=True)
    give_totp(member)
    client = Client()
    client.post("/account/login/", {"login": member.username, "password": PASSWORD})
    client.post("/account/two-factor/", {"code": current_code()})
    assert client.get("/manage/audit/").status_code == 200
    return client


audit_query = st.fixed_dictionaries(
    {},
    optional={
        "user": fuzzing.any_text,
        "project": fuzzing.any_text,
        "tag": fuzzing.any_text | st.just("account:login:failure"),
        "ip": fuzzing.any_text | st.sampled_from(["127.0.0.1", "::1", "999.1.1.1"]),
        "since": fuzzing.any_text | st.sampled_from(["2026-01-01", "99999-01-01", "0000-00-00"]),
        "until": fuzzing.any_text | st.just("2026-13-40"),
        "page": fuzzing.any_text | st.sampled_from(["0", "-1", "9" * 5000, "last"]),
    },
)


@settings(fuzzing.FUZZ, max_examples=30)
@given(query=audit_query)
def test_the_staff_audit_filters_never_error(staff, query):
    for url in ["/manage/audit/", "/manage/audit/export"]:
        response = staff.get(url, query)
        assert response.status_code in {200, 400}, url
        if response.streaming:
            b"".join(response.streaming_content)
