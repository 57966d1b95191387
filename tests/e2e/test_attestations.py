"""Issue 16 against ``strongroom serve`` and a real browser: a token minted from the local
issuer's OIDC token uploads a real PyPI-signed sdist with its two real attestations (the
``attestations`` field as uv and gh-action-pypi-publish send it); the simple page and the
Integrity API serve the provenance, pypi-attestations verifies it, and Chromium shows the
release page's attestation with no axe-core violation.

(``uv publish`` itself cannot send this sdist: its PKG-INFO is Metadata-Version 2.1 with a
License-File field, which the upload's metadata validation refuses before attestations.)"""

from __future__ import annotations

import hashlib
import json
import urllib.request
from collections.abc import Iterator
from typing import Any

import pytest

from tests.e2e.server import LiveServer
from tests.e2e.test_trusted_publishing import index, issuer  # noqa: F401
from tests.publishing.issuer import LocalIssuer, github_claims
from tests.publishing.test_attestations import ASSETS, COMMIT, DIST, REPOSITORY, SOURCE

pytestmark = [pytest.mark.e2e, pytest.mark.browser]


@pytest.fixture(scope="module")
def attested_index(
    server: LiveServer,
    issuer: LocalIssuer,  # noqa: F811
    index: dict[str, Any],  # noqa: F811
) -> Iterator[dict[str, Any]]:
    """The pypi-attestations project with the publisher its certificates name."""
    server.django(
        f"""
        from strongroom.accounts.models import User
        from strongroom.packages.models import Project, Role
        from strongroom.publishing.models import Issuer, Publisher
        owner = User.objects.get(username="tpowner")
        name = "pypi-attestations"
        project = Project.objects.create(name=name, normalized_name=name, skeleton=name)
        Role.objects.create(project=project, user=owner, role_name="Owner")
        Publisher.objects.create(
            issuer=Issuer.objects.get(url="{issuer.url}"), project=project,
            repository="{REPOSITORY}", workflow="release.yml",
        )
        """
    )
    yield index


def fetch(url: str, accept: str) -> tuple[str, bytes]:
    request = urllib.request.Request(url, headers={"Accept": accept})
    with urllib.request.urlopen(request, timeout=30) as response:
        return response.headers["Content-Type"], response.read()


def test_uv_publishes_real_attestations_served_verified_and_shown(
    server: LiveServer,
    issuer: LocalIssuer,  # noqa: F811
    attested_index: dict[str, Any],
    browser: Any,
) -> None:
    import httpx
    from axe_playwright_python.sync_playwright import Axe
    from pypi_attestations import Distribution, GitHubPublisher, Provenance

    claims = github_claims(REPOSITORY, "release.yml", environment=None, ref="refs/tags/v0.0.19")
    audience = server.django(
        "from django.conf import settings\nprint(settings.OIDC_AUDIENCE)"
    ).strip()
    minted = httpx.post(
        f"{server.base_url}/_/oidc/mint-token",
        json={"token": issuer.sign(claims, audience=audience)},
        timeout=30,
    )
    assert minted.status_code == 200, minted.text
    content = (ASSETS / DIST).read_bytes()
    attestations = [
        json.loads((ASSETS / f"{DIST}.{kind}.attestation").read_text())
        for kind in ("publish", "slsa")
    ]
    fields = {
        ":action": "file_upload", "protocol_version": "1", "metadata_version": "2.1",
        "name": "pypi-attestations", "version": "0.0.19", "filetype": "sdist",
        "pyversion": "source", "summary": "Converts Sigstore bundles", "requires_python": ">=3.9",
        "sha256_digest": hashlib.sha256(content).hexdigest(),
        "attestations": json.dumps(attestations),
    }  # fmt: skip
    uploaded = httpx.post(
        f"{server.base_url}/legacy/",
        data=fields,
        files={"content": (DIST, content, "application/octet-stream")},
        auth=("__token__", minted.json()["token"]),
        timeout=60,
    )
    assert uploaded.status_code == 200, uploaded.text

    kind, body = fetch(
        f"{server.base_url}/simple/pypi-attestations/", "application/vnd.pypi.simple.v1+json"
    )
    entry = json.loads(body)["files"][0]
    assert entry["provenance"].endswith(f"/integrity/pypi-attestations/0.0.19/{DIST}/provenance")
    provenance_path = entry["provenance"].split("/integrity/", 1)[1]
    kind, body = fetch(
        f"{server.base_url}/integrity/{provenance_path}", "application/vnd.pypi.integrity.v1+json"
    )
    assert kind == "application/vnd.pypi.integrity.v1+json"
    (bundle,) = Provenance.model_validate_json(body).attestation_bundles
    assert len(bundle.attestations) == 2
    dist = Distribution.from_file(ASSETS / DIST)
    expected = GitHubPublisher(repository=REPOSITORY, workflow="release.yml")
    for attestation in bundle.attestations:
        attestation.verify(expected, dist, offline=True)

    context = browser.new_context(java_script_enabled=False)
    try:
        page = context.new_page()
        page.goto(f"{server.base_url}/project/pypi-attestations/0.0.19/")
        text = page.locator(".attested").inner_text()
        assert text.startswith("Attested: built by github.com/trailofbits/pypi-attestations")
        assert COMMIT[:12] in text
        link = page.get_by_role("link", name="github.com/trailofbits/pypi-attestations")
        assert link.get_attribute("href") == f"{SOURCE}/tree/{COMMIT}"
    finally:
        context.close()
    # axe-core runs in the page: a context with scripts on (the page itself needs none).
    context = browser.new_context(bypass_csp=True)
    try:
        page = context.new_page()
        page.goto(f"{server.base_url}/project/pypi-attestations/0.0.19/")
        results = Axe().run(page)
        assert results.violations_count == 0, results.generate_report()
    finally:
        context.close()
