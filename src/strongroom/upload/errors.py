"""The one exception the upload pipeline raises: a status and a sentence for the client."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from strongroom.accounts.models import User
    from strongroom.upload.auth import Uploader


class UploadError(Exception):
    """A refused upload. ``message`` is what twine prints; ``status`` is 400, 403, 413, 503
    or 507.

    ``user``, ``token_id`` and ``token_name`` name who was refused when that is known
    before the uploader is (a token that failed verification, an account refused a
    password); ``uploader`` is set when the credentials were valid but the upload was
    refused while authenticating (no verified email address), so the refusal is theirs.
    """

    def __init__(
        self,
        message: str,
        status: int = 400,
        *,
        user: User | None = None,
        token_id: str | None = None,
        token_name: str | None = None,
        uploader: Uploader | None = None,
    ):
        super().__init__(message)
        self.message = message
        self.status = status
        self.user = user
        self.token_id = token_id
        self.token_name = token_name
        self.uploader = uploader


def forbidden(message: str, **who: object) -> UploadError:
    return UploadError(message, 403, **who)  # type: ignore[arg-type]


def too_large(message: str) -> UploadError:
    return UploadError(message, 413)


class PublishPending(Exception):
    """The upload was committed but its file could not be published yet (a storage fault
    after the commit); the staged copy is kept for repair. Not a refusal: nothing is
    recorded as refused, and the client is told not to upload again."""

    status = 503

    def __init__(self, message: str):
        super().__init__(message)
        self.message = message
