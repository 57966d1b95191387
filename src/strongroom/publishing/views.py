"""Trusted publishing over HTTP: PyPI's OIDC endpoints, PEP 807 discovery, and the pages
for owners (a project's publishers), users (pending publishers) and staff (issuers, each
change confirmed with their second factor, as in the staff console).

Thin: parse, call one service, answer.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import (
    Http404,
    HttpRequest,
    HttpResponse,
    HttpResponseBase,
    HttpResponseRedirect,
    JsonResponse,
)
from django.shortcuts import render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_GET, require_POST, require_safe

from strongroom.accounts.actors import NotPermitted
from strongroom.accounts.decorators import reauthentication_required
from strongroom.console.confirmed import action_errors, by_key, run_confirmed
from strongroom.console.forms import ConfirmedActionForm
from strongroom.mfa.staff import staff_required
from strongroom.packages.views import owned_project
from strongroom.publishing import services
from strongroom.publishing.forms import IssuerForm, PendingPublisherForm, PublisherForm
from strongroom.publishing.minting import mint_upload_token
from strongroom.publishing.models import Issuer
from strongroom.publishing.verify import TokenRefused
from strongroom.web.actor import actor_from
from strongroom.web.http import absolute_url

MAX_BODY = 64 * 1024


def problem(message: str, code: str, status: int) -> JsonResponse:
    """An RFC 9457 problem, carrying PyPI's ``message``/``errors`` members too, so
    gh-action-pypi-publish, uv and twine-based scripts all print the sentence."""
    body = {
        "type": "about:blank",
        "title": _("Token request failed"),
        "status": status,
        "detail": message,
        "message": _("Token request failed"),
        "errors": [{"code": code, "description": message}],
    }
    response = JsonResponse(body, status=status, content_type="application/problem+json")
    return response


@require_GET
def audience(request: HttpRequest) -> JsonResponse:
    return JsonResponse({"audience": settings.OIDC_AUDIENCE})


PYTP_MEDIA = "application/vnd.pypi.pytp.v1+json"
# PEP 807 discovery keys: the SHA-256 of the upload URL's path. The PEP's worked example
# hashes the path with a trailing newline (``shasum <<< '/legacy/'``): both are answered.
_UPLOAD_PATHS = ("/legacy/", "/legacy")
DISCOVERY_KEYS = frozenset(
    hashlib.sha256(path.encode() + end).hexdigest()
    for path in _UPLOAD_PATHS
    for end in (b"", b"\n")
)


@require_GET
def discovery_for(request: HttpRequest, key: str) -> HttpResponse:
    """PEP 807: ``/.well-known/pytp/<sha256 of the upload path>``. 404 without a body for
    any other upload path; 406 when the client accepts neither the PEP's type nor JSON."""
    accept = request.META.get("HTTP_ACCEPT", "")
    if accept and not any(
        kind.split(";")[0].strip() in (PYTP_MEDIA, "application/json", "application/*", "*/*")
        for kind in accept.split(",")
    ):
        return problem(
            _("Only %(media)s is offered here.") % {"media": PYTP_MEDIA}, "not-acceptable", 406
        )
    if key.lower() not in DISCOVERY_KEYS:
        return HttpResponse(status=404)
    response = discovery(request)
    response["Content-Type"] = PYTP_MEDIA
    return response


@require_GET
def discovery(request: HttpRequest) -> JsonResponse:
    """PEP 807 discovery: where to get the audience and mint tokens, and what is offered."""
    return JsonResponse(
        {
            "audience": settings.OIDC_AUDIENCE,
            "audience-endpoint": absolute_url(reverse("publishing:audience")),
            "mint-token-endpoint": absolute_url(reverse("publishing:mint_token")),
            "features": ["single-use-token", "multi-use-token"],
            "documentation": absolute_url(reverse("publishing:help")),
        }
    )


def _payload(request: HttpRequest) -> dict[str, Any]:
    if len(request.body) > MAX_BODY:
        raise TokenRefused(_("The request body is too large."), code="invalid-payload", status=413)
    try:
        payload = json.loads(request.body or b"")
    except (ValueError, UnicodeDecodeError):
        raise TokenRefused(
            _('The request body must be JSON: {"token": "<OIDC token>"}.'),
            code="invalid-payload",
        ) from None
    if not isinstance(payload, dict) or not isinstance(payload.get("token"), str):
        raise TokenRefused(
            _('The request body must be JSON: {"token": "<OIDC token>"}.'),
            code="invalid-payload",
        )
    return payload


@csrf_exempt
def mint_token(request: HttpRequest) -> HttpResponse:
    """``{"token": JWT}`` -> ``{"success": true, "token": ..., "expires": ...}``."""
    if request.method != "POST":
        response = problem(_("Use POST."), "invalid-method", 405)
        response["Allow"] = "POST"
        return response
    try:
        payload = _payload(request)
        single_use = payload.get("single-use", payload.get("single_use")) is True
        minted = mint_upload_token(actor_from(request), payload["token"], single_use=single_use)
    except TokenRefused as refused:
        return problem(refused.message, refused.code, refused.status)
    return JsonResponse(
        {
            "success": True,
            "token": minted.token,
            "expires": int(minted.expires.timestamp()),
            "single-use": minted.minted.single_use,
        }
    )


def help_page(request: HttpRequest) -> HttpResponse:
    return render(
        request,
        "publishing/help.html",
        {"audience": settings.OIDC_AUDIENCE, "issuers": Issuer.objects.filter(enabled=True)},
    )


def _publisher_data(form: PublisherForm) -> dict[str, Any]:
    data = dict(form.cleaned_data)
    data["claims"] = services.parse_claim_policy(data.get("claims") or "")
    return data


def _run(request: HttpRequest, action: Any, done: str) -> bool:
    try:
        action()
    except (services.PublishingError, NotPermitted) as exc:
        messages.error(request, str(exc))
        return False
    messages.success(request, done)
    return True


@reauthentication_required
def project_publishing(request: HttpRequest, name: str) -> HttpResponse:
    """An Owner's page: the project's publishers, add one, remove one, require them."""
    project = owned_project(request, name)
    actor = actor_from(request)
    form = PublisherForm()
    if request.method == "POST":
        action = request.POST.get("action")
        if action == "add":
            form = PublisherForm(request.POST)
            if form.is_valid() and _run(
                request,
                lambda: services.add_publisher(actor, project, _publisher_data(form)),
                _("The trusted publisher was added."),
            ):
                return HttpResponseRedirect(request.path)
        elif action == "remove":
            _run(
                request,
                lambda: services.remove_publisher(
                    actor, project, request.POST.get("publisher", "")
                ),
                _("The trusted publisher was removed."),
            )
            return HttpResponseRedirect(request.path)
        elif action == "require":
            required = request.POST.get("required") == "on"
            _run(
                request,
                lambda: services.set_trusted_publishing_required(actor, project, required),
                _("The publishing policy was changed."),
            )
            return HttpResponseRedirect(request.path)
    return render(
        request,
        "publishing/project.html",
        {
            "project": project,
            "publishers": services.project_publishers(project),
            "required": services.requires_trusted_publishing(project),
            "form": form,
        },
    )


@login_required
@reauthentication_required
def pending(request: HttpRequest) -> HttpResponse:
    """A user's pending publishers: publishers for projects that do not exist yet."""
    actor = actor_from(request)
    form = PendingPublisherForm()
    if request.method == "POST":
        if request.POST.get("action") == "remove":
            _run(
                request,
                lambda: services.remove_pending_publisher(actor, request.POST.get("publisher", "")),
                _("The pending publisher was removed."),
            )
            return HttpResponseRedirect(request.path)
        form = PendingPublisherForm(request.POST)
        if form.is_valid():
            name = form.cleaned_data["project_name"]
            if _run(
                request,
                lambda: services.add_pending_publisher(actor, name, _publisher_data(form)),
                _("The pending publisher was added."),
            ):
                return HttpResponseRedirect(request.path)
    return render(
        request,
        "publishing/pending.html",
        {
            "publishers": services.pending_publishers(request.user),  # type: ignore[arg-type]
            "form": form,
            "days": settings.PENDING_PUBLISHER_DAYS,
        },
    )


# --- Staff: issuers, each change confirmed with the staff member's second factor -------------


def _issuers_page(request: HttpRequest, bound: ConfirmedActionForm | None = None) -> HttpResponse:
    key = by_key(request)
    add_form = bound if isinstance(bound, IssuerForm) else IssuerForm(prefix="add", by_key=key)
    rows = []
    for issuer in Issuer.objects.all():
        form = ConfirmedActionForm(prefix="issuer", auto_id=f"id_issuer_{issuer.pk}_%s", by_key=key)
        if bound is not None and getattr(bound, "issuer_id", None) == issuer.pk:
            form = bound
        rows.append((issuer, form))
    return render(
        request,
        "publishing/issuers.html",
        {
            "rows": rows,
            "form": add_form,
            "audience": settings.OIDC_AUDIENCE,
            "by_key": key,
            "action_errors": action_errors(bound),
        },
    )


@staff_required
@require_safe
def issuers(request: HttpRequest) -> HttpResponse:
    """Staff: the OIDC issuers; forms to add one, and to disable or enable each."""
    return _issuers_page(request)


@staff_required
@require_POST
def add_issuer(request: HttpRequest) -> HttpResponseBase:
    return run_confirmed(
        request,
        IssuerForm(request.POST, prefix="add", by_key=by_key(request)),
        lambda data: services.add_issuer(
            actor_from(request),
            url=data["url"],
            kind=data["kind"],
            audience=data["audience"],
            proof=data["code"],
        ),
        _("The issuer was added."),
        lambda bound: _issuers_page(request, bound),  # type: ignore[arg-type]
        reverse("publishing:issuers"),
        refused=(services.PublishingError,),
    )


@staff_required
@require_POST
def set_issuer_state(request: HttpRequest, issuer_id: int, state: str) -> HttpResponseBase:
    if state not in {"enable", "disable"}:
        raise Http404
    enabled = state == "enable"
    form = ConfirmedActionForm(
        request.POST, prefix="issuer", auto_id=f"id_issuer_{issuer_id}_%s", by_key=by_key(request)
    )
    form.issuer_id = issuer_id  # type: ignore[attr-defined]  # the row to show it in again
    return run_confirmed(
        request,
        form,
        lambda data: services.set_issuer_enabled(
            actor_from(request), issuer_id, enabled, proof=data["code"]
        ),
        _("The issuer was enabled.") if enabled else _("The issuer was disabled."),
        lambda bound: _issuers_page(request, bound),  # type: ignore[arg-type]
        reverse("publishing:issuers"),
        refused=(services.PublishingError,),
    )
