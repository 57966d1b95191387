"""verify_provenance: another index's PEP 740 provenance (PyPI's, as the proxy gets it)
verified like an upload's attestations, each bundle against the publisher it states; real
PyPI-served provenance objects, offline."""

from __future__ import annotations

import base64
import hashlib
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from strongroom.publishing.attestations import AttestationRefused, verify_provenance

ASSETS = Path(__file__).parent / "assets"
GITHUB_DIST = "pypi_attestations-0.0.19.tar.gz"
GOOGLE_DIST = "gcb_attestation_test-0.0.0.tar.gz"


def sha256_of(name: str) -> str:
    return hashlib.sha256((ASSETS / name).read_bytes()).hexdigest()


def provenance_of(name: str, change: Callable[[dict[str, Any]], None] | None = None) -> bytes:
    document = json.loads((ASSETS / f"{name}.provenance").read_bytes())
    if change is not None:
        change(document)
    return json.dumps(document).encode()


@pytest.mark.parametrize(
    ("dist", "repository"),
    [
        (GITHUB_DIST, "https://github.com/trailofbits/pypi-attestations"),
        (GOOGLE_DIST, ""),  # a Google service account: no source repository
    ],
)
def test_real_provenance_of_each_publisher_kind_verifies(dist: str, repository: str) -> None:
    verified = verify_provenance(provenance_of(dist), dist, sha256_of(dist))
    assert verified.repository == repository
    assert verified.predicate_types == ["https://docs.pypi.org/attestations/publish/v1"]
    # What is kept is the object that was verified, as it was given.
    assert verified.provenance == json.loads(provenance_of(dist))


def _google_account_of_another(document: dict[str, Any]) -> None:
    document["attestation_bundles"][0]["publisher"]["email"] = (
        "someone@example.iam.gserviceaccount.com"
    )


def _github_publisher_instead(document: dict[str, Any]) -> None:
    document["attestation_bundles"][0]["publisher"] = {
        "kind": "GitHub", "repository": "trailofbits/pypi-attestations", "workflow": "release.yml"
    }  # fmt: skip


@pytest.mark.parametrize("change", [_google_account_of_another, _github_publisher_instead])
def test_a_bundle_not_signed_by_the_publisher_it_states_is_refused(change: Any) -> None:
    with pytest.raises(AttestationRefused, match="not signed by the publisher its provenance"):
        verify_provenance(provenance_of(GOOGLE_DIST, change), GOOGLE_DIST, sha256_of(GOOGLE_DIST))


def _statement(document: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    envelope = document["attestation_bundles"][0]["attestations"][0]["envelope"]
    return envelope, json.loads(base64.b64decode(envelope["statement"]))


def _other_predicate(document: dict[str, Any]) -> None:
    envelope, statement = _statement(document)
    statement["predicateType"] = "https://example.com/made-up/v1"
    envelope["statement"] = base64.b64encode(json.dumps(statement).encode()).decode()


def _same_predicate_twice(document: dict[str, Any]) -> None:
    attestations = document["attestation_bundles"][0]["attestations"]
    attestations.append(attestations[0])


def _one_bundle_of_two_fails(document: dict[str, Any]) -> None:
    good = json.loads(json.dumps(document["attestation_bundles"][0]))
    bad = json.loads(json.dumps(good))
    bad["publisher"]["workflow"] = "other.yml"
    document["attestation_bundles"] = [good, bad]


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        (_other_predicate, "is not accepted"),
        (_same_predicate_twice, "Two attestations have the predicate"),
        (_one_bundle_of_two_fails, "not signed by the publisher its provenance states"),
    ],
)
def test_what_an_upload_would_be_refused_for_is_refused(change: Any, reason: str) -> None:
    raw = provenance_of(GITHUB_DIST, change)
    with pytest.raises(AttestationRefused, match=reason):
        verify_provenance(raw, GITHUB_DIST, sha256_of(GITHUB_DIST))


def test_the_subject_must_be_the_file_by_name_and_digest() -> None:
    raw = provenance_of(GITHUB_DIST)
    with pytest.raises(AttestationRefused, match="is for another file"):
        verify_provenance(raw, "pypi_attestations-0.0.20.tar.gz", sha256_of(GITHUB_DIST))
    with pytest.raises(AttestationRefused, match="sha256 digest"):
        verify_provenance(raw, GITHUB_DIST, "0" * 64)
