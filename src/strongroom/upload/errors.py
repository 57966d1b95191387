"""The one exception the upload pipeline raises: a status and a sentence for the client."""

from __future__ import annotations


class UploadError(Exception):
    """A refused upload. ``message`` is what twine prints; ``status`` is 400, 403, 413 or 503."""

    def __init__(self, message: str, status: int = 400):
        super().__init__(message)
        self.message = message
        self.status = status


def forbidden(message: str) -> UploadError:
    return UploadError(message, 403)


def too_large(message: str) -> UploadError:
    return UploadError(message, 413)
