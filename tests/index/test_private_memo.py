"""index.private_fast's memo: a private page read with a read token is answered from the
worker's memory while nothing at all was written, and every rule still holds on the very
next request: a revoked or re-scoped token, a removed role, team or organisation
membership, a transferred project, a suspended or disabled account are refused once the
change commits, and an expired token once the clock passes its expiry, without any write.

The database version is SQLite's real ``data_version``, read on a connection of its own
to the test database (its shared in-memory one), as index.memo reads it from the data
directory's file: any commit of Django's connection moves it."""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Iterator
from datetime import timedelta
from typing import Any

import pytest
from django.core.handlers.wsgi import WSGIHandler
from django.db import connection
from django.utils import timezone

from strongroom.accounts.actors import Actor
from strongroom.accounts.models import User
from strongroom.console.services import suspend_user
from strongroom.index.fastwsgi import SimpleFastPath
from strongroom.orgs import services as orgs
from strongroom.orgs import teams, transfer
from strongroom.orgs.models import Organization, OrganizationRole, Team, TeamMember, TeamProjectRole
from strongroom.packages import governance
from strongroom.packages.models import Project, Role
from strongroom.packages.services import bump_serial
from strongroom.tokens import read_grant
from strongroom.tokens import services as tokens
from strongroom.tokens.caveats import ProjectRef, Projects
from strongroom.tokens.models import ApiToken
from tests.console.conftest import fresh_code
from tests.distributions import basic_auth
from tests.factories import UserFactory
from tests.governance.conftest import give_totp
from tests.index.test_fastwsgi import JSON, _call
from tests.tokens.test_read_grant import _narrowed

pytestmark = pytest.mark.django_db(transaction=True)


class SharedDataVersion:
    """``PRAGMA data_version`` on a second connection to the test database."""

    def __init__(self) -> None:
        name = connection.settings_dict["NAME"]
        self.conn = sqlite3.connect(name, uri=True, isolation_level=None, check_same_thread=False)

    def __call__(self) -> int | None:
        return int(self.conn.execute("PRAGMA data_version").fetchone()[0])


class Queries:
    """How many grant queries (tokens.read_grant's one query) were made."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.count = 0
        fetch = read_grant._fetch

        def counted(*args: Any) -> Any:
            self.count += 1
            return fetch(*args)

        monkeypatch.setattr(read_grant, "_fetch", counted)


@pytest.fixture
def queries(monkeypatch: pytest.MonkeyPatch) -> Queries:
    return Queries(monkeypatch)


@pytest.fixture
def app() -> Iterator[SimpleFastPath]:
    connection.ensure_connection()
    if connection.vendor != "sqlite" or not connection.is_in_memory_db():
        pytest.skip("the version probe of this test needs SQLite's shared in-memory database")
    read_grant.SIGNATURES.clear()
    fast = SimpleFastPath(WSGIHandler())
    assert fast.private is not None
    probe = SharedDataVersion()
    fast.probe = probe
    yield fast
    probe.conn.close()
    read_grant.SIGNATURES.clear()


def _private(name: str, **fields: object) -> Project:
    project = Project.objects.create(
        name=name, normalized_name=name, visibility=Project.Visibility.PRIVATE, **fields
    )
    return project


def _read_token(user: User, name: str = "read", **kw: object) -> str:
    return tokens.create_token(
        Actor.of(user),
        name=name,
        project_names=kw.pop("project_names", None),  # type: ignore[arg-type]
        expires_at=kw.pop("expires_at", None),  # type: ignore[arg-type]
        read=True,
        **kw,  # type: ignore[arg-type]
    )[1]


def _get(app: SimpleFastPath, name: str, raw: str | None) -> tuple[int, dict[str, str], bytes]:
    headers = {"accept": JSON}
    if raw is not None:
        headers["authorization"] = basic_auth("__token__", raw)
    status, answered, body = _call(app, f"/simple/{name}/", **headers)
    return int(status.split()[0]), answered, body


def _warm(app: SimpleFastPath, queries: Queries, name: str, raw: str) -> bytes:
    """Read until the page comes from the memo (the first read records "last used", a
    write, so the second queries again); returns the page."""
    for _ in range(3):
        status, _headers, body = _get(app, name, raw)
        assert status == 200 and name.encode() in body
    before = queries.count
    status, headers, again = _get(app, name, raw)
    assert status == 200 and again == body and queries.count == before  # from the memo
    assert headers["cache-control"] == "private, no-store"
    return body


def test_a_private_page_comes_from_the_memo_until_anything_is_written(app, queries, user):
    project = _private("secret")
    Role.objects.create(project=project, user=user, role_name="Owner")
    bump_serial(project)
    raw = _read_token(user)
    page = _warm(app, queries, "secret", raw)
    assert queries.count == 2
    for _ in range(5):
        assert _get(app, "secret", raw)[2] == page
    assert queries.count == 2
    UserFactory(username="unrelated")  # any write at all: the next read queries again
    assert _get(app, "secret", raw)[2] == page
    assert queries.count == 3
    assert _get(app, "secret", raw)[2] == page
    assert queries.count == 3
    # The page changes (a new serial): the very next read has the new one.
    etag = _get(app, "secret", raw)[1]["etag"]
    project.refresh_from_db()
    bump_serial(project)
    status, headers, _body = _get(app, "secret", raw)
    assert status == 200 and queries.count == 4 and headers["etag"] != etag


def test_without_a_version_every_read_queries(app, queries, user):
    app.probe = None  # PostgreSQL, or no way to prove nothing was written
    project = _private("secret")
    Role.objects.create(project=project, user=user, role_name="Owner")
    bump_serial(project)
    raw = _read_token(user)
    for count in range(1, 5):
        assert _get(app, "secret", raw)[0] == 200
        assert queries.count == count
    assert len(app.private) == 0  # type: ignore[arg-type]


def test_the_memo_answers_only_the_token_string_and_project_it_was_decided_for(app, queries, user):
    project = _private("secret")
    other = _private("other")
    Role.objects.create(project=project, user=user, role_name="Owner")
    for each in (project, other):
        bump_serial(each)
    raw = _read_token(user)
    outsider = UserFactory(username="otto")
    Role.objects.create(project=other, user=outsider, role_name="Owner")
    tampered = raw[:-2] + ("A" if raw[-2] != "A" else "B") + raw[-1]
    # Another account's token, no credential, a tampered string, the token narrowed by its
    # holder to another project: each asks right after the page was served from the memo
    # (nothing written in between), and none gets it.
    for intruder, status in [
        (_read_token(outsider, name="stranger"), 404),
        (None, 404),
        (tampered, 401),
        (_narrowed(raw, "other"), 404),
    ]:
        _warm(app, queries, "secret", raw)
        answered = _get(app, "secret", intruder)
        assert answered[0] == status and b"secret-" not in answered[2], intruder
    # The same token for a project it has no role on: decided afresh, refused.
    _warm(app, queries, "secret", raw)
    assert _get(app, "other", raw)[0] == 404


def _rocket_world() -> tuple[Organization, Project, Team, User, User]:
    """Acme's private project rocket: oona owns Acme, teo reads rocket through a team."""
    owner, teo = UserFactory(username="oona"), UserFactory(username="teo")
    acme = Organization.objects.create(name="Acme", normalized_name="acme")
    OrganizationRole.objects.create(organization=acme, user=owner, role_name="Owner")
    OrganizationRole.objects.create(organization=acme, user=teo, role_name="Member")
    project = _private("rocket", organization=acme)
    team = Team.objects.create(organization=acme, name="Builders", normalized_name="builders")
    TeamMember.objects.create(team=team, user=teo)
    TeamProjectRole.objects.create(team=team, project=project, role_name="Maintainer")
    bump_serial(project)
    return acme, project, team, owner, teo


def _revoke(user: User, raw: str) -> None:
    tokens.revoke_token(Actor.of(user), str(ApiToken.objects.get(user=user).pk))


def _rescope(user: User, raw: str) -> None:
    token = ApiToken.objects.get(user=user)
    token.caveats = [*token.caveats, Projects((ProjectRef("", "elsewhere"),)).to_json()]
    token.save()


def _suspend(user: User, raw: str) -> None:
    staff = UserFactory(username="sofia", staff=True)
    give_totp(staff)
    suspend_user(Actor.of(staff), user, "Spam uploads", code=fresh_code(staff))


def _deactivate(user: User, raw: str) -> None:
    User.objects.filter(pk=user.pk).update(is_active=False)


def _leave_team(user: User, raw: str) -> None:
    oona = User.objects.get(username="oona")
    teams.remove_team_member(Actor.of(oona), Team.objects.get(normalized_name="builders"), "teo")


def _leave_organisation(user: User, raw: str) -> None:
    oona = User.objects.get(username="oona")
    orgs.remove_member(Actor.of(oona), Organization.objects.get(normalized_name="acme"), "teo")


def _transfer_out(user: User, raw: str) -> None:
    oona = User.objects.get(username="oona")
    Role.objects.create(project=Project.objects.get(name="rocket"), user=oona, role_name="Owner")
    transfer.transfer_project(Actor.of(oona), Project.objects.get(name="rocket"), None)


CHANGES: list[tuple[str, Callable[[User, str], None], int]] = [
    ("revoked", _revoke, 401),
    ("re-scoped in the database", _rescope, 404),
    ("account suspended by staff", _suspend, 401),
    ("account disabled", _deactivate, 401),
    ("removed from the team", _leave_team, 404),
    ("removed from the organisation", _leave_organisation, 404),
    ("project transferred out of the organisation", _transfer_out, 404),
]


@pytest.mark.parametrize(("change", "status"), [(c[1], c[2]) for c in CHANGES],
                         ids=[c[0] for c in CHANGES])  # fmt: skip
def test_a_memoised_grant_is_refused_on_the_very_next_read_after_a_change(
    app, queries, change, status
):
    _acme, _project, _team, _owner, teo = _rocket_world()
    raw = _read_token(teo)
    _warm(app, queries, "rocket", raw)
    change(teo, raw)
    refused = _get(app, "rocket", raw)
    assert refused[0] == status, refused
    assert b"rocket-" not in refused[2]
    assert _get(app, "rocket", raw)[0] == status  # and it stays refused


def test_a_removed_collaborator_is_refused_on_the_very_next_read(app, queries, user):
    bob = UserFactory(username="bob")
    project = _private("secret")
    Role.objects.create(project=project, user=user, role_name="Owner")
    role = Role.objects.create(project=project, user=bob, role_name="Maintainer")
    bump_serial(project)
    raw = _read_token(bob)
    _warm(app, queries, "secret", raw)
    governance.remove_collaborator(Actor.of(user), project, role.pk)
    assert _get(app, "secret", raw)[0] == 404


def test_an_org_scoped_token_is_refused_once_its_holder_leaves_the_organisation(app, queries):
    _acme, _project, _team, _owner, teo = _rocket_world()
    raw = _read_token(teo, name="org", organization_name="acme")
    _warm(app, queries, "rocket", raw)
    _leave_organisation(teo, raw)
    assert _get(app, "rocket", raw)[0] == 401  # the full path: not a member any more


def test_an_expired_token_is_refused_from_the_memo_without_any_write(
    app, queries, user, monkeypatch
):
    project = _private("secret")
    Role.objects.create(project=project, user=user, role_name="Owner")
    bump_serial(project)
    now = timezone.now()
    raw = _read_token(user, expires_at=now + timedelta(hours=1))
    _warm(app, queries, "secret", raw)
    before = queries.count
    version = app.probe()  # type: ignore[misc]
    later = now + timedelta(hours=1, seconds=1)
    monkeypatch.setattr(timezone, "now", lambda: later)
    assert app._answer(_environ(raw)) is None  # the memo's recheck refused it
    assert app.probe() == version and queries.count == before  # nothing written or read
    assert _get(app, "secret", raw)[0] == 401


def test_last_used_is_still_recorded_from_the_memo(app, queries, user, monkeypatch):
    project = _private("secret")
    Role.objects.create(project=project, user=user, role_name="Owner")
    bump_serial(project)
    raw = _read_token(user)
    _warm(app, queries, "secret", raw)
    token = ApiToken.objects.get(user=user)
    later = token.last_used + timedelta(minutes=2)
    monkeypatch.setattr(timezone, "now", lambda: later)
    before = queries.count
    assert _get(app, "secret", raw)[0] == 200
    assert queries.count == before  # from the memo
    assert ApiToken.objects.get(pk=token.pk).last_used == later


def _environ(raw: str) -> dict[str, str]:
    return {
        "REQUEST_METHOD": "GET", "PATH_INFO": "/simple/secret/", "wsgi.url_scheme": "http",
        "HTTP_HOST": "testserver", "SERVER_NAME": "testserver", "SERVER_PORT": "80",
        "HTTP_ACCEPT": JSON, "HTTP_AUTHORIZATION": basic_auth("__token__", raw),
        "REMOTE_ADDR": "127.0.0.1",
    }  # fmt: skip


def test_a_retired_secret_ends_a_memoised_grant_without_any_write(app, queries, user, settings):
    project = _private("secret")
    Role.objects.create(project=project, user=user, role_name="Owner")
    bump_serial(project)
    raw = _read_token(user)
    _warm(app, queries, "secret", raw)
    old = settings.SECRET_KEY
    settings.SECRET_KEY = "a-new-secret-" + "x" * 40
    settings.SECRET_KEY_FALLBACKS = [old]
    assert _get(app, "secret", raw)[0] == 200  # still accepted as a fallback
    _warm(app, queries, "secret", raw)
    settings.SECRET_KEY_FALLBACKS = []
    assert _get(app, "secret", raw)[0] == 401
