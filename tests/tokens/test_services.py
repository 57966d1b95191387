"""Creating, listing and revoking tokens through the web and the services."""

from datetime import timedelta

import pytest
from django.utils import timezone

from strongroom.accounts.actors import Actor
from strongroom.events.models import Event
from strongroom.packages.models import Project, Role
from strongroom.tokens import services
from strongroom.tokens.contexts import upload_context
from strongroom.tokens.models import ApiToken
from tests.factories import UserFactory


def _project(user, name):
    project = Project.objects.create(name=name, normalized_name=name)
    Role.objects.create(project=project, user=user, role_name=Role.Name.OWNER)
    return project


@pytest.mark.django_db
def test_database_row_holds_nothing_that_rebuilds_the_token(user):
    _token, raw = services.create_token(
        Actor.of(user), name="ci", project_names=None, expires_at=None
    )
    row = ApiToken.objects.get()
    stored = str(
        ApiToken.objects.filter(pk=row.pk).values().get()
    )  # every column as the database has it
    signature_part = raw.removeprefix("strongroom-")[-40:]
    assert signature_part not in stored
    assert raw not in stored


@pytest.mark.django_db
def test_token_creation_needs_a_verified_primary_email(db):
    unverified = UserFactory(username="bob", email__verified=False)
    with pytest.raises(services.TokenError, match="Verify your primary email"):
        services.create_token(Actor.of(unverified), name="ci", project_names=None, expires_at=None)


@pytest.mark.django_db
def test_token_names_are_unique_per_user_and_limited_in_length(user):
    services.create_token(Actor.of(user), name="ci", project_names=None, expires_at=None)
    with pytest.raises(services.TokenError, match="already have a token named ci"):
        services.create_token(Actor.of(user), name="ci", project_names=None, expires_at=None)
    with pytest.raises(services.TokenError, match="1 to 100 characters"):
        services.create_token(Actor.of(user), name="x" * 101, project_names=None, expires_at=None)


@pytest.mark.django_db
def test_tokens_can_only_be_scoped_to_projects_the_user_can_upload_to(user):
    _project(user, "mine")
    stranger = UserFactory(username="mallory")
    _project(stranger, "theirs")
    with pytest.raises(services.TokenError, match="theirs"):
        services.create_token(
            Actor.of(user), name="t", project_names=["mine", "theirs"], expires_at=None
        )
    token, _raw = services.create_token(
        Actor.of(user), name="t", project_names=["mine"], expires_at=None
    )
    assert [p.normalized_name for p in token.projects.all()] == ["mine"]


@pytest.mark.django_db
def test_expired_token_is_refused_with_its_reason(user):
    token, raw = services.create_token(
        Actor.of(user),
        name="short",
        project_names=None,
        expires_at=timezone.now() + timedelta(seconds=30),
    )
    services.verify_token(raw, upload_context(None, "new"))
    ApiToken.objects.filter(pk=token.pk).update(expires=timezone.now())
    # The stored caveat still says +30 s; move the clock instead.
    with pytest.raises(services.TokenError, match="expired"):
        from unittest import mock

        later = timezone.now() + timedelta(minutes=1)
        with mock.patch("strongroom.tokens.services.timezone.now", return_value=later):
            services.verify_token(raw, upload_context(None, "new"))


@pytest.mark.django_db
def test_revoked_token_fails_on_the_next_verification(user):
    token, raw = services.create_token(
        Actor.of(user), name="ci", project_names=None, expires_at=None
    )
    services.verify_token(raw, upload_context(None, "new"))
    services.revoke_token(Actor.of(user), str(token.pk))
    with pytest.raises(services.TokenError, match="revoked or does not exist"):
        services.verify_token(raw, upload_context(None, "new"))


@pytest.mark.django_db
def test_verification_records_last_use(user, rf):
    _token, raw = services.create_token(
        Actor.of(user), name="ci", project_names=None, expires_at=None
    )
    services.verify_token(raw, upload_context(None, "new"), ip="192.0.2.7")
    row = ApiToken.objects.get()
    assert row.last_used is not None and row.last_used_ip == "192.0.2.7"


@pytest.mark.django_db
def test_project_owner_may_revoke_tokens_scoped_to_their_project(user):
    maintainer = UserFactory(username="bob")
    project = _project(user, "shared")
    Role.objects.create(project=project, user=maintainer, role_name=Role.Name.MAINTAINER)
    token, _raw = services.create_token(
        Actor.of(maintainer), name="bob-ci", project_names=["shared"], expires_at=None
    )
    assert [t.pk for t in services.tokens_for_project(project)] == [token.pk]
    stranger = UserFactory(username="eve")
    with pytest.raises(services.TokenError):
        services.revoke_token(Actor.of(stranger), str(token.pk))
    services.revoke_token(Actor.of(user), str(token.pk))
    assert not ApiToken.objects.exists()
    tags = set(Event.objects.values_list("tag", flat=True))
    assert {"account:api_token:removed", "project:api_token:removed"} <= tags


@pytest.mark.django_db(transaction=True)
def test_creating_and_revoking_emails_the_owner_and_records_events(user, mailoutbox):
    project = _project(user, "alpha")
    token, _raw = services.create_token(
        Actor.of(user), name="deploy", project_names=["alpha"], expires_at=None
    )
    services.revoke_token(Actor.of(user), str(token.pk))
    subjects = [m.subject for m in mailoutbox]
    assert any("An API token was created" in s for s in subjects)
    assert any("An API token was revoked" in s for s in subjects)
    created = next(m for m in mailoutbox if "created" in m.subject)
    assert "deploy" in created.body and "alpha" in created.body
    assert created.alternatives and "deploy" in created.alternatives[0][0]
    assert Event.objects.filter(tag="project:api_token:added", project=project).exists()
    assert Event.objects.filter(tag="account:api_token:added", user=user).exists()


def test_cli_token_create_follows_the_same_rules(tmp_path):
    from tests.e2e.server import run_cli

    data = tmp_path / "data"
    made = run_cli(
        "user", "create", "--username", "cli-user", "--email", "cli@example.org",
        "--password-stdin", data_dir=data, stdin="a-long-unusual-pass-97\n",
    )  # fmt: skip
    assert made.returncode == 0, made.stderr
    refused = run_cli("token", "create", "--user", "cli-user", "--name", "ci", data_dir=data)
    assert refused.returncode != 0
    assert "Verify your primary email address" in refused.stderr
    verified = run_cli(
        "user", "create", "--username", "cli-ok", "--email", "ok@example.org", "--verified",
        "--password-stdin", data_dir=data, stdin="a-long-unusual-pass-97\n",
    )  # fmt: skip
    assert verified.returncode == 0, verified.stderr
    unknown = run_cli(
        "token", "create", "--user", "cli-ok", "--name", "ci", "--project", "nope",
        data_dir=data,
    )  # fmt: skip
    assert unknown.returncode != 0 and "nope" in unknown.stderr
    made = run_cli("token", "create", "--user", "cli-ok", "--name", "ci", data_dir=data)
    assert made.returncode == 0, made.stderr
    assert made.stdout.strip().splitlines()[-1].startswith("strongroom-")
