"""The upload API with API tokens, under the default policy (tokens only)."""

from datetime import timedelta
from unittest import mock

import pytest
from django.utils import timezone
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pymacaroons import Macaroon

from strongroom.accounts.actors import Actor
from strongroom.events.models import Event
from strongroom.mfa.models import TOTPDevice
from strongroom.packages.models import File, Project, Role
from strongroom.tokens import services
from tests.distributions import basic_auth, make_wheel, upload_form
from tests.factories import PASSWORD

pytestmark = pytest.mark.django_db


def upload(client, auth, name="alpha", version="1.0", bearer=False):
    form = upload_form(make_wheel(name, version), name=name, version=version)
    header = f"Bearer {auth}" if bearer else basic_auth("__token__", auth)
    return client.post("/legacy/", form, HTTP_AUTHORIZATION=header)


@pytest.fixture
def projects(user):
    made = {}
    for name in ("alpha", "beta"):
        made[name] = Project.objects.create(name=name, normalized_name=name)
        Role.objects.create(project=made[name], user=user, role_name=Role.Name.OWNER)
    return made


def test_scoped_token_uploads_to_its_project_and_not_another(client, user, projects):
    _t, raw = services.create_token(
        Actor.of(user), name="alpha-ci", project_names=["alpha"], expires_at=None
    )
    assert upload(client, raw, "alpha").status_code == 200
    refused = upload(client, raw, "beta")
    assert refused.status_code == 403
    assert "scoped to alpha and is not valid for beta" in refused.reason_phrase
    brand_new = upload(client, raw, "gamma")
    assert brand_new.status_code == 403 and "not valid for gamma" in brand_new.reason_phrase
    assert not Project.objects.filter(normalized_name="gamma").exists()


def test_token_scoped_to_several_projects(client, user, projects):
    _t, raw = services.create_token(
        Actor.of(user), name="both", project_names=["alpha", "beta"], expires_at=None
    )
    assert upload(client, raw, "alpha").status_code == 200
    assert upload(client, raw, "beta").status_code == 200


def test_account_wide_token_can_create_a_project_and_bearer_works(client, user):
    _t, raw = services.create_token(Actor.of(user), name="all", project_names=None, expires_at=None)
    assert upload(client, raw, "newproj", bearer=True).status_code == 200
    assert Role.objects.get(project__normalized_name="newproj").user == user


def test_expired_token_is_refused(client, user, projects):
    _t, raw = services.create_token(
        Actor.of(user),
        name="short",
        project_names=["alpha"],
        expires_at=timezone.now() + timedelta(days=30),
    )
    later = timezone.now() + timedelta(days=31)
    with mock.patch("strongroom.tokens.services.timezone.now", return_value=later):
        refused = upload(client, raw, "alpha")
    assert refused.status_code == 403 and "expired" in refused.reason_phrase


def test_offline_narrowed_token_is_honoured_for_its_narrower_scope(client, user, projects):
    _t, raw = services.create_token(
        Actor.of(user), name="wide", project_names=None, expires_at=None
    )
    macaroon = Macaroon.deserialize(raw.removeprefix("strongroom-"))
    macaroon.add_first_party_caveat('{"v":1,"t":"projects","p":[{"n":"beta"}]}')
    narrowed = "strongroom-" + macaroon.serialize()
    assert upload(client, narrowed, "alpha").status_code == 403
    assert upload(client, narrowed, "beta").status_code == 200
    assert upload(client, raw, "alpha").status_code == 200  # the original keeps its scope


def test_revoked_token_fails_on_the_very_next_request(client, user, projects):
    token, raw = services.create_token(
        Actor.of(user), name="ci", project_names=["alpha"], expires_at=None
    )
    assert upload(client, raw, "alpha", "1.0").status_code == 200
    services.revoke_token(Actor.of(user), str(token.pk))
    refused = upload(client, raw, "alpha", "1.1")
    assert refused.status_code == 403 and "revoked or does not exist" in refused.reason_phrase


def test_refused_upload_records_the_token_and_the_reason(client, user, projects):
    token, raw = services.create_token(
        Actor.of(user), name="alpha-ci", project_names=["alpha"], expires_at=None
    )
    upload(client, raw, "beta")
    event = Event.objects.get(tag="account:upload:refused")
    assert event.user == user
    assert event.extra["token_id"] == str(token.pk)
    assert "not valid for beta" in event.extra["reason"]
    assert raw not in str(event.extra)


def test_password_uploads_are_refused_by_default(client, user):
    response = client.post(
        "/legacy/", upload_form(), HTTP_AUTHORIZATION=basic_auth(user.username, PASSWORD)
    )
    assert response.status_code == 403 and "Use an API token" in response.reason_phrase
    assert File.objects.count() == 0


def test_two_factor_account_needs_a_token_unless_passwords_always_work(client, user, settings):
    TOTPDevice.objects.create(user=user, secret="x", confirmed=True)
    settings.UPLOAD_PASSWORDS = "without-2fa"
    auth = basic_auth(user.username, PASSWORD)
    refused = client.post("/legacy/", upload_form(), HTTP_AUTHORIZATION=auth)
    assert refused.status_code == 403
    assert "two-factor authentication enabled: use an API token" in refused.reason_phrase
    settings.UPLOAD_PASSWORDS = "always"
    assert client.post("/legacy/", upload_form(), HTTP_AUTHORIZATION=auth).status_code == 200


def test_account_without_two_factor_may_use_its_password_under_without_2fa(client, user, settings):
    settings.UPLOAD_PASSWORDS = "without-2fa"
    auth = basic_auth(user.username, PASSWORD)
    assert client.post("/legacy/", upload_form(), HTTP_AUTHORIZATION=auth).status_code == 200


@settings(
    max_examples=150,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(
    st.one_of(
        st.text(max_size=300),
        st.text(max_size=300).map(lambda t: "strongroom-" + t),
        st.binary(max_size=200).map(lambda b: "strongroom-" + b.hex()),
    )
)
def test_any_token_string_gets_a_403_never_a_500(client, user, text):
    for header in (f"Bearer {text}", None):
        if header is None:
            try:
                header = basic_auth("__token__", text)
            except UnicodeEncodeError:
                continue
        response = client.post("/legacy/", upload_form(), HTTP_AUTHORIZATION=header)
        assert response.status_code == 403, (text, response.status_code)
