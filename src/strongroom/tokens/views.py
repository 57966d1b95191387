"""API token pages: create (shown once), list, revoke; and the leak-disclosure endpoint."""

from __future__ import annotations

import json
import logging
from datetime import UTC, datetime, time

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from strongroom.accounts.decorators import reauthentication_required
from strongroom.accounts.models import User
from strongroom.orgs.services import organizations_of
from strongroom.tokens import disclosure, services
from strongroom.tokens.forms import CreateTokenForm
from strongroom.tokens.models import ApiToken
from strongroom.web.actor import actor_from
from strongroom.web.http import absolute_url, shows_secret

log = logging.getLogger("strongroom.tokens")


@shows_secret
@reauthentication_required
def create(request: HttpRequest) -> HttpResponse:
    user: User = request.user  # type: ignore[assignment]
    projects = services.uploadable_projects(user)
    organizations = [o for o, _role in organizations_of(user)]
    form = CreateTokenForm(projects, request.POST or None, organizations=organizations)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            expiry_date = data.get("expiry_date")
            expires_at = services.expiry_from_choice(
                data["expiry"],
                datetime.combine(expiry_date, time(23, 59, 59), tzinfo=UTC)
                if expiry_date
                else None,
            )
            token, raw = services.create_token(
                actor_from(request),
                name=data["name"],
                project_names=list(data["projects"]) if data["scope"] == "projects" else None,
                expires_at=expires_at,
                organization_name=data.get("organization") or None,
                read=data["permission"] == "read",
            )
        except services.TokenError as exc:
            form.add_error(None, str(exc))
        else:
            index_url = absolute_url("/legacy/")
            scheme, _sep, rest = absolute_url("/simple/").partition("://")
            context = {
                "token": token,
                "raw": raw,
                "index_url": index_url,
                "install_url": f"{scheme}://__token__:{raw}@{rest}",
            }
            return render(request, "tokens/created.html", context)
    return render(
        request,
        "tokens/create.html",
        {"form": form, "has_projects": bool(projects)},
        status=400 if form.errors else 200,
    )


@login_required
def token_list(request: HttpRequest) -> HttpResponse:
    user: User = request.user  # type: ignore[assignment]
    tokens = ApiToken.objects.filter(user=user).prefetch_related("projects")
    return render(request, "tokens/list.html", {"tokens": tokens})


@require_POST
@reauthentication_required
def revoke(request: HttpRequest) -> HttpResponse:
    try:
        token = services.revoke_token(actor_from(request), request.POST.get("token_id", ""))
    except services.TokenError as exc:
        messages.error(request, str(exc))
    else:
        messages.success(request, _("The token “%(name)s” was revoked.") % {"name": token.name})
    target = request.POST.get("next", "")
    if target.startswith("/") and not target.startswith("//"):
        return redirect(target)
    return redirect("tokens:list")


@csrf_exempt
@require_POST
def disclose(request: HttpRequest) -> HttpResponse:
    """Secret-scanning reports: verify the signature, revoke each of our tokens."""
    try:
        keys = disclosure.load_public_keys(settings.DISCLOSURE_PUBLIC_KEYS)
        reported = disclosure.verify_report(
            request.body,
            request.headers.get("Github-Public-Key-Identifier", ""),
            request.headers.get("Github-Public-Key-Signature", ""),
            keys,
        )
    except disclosure.BadReport as exc:
        return JsonResponse({"error": str(exc)}, status=400)
    except (OSError, ValueError, KeyError) as exc:
        log.error("disclosure keys are misconfigured: %s", exc)
        return JsonResponse({"error": "The disclosure keys are not configured."}, status=503)
    answers = []
    for item in reported:
        revoked = services.revoke_leaked(actor_from(request), item.token, item.url)
        answers.append(
            {
                "token_raw": item.token,
                "token_type": item.type,
                "label": "true_positive" if revoked else "false_positive",
            }
        )
    return HttpResponse(json.dumps(answers), content_type="application/json")
