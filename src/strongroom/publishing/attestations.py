"""PEP 740 attestations: parse the upload's ``attestations`` field and verify each one
offline with ``pypi-attestations`` (on ``sigstore``) against the uploaded file and the
trusted publisher that authenticated the upload. Free of HTTP and of the database.

The trust root is sigstore's embedded public-good root, or the staff's
``STRONGROOM_SIGSTORE_TRUSTED_ROOT`` file (a private Sigstore deployment): both build the
one ``Verifier`` that every attestation goes through.
"""

from __future__ import annotations

import functools
import json
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.utils.translation import gettext as _
from pydantic import ValidationError

ACCEPTED_PREDICATES = {
    "https://docs.pypi.org/attestations/publish/v1": "PyPI Publish v1",
    "https://slsa.dev/provenance/v1": "SLSA Provenance v1",
}
# Fulcio certificate extensions (docs.sigstore.dev: Fulcio OID information).
_OID_BUILD_CONFIG_URI = "1.3.6.1.4.1.57264.1.18"
_OID_SOURCE_REPOSITORY_URI = "1.3.6.1.4.1.57264.1.12"
_OID_SOURCE_REPOSITORY_DIGEST = "1.3.6.1.4.1.57264.1.13"


class AttestationRefused(Exception):
    """An attestation field that cannot be accepted; ``message`` says why, for the client,
    with the HTTP status to answer (400; 503 when the server cannot verify at all)."""

    def __init__(self, message: str, status: int = 400):
        super().__init__(message)
        self.message = message
        self.status = status


@dataclass(frozen=True)
class Verified:
    """What verified attestations say: the provenance object to serve (PEP 740) and the
    signing identity from the certificate (source repository URL, workflow path, commit)."""

    provenance: dict[str, Any]
    repository: str
    workflow: str
    commit: str
    predicate_types: list[str]


# The public-good trusted root that sigstore ships (its TUF bootstrap store).
_EMBEDDED_ROOT = "https%3A%2F%2Ftuf-repo-cdn.sigstore.dev/trusted_root.json"


def _embedded_root() -> str | None:
    from importlib import resources

    path = resources.files("sigstore._store") / _EMBEDDED_ROOT
    return str(path) if path.is_file() else None


@functools.lru_cache(maxsize=4)
def _verifier(trusted_root: str) -> Any:
    from sigstore.models import TrustedRoot
    from sigstore.verify import Verifier

    path = trusted_root or _embedded_root()
    if path is None:  # a sigstore that stores its root elsewhere: its offline TUF loader
        return Verifier.production(offline=True)
    # One code path for the embedded root and a staff file: no network, no TUF cache to
    # write (the server's home may be read-only).
    return Verifier(trusted_root=TrustedRoot.from_file(path))


def verifier() -> Any:
    """The one sigstore Verifier, for the configured trust root."""
    try:
        return _verifier(str(settings.SIGSTORE_TRUSTED_ROOT or ""))
    except Exception:  # a missing or invalid trusted_root.json: the operator's to fix
        raise AttestationRefused(
            _(
                "The server cannot verify attestations now: its Sigstore trusted root "
                "(STRONGROOM_SIGSTORE_TRUSTED_ROOT) is unreadable. Nothing was stored; "
                "try again later."
            ),
            503,
        ) from None


def parse(raw: str) -> list[Any]:
    """The field as a list of ``pypi_attestations.Attestation``; structure only."""
    from pypi_attestations import Attestation

    limit = int(settings.ATTESTATIONS_MAX_SIZE)
    if len(raw.encode("utf-8")) > limit:
        raise AttestationRefused(
            _("The attestations field is too large (the limit is %(limit)d KiB).")
            % {"limit": limit // 1024}
        )
    try:
        items = json.loads(raw)
    except ValueError:
        raise AttestationRefused(
            _("The attestations field is not valid JSON: it must be a JSON list of attestations.")
        ) from None
    if not isinstance(items, list) or not items:
        raise AttestationRefused(
            _("The attestations field must be a non-empty JSON list of attestation objects.")
        )
    if len(items) > len(ACCEPTED_PREDICATES):
        raise AttestationRefused(
            _("Too many attestations: at most one of each accepted kind (%(kinds)s).")
            % {"kinds": ", ".join(ACCEPTED_PREDICATES.values())}
        )
    parsed = []
    for number, item in enumerate(items, start=1):
        try:
            parsed.append(Attestation.model_validate(item))
        except ValidationError:
            raise AttestationRefused(
                _("Attestation %(number)d is not a PEP 740 attestation object.")
                % {"number": number}
            ) from None
    _check_predicates(parsed)
    return parsed


def _statement(attestation: Any, number: int) -> dict[str, Any]:
    try:
        statement = attestation.statement
    except ValueError:
        statement = None
    if not isinstance(statement, dict):
        raise AttestationRefused(
            _("Attestation %(number)d does not hold an in-toto statement.") % {"number": number}
        )
    return statement


def _check_predicates(parsed: list[Any]) -> None:
    """Only the predicates PyPI accepts, at most one of each (read before the signature is
    checked, so the refusal names the predicate; the signature covers it anyway)."""
    seen: set[str] = set()
    for number, attestation in enumerate(parsed, start=1):
        kind = str(_statement(attestation, number).get("predicateType", ""))
        if kind not in ACCEPTED_PREDICATES:
            raise AttestationRefused(
                _(
                    "Attestation %(number)d has the predicate type %(kind)s, which is not "
                    "accepted: only %(accepted)s are."
                )
                % {
                    "number": number,
                    "kind": kind[:200] or "(none)",
                    "accepted": ", ".join(ACCEPTED_PREDICATES.values()),
                }
            )
        if kind in seen:
            raise AttestationRefused(
                _("Two attestations have the predicate %(name)s: send at most one of each.")
                % {"name": ACCEPTED_PREDICATES[kind]}
            )
        seen.add(kind)


def expected_identity(kind: str, repository: str, workflow: str, environment: str) -> Any:
    """The pypi-attestations publisher a trusted publisher's attestations must be signed as."""
    from pypi_attestations import GitHubPublisher, GitLabPublisher, GooglePublisher

    env = environment or None
    if kind == "github":
        return GitHubPublisher(repository=repository, workflow=workflow, environment=env)
    if kind == "gitlab":
        return GitLabPublisher(repository=repository, workflow_filepath=workflow, environment=env)
    if kind == "google":
        return GooglePublisher(email=repository)
    raise AttestationRefused(
        _(
            "Attestations are verified for GitHub, GitLab and Google trusted publishers "
            "only; this upload's publisher is of another kind."
        )
    )


def _check_subject(statement: dict[str, Any], filename: str, sha256: str, number: int) -> None:
    subjects = statement.get("subject")
    if not isinstance(subjects, list) or len(subjects) != 1 or not isinstance(subjects[0], dict):
        raise AttestationRefused(
            _("Attestation %(number)d must name exactly one subject.") % {"number": number}
        )
    subject = subjects[0]
    digest = subject.get("digest")
    if subject.get("name") != filename or not isinstance(digest, dict):
        raise AttestationRefused(
            _("Attestation %(number)d is for another file (%(name)s), not %(filename)s.")
            % {"number": number, "name": str(subject.get("name"))[:200], "filename": filename}
        )
    if digest.get("sha256") != sha256:
        raise AttestationRefused(
            _(
                "Attestation %(number)d is for another file: its sha256 digest is not the "
                "uploaded file's."
            )
            % {"number": number}
        )


def _claims_of(attestation: Any) -> tuple[str, str, str]:
    claims = attestation.certificate_claims
    repository = claims.get(_OID_SOURCE_REPOSITORY_URI, "")
    build = claims.get(_OID_BUILD_CONFIG_URI, "")
    workflow = build.removeprefix(repository).lstrip("/").partition("@")[0] if build else ""
    return repository, workflow, claims.get(_OID_SOURCE_REPOSITORY_DIGEST, "")


def verify(
    parsed: list[Any],
    identity: Any,
    described: str,
    filename: str,
    sha256: str,
    *,
    upload: bool = True,
) -> Verified:
    """Verify every attestation: the signature and transparency log entry against the trust
    root, the signing certificate against ``identity`` (the uploading publisher, or with
    ``upload=False`` the publisher an upstream provenance states; described as
    ``described``), the single subject against the file."""
    import sigstore.errors
    from pypi_attestations import AttestationBundle, Provenance

    checker = verifier()
    policy = identity._as_policy()
    kinds = []
    for number, attestation in enumerate(parsed, start=1):
        try:
            bundle = attestation.to_bundle()
        except Exception:  # a certificate or log entry the library cannot rebuild
            raise AttestationRefused(
                _("Attestation %(number)d has unreadable verification material.")
                % {"number": number}
            ) from None
        try:
            # Who signed (read from the certificate), then the full check: the signature,
            # the certificate chain and the log entry, with that same identity policy.
            policy.verify(bundle.signing_certificate)
        except Exception as exc:
            sentence = (
                _(
                    "Attestation %(number)d was not signed by this upload's trusted "
                    "publisher (%(publisher)s): %(detail)s"
                )
                if upload
                else _(
                    "Attestation %(number)d was not signed by the publisher its provenance "
                    "states (%(publisher)s): %(detail)s"
                )
            )
            raise AttestationRefused(
                sentence % {"number": number, "publisher": described, "detail": str(exc)[:300]}
            ) from None
        try:
            checker.verify_dsse(bundle, policy)
        except Exception as exc:  # sigstore's VerificationError, or what the check trips on
            detail = str(exc) if isinstance(exc, sigstore.errors.Error) else ""
            raise AttestationRefused(
                _(
                    "Attestation %(number)d failed verification: its signature is invalid. "
                    "%(detail)s"
                )
                % {"number": number, "detail": detail[:300]}
            ) from None
        statement = _statement(attestation, number)
        _check_subject(statement, filename, sha256, number)
        kinds.append(str(statement["predicateType"]))
    repository, workflow, commit = _claims_of(parsed[0])
    provenance = Provenance(
        attestation_bundles=[AttestationBundle(publisher=identity, attestations=parsed)]
    )
    return Verified(
        provenance=json.loads(provenance.model_dump_json()),
        repository=repository,
        workflow=workflow,
        commit=commit,
        predicate_types=kinds,
    )


def describe_publisher(publisher: Any) -> str:
    """One line naming a pypi-attestations publisher, e.g. ``GitHub: o/r, release.yml``."""
    fields = publisher.model_dump(exclude={"kind"}, exclude_none=True)
    return f"{publisher.kind}: " + ", ".join(str(value) for value in fields.values())


def verify_provenance(raw: bytes, filename: str, sha256: str) -> Verified:
    """Verify a PEP 740 provenance object that another index serves for a file (the
    proxy's upstream), the way an upload's attestations are verified: each bundle's
    attestations have the predicates PyPI accepts (at most one of each), a valid signature
    and log entry against the trust root, a signing certificate that matches the
    publisher that bundle states, and the file (name, sha256) as their single subject.
    Any failure raises AttestationRefused; the result holds only what was verified."""
    from pypi_attestations import AttestationBundle, Provenance

    limit = int(settings.ATTESTATIONS_MAX_SIZE)
    if len(raw) > limit:
        raise AttestationRefused(
            _("The provenance is too large (the limit is %(limit)d KiB).")
            % {"limit": limit // 1024}
        )
    try:
        provenance = Provenance.model_validate_json(raw)
    except ValueError:  # pydantic's ValidationError, for bad JSON too
        raise AttestationRefused(_("The provenance is not a PEP 740 provenance object.")) from None
    if not provenance.attestation_bundles:
        raise AttestationRefused(_("The provenance holds no attestation bundle."))
    results = []
    for bundle in provenance.attestation_bundles:
        if not bundle.attestations or len(bundle.attestations) > len(ACCEPTED_PREDICATES):
            raise AttestationRefused(
                _("An attestation bundle must hold one to %(most)d attestations.")
                % {"most": len(ACCEPTED_PREDICATES)}
            )
        _check_predicates(bundle.attestations)
        publisher = bundle.publisher
        results.append(
            verify(bundle.attestations, publisher, describe_publisher(publisher), filename,
                   sha256, upload=False)
        )  # fmt: skip
    first = results[0]
    verified = Provenance(
        attestation_bundles=[
            AttestationBundle(publisher=bundle.publisher, attestations=bundle.attestations)
            for bundle in provenance.attestation_bundles
        ]
    )
    return Verified(
        provenance=json.loads(verified.model_dump_json()),
        repository=first.repository,
        workflow=first.workflow,
        commit=first.commit,
        predicate_types=[kind for result in results for kind in result.predicate_types],
    )
