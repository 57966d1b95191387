"""PEP 740 provenance through the proxy, with a real PyPI-signed file and the real
provenance PyPI serves for it (tests/publishing/assets), from the local fake upstream:
verified, advertised as OUR Integrity API URL and served, and what we serve verifies with
pypi-attestations. Every provenance that does not verify (or cannot be had) leaves the
file served, not attested, and marked."""

from __future__ import annotations

import base64
import dataclasses
import json
from pathlib import Path
from typing import Any

import pytest
from django.conf import settings
from django.test import Client
from pypi_attestations import Distribution, GitHubPublisher, Provenance

from strongroom.events.models import Event
from strongroom.packages.models import Project
from strongroom.proxy.models import CachedFile
from tests.proxy.upstream_server import Upstream, UpstreamFile

pytestmark = pytest.mark.django_db(transaction=True)
JSON = "application/vnd.pypi.simple.v1+json"
INTEGRITY = "application/vnd.pypi.integrity.v1+json"
ASSETS = Path(__file__).resolve().parents[1] / "publishing" / "assets"
NAME = "pypi-attestations"
DIST = "pypi_attestations-0.0.19.tar.gz"
OTHER = "pypi_attestation_models-0.0.4a2.tar.gz"  # another project's real file
PROVENANCE = (ASSETS / f"{DIST}.provenance").read_bytes()
INTEGRITY_PATH = f"/integrity/{NAME}/0.0.19/{DIST}/provenance"
FAILED_TAG = "proxy:provenance:failed"


def body(response: Any) -> bytes:
    if response.streaming:
        return b"".join(response.streaming_content)
    return bytes(response.content)


def provenance_with(change: Any) -> bytes:
    document = json.loads(PROVENANCE)
    change(document)
    return json.dumps(document).encode()


def serve_real_file(upstream: Upstream, **kwargs: Any) -> UpstreamFile:
    return upstream.add_file(NAME, DIST, (ASSETS / DIST).read_bytes(), **kwargs)


def listed(client: Client, name: str = NAME) -> dict[str, Any]:
    files = client.get(f"/simple/{name}/", HTTP_ACCEPT=JSON).json()["files"]
    assert len(files) == 1
    return dict(files[0])


def download(client: Client, entry: dict[str, Any], expected: bytes) -> None:
    response = client.get(entry["url"])
    assert response.status_code == 200
    assert body(response) == expected


def row(filename: str = DIST) -> CachedFile:
    return CachedFile.objects.get(filename=filename, is_metadata=False)


def failures() -> list[dict[str, Any]]:
    return [dict(e.extra) for e in Event.objects.filter(tag=FAILED_TAG)]


def test_real_upstream_provenance_is_verified_advertised_served_and_verifies(
    client: Client, upstream: Upstream
) -> None:
    real = serve_real_file(upstream, provenance=PROVENANCE)
    entry = listed(client)
    # Nothing is advertised before the proxy verified it.
    assert entry["provenance"] is None
    download(client, entry, real.data)
    assert ("/integrity/" + DIST + "/provenance", "") in upstream.requests
    assert row().provenance_state == "verified"

    entry = listed(client)
    ours = f"{settings.BASE_URL}{INTEGRITY_PATH}"
    assert entry["provenance"] == ours  # OUR Integrity API, never the upstream's URL
    html = client.get(f"/simple/{NAME}/", HTTP_ACCEPT="text/html").content.decode()
    assert f'data-provenance="{ours}"' in html

    served = client.get(INTEGRITY_PATH, HTTP_ACCEPT=INTEGRITY)
    assert served.status_code == 200
    assert served["Content-Type"] == INTEGRITY
    # What we serve verifies with pypi-attestations, as an installer checks it.
    provenance = Provenance.model_validate_json(served.content)
    (bundle,) = provenance.attestation_bundles
    assert bundle.publisher == GitHubPublisher(
        repository="trailofbits/pypi-attestations", workflow="release.yml"
    )
    dist = Distribution(name=DIST, digest=real.sha256)
    kinds = {a.verify(bundle.publisher, dist, offline=True)[0] for a in bundle.attestations}
    assert kinds == {"https://docs.pypi.org/attestations/publish/v1"}

    page = client.get(f"/project/{NAME}/").content.decode()
    assert "attested: its upstream provenance was verified" in page
    assert failures() == []
    # Checked once: the next download is from the storage and asks for nothing.
    download(client, entry, real.data)
    gets = [path for path, _etag in upstream.requests if path.startswith("/integrity/")]
    assert len(gets) == 1


def _tamper_signature(document: dict[str, Any]) -> None:
    envelope = document["attestation_bundles"][0]["attestations"][0]["envelope"]
    signature = bytearray(base64.b64decode(envelope["signature"]))
    signature[-1] ^= 0x01
    envelope["signature"] = base64.b64encode(bytes(signature)).decode()


def _other_repository(document: dict[str, Any]) -> None:
    document["attestation_bundles"][0]["publisher"]["repository"] = "trailofbits/sigstore-python"


def _other_workflow(document: dict[str, Any]) -> None:
    document["attestation_bundles"][0]["publisher"]["workflow"] = "nightly.yml"


def _no_bundles(document: dict[str, Any]) -> None:
    document["attestation_bundles"] = []


@pytest.mark.parametrize(
    ("served", "reason"),
    [
        pytest.param(provenance_with(_tamper_signature), "signature is invalid", id="tampered"),
        pytest.param(
            provenance_with(_other_repository),
            "not signed by the publisher its provenance states",
            id="publisher-of-another-repository",
        ),
        pytest.param(
            provenance_with(_other_workflow),
            "not signed by the publisher its provenance states",
            id="publisher-of-another-workflow",
        ),
        pytest.param(provenance_with(_no_bundles), "no attestation bundle", id="no-bundle"),
        pytest.param(b"{not json", "not a PEP 740 provenance object", id="malformed-json"),
        pytest.param(b'{"version": 2}', "not a PEP 740 provenance object", id="not-provenance"),
    ],
)
def test_provenance_that_fails_verification_leaves_the_file_served_not_attested_and_marked(
    client: Client, upstream: Upstream, served: bytes, reason: str
) -> None:
    real = serve_real_file(upstream, provenance=served)
    assert_failed(client, upstream, real, reason)


def assert_failed(client: Client, upstream: Upstream, real: UpstreamFile, reason: str) -> None:
    entry = listed(client)
    download(client, entry, real.data)  # PyPI's file, hashes checked: still served
    assert listed(client)["provenance"] is None
    html = client.get(f"/simple/{NAME}/", HTTP_ACCEPT="text/html").content.decode()
    assert "data-provenance" not in html
    missing = client.get(INTEGRITY_PATH, HTTP_ACCEPT=INTEGRITY)
    assert missing.status_code == 404
    assert missing.json() == {"message": f"No provenance available for {DIST}."}
    marked = row()
    assert marked.provenance_state == "failed" and marked.provenance is None
    assert reason in marked.provenance_error
    (event,) = failures()
    assert event["filename"] == DIST and event["project"] == NAME
    assert reason in event["reason"]
    page = client.get(f"/project/{NAME}/").content.decode()
    assert "provenance failed verification" in page
    # Marked once: a later download neither fetches it again nor records it again.
    download(client, entry, real.data)
    assert len(failures()) == 1


def test_provenance_of_another_file_fails(client: Client, upstream: Upstream) -> None:
    """The real provenance of pypi_attestations 0.0.19, named for another real file."""
    other = upstream.add_file(NAME, OTHER, (ASSETS / OTHER).read_bytes(), provenance=PROVENANCE)
    entry = listed(client)
    download(client, entry, other.data)
    marked = row(OTHER)
    assert marked.provenance_state == "failed"
    assert "is for another file" in marked.provenance_error
    assert listed(client)["provenance"] is None
    path = f"/integrity/{NAME}/0.0.4a2/{OTHER}/provenance"
    assert client.get(path, HTTP_ACCEPT=INTEGRITY).status_code == 404
    assert len(failures()) == 1


def test_provenance_url_that_404s_fails(client: Client, upstream: Upstream) -> None:
    real = serve_real_file(upstream, provenance_url="/integrity/nothing-here/provenance")
    assert_failed(client, upstream, real, "answered 404")


def test_oversized_provenance_fails(client: Client, upstream: Upstream, settings) -> None:  # type: ignore[no-untyped-def]
    settings.ATTESTATIONS_MAX_SIZE = 4096  # the real provenance is 9 KiB
    real = serve_real_file(upstream, provenance=PROVENANCE)
    assert_failed(client, upstream, real, "larger than 4096 bytes")


def test_provenance_redirected_to_another_host_fails(client: Client, upstream: Upstream) -> None:
    real = serve_real_file(upstream, provenance=PROVENANCE, provenance_url="/integrity/moved")
    # The same server under another host name: the credentials would go elsewhere.
    upstream.redirects["/integrity/moved"] = (
        f"http://localhost:{upstream.port}/integrity/{DIST}/provenance"
    )
    assert_failed(client, upstream, real, "redirected the provenance to another host")
    assert not any(p == f"/integrity/{DIST}/provenance" for p, _e in upstream.requests)


def test_provenance_redirected_within_the_upstream_is_followed(
    client: Client, upstream: Upstream
) -> None:
    real = serve_real_file(upstream, provenance=PROVENANCE, provenance_url="/integrity/moved")
    upstream.redirects["/integrity/moved"] = f"/integrity/{DIST}/provenance"
    download(client, listed(client), real.data)
    assert row().provenance_state == "verified"
    assert client.get(INTEGRITY_PATH).status_code == 200


def test_upstream_failing_for_now_leaves_it_pending_and_it_is_asked_again(
    client: Client, upstream: Upstream, settings
) -> None:  # type: ignore[no-untyped-def]
    real = serve_real_file(upstream, provenance=PROVENANCE)
    upstream.provenance_fault = "500"
    entry = listed(client)
    download(client, entry, real.data)
    pending = row()
    assert pending.provenance_state == "pending"
    assert "answered 500" in pending.provenance_error
    assert listed(client)["provenance"] is None
    assert client.get(INTEGRITY_PATH).status_code == 404
    assert failures() == []  # not a failed verification: nothing was there to verify
    upstream.provenance_fault = ""
    download(client, entry, real.data)  # within UPSTREAM_MAX_AGE: not asked again yet
    assert row().provenance_state == "pending"
    settings.UPSTREAM = dataclasses.replace(settings.UPSTREAM, max_age=0)
    download(client, entry, real.data)  # from the storage; the provenance asked again
    assert row().provenance_state == "verified"
    assert listed(client)["provenance"] == f"{settings.BASE_URL}{INTEGRITY_PATH}"


def test_html_upstream_provenance_is_verified_too(client: Client, upstream: Upstream) -> None:
    upstream.html = True
    real = serve_real_file(upstream, provenance=PROVENANCE)
    download(client, listed(client), real.data)
    assert row().provenance_state == "verified"
    assert client.get(INTEGRITY_PATH).status_code == 200


def test_a_new_provenance_url_on_the_page_drops_what_was_verified(
    client: Client, upstream: Upstream, settings
) -> None:  # type: ignore[no-untyped-def]
    real = serve_real_file(upstream, provenance=PROVENANCE)
    download(client, listed(client), real.data)
    assert row().provenance_state == "verified"
    real.provenance_url = "/integrity/elsewhere/provenance"
    settings.UPSTREAM = dataclasses.replace(settings.UPSTREAM, max_age=0)
    assert listed(client)["provenance"] is None  # the page refetched: to check again
    assert row().provenance_state == "pending"
    assert client.get(INTEGRITY_PATH).status_code == 404


def test_local_project_of_the_name_never_answers_upstream_provenance(
    client: Client, upstream: Upstream
) -> None:
    real = serve_real_file(upstream, provenance=PROVENANCE)
    download(client, listed(client), real.data)
    assert client.get(INTEGRITY_PATH).status_code == 200
    Project.objects.create(name=NAME, normalized_name=NAME, skeleton=NAME)
    answer = client.get(INTEGRITY_PATH)
    assert answer.status_code == 404
    assert answer.json() == {"message": "No such file."}
