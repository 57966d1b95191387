"""Token pages: the secret is shown once, the narrow scope is the default,
sensitive actions ask for the password again."""

import re

import pytest

from strongroom.accounts.actors import Actor
from strongroom.accounts.services import SESSION_AUTH_AT_KEY
from strongroom.packages.models import Project, Role
from strongroom.tokens import services
from strongroom.tokens.contexts import upload_context
from strongroom.tokens.models import ApiToken

pytestmark = pytest.mark.django_db


def _make_stale(client):
    session = client.session
    session[SESSION_AUTH_AT_KEY] = 0
    session.save()


def test_form_defaults_to_a_single_project_when_the_user_has_one(signed_in, user):
    project = Project.objects.create(name="Alpha", normalized_name="alpha")
    Role.objects.create(project=project, user=user, role_name=Role.Name.OWNER)
    page = signed_in.get("/manage/account/token/").content.decode()
    assert re.search(r'value="projects"[^>]*checked', page)
    assert re.search(r'value="alpha"[^>]*checked', page)
    assert not re.search(r'value="account"[^>]*checked', page)


def test_token_is_shown_once_with_twine_settings(signed_in, user):
    response = signed_in.post(
        "/manage/account/token/", {"name": "ci", "scope": "account", "expiry": "30"}
    )
    assert response.status_code == 200
    page = response.content.decode()
    raw = re.search(r'value="(strongroom-[^"]+)"', page).group(1)
    assert "TWINE_USERNAME=__token__" in page and f"password = {raw}" in page
    listing = signed_in.get("/manage/account/tokens/").content.decode()
    assert "ci" in listing and raw not in listing
    assert services.verify_token(raw, upload_context(None, "new")).user == user


def test_creating_a_token_after_15_minutes_asks_for_the_password(signed_in):
    _make_stale(signed_in)
    response = signed_in.get("/manage/account/token/")
    assert response.status_code == 302
    assert response["Location"].startswith("/account/reauthenticate/")


def test_revoking_asks_for_the_password_when_stale(signed_in, user):
    token, _raw = services.create_token(
        Actor.of(user), name="ci", project_names=None, expires_at=None
    )
    _make_stale(signed_in)
    response = signed_in.post("/manage/account/tokens/revoke/", {"token_id": str(token.pk)})
    assert response.status_code == 302 and "reauthenticate" in response["Location"]
    assert ApiToken.objects.filter(pk=token.pk).exists()


def test_revoke_removes_the_token(signed_in, user):
    token, raw = services.create_token(
        Actor.of(user), name="ci", project_names=None, expires_at=None
    )
    response = signed_in.post("/manage/account/tokens/revoke/", {"token_id": str(token.pk)})
    assert response.status_code == 302
    with pytest.raises(services.TokenError):
        services.verify_token(raw, upload_context(None, "new"))


def test_revoke_without_csrf_token_is_refused(user, password):
    from django.test import Client

    client = Client(enforce_csrf_checks=True)
    client.post("/account/login/", {"login": user.username, "password": password})
    token, _raw = services.create_token(
        Actor.of(user), name="ci", project_names=None, expires_at=None
    )
    response = client.post("/manage/account/tokens/revoke/", {"token_id": str(token.pk)})
    assert response.status_code == 403
    assert ApiToken.objects.filter(pk=token.pk).exists()
