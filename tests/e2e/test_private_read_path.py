"""Issue 13 through both HTTP servers (gunicorn and granian, each with its fast path and
page memo): a private project answers exactly as an unknown one on every read URL, and a
page memoised while the project was public is never served once it is private."""

from __future__ import annotations

import re
import urllib.error
import urllib.request
from base64 import b64encode

from tests.e2e import listing
from tests.e2e.clients import PASSWORD
from tests.e2e.server import LiveServer, run_cli

JSON = "application/vnd.pypi.simple.v1+json"


def _get(server: LiveServer, path: str, token: str | None = None) -> tuple[int, dict, bytes]:
    headers = {"Accept": JSON if path.startswith("/simple/") else "*/*"}
    if token is not None:
        headers["Authorization"] = "Basic " + b64encode(f"__token__:{token}".encode()).decode()
    request = urllib.request.Request(server.base_url + path, headers=headers)
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            status, raw_headers, body = response.status, response.headers, response.read()
    except urllib.error.HTTPError as error:
        status, raw_headers, body = error.code, error.headers, error.read()
    kept = {
        k.lower(): v for k, v in raw_headers.items() if k.lower() not in {"date", "x-request-id"}
    }
    return status, kept, body


def _make_project(server: LiveServer) -> str:
    """alice's public project "hidden" with one wheel; returns the wheel's path."""
    server.create_user("alice", "alice@example.org", PASSWORD)
    return server.django(
        """
        import tempfile
        from pathlib import Path
        from strongroom.accounts.actors import Actor
        from strongroom.accounts.models import User
        from strongroom.packages.models import File, Project, Release, Role
        from strongroom.packages.services import bump_serial
        from strongroom.storage import get_storage

        user = User.objects.get(username="alice")
        project = Project.objects.create(name="hidden", normalized_name="hidden")
        Role.objects.create(project=project, user=user, role_name="Owner")
        release = Release.objects.create(project=project, version="1.0", canonical_version="1",
                                         metadata_version="2.1")
        digest = "ab" * 32
        path = f"packages/ab/ab/{digest}/hidden-1.0-py3-none-any.whl"
        source = Path(tempfile.mkdtemp()) / "w"
        source.write_bytes(b"not really a wheel")
        get_storage().save(path, source)
        File.objects.create(release=release, project=project, filename=path.rsplit("/", 1)[1],
                            packagetype="bdist_wheel", python_version="py3", size=18, path=path,
                            sha256_digest=digest, blake2_256_digest="0" * 64, md5_digest="0" * 32)
        bump_serial(project)
        print(path)
        """
    ).strip()


def _asked(answer: tuple[int, dict, bytes], path: str, *asked: str) -> tuple[int, dict, bytes]:
    """The answer with what the URL asked for (name, digest) replaced in header values: a
    CDN's surrogate keys name what was requested, which tells nothing about what exists."""
    status, headers, body = answer
    # An HTML page's form carries a CSRF token (and its cookie) made afresh per response.
    headers = {k: v for k, v in headers.items() if k != "set-cookie"}
    body = re.sub(rb'(name="csrfmiddlewaretoken" value=")[^"]*"', rb'\1"', body)
    body = body.replace(path.encode(), b"<asked>")  # the page's links name the path
    for value in (path, *asked):
        headers = {k: v.replace(value, "<asked>") for k, v in headers.items()}
    if "content-length" in headers:
        headers["content-length"] = str(len(body))
    return status, headers, body


def test_a_private_page_never_reaches_a_client_without_access(each_server: LiveServer):
    server = each_server
    wheel = _make_project(server)
    urls = ["/simple/hidden/", "/pypi/hidden/json", "/pypi/hidden/1.0/json", f"/{wheel}",
            "/project/hidden/"]  # fmt: skip
    for _ in range(3):  # every worker memoises the public page
        assert _get(server, "/simple/hidden/")[0] == 200
    # On PostgreSQL the root is rendered after the change, in the background (index.root).
    listing.index_when(server.base_url, lambda index: "hidden" in listing.names(index))
    result = run_cli(
        "project", "visibility", "--project", "hidden", "private",
        data_dir=server.data_dir, env=server.env,
    )  # fmt: skip
    assert result.returncode == 0, result.stdout + result.stderr
    unknown_wheel = wheel.replace("ab" * 32, "cd" * 32).replace("hidden", "nothing")
    for url in urls:
        for _ in range(3):
            seen = _asked(_get(server, url), url, "hidden", "ab" * 32)
            other = url.replace(wheel, unknown_wheel).replace("hidden", "nothing")
            absent = _asked(_get(server, other), other, "nothing", "cd" * 32)
            assert seen == absent, f"{url} tells a private project from none"
            assert seen[0] == 404, (url, seen[0])
    listing.index_when(server.base_url, lambda index: index["projects"] == [])
    token = run_cli(
        "token", "create", "--user", "alice", "--name", "reader", "--read",
        data_dir=server.data_dir, env=server.env,
    ).stdout.strip().splitlines()[-1]  # fmt: skip
    status, headers, body = _get(server, "/simple/hidden/", token)
    assert status == 200 and b"hidden-1.0-py3-none-any.whl" in body
    assert headers["cache-control"] == "private, no-store"
    assert {"Authorization", "Cookie"} <= {v.strip() for v in headers["vary"].split(",")}
    assert _get(server, f"/{wheel}", token)[2] == b"not really a wheel"
    assert _get(server, "/simple/hidden/", "strongroom-wrong")[0] == 401
    for _ in range(6):  # every worker answers from its memo of private pages
        assert _get(server, "/simple/hidden/", token)[0] == 200
    server.django(  # another process revokes it (index.private_fast sees data_version move)
        """
        from strongroom.accounts.actors import Actor
        from strongroom.tokens.models import ApiToken
        from strongroom.tokens.services import revoke_token

        token = ApiToken.objects.get(name="reader")
        revoke_token(Actor.of(token.user), str(token.pk))
        """
    )
    for _ in range(4):  # refused by every worker, from its very next request on
        status, headers, body = _get(server, "/simple/hidden/", token)
        assert status == 401 and b"hidden-1.0" not in body
