"""The private read fast path's verification (tokens.read_grant) and its per-process cache:
what is remembered is only what a token string fixes, so revocation, expiry, a changed
scope, a disabled account and a lost role are refused on the very next call, and any
other string (tampered, narrowed, signed under a retired key) is verified afresh."""

from __future__ import annotations

import uuid
from datetime import timedelta

import pytest
from django.utils import timezone
from pymacaroons import Macaroon

from strongroom.accounts.actors import Actor
from strongroom.accounts.models import User
from strongroom.orgs.models import Organization, OrganizationRole, Team, TeamMember, TeamProjectRole
from strongroom.packages.models import Project, Role
from strongroom.tokens import read_grant
from strongroom.tokens import services as tokens
from strongroom.tokens.caveats import ProjectRef, Projects, serialize_caveat
from strongroom.tokens.models import ApiToken
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db

PREFIX = "strongroom-"


@pytest.fixture(autouse=True)
def _empty_cache():  # type: ignore[no-untyped-def]
    read_grant.SIGNATURES.clear()
    yield
    read_grant.SIGNATURES.clear()


def _project(name: str, user: User | None, **fields: object) -> Project:
    project = Project.objects.create(
        name=name, normalized_name=name, visibility="private", **fields
    )
    if user is not None:
        Role.objects.create(project=project, user=user, role_name="Maintainer")
    return project


def _read_token(user: User, name: str = "read", **kw: object) -> str:
    kw.setdefault("project_names", None)
    return tokens.create_token(
        Actor.of(user), name=name, expires_at=kw.pop("expires_at", None), read=True, **kw
    )[1]  # type: ignore[arg-type]


def _may(raw: str, project: Project, *, now=None, ip: str = "127.0.0.1") -> bool:  # type: ignore[no-untyped-def]
    return read_grant.may_read(
        raw, project.pk, project.normalized_name, now=now or timezone.now(), ip=ip
    )


def _body(raw: str) -> Macaroon:
    assert raw.startswith(PREFIX)
    return Macaroon.deserialize(raw[len(PREFIX) :])


def _narrowed(raw: str, *names: str) -> str:
    macaroon = _body(raw)
    refs = tuple(ProjectRef("", n) for n in names)
    macaroon.add_first_party_caveat(serialize_caveat(Projects(refs)))
    return PREFIX + macaroon.serialize()


def test_a_read_token_reads_a_private_project_it_has_a_role_on(user):
    project = _project("secret", user)
    raw = _read_token(user)
    assert _may(raw, project)
    assert len(read_grant.SIGNATURES) == 1
    assert _may(raw, project)  # from the cache, same answer
    assert len(read_grant.SIGNATURES) == 1


def test_revocation_right_after_a_cached_verification_is_refused(user):
    project = _project("secret", user)
    raw = _read_token(user)
    assert _may(raw, project)
    token = ApiToken.objects.get(user=user)
    tokens.revoke_token(Actor.of(user), str(token.pk))
    assert len(read_grant.SIGNATURES) == 1  # still cached: it proves nothing on its own
    assert not _may(raw, project)


def test_expiry_is_checked_against_the_clock_on_every_call(user):
    project = _project("secret", user)
    now = timezone.now()
    raw = _read_token(user, expires_at=now + timedelta(hours=1))
    assert _may(raw, project, now=now)
    assert not _may(raw, project, now=now + timedelta(hours=1, seconds=1))


def test_a_token_re_scoped_in_the_database_is_refused_at_once(user):
    project = _project("secret", user)
    other = _project("other", user)
    raw = _read_token(user)
    assert _may(raw, project)
    token = ApiToken.objects.get(user=user)
    scope = Projects((ProjectRef(str(other.pk), other.normalized_name),))
    token.caveats = [*token.caveats, scope.to_json()]
    token.save()
    assert not _may(raw, project)
    assert _may(raw, other)
    token.caveats = [*token.caveats, {"v": 1, "t": "unknown"}]
    token.save()
    assert not _may(raw, other)  # a caveat this server does not know refuses the token


def test_a_token_narrowed_by_its_holder_is_its_own_entry(user):
    project = _project("secret", user)
    other = _project("other", user)
    raw = _read_token(user)
    assert _may(raw, project)
    narrowed = _narrowed(raw, "other")
    assert not _may(narrowed, project)
    assert _may(narrowed, other)
    assert len(read_grant.SIGNATURES) == 2


def test_tampered_tokens_are_refused_and_never_cached(user):
    project = _project("secret", user)
    raw = _read_token(user)
    narrowed = _narrowed(raw, "other")
    assert _may(narrowed, _project("other", user))  # cached: the narrowed string
    cached = len(read_grant.SIGNATURES)
    body = _body(narrowed)
    # Dropping the holder's caveat while keeping the narrowed signature.
    stripped = Macaroon(
        location=body.location, identifier=body.identifier, signature=body.signature, version=1
    )
    stripped.caveats = body.caveats[:-1]
    # The same identifier and caveats, signed under a key the server does not hold.
    forged = Macaroon(location=body.location, identifier=body.identifier, key=b"k" * 32)
    for caveat in _body(raw).caveats:
        forged.add_first_party_caveat(caveat.caveat_id)
    for bad in (
        PREFIX + stripped.serialize(),
        PREFIX + forged.serialize(),
        raw[:-2] + ("A" if raw[-2] != "A" else "B") + raw[-1],
        raw + "=",
        "strongroom-not-a-token",
        "",
    ):
        assert not _may(bad, project), bad
    assert len(read_grant.SIGNATURES) == cached


def test_a_retired_secret_no_longer_verifies_a_cached_token(user, settings):
    project = _project("secret", user)
    raw = _read_token(user)
    assert _may(raw, project)
    old = settings.SECRET_KEY
    settings.SECRET_KEY = "a-new-secret-" + "x" * 40
    settings.SECRET_KEY_FALLBACKS = [old]
    assert _may(raw, project)  # still accepted as a fallback
    settings.SECRET_KEY_FALLBACKS = []
    assert not _may(raw, project)


def test_a_disabled_account_and_a_removed_collaborator_are_refused_at_once(user):
    bob = UserFactory(username="bob")
    project = _project("secret", user)
    role = Role.objects.create(project=project, user=bob, role_name="Maintainer")
    raw = _read_token(bob)
    assert _may(raw, project)
    role.delete()
    assert not _may(raw, project)
    Role.objects.create(project=project, user=bob, role_name="Maintainer")
    assert _may(raw, project)
    User.objects.filter(pk=bob.pk).update(is_active=False)
    assert not _may(raw, project)


def test_organisation_rights_and_org_scoped_tokens_end_with_membership(user):
    teo = UserFactory(username="teo")
    acme = Organization.objects.create(name="Acme", normalized_name="acme")
    membership = OrganizationRole.objects.create(organization=acme, user=teo, role_name="Member")
    project = _project("rocket", None, organization=acme)
    team = Team.objects.create(organization=acme, name="Builders", normalized_name="builders")
    TeamMember.objects.create(team=team, user=teo)
    TeamProjectRole.objects.create(team=team, project=project, role_name="Maintainer")
    outside = _project("outside", teo)  # not the organisation's
    account = _read_token(teo, name="account")
    scoped = _read_token(teo, name="org", organization_name="acme")
    assert _may(account, project) and _may(scoped, project)
    assert _may(account, outside) and not _may(scoped, outside)
    membership.delete()  # the team membership row stays: the organisation's decides
    assert not _may(account, project)
    assert not _may(scoped, project)
    assert not _may(scoped, outside)


def test_last_used_is_recorded_at_most_once_a_minute_per_address(user):
    project = _project("secret", user)
    raw = _read_token(user)
    now = timezone.now()
    assert _may(raw, project, now=now)
    token = ApiToken.objects.get(user=user)
    assert token.last_used == now and token.last_used_ip == "127.0.0.1"
    assert _may(raw, project, now=now + timedelta(seconds=30))
    assert ApiToken.objects.get(pk=token.pk).last_used == now
    assert _may(raw, project, now=now + timedelta(seconds=30), ip="10.0.0.2")
    assert ApiToken.objects.get(pk=token.pk).last_used_ip == "10.0.0.2"


def test_the_cache_is_bounded():
    cache = read_grant.SignatureCache(size=2)
    entries = [read_grant._Signed(token_id=uuid.uuid4(), appended=()) for _ in "abc"]
    for key, entry in zip((b"a", b"b", b"c"), entries, strict=True):
        cache.put(key, entry)
    assert len(cache) == 2 and cache.get(b"a") is None and cache.get(b"c") == entries[2]


def test_the_fast_path_refuses_a_token_revoked_right_after_it_served_the_page(user):
    from strongroom.index.fastwsgi import SimpleFastPath
    from strongroom.packages.services import bump_serial
    from tests.distributions import basic_auth

    project = _project("secret", user)
    public = Project.objects.create(name="open", normalized_name="open")
    Role.objects.create(project=public, user=user, role_name="Owner")
    for each in (project, public):
        bump_serial(each)
    raw = _read_token(user)
    fast = SimpleFastPath(lambda environ, start: [b"django"])
    environ = {
        "REQUEST_METHOD": "GET", "PATH_INFO": "/simple/secret/", "wsgi.url_scheme": "http",
        "HTTP_HOST": "localhost", "SERVER_NAME": "localhost", "SERVER_PORT": "80",
        "HTTP_AUTHORIZATION": basic_auth("__token__", raw),
    }  # fmt: skip
    answered = fast._answer(dict(environ))
    assert answered is not None and answered[0] == 200
    # A public project's page with a credential: Django verifies it (and answers).
    assert fast._answer({**environ, "PATH_INFO": "/simple/open/"}) is None
    tokens.revoke_token(Actor.of(user), str(ApiToken.objects.get(user=user).pk))
    assert fast._answer(dict(environ)) is None  # Django: 401, the token was revoked
