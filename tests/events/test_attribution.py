"""Issue 21, item 16 (attribution): uploads name the API token used, refusals of valid
credentials are attributed to their holder, role events name the account on the page."""

from __future__ import annotations

from datetime import timedelta
from unittest import mock

import pytest
from django.conf import settings
from django.test import Client
from django.utils import timezone

from strongroom import keys
from strongroom.accounts.actors import Actor
from strongroom.accounts.models import Email
from strongroom.events.models import Event
from strongroom.packages.governance import invite
from strongroom.packages.models import Project, Role
from strongroom.tokens import macaroons
from strongroom.tokens import services as tokens
from strongroom.web.actor import actor_from
from tests.distributions import basic_auth, make_wheel, upload_form
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


def _upload(client: Client, raw: str, name: str, version: str = "1.0"):
    form = upload_form(make_wheel(name, version), name=name, version=version)
    return client.post("/legacy/", form, HTTP_AUTHORIZATION=basic_auth("__token__", raw))


def _signed_in(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def _row(body: str, tag: str) -> str:
    """The table row of the (first) event with ``tag``."""
    start = body.index(f'data-tag="{tag}"')
    return body[start : body.index("</tr>", start)]


@pytest.fixture
def alpha(user) -> Project:
    project = Project.objects.create(name="alpha", normalized_name="alpha")
    Role.objects.create(project=project, user=user, role_name=Role.Name.OWNER)
    return project


def test_an_upload_records_which_token_and_the_history_pages_name_it(client, user, alpha):
    token, raw = tokens.create_token(
        Actor.of(user), name="release-ci", project_names=["alpha"], expires_at=None
    )
    # Another token with the same owner: the event must name the one that was used.
    tokens.create_token(Actor.of(user), name="laptop", project_names=None, expires_at=None)
    assert _upload(client, raw, "alpha").status_code == 200
    for tag in ["file:add", "project:release:add"]:
        event = Event.objects.get(tag=tag)
        assert event.actor == user
        assert event.extra["method"] == "api_token"
        assert event.extra["token_id"] == str(token.pk)
        assert event.extra["token_name"] == "release-ci"
        assert raw not in str(event.extra)
    me = _signed_in(user)
    for page in ["/project/alpha/history/", "/manage/account/history/"]:
        row = _row(me.get(page).content.decode(), "file:add")
        assert "token: release-ci" in row and "laptop" not in row


def test_a_refused_upload_with_a_valid_token_is_by_its_owner_with_the_token_named(
    client, user, alpha
):
    Project.objects.create(name="beta", normalized_name="beta")  # not alice's
    token, raw = tokens.create_token(
        Actor.of(user), name="alpha-ci", project_names=["alpha"], expires_at=None
    )
    assert _upload(client, raw, "beta").status_code == 403
    event = Event.objects.get(tag="account:upload:refused")
    assert event.actor == user and event.user == user
    assert event.extra["token_id"] == str(token.pk) and event.extra["token_name"] == "alpha-ci"
    row = _row(_signed_in(user).get("/manage/account/history/").content.decode(), event.tag)
    assert "<td>alice</td>" in row and "anonymous or the system" not in row
    assert "token: alpha-ci" in row


def test_a_valid_token_refused_for_an_unverified_address_is_still_its_owners(client, user):
    _token, raw = tokens.create_token(
        Actor.of(user), name="ci", project_names=None, expires_at=None
    )
    Email.objects.filter(user=user).update(verified=False)
    response = _upload(client, raw, "gamma")
    assert response.status_code == 400 and "verified primary email" in response.reason_phrase
    event = Event.objects.get(tag="account:upload:refused")
    assert event.actor == user and event.extra["token_name"] == "ci"


def test_an_expired_token_names_the_account_and_token_but_not_as_the_actor(client, user, alpha):
    """Whoever holds an expired token is not proven to be alice: she is the subject only."""
    token, raw = tokens.create_token(
        Actor.of(user),
        name="old-ci",
        project_names=None,
        expires_at=timezone.now() + timedelta(days=1),
    )
    later = timezone.now() + timedelta(days=2)
    with mock.patch("strongroom.tokens.services.timezone.now", return_value=later):
        assert _upload(client, raw, "alpha").status_code == 403
    event = Event.objects.get(tag="account:upload:refused")
    assert event.actor is None and event.user == user
    assert event.extra["token_id"] == str(token.pk) and event.extra["token_name"] == "old-ci"
    row = _row(_signed_in(user).get("/manage/account/history/").content.decode(), event.tag)
    assert "anonymous or the system" in row and "token: old-ci" in row


def test_a_forged_signature_on_alices_token_id_is_not_by_alice(client, user, alpha):
    token, _raw = tokens.create_token(
        Actor.of(user), name="ci", project_names=None, expires_at=None
    )
    forged = macaroons.mint(
        prefix=settings.TOKEN_PREFIX,
        location="strongroom",
        # The server's key id, with key bytes the server never made: a forged signature.
        key=keys.DerivedKey(
            key_id=keys.current(keys.Purpose.TOKENS).key_id,
            key=keys.derive("not-the-server-secret", keys.Purpose.TOKENS).key,
        ),
        token_id=str(token.pk),
        caveats=[],
    )
    response = _upload(client, forged, "alpha")
    assert response.status_code == 403 and "signature does not match" in response.reason_phrase
    event = Event.objects.get(tag="account:upload:refused")
    assert event.actor is None and event.user == user  # her history warns her; not "By: alice"
    assert not Event.objects.filter(tag="file:add").exists()


def test_role_events_name_the_account_on_the_project_page(rf, user, alpha):
    ines = UserFactory(username="ines")
    request = rf.post("/")
    request.user = user
    invite(actor_from(request, user), alpha, "ines", "Maintainer")
    body = _signed_in(user).get("/project/alpha/history/").content.decode()
    row = _row(body, "project:role:invite")
    assert "Collaborator invited" in row and "account: ines" in row and "role: Maintainer" in row
    # The invitee's own history says the same.
    own = _row(
        _signed_in(ines).get("/manage/account/history/").content.decode(), "project:role:invite"
    )
    assert "account: ines" in own and "project: alpha" in own
