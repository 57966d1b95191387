"""The upload pipeline's attestation step: the ``attestations`` field verified (PEP 740)
against the file and the uploading trusted publisher, the project's policy applied; runs
before anything is stored and raises UploadError with the reason."""

from __future__ import annotations

from django.http import QueryDict
from django.utils.translation import gettext as _

from strongroom.packages.models import Project
from strongroom.publishing import attestations, provenance
from strongroom.publishing.models import describe_identity
from strongroom.upload.auth import Uploader
from strongroom.upload.errors import UploadError


def check_attestations(
    uploader: Uploader, project: Project | None, form: QueryDict, filename: str, sha256: str
) -> attestations.Verified | None:
    """The verified attestations of this upload (None when it sends none and may)."""
    raw = form.get("attestations", "")
    required = provenance.requires_attestations(project)
    if not raw.strip():
        if required:
            assert project is not None
            raise UploadError(
                _(
                    "Project %(project)s requires attestations: upload from its trusted "
                    "publisher with PEP 740 attestations (docs/attestations.md)."
                )
                % {"project": project.name}
            )
        return None
    if uploader.publisher is None:
        if required:
            assert project is not None
            raise UploadError(
                _(
                    "Project %(project)s requires attestations from its trusted publisher: "
                    "an upload with an API token or a password cannot carry them."
                )
                % {"project": project.name}
            )
        raise UploadError(
            _(
                "Attestations are accepted only on uploads through a trusted publisher: an "
                "API token or a password has no signing identity to check them against."
            )
        )
    publisher = uploader.publisher.publisher
    identity = publisher.identity()
    try:
        parsed = attestations.parse(raw)
        expected = attestations.expected_identity(
            publisher.issuer.kind, publisher.repository, publisher.workflow, publisher.environment
        )
        verified = attestations.verify(
            parsed, expected, describe_identity(identity), filename, sha256
        )
    except attestations.AttestationRefused as refused:
        raise UploadError(refused.message, refused.status) from None
    if project is not None and required:
        previous = provenance.attested_repository(project)
        if previous and previous != verified.repository:
            raise UploadError(provenance.hold_back(uploader.actor, project, verified.repository))
    return verified
