"""The staff console's pages: parse a form, call one service, render or redirect."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django import forms
from django.http import HttpRequest, HttpResponse, HttpResponseBase, JsonResponse
from django.shortcuts import get_object_or_404, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from strongroom.accounts.models import User
from strongroom.console import queries, reauth, services
from strongroom.console.access import console_view
from strongroom.console.confirmed import action_errors, by_key, run_confirmed
from strongroom.console.errors import ConsoleError
from strongroom.console.forms import (
    ConfirmedActionForm,
    RemoveProjectForm,
    SearchForm,
    SuspendForm,
    TotalSizeLimitForm,
    UploadLimitForm,
)
from strongroom.events.display import rows as event_rows
from strongroom.events.views import viewer_of
from strongroom.mfa.services.challenges import relying_party
from strongroom.packages.models import Project
from strongroom.web.actor import actor_from

# The forms of each page, by prefix (one page holds several: prefixes keep ids unique).
USER_FORMS: dict[str, type[ConfirmedActionForm]] = {
    "suspend": SuspendForm,
    "reactivate": ConfirmedActionForm,
    "sessions": ConfirmedActionForm,
    "token": ConfirmedActionForm,
    "email": ConfirmedActionForm,
    "staff": ConfirmedActionForm,
}
PROJECT_FORMS: dict[str, type[ConfirmedActionForm]] = {
    "limits": UploadLimitForm,
    "size": TotalSizeLimitForm,
    "critical": ConfirmedActionForm,
    "remove": RemoveProjectForm,
}


def _forms(
    request: HttpRequest, kinds: dict[str, type[ConfirmedActionForm]], bound: forms.Form | None
) -> dict[str, Any]:
    key = by_key(request)
    made: dict[str, Any] = {name: cls(prefix=name, by_key=key) for name, cls in kinds.items()}
    if bound is not None and bound.prefix:
        made[bound.prefix] = bound
    return made


@console_view
def index(request: HttpRequest) -> HttpResponse:
    return render(
        request,
        "console/index.html",
        {"open_recoveries": queries.open_recoveries().count()},
    )


@console_view
@require_POST
def key_options(request: HttpRequest) -> HttpResponse:
    """Options for the staff member's security key to confirm the next console action."""
    try:
        options = reauth.key_challenge(
            request.user,  # type: ignore[arg-type]
            request.session,
            relying_party(request),
        )
    except ConsoleError as exc:
        return JsonResponse({"error": str(exc)}, status=400)
    return HttpResponse(options, content_type="application/json")


@console_view
def users(request: HttpRequest) -> HttpResponse:
    form = SearchForm(request.GET or None)
    query = form.cleaned_data["q"] if form.is_valid() else ""
    return render(
        request,
        "console/users.html",
        {"form": form, "query": query, "results": queries.search_users(query)},
    )


def _row_form(request: HttpRequest, prefix: str, key: object) -> forms.Form:
    """One form per row (a token, an address): same field names, ids of its own."""
    return ConfirmedActionForm(
        prefix=prefix, auto_id=f"id_{prefix}_{key}_%s", by_key=by_key(request)
    )


def _user_page(request: HttpRequest, target: User, bound: forms.Form | None = None) -> HttpResponse:
    context = queries.account_overview(target)
    context["forms"] = _forms(request, USER_FORMS, bound)
    context["action_errors"] = action_errors(bound)
    context["by_key"] = by_key(request)
    context["token_rows"] = [(t, _row_form(request, "token", t.pk)) for t in context["tokens"]]
    context["email_rows"] = [(e, _row_form(request, "email", e.pk)) for e in context["emails"]]
    context["rows"] = event_rows(queries.recent_events(user=target), viewer_of(request))
    return render(request, "console/user.html", context)


def _target(username: str) -> User:
    return get_object_or_404(User, username__iexact=username)


@console_view
def user(request: HttpRequest, username: str) -> HttpResponse:
    return _user_page(request, _target(username))


def _user_action(
    request: HttpRequest, username: str, prefix: str, call: Callable[..., object], done: str
) -> HttpResponseBase:
    target = _target(username)
    form = USER_FORMS[prefix](request.POST, prefix=prefix, by_key=by_key(request))
    return run_confirmed(
        request,
        form,
        lambda data: call(actor_from(request), target, data),
        done,
        lambda bound: _user_page(request, target, bound),
        reverse("console:user", args=[target.username]),
    )


@console_view
@require_POST
def suspend(request: HttpRequest, username: str) -> HttpResponseBase:
    return _user_action(
        request,
        username,
        "suspend",
        lambda actor, target, data: services.suspend_user(
            actor, target, data["reason"], code=data["code"]
        ),
        _("The account is suspended and its sessions ended."),
    )


@console_view
@require_POST
def reactivate(request: HttpRequest, username: str) -> HttpResponseBase:
    return _user_action(
        request,
        username,
        "reactivate",
        lambda actor, target, data: services.reactivate_user(actor, target, code=data["code"]),
        _("The account is active again."),
    )


@console_view
@require_POST
def end_sessions(request: HttpRequest, username: str) -> HttpResponseBase:
    return _user_action(
        request,
        username,
        "sessions",
        lambda actor, target, data: services.end_user_sessions(actor, target, code=data["code"]),
        _("Every session of the account ended."),
    )


@console_view
@require_POST
def revoke_token(request: HttpRequest, username: str, token_id: str) -> HttpResponseBase:
    return _user_action(
        request,
        username,
        "token",
        lambda actor, target, data: services.revoke_user_token(
            actor, target, token_id, code=data["code"]
        ),
        _("The API token is revoked."),
    )


@console_view
@require_POST
def verify_email(request: HttpRequest, username: str, email_id: int) -> HttpResponseBase:
    return _user_action(
        request,
        username,
        "email",
        lambda actor, target, data: services.verify_user_email(
            actor, target, email_id, code=data["code"]
        ),
        _("The email address is verified."),
    )


@console_view
@require_POST
def grant_staff(request: HttpRequest, username: str) -> HttpResponseBase:
    return _user_action(
        request,
        username,
        "staff",
        lambda actor, target, data: services.grant_staff(actor, target, code=data["code"]),
        _("The account is staff now."),
    )


@console_view
@require_POST
def revoke_staff(request: HttpRequest, username: str) -> HttpResponseBase:
    return _user_action(
        request,
        username,
        "staff",
        lambda actor, target, data: services.revoke_staff(actor, target, code=data["code"]),
        _("The account is no longer staff."),
    )


@console_view
def projects(request: HttpRequest) -> HttpResponse:
    form = SearchForm(request.GET or None)
    query = form.cleaned_data["q"] if form.is_valid() else ""
    return render(
        request,
        "console/projects.html",
        {"form": form, "query": query, "results": queries.search_projects(query)},
    )


def _project_page(
    request: HttpRequest, project: Project, bound: forms.Form | None = None
) -> HttpResponse:
    context = queries.project_overview(project)
    context["forms"] = _forms(request, PROJECT_FORMS, bound)
    context["action_errors"] = action_errors(bound)
    context["by_key"] = by_key(request)
    context["rows"] = event_rows(queries.recent_events(project=project), viewer_of(request))
    return render(request, "console/project.html", context)


def _project(name: str) -> Project:
    return get_object_or_404(Project, normalized_name=name)


@console_view
def project(request: HttpRequest, name: str) -> HttpResponse:
    return _project_page(request, _project(name))


def _project_action(
    request: HttpRequest,
    name: str,
    prefix: str,
    call: Callable[..., object],
    done: str,
    back: str | None = None,
) -> HttpResponseBase:
    target = _project(name)
    form = PROJECT_FORMS[prefix](request.POST, prefix=prefix, by_key=by_key(request))
    return run_confirmed(
        request,
        form,
        lambda data: call(actor_from(request), target, data, form),
        done,
        lambda bound: _project_page(request, target, bound),
        back or reverse("console:project", args=[target.normalized_name]),
    )


@console_view
@require_POST
def set_upload_limit(request: HttpRequest, name: str) -> HttpResponseBase:
    return _project_action(
        request,
        name,
        "limits",
        lambda actor, target, data, form: services.set_upload_limit(
            actor, target, form.limit_bytes(), code=data["code"]
        ),
        _("The upload limit is changed."),
    )


@console_view
@require_POST
def set_total_size_limit(request: HttpRequest, name: str) -> HttpResponseBase:
    return _project_action(
        request,
        name,
        "size",
        lambda actor, target, data, form: services.set_total_size_limit(
            actor, target, form.limit_bytes(), code=data["code"]
        ),
        _("The total size limit is changed."),
    )


@console_view
@require_POST
def unmark_critical(request: HttpRequest, name: str) -> HttpResponseBase:
    return _project_action(
        request,
        name,
        "critical",
        lambda actor, target, data, form: services.unmark_project_critical(
            actor, target, code=data["code"]
        ),
        _("The staff mark is removed."),
    )


@console_view
@require_POST
def mark_critical(request: HttpRequest, name: str) -> HttpResponseBase:
    return _project_action(
        request,
        name,
        "critical",
        lambda actor, target, data, form: services.mark_project_critical(
            actor, target, code=data["code"]
        ),
        _("The project is marked critical."),
    )


@console_view
@require_POST
def remove_project(request: HttpRequest, name: str) -> HttpResponseBase:
    return _project_action(
        request,
        name,
        "remove",
        lambda actor, target, data, form: services.remove_project(
            actor, target, data["confirm_name"], code=data["code"]
        ),
        _("The project is removed."),
        back=reverse("console:projects"),
    )
