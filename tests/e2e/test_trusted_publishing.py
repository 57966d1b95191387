"""Issue 15 with the real client: ``uv publish --trusted-publishing always`` in a GitHub
Actions-shaped environment, against ``strongroom serve`` and a local OIDC issuer.

uv asks for the audience at ``https://<index host>/_/oidc/audience`` only, so the index is
reached through a local TLS relay whose CA uv trusts (``SSL_CERT_FILE``). The OIDC token
comes from the test issuer's ``ACTIONS_ID_TOKEN_REQUEST_URL`` endpoint, as on a runner.
"""

from __future__ import annotations

import json
import shutil
import sys
import threading
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

import pytest

from tests.e2e.clients import (
    PASSWORD,
    build,
    installed_version,
    isolated_env,
    run,
    write_flit_project,
)
from tests.e2e.server import LiveServer, run_cli, running_server
from tests.publishing.issuer import LocalIssuer, github_claims
from tests.publishing.tls import TlsRelay, make_certificates

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def issuer() -> Iterator[LocalIssuer]:
    with LocalIssuer() as running:
        yield running


@pytest.fixture(scope="module")
def index(
    server: LiveServer, issuer: LocalIssuer, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[dict[str, Any]]:
    """The server trusting the issuer (``strongroom issuer add``), an https relay to it and
    an account that owns a project with a GitHub publisher."""
    added = run_cli(
        "issuer", "add", "--url", issuer.url, "--kind", "github",
        data_dir=server.data_dir, env=server.env,
    )  # fmt: skip
    assert added.returncode == 0, added.stdout + added.stderr
    server.create_user("tpowner", "tpowner@example.org", PASSWORD)
    server.django(
        f"""
        from strongroom.accounts.models import User
        from strongroom.packages.models import Project, Role
        from strongroom.publishing.models import Issuer, Publisher
        owner = User.objects.get(username="tpowner")
        project = Project.objects.create(name="sr-tp", normalized_name="sr-tp", skeleton="sr-tp")
        Role.objects.create(project=project, user=owner, role_name="Owner")
        Publisher.objects.create(
            issuer=Issuer.objects.get(url="{issuer.url}"), project=project,
            repository="octo/sr-tp", workflow="release.yml", environment="pypi",
        )
        """
    )
    root = tmp_path_factory.mktemp("tp")
    ca, cert, key = make_certificates(root / "tls")
    relay = TlsRelay(int(urlparse(server.base_url).port or 0), cert, key)
    yield {"root": root, "ca": ca, "relay": relay}
    relay.stop()


def uv_trusted_publish(
    index: dict[str, Any], issuer: LocalIssuer, files: list[Path], home: Path
) -> Any:
    import subprocess

    env = isolated_env(
        home,
        GITHUB_ACTIONS="true",
        ACTIONS_ID_TOKEN_REQUEST_URL=issuer.token_request_url,
        ACTIONS_ID_TOKEN_REQUEST_TOKEN=issuer.request_token,
        SSL_CERT_FILE=str(index["ca"]),
    )
    uv = shutil.which("uv") or str(Path(sys.executable).parent / "uv")
    return subprocess.run(
        [uv, "publish", "--publish-url", f"{index['relay'].url}/legacy/",
         "--trusted-publishing", "always", *map(str, files)],
        env=env, capture_output=True, text=True, timeout=300, check=False,
    )  # fmt: skip


def pip_install(server: LiveServer, target: Path, requirement: str, home: Path) -> None:
    run(
        [sys.executable, "-m", "pip", "install", "--no-cache-dir", "--target", str(target),
         "--index-url", f"{server.base_url}/simple/", requirement],
        isolated_env(home),
    )  # fmt: skip


def get(url: str) -> str:
    with urllib.request.urlopen(url, timeout=30) as response:
        return response.read().decode()


def test_uv_trusted_publishing_uploads_and_pip_installs(
    server: LiveServer, issuer: LocalIssuer, index: dict[str, Any]
) -> None:
    root = index["root"]
    issuer.ci_claims = github_claims("octo/sr-tp", "release.yml", environment="pypi")
    files = build(write_flit_project(root, "sr-tp", "1.0"), isolated_env(root / "home"))
    result = uv_trusted_publish(index, issuer, files, root / "home")
    assert result.returncode == 0, result.stdout + result.stderr
    pip_install(server, root / "target", "sr-tp", root / "home")
    assert installed_version(root / "target", "sr_tp") == "1.0"
    page = get(f"{server.base_url}/project/sr-tp/1.0/")
    assert "Published by trusted publisher" in page and "octo/sr-tp, release.yml (pypi)" in page
    document = json.loads(get(f"{server.base_url}/pypi/sr-tp/json"))
    assert {f["trusted_publisher"]["repository"] for f in document["urls"]} == {"octo/sr-tp"}


def test_uv_is_refused_for_another_repository_with_the_reason(
    issuer: LocalIssuer, index: dict[str, Any]
) -> None:
    root = index["root"]
    issuer.ci_claims = github_claims("evil/sr-tp", "release.yml", environment="pypi")
    files = build(write_flit_project(root / "evil", "sr-tp", "6.6"), isolated_env(root / "home"))
    result = uv_trusted_publish(index, issuer, files, root / "home")
    assert result.returncode != 0
    # uv wraps the server's sentence at its terminal width: compare with spaces collapsed.
    printed = " ".join((result.stdout + result.stderr).split())
    assert "No trusted publisher matches this token's claims" in printed


def test_uv_with_a_pending_publisher_creates_the_project(
    server: LiveServer, issuer: LocalIssuer, index: dict[str, Any]
) -> None:
    server.django(
        f"""
        from datetime import timedelta
        from django.utils import timezone
        from strongroom.accounts.models import User
        from strongroom.publishing.models import Issuer, Publisher
        Publisher.objects.create(
            issuer=Issuer.objects.get(url="{issuer.url}"), pending_name="sr-tp-new",
            pending_owner=User.objects.get(username="tpowner"),
            pending_expires=timezone.now() + timedelta(days=1),
            repository="octo/sr-tp-new", workflow="release.yml",
        )
        """
    )
    root = index["root"]
    issuer.ci_claims = github_claims("octo/sr-tp-new", "release.yml", environment=None)
    files = build(write_flit_project(root, "sr-tp-new", "0.1"), isolated_env(root / "home"))
    result = uv_trusted_publish(index, issuer, files, root / "home")
    assert result.returncode == 0, result.stdout + result.stderr
    owners = server.execute_sql(
        "SELECT u.username FROM packages_role r JOIN accounts_user u ON u.id = r.user_id "
        "JOIN packages_project p ON p.id = r.project_id WHERE p.normalized_name = 'sr-tp-new'"
    )
    assert owners == [("tpowner",)]
    pip_install(server, root / "target-new", "sr-tp-new", root / "home")
    assert installed_version(root / "target-new", "sr_tp_new") == "0.1"
    assert "Published by trusted publisher" in get(f"{server.base_url}/project/sr-tp-new/")


def _mint(base_url: str, token: str) -> tuple[int, dict[str, Any]]:
    request = urllib.request.Request(
        f"{base_url}/_/oidc/mint-token",
        data=json.dumps({"token": token}).encode(),
        headers={"Content-Type": "application/json"},
        method="POST",
    )
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read())


def test_a_jti_is_accepted_once_across_two_server_processes(
    server: LiveServer, issuer: LocalIssuer, index: dict[str, Any]
) -> None:
    shared = {k: v for k, v in server.env.items() if k.startswith("STRONGROOM_")}
    with running_server(server.data_dir, extra_env=shared) as second:
        audience = json.loads(get(f"{server.base_url}/_/oidc/audience"))["audience"]
        claims = github_claims("octo/sr-tp", "release.yml", environment="pypi")
        token = issuer.sign(claims, audience=audience)
        assert _mint(server.base_url, token)[0] == 200
        status, body = _mint(second.base_url, token)
        assert status == 422 and "already exchanged" in body["detail"]
        # The same token sent to both at once: exactly one of them mints.
        raced = issuer.sign(claims, audience=audience)
        results: list[int] = []
        threads = [
            threading.Thread(target=lambda u=url: results.append(_mint(u, raced)[0]))
            for url in (server.base_url, second.base_url) * 3
        ]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert sorted(results) == [200, 422, 422, 422, 422, 422]


def test_issuer_commands(tmp_path: Path, issuer: LocalIssuer) -> None:
    data = tmp_path / "data"
    listed = run_cli("issuer", "list", data_dir=data)
    assert listed.returncode == 0
    assert "https://token.actions.githubusercontent.com\tgithub\tenabled" in listed.stdout
    assert "https://gitlab.com\tgitlab\tenabled" in listed.stdout
    assert "https://accounts.google.com\tgoogle\tenabled" in listed.stdout
    plain = run_cli("issuer", "add", "--url", "http://ci.example.org", "--kind", "gitlab",
                    data_dir=data)  # fmt: skip
    assert plain.returncode == 1 and "must use https" in plain.stderr
    added = run_cli("issuer", "add", "--url", issuer.url, "--kind", "generic",
                    "--audience", "ci-upload", data_dir=data)  # fmt: skip
    assert added.returncode == 0 and "1 keys fetched" in added.stdout
    again = run_cli("issuer", "add", "--url", issuer.url, "--kind", "generic", data_dir=data)
    assert again.returncode == 1 and "already registered" in again.stderr
    disabled = run_cli("issuer", "disable", "--url", "https://gitlab.com", data_dir=data)
    assert disabled.returncode == 0 and "https://gitlab.com disabled." in disabled.stdout
    again = run_cli("issuer", "disable", "--url", "https://gitlab.com", data_dir=data)
    assert again.returncode == 0 and "was already disabled" in again.stdout
    listed = run_cli("issuer", "list", data_dir=data)
    assert "https://gitlab.com\tgitlab\tdisabled" in listed.stdout
    assert f"{issuer.url}\tgeneric\tenabled\taudience=ci-upload" in listed.stdout
    unknown = run_cli("issuer", "enable", "--url", "https://nowhere.example", data_dir=data)
    assert unknown.returncode == 1 and "no issuer" in unknown.stderr


def test_a_twine_based_ci_flow_uploads_with_a_minted_token(
    server: LiveServer, issuer: LocalIssuer, index: dict[str, Any]
) -> None:
    """The scripted flow of GitLab and Forgejo jobs: mint with an HTTP POST, then twine."""
    import subprocess

    root = index["root"]
    audience = json.loads(get(f"{server.base_url}/_/oidc/audience"))["audience"]
    claims = github_claims("octo/sr-tp", "release.yml", environment="pypi")
    status, body = _mint(server.base_url, issuer.sign(claims, audience=audience))
    assert status == 200 and body["success"] is True
    files = build(write_flit_project(root / "twine", "sr-tp", "2.0"), isolated_env(root / "home"))
    env = isolated_env(root / "home", TWINE_USERNAME="__token__", TWINE_PASSWORD=body["token"])
    result = subprocess.run(
        [sys.executable, "-m", "twine", "upload", "--non-interactive", "--disable-progress-bar",
         "--repository-url", f"{server.base_url}/legacy/", *map(str, files)],
        env=env, capture_output=True, text=True, timeout=300, check=False,
    )  # fmt: skip
    assert result.returncode == 0, result.stdout + result.stderr
    # The same token is scoped to sr-tp: twine prints the reason for another project.
    other = build(write_flit_project(root / "twine", "sr-tp-new", "9.0"), isolated_env(root / "h"))
    refused = subprocess.run(
        [sys.executable, "-m", "twine", "upload", "--non-interactive", "--disable-progress-bar",
         "--repository-url", f"{server.base_url}/legacy/", *map(str, other)],
        env=env, capture_output=True, text=True, timeout=300, check=False,
    )  # fmt: skip
    assert refused.returncode != 0
    assert "scoped to sr-tp and is not valid for sr-tp-new" in refused.stdout + refused.stderr


def test_a_single_use_token_wins_one_race_between_workers(
    server: LiveServer, issuer: LocalIssuer, index: dict[str, Any]
) -> None:
    import hashlib
    import io
    import zipfile

    import httpx

    audience = json.loads(get(f"{server.base_url}/_/oidc/audience"))["audience"]
    claims = github_claims("octo/sr-tp", "release.yml", environment="pypi")
    request = urllib.request.Request(
        f"{server.base_url}/_/oidc/mint-token",
        data=json.dumps(
            {"token": issuer.sign(claims, audience=audience), "single-use": True}
        ).encode(),
        headers={"Content-Type": "application/json"},
        method="POST",
    )
    with urllib.request.urlopen(request, timeout=30) as response:
        token = json.loads(response.read())["token"]

    def wheel(version: str) -> tuple[str, bytes]:
        buffer = io.BytesIO()
        info = f"sr_tp-{version}.dist-info"
        with zipfile.ZipFile(buffer, "w") as archive:
            archive.writestr("sr_tp/__init__.py", "")
            archive.writestr(
                f"{info}/METADATA", f"Metadata-Version: 2.1\nName: sr-tp\nVersion: {version}\n"
            )
            archive.writestr(f"{info}/WHEEL", "Wheel-Version: 1.0\nRoot-Is-Purelib: true\n")
        return f"sr_tp-{version}-py3-none-any.whl", buffer.getvalue()

    statuses: list[int] = []

    def upload(version: str) -> None:
        filename, content = wheel(version)
        data = {
            ":action": "file_upload", "protocol_version": "1", "metadata_version": "2.1",
            "name": "sr-tp", "version": version, "filetype": "bdist_wheel", "pyversion": "py3",
            "sha256_digest": hashlib.sha256(content).hexdigest(),
        }  # fmt: skip
        response = httpx.post(
            f"{server.base_url}/legacy/", data=data, auth=("__token__", token), timeout=60,
            files={"content": (filename, content, "application/octet-stream")},
        )  # fmt: skip
        statuses.append(response.status_code)

    threads = [threading.Thread(target=upload, args=(f"3.{i}",)) for i in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(statuses) == [200, 403, 403, 403]
