"""Issue 13: private projects, read tokens and the site's read mode on every read URL.

The URL conf is walked so that a new read route without the check (index.access.read_view)
fails here; every read URL is then tried anonymously on an ``authenticated`` site (401),
and "private project, no access" is compared with "no such project" (same answer).
"""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Any

import pytest
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver
from django.utils import timezone

from strongroom.accounts.actors import Actor
from strongroom.accounts.models import User
from strongroom.index import root
from strongroom.index import views as index_views
from strongroom.index.access import READ_ACCESS_CHECKED
from strongroom.packages.models import File, Project
from strongroom.packages.visibility_services import set_visibility
from strongroom.publishing.models import FileProvenance
from strongroom.tokens import services as tokens
from strongroom.tokens.models import ApiToken
from tests.distributions import basic_auth, post_upload, upload_form
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db(transaction=True)

# Every read route, by qualified name, and a URL of it for the project "{name}" (whose
# wheel's path is "{wheel}"). A new read route is added here, with read_view on its view.
READ_ROUTES: dict[str, str] = {
    "index:simple": "/simple/",
    "index:simple_project": "/simple/{name}/",
    "index:project_json": "/pypi/{name}/json",
    "index:release_json": "/pypi/{name}/1.0/json",
    "index:download": "/{wheel}",
    "index:download#metadata": "/{wheel}.metadata",
    "packages:project": "/project/{name}/",
    "packages:release": "/project/{name}/1.0/",
    "index:provenance": "/integrity/{name}/1.0/{filename}/provenance",
}
# Routes that read no project's content (or only for its Owners, behind their own guard).
# Namespaces of apps that show no project content; a new route elsewhere must be classified.
NOT_READ_NAMESPACES = {
    "accounts", "mfa", "tokens", "events", "ops", "upload", "admin", "orgs", "publishing",
    "console", "recovery",
    # Staff pages (reports, project status): staff see every project.
    "reports",
}  # fmt: skip
NOT_READ_ROUTES = {
    "web:home", "web:publish_help", "web:set_language", "admin/records/login/",
    # Upstream (proxied) names have no local project to protect: a name with any local
    # project never reaches the proxy (index.views._proxied_name, tests/proxy). They are
    # still behind read_view, so an authenticated site asks for a credential there too.
    "proxy:download", "proxy:project",
    # Listings: every one goes through packages.search.listable_projects (what the viewer
    # may read); tests/packages/test_search.py holds them to it.
    "packages:search", "packages:browse", "packages:user",
    # Signed-in readers report a project they may read (readable_project: 404 otherwise).
    "packages:report",
    # Owners' and collaborators' pages (packages.views.owned_project / governance guards).
    "packages:history", "packages:history_export", "packages:delete_project",
    "packages:your_projects", "packages:collaborators", "packages:invite",
    "packages:change_role", "packages:remove", "packages:revoke_invitation", "packages:leave",
    "packages:settings", "packages:two_factor_requirement", "packages:visibility",
    "packages:my_invitations", "packages:invitation", "packages:critical_help",
    "packages:yank", "packages:unyank", "packages:archive", "packages:delete_release",
    "packages:delete_file",
}  # fmt: skip


def _walk(patterns: list[Any], namespace: str = "") -> list[tuple[str, Any]]:
    found: list[tuple[str, Any]] = []
    for pattern in patterns:
        if isinstance(pattern, URLResolver):
            inner = f"{namespace}:{pattern.namespace}" if namespace else pattern.namespace or ""
            found += _walk(pattern.url_patterns, (inner or namespace).strip(":"))
        elif isinstance(pattern, URLPattern):
            name = f"{namespace}:{pattern.name}" if namespace else str(pattern.name or "")
            found.append((name or str(pattern.pattern), pattern.callback))
    return found


def test_upstream_routes_ask_for_a_credential_on_an_authenticated_site(settings):
    settings.READ_ACCESS = "authenticated"
    for url in ("/upstream/files/" + "a" * 64 + "/x-1.0.tar.gz", "/upstream/project/x/"):
        response = Client().get(url)
        assert response.status_code == 401, url
        assert response["WWW-Authenticate"] == 'Basic realm="Strongroom"'


def test_every_read_route_checks_read_access_and_every_route_is_classified():
    routes = _walk(get_resolver().url_patterns)
    read_names = {name.split("#")[0] for name in READ_ROUTES}
    unclassified = []
    for name, callback in routes:
        if name in read_names:
            assert getattr(callback, READ_ACCESS_CHECKED, False), f"{name} lacks read_view"
        elif name not in NOT_READ_ROUTES and name.split(":")[0] not in NOT_READ_NAMESPACES:
            unclassified.append(name)
    assert not unclassified, (
        f"classify these routes in {__file__}: read routes need index.access.read_view "
        f"and a READ_ROUTES entry: {unclassified}"
    )
    assert read_names <= {name for name, _ in routes}


@pytest.fixture(autouse=True)
def _fresh_index_memo():
    index_views.forget_index_memo()
    yield
    index_views.forget_index_memo()


@pytest.fixture
def private(client, user) -> dict[str, Any]:
    """alice's project "sample" (1.0, a wheel with its metadata), made private."""
    assert post_upload(client, upload_form(version="1.0")).status_code == 200
    project = Project.objects.get(normalized_name="sample")
    assert set_visibility(Actor.of(user), project, "private")
    wheel = File.objects.get(project=project)
    # A stored provenance, so that the Integrity API has something to answer readers with
    # (its verification at upload is tests/publishing/test_attestations.py's).
    FileProvenance.objects.create(
        file=wheel, provenance={"version": 1, "attestation_bundles": []}, repository="o/r"
    )
    return {"project": Project.objects.get(pk=project.pk), "wheel": wheel}


def _urls(name: str, wheel_path: str) -> dict[str, str]:
    filename = wheel_path.rsplit("/", 1)[-1]
    return {
        key: url.format(name=name, wheel=wheel_path, filename=filename)
        for key, url in READ_ROUTES.items()
    }


def _unknown_wheel_path(wheel: File) -> str:
    """A path of the same shape as ``wheel``'s, naming no file (another digest)."""
    digest = "f" * 64 if wheel.sha256_digest != "f" * 64 else "e" * 64
    parts = wheel.path.split("/")
    return "/".join([*parts[:3], digest, parts[4].replace("sample", "nosuchthing")])


# A signed-in page's forms carry a CSRF token masked afresh on every response (two answers
# to the same URL differ there too): compared with the value left out.
_CSRF_VALUE = re.compile(rb'(name="csrfmiddlewaretoken" value=")[^"]*"')


def _answer(response: Any, *asked: str) -> tuple[int, dict[str, str], bytes]:
    """Status, headers (Date left out) and body. What the URL itself ``asked`` for (the
    name, the file digest) is replaced by a placeholder: a CDN's surrogate keys and the
    page's own links name what was requested, which tells nothing about what exists."""
    headers = {k: v for k, v in response.headers.items() if k.lower() != "date"}
    body = b"".join(response.streaming_content) if response.streaming else response.content
    for value in asked:
        headers = {k: v.replace(value, "<asked>") for k, v in headers.items()}
        # Pages echo the requested path too (the footer's language switcher returns there).
        body = body.replace(value.encode(), b"<asked>")
    if "Content-Length" in headers:
        headers["Content-Length"] = str(len(body))
    return response.status_code, headers, _CSRF_VALUE.sub(rb'\1"', body)


def _read_token(user: User, name: str = "read", projects: list[str] | None = None, **kw: Any):
    return tokens.create_token(
        Actor.of(user), name=name, project_names=projects, expires_at=None, read=True, **kw
    )


def _token_header(raw: str) -> dict[str, str]:
    return {"HTTP_AUTHORIZATION": basic_auth("__token__", raw)}


PROJECT_URLS = [key for key in READ_ROUTES if key != "index:simple"]


@pytest.mark.parametrize("mode", ["public", "authenticated"])
@pytest.mark.parametrize("who", ["anonymous", "outsider session", "outsider read token"])
def test_a_private_project_answers_exactly_as_an_unknown_one(private, settings, mode, who):
    settings.READ_ACCESS = mode
    bob = UserFactory(username="bob")
    client, headers = Client(), {}
    if who == "outsider session":
        client.force_login(bob)
    elif who == "outsider read token":
        headers = _token_header(_read_token(bob)[1])
    wheel = private["wheel"]
    hidden = _urls("sample", wheel.path)
    unknown = _urls("nosuchthing", _unknown_wheel_path(wheel))
    for key in PROJECT_URLS:
        unknown_digest = _unknown_wheel_path(wheel).split("/")[3]
        seen = _answer(client.get(hidden[key], **headers), "sample", wheel.sha256_digest)
        absent = _answer(client.get(unknown[key], **headers), "nosuchthing", unknown_digest)
        assert seen == absent, f"{key} ({who}, {mode}) tells a private project from none"
        expected = 401 if (mode == "authenticated" and who == "anonymous") else 404
        assert seen[0] == expected, (key, seen)
    listing = client.get("/simple/", HTTP_ACCEPT="application/vnd.pypi.simple.v1+json", **headers)
    if listing.status_code == 200:
        assert "sample" not in [p["name"] for p in listing.json()["projects"]]


def test_on_an_authenticated_site_every_read_url_needs_a_credential(client, private, settings):
    settings.READ_ACCESS = "authenticated"
    Project.objects.filter(pk=private["project"].pk).update(visibility="public")
    for key, url in _urls("sample", private["wheel"].path).items():
        response = Client().get(url)
        assert response.status_code == 401, key
        assert response["WWW-Authenticate"] == 'Basic realm="Strongroom"', key
        assert response["Cache-Control"] == "private, no-store", key


def test_collaborators_and_their_read_tokens_read_a_private_project(client, user, private):
    wheel = private["wheel"]
    raw = _read_token(user)[1]
    for key, url in _urls("sample", wheel.path).items():
        for kind, reader, headers in (
            ("session", _signed_in_client(user), {}),
            ("read token", Client(), _token_header(raw)),
        ):
            response = reader.get(url, **headers)
            assert response.status_code == 200, (key, kind, response.status_code)
            assert response["Cache-Control"] == "private, no-store", (key, kind)
            vary = {v.strip() for v in response["Vary"].split(",")}
            assert {"Authorization", "Cookie"} <= vary, (key, kind)


def _signed_in_client(user: User) -> Client:
    client = Client()
    client.force_login(user)
    return client


def test_public_pages_keep_their_shared_cache_headers(client, user):
    assert post_upload(client, upload_form(version="1.0")).status_code == 200
    for url in ("/simple/", "/simple/sample/", "/pypi/sample/json"):
        response = Client().get(url)
        assert response.status_code == 200
        assert response["Cache-Control"].startswith("public, max-age="), url
        assert "Cookie" not in response.get("Vary", ""), url


def test_the_index_lists_private_projects_only_to_those_who_may_read_them(client, user, private):
    assert post_upload(client, upload_form(name="other", version="1.0")).status_code == 200
    accept = {"HTTP_ACCEPT": "application/vnd.pypi.simple.v1+json"}

    def names(reader: Client, **headers: str) -> list[str]:
        response = reader.get("/simple/", **accept, **headers)
        assert response.status_code == 200
        return [p["name"] for p in response.json()["projects"]]

    assert root.wait_for_render()  # PostgreSQL renders /simple/ after the commit, in the background
    assert names(Client()) == ["other"]
    assert names(_signed_in_client(user)) == ["other", "sample"]
    assert names(Client(), **_token_header(_read_token(user)[1])) == ["other", "sample"]
    scoped = _read_token(user, "only-sample", ["sample"])[1]
    assert names(Client(), **_token_header(scoped)) == ["sample"]
    assert names(_signed_in_client(UserFactory(username="bob"))) == ["other"]


def test_a_read_token_scoped_to_one_project_cannot_read_another(client, user, private):
    assert post_upload(client, upload_form(name="other", version="1.0")).status_code == 200
    set_visibility(Actor.of(user), Project.objects.get(normalized_name="other"), "private")
    scoped = _read_token(user, "only-sample", ["sample"])[1]
    assert Client().get("/simple/sample/", **_token_header(scoped)).status_code == 200
    assert Client().get("/simple/other/", **_token_header(scoped)).status_code == 404


@pytest.mark.parametrize("how", ["revoked", "expired", "garbage", "password", "upload-wide"])
def test_a_credential_that_does_not_hold_gets_the_401_challenge(client, user, private, how):
    if how == "garbage":
        header = basic_auth("__token__", "strongroom-nonsense")
    elif how == "password":
        header = basic_auth("alice")
    elif how == "upload-wide":
        header = basic_auth("__token__", tokens.create_token(
            Actor.of(user), name="upload", project_names=None, expires_at=None)[1])  # fmt: skip
    else:
        token, raw = _read_token(user)
        header = basic_auth("__token__", raw)
        if how == "revoked":
            tokens.revoke_token(Actor.of(user), str(token.pk))
        else:
            stored = ApiToken.objects.get(pk=token.pk)
            stored.caveats = [
                {**c, "exp": int((timezone.now() - timedelta(seconds=1)).timestamp())}
                if c["t"] == "expiry"
                else c
                for c in stored.caveats
            ]
            stored.save()
    for url in ("/simple/", "/simple/sample/", "/project/sample/"):
        response = Client().get(url, HTTP_AUTHORIZATION=header)
        assert response.status_code == 401, (how, url)
        assert response["WWW-Authenticate"] == 'Basic realm="Strongroom"'


def test_an_upload_token_reads_only_the_private_projects_it_is_scoped_to(client, user, private):
    scoped = tokens.create_token(
        Actor.of(user), name="upload-sample", project_names=["sample"], expires_at=None
    )[1]
    assert Client().get("/simple/sample/", **_token_header(scoped)).status_code == 200


def test_a_read_token_never_uploads(client, user, private):
    raw = _read_token(user)[1]
    response = client.post(
        "/legacy/", upload_form(version="2.0"), HTTP_AUTHORIZATION=basic_auth("__token__", raw)
    )
    assert response.status_code == 403
    assert "read token: it cannot upload" in response.reason_phrase


def test_a_removed_collaborator_loses_read_access_with_their_tokens(client, user, private):
    bob = UserFactory(username="bob")
    from strongroom.packages.models import Role

    role = Role.objects.create(project=private["project"], user=bob, role_name="Maintainer")
    raw = _read_token(bob)[1]
    assert Client().get("/simple/sample/", **_token_header(raw)).status_code == 200
    role.delete()
    assert Client().get("/simple/sample/", **_token_header(raw)).status_code == 404


def test_a_memoised_page_is_not_served_once_the_project_is_private(client, user, settings):
    """The fast path (index.fastwsgi) and its memo: a page it served while public is never
    served after the project turns private."""
    from strongroom.index.fastwsgi import SimpleFastPath

    assert post_upload(client, upload_form(version="1.0")).status_code == 200
    fast = SimpleFastPath(lambda environ, start: [b"django"])
    environ = {
        "REQUEST_METHOD": "GET", "PATH_INFO": "/simple/sample/", "wsgi.url_scheme": "http",
        "HTTP_HOST": "localhost", "SERVER_NAME": "localhost", "SERVER_PORT": "80",
    }  # fmt: skip
    assert fast._answer(dict(environ)) is not None  # served and memoised while public
    set_visibility(Actor.of(user), Project.objects.get(normalized_name="sample"), "private")
    assert fast._answer(dict(environ)) is None  # Django decides from now on
    assert root.wait_for_render()  # PostgreSQL renders /simple/ after the commit, in the background
    assert fast._answer({**environ, "PATH_INFO": "/simple/"})[2].find(b"sample") == -1


def test_the_fast_path_serves_a_private_page_only_for_a_read_token_that_may_read_it(
    client, user, private
):
    from strongroom.index.fastwsgi import SimpleFastPath

    fast = SimpleFastPath(lambda environ, start: [b"django"])
    environ = {
        "REQUEST_METHOD": "GET", "PATH_INFO": "/simple/sample/", "wsgi.url_scheme": "http",
        "HTTP_HOST": "localhost", "SERVER_NAME": "localhost", "SERVER_PORT": "80",
    }  # fmt: skip
    raw = _read_token(user)[1]
    status, headers, body = fast._answer(
        {**environ, "HTTP_AUTHORIZATION": basic_auth("__token__", raw)}
    )
    django = Client().get("/simple/sample/", **_token_header(raw))
    assert status == 200 and body == django.content
    assert dict(headers)["Cache-Control"] == "private, no-store"
    assert dict(headers)["ETag"] == django["ETag"]
    assert len(fast.memo or []) == 0  # never memoised
    bob = UserFactory(username="bob")
    for credential in (
        basic_auth("__token__", _read_token(bob)[1]),  # no role: Django's 404
        basic_auth("__token__", "strongroom-wrong"),  # Django's 401
        basic_auth("alice"),  # a password: Django's 401
    ):
        assert fast._answer({**environ, "HTTP_AUTHORIZATION": credential}) is None
    assert fast._answer(environ) is None  # anonymous: Django's 404
