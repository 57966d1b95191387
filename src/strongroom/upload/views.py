"""POST /legacy/: twine's upload protocol. Thin: stream, authenticate, call the service."""

from __future__ import annotations

import html
import logging

from django.conf import settings
from django.core.exceptions import RequestDataTooBig, SuspiciousOperation, TooManyFieldsSent
from django.http import HttpRequest, HttpResponse
from django.http.multipartparser import MultiPartParserError
from django.utils.translation import gettext as _
from django.views.decorators.csrf import csrf_exempt

from strongroom.ops import metrics
from strongroom.storage.base import NO_ROOM
from strongroom.upload.auth import authenticate_upload, record_refusal
from strongroom.upload.errors import PublishPending, UploadError, too_large
from strongroom.upload.handlers import HashedUpload, HashingUploadHandler
from strongroom.upload.services import accept_upload, largest_upload_limit

log = logging.getLogger(__name__)
# Room for the metadata fields and multipart framing around the file itself.
FORM_OVERHEAD = settings.DATA_UPLOAD_MAX_MEMORY_SIZE + 64 * 1024


def reason_phrase(message: str) -> str:
    """A single-line, latin-1 safe version of ``message`` for the HTTP status line."""
    line = " ".join(message.split())
    return line.encode("latin-1", "replace").decode("latin-1")[:500]


def error_page(status: int, message: str) -> str:
    """PyPI's error-page shape after the plain sentence: maturin (and any client that reads
    the ``<title>`` of an error body) shows the title, ``<status> <sentence>``, where it
    would otherwise guess ("Username and/or password are wrong" for every 403)."""
    # Only <, > and & are escaped: maturin prints the title as it is, and quotes in text
    # are valid HTML.
    title = html.escape(f"{status} {' '.join(message.split())}", quote=False)
    return (
        f"<html>\n <head>\n  <title>{title}</title>\n </head>\n <body>\n"
        f"  <h1>{title}</h1>\n  {html.escape(message, quote=False)}\n </body>\n</html>\n"
    )


def error_response(error: UploadError) -> HttpResponse:
    """The sentence three ways, for every client: the reason phrase (twine, hatch, pdm),
    the first line of the body (uv, poetry, flit), and the error page's title (maturin)."""
    body = f"{error.message}\n\n{error_page(error.status, error.message)}"
    response = HttpResponse(body, status=error.status, content_type="text/plain; charset=utf-8")
    response.reason_phrase = reason_phrase(error.message)
    return response


def _content_length(request: HttpRequest) -> int:
    try:
        return int(request.META.get("CONTENT_LENGTH") or 0)
    except ValueError:
        return 0


def _drain(request: HttpRequest, limit: int) -> None:
    """Read (and drop) a refused request's body so the client sees our answer."""
    if _content_length(request) > limit:
        return
    try:
        while request.read(256 * 1024):
            pass
    except Exception:  # noqa: S110 - the client went away; nothing to tell it
        pass


def _write_refusal(error: OSError) -> UploadError:
    """The answer when the body could not be written to the upload temp dir."""
    log.warning("could not write an upload body: %s", error)
    if error.errno in NO_ROOM:
        return UploadError(
            _(
                "The server has no room left to receive the file (its disk is full); "
                "try again later."
            ),
            507,
        )
    return UploadError(
        _("The server could not write the file to its temporary folder; try again later."), 503
    )


def _parse(request: HttpRequest, handler: HashingUploadHandler) -> HashedUpload:
    try:
        request.POST  # noqa: B018 - runs the streaming multipart parser
        upload = request.FILES.get("content")
    except RequestDataTooBig:
        raise too_large(_("The form fields are too large.")) from None
    except TooManyFieldsSent:
        raise UploadError(_("Too many form fields.")) from None
    except (MultiPartParserError, SuspiciousOperation, UnicodeDecodeError, ValueError):
        raise UploadError(_("The request is not a valid multipart/form-data upload.")) from None
    if handler.write_error is not None:
        raise _write_refusal(handler.write_error)
    if handler.too_large:
        raise too_large(
            _("File too large. The limit for this project is %(limit)d MiB.")
            % {"limit": handler.max_size // (1024 * 1024)}
        )
    if handler.unexpected_fields:
        raise UploadError(
            _("Unexpected file field %(field)s: only 'content' is accepted.")
            % {"field": handler.unexpected_fields[0][:50]}
        )
    if not isinstance(upload, HashedUpload):
        raise UploadError(_("No file was uploaded in the 'content' field."))
    return upload


def _project_field(request: HttpRequest, body_read: bool) -> str | None:
    """The project an upload named, for the refusal record (only once the form is parsed)."""
    if not body_read or not hasattr(request, "_post"):
        return None
    return str(request.POST.get("name", ""))[:200] or None


@csrf_exempt
def upload(request: HttpRequest) -> HttpResponse:
    if request.method != "POST":
        response = error_response(
            UploadError(_("Upload with POST (for example: twine upload)."), 405)
        )
        response["Allow"] = "POST"
        return response
    max_size = largest_upload_limit()
    handler = HashingUploadHandler(request, max_size)
    request.upload_handlers = [handler]
    body_read = False
    uploader = None
    try:
        if _content_length(request) > max_size + FORM_OVERHEAD:
            raise too_large(
                _("File too large. The limit for this project is %(limit)d MiB.")
                % {"limit": settings.UPLOAD_MAX_SIZE // (1024 * 1024)}
            )
        uploader = authenticate_upload(request)
        body_read = True
        content = _parse(request, handler)
        accept_upload(uploader, request.POST, content)
    except UploadError as error:
        if not body_read:
            _drain(request, max_size + FORM_OVERHEAD)
        log.info("upload refused (%s): %s", error.status, error.message)
        record_refusal(request, error, uploader, _project_field(request, body_read))
        return error_response(error)
    except PublishPending as pending:
        log.error("upload committed, publication pending: %s", pending.message)
        metrics.upload_accepted()  # committed: the file is the index's, published later
        return error_response(UploadError(pending.message, pending.status))
    finally:
        handler.cleanup()
    metrics.upload_accepted()
    return HttpResponse("OK\n", content_type="text/plain")
