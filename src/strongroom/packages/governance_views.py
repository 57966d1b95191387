"""Pages for collaborators, project settings, invitations and "Your projects".

Views parse, call one service in packages.governance, then redirect with a message.
Every change is a POST that needs a recent password (re-authentication): inviting or
promoting an Owner and leaving is how a project is transferred.
"""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.db import transaction
from django.db.models import BooleanField, ExpressionWrapper
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.urls import reverse
from django.utils.http import urlencode
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from strongroom.accounts.actors import NotPermitted
from strongroom.accounts.decorators import reauthentication_required
from strongroom.mfa.policy import project_requires_two_factor, two_factor_refusal
from strongroom.mfa.services.queries import second_factor_exists
from strongroom.orgs.services import owned_organizations
from strongroom.packages import governance, listing, permissions
from strongroom.packages.forms import ConfirmForm, InviteForm
from strongroom.packages.models import Project, Role, RoleInvitation
from strongroom.packages.services import PackageError
from strongroom.packages.views import _project, _user, owned_project
from strongroom.packages.visibility_services import set_visibility
from strongroom.tokens.services import tokens_for_project
from strongroom.web.actor import actor_from

PAGE_SIZE = 50


# The page guard for Owners: one definition, shared with the project pages.
managed = owned_project


def _int(request: HttpRequest, key: str) -> int:
    try:
        return int(request.POST.get(key, ""))
    except ValueError:
        raise Http404 from None


def _back(project: Project, page: str = "packages:collaborators") -> HttpResponseRedirect:
    return HttpResponseRedirect(reverse(page, args=[project.normalized_name]))


def _run(request: HttpRequest, action: Any, done: str) -> None:
    try:
        action()
    except (governance.GovernanceError, NotPermitted) as exc:
        messages.error(request, str(exc))
    else:
        messages.success(request, done)


# --- collaborators ----------------------------------------------------------------------------


def _collaborators_page(
    request: HttpRequest, project: Project, form: InviteForm, status: int = 200
) -> HttpResponse:
    has_second_factor = ExpressionWrapper(second_factor_exists("user"), BooleanField())
    roles = (
        Role.objects.filter(project=project)
        .select_related("user")
        .annotate(has_second_factor=has_second_factor)
        .order_by("role_name", "user__username")
    )
    invitations = RoleInvitation.objects.filter(project=project).select_related("invitee")
    context = {
        "project": project,
        "roles": roles,
        "invitations": invitations,
        "form": form,
        "role_choices": Role.Name.choices,
        "requirement": project_requires_two_factor(project),
    }
    return render(request, "packages/collaborators.html", context, status=status)


@login_required
def collaborators(request: HttpRequest, name: str) -> HttpResponse:
    project = managed(request, name)
    return _collaborators_page(request, project, InviteForm())


@require_POST
@reauthentication_required
def invite(request: HttpRequest, name: str) -> HttpResponse:
    project = managed(request, name)
    form = InviteForm(request.POST)
    if form.is_valid():
        try:
            invitation = governance.invite(
                actor_from(request),
                project,
                form.cleaned_data["identifier"],
                form.cleaned_data["role"],
            )
        except (governance.GovernanceError, NotPermitted) as exc:
            form.add_error("identifier", str(exc))
        else:
            messages.success(
                request,
                _("%(username)s was invited; the invitation is valid for 7 days.")
                % {"username": invitation.invitee.username},
            )
            return _back(project)
    return _collaborators_page(request, project, form, status=400)


@require_POST
@reauthentication_required
def change_role(request: HttpRequest, name: str) -> HttpResponse:
    project = managed(request, name)
    role_id, role_name = _int(request, "role_id"), request.POST.get("role_name", "")
    _run(
        request,
        lambda: governance.change_role(actor_from(request), project, role_id, role_name),
        _("The role was changed."),
    )
    # Demoting yourself ends your access to this page.
    if permissions.role_of(_user(request), project) != Role.Name.OWNER:
        return HttpResponseRedirect(reverse("packages:your_projects"))
    return _back(project)


@require_POST
@reauthentication_required
def remove(request: HttpRequest, name: str) -> HttpResponse:
    project = managed(request, name)
    role_id = _int(request, "role_id")
    _run(
        request,
        lambda: governance.remove_collaborator(actor_from(request), project, role_id),
        _("The collaborator was removed."),
    )
    return _back(project)


@require_POST
@reauthentication_required
def revoke_invitation(request: HttpRequest, name: str) -> HttpResponse:
    project = managed(request, name)
    invitation_id = _int(request, "invitation_id")
    _run(
        request,
        lambda: governance.revoke_invitation(actor_from(request), project, invitation_id),
        _("The invitation was revoked."),
    )
    return _back(project)


@reauthentication_required
def leave(request: HttpRequest, name: str) -> HttpResponse:
    """Any collaborator (Owner or Maintainer) may leave; no second factor needed."""
    project = _project(name)
    if permissions.role_of(_user(request), project) is None:
        raise Http404
    form = ConfirmForm(request.POST if request.method == "POST" else None, expected=project.name)
    if request.method == "POST" and form.is_valid():
        try:
            governance.leave_project(actor_from(request), project)
        except (governance.GovernanceError, NotPermitted) as exc:
            form.add_error(None, str(exc))
        else:
            messages.success(request, _("You left %(project)s.") % {"project": project.name})
            return HttpResponseRedirect(reverse("packages:your_projects"))
    context = {
        "form": form,
        "title": _("Leave %(project)s") % {"project": project.name},
        "intro": _(
            "You will no longer be able to upload to this project. API tokens scoped only "
            "to it stop working for you."
        ),
        "submit_label": _("Leave project"),
    }
    return render(request, "packages/confirm.html", context, status=400 if form.errors else 200)


# --- settings ---------------------------------------------------------------------------------


@login_required
def project_settings(request: HttpRequest, name: str) -> HttpResponse:
    project = managed(request, name)
    context = {
        "project": project,
        "tokens": tokens_for_project(project),
        "requirement": project_requires_two_factor(project),
        "lacking": governance.collaborators_without_two_factor(project),
        "transfer_targets": owned_organizations(_user(request)),
    }
    return render(request, "packages/settings.html", context)


@require_POST
@reauthentication_required
def two_factor_requirement(request: HttpRequest, name: str) -> HttpResponse:
    project = managed(request, name)
    required = request.POST.get("required") == "on"
    _run(
        request,
        lambda: governance.set_two_factor_required(actor_from(request), project, required),
        _("Two-factor authentication is now required for this project.")
        if required
        else _("Two-factor authentication is no longer required by this project's setting."),
    )
    return _back(project, "packages:settings")


@require_POST
@reauthentication_required
def visibility(request: HttpRequest, name: str) -> HttpResponse:
    project = managed(request, name)
    chosen = request.POST.get("visibility", "")
    try:
        set_visibility(actor_from(request), project, chosen)
    except (PackageError, NotPermitted) as exc:
        messages.error(request, str(exc))
    else:
        messages.success(
            request,
            _("%(project)s is now private: only its collaborators and read tokens can see it.")
            % {"project": project.name}
            if chosen == Project.Visibility.PRIVATE
            else _("%(project)s is now public.") % {"project": project.name},
        )
    return _back(project, "packages:settings")


# --- the invitee's side --------------------------------------------------------------------


@login_required
def my_invitations(request: HttpRequest) -> HttpResponse:
    pending = RoleInvitation.objects.filter(invitee=_user(request)).select_related(
        "project", "inviter"
    )
    rows = [(invitation, governance.invitation_token(invitation)) for invitation in pending]
    return render(request, "packages/invitations.html", {"rows": rows})


@login_required
def invitation(request: HttpRequest, token: str) -> HttpResponse:
    """Show an invitation to the account it was sent to; accept or decline it (POST)."""
    user = _user(request)
    if request.method == "POST":
        action = request.POST.get("action")
        try:
            if action == "accept":
                project = governance.accept_invitation(actor_from(request), token)
                messages.success(request, _("You joined %(project)s.") % {"project": project.name})
                return HttpResponseRedirect(reverse("packages:your_projects"))
            if action == "decline":
                project = governance.decline_invitation(actor_from(request), token)
                messages.success(
                    request,
                    _("You declined the invitation to %(project)s.") % {"project": project.name},
                )
                return HttpResponseRedirect(reverse("packages:my_invitations"))
        except (governance.GovernanceError, NotPermitted) as exc:
            messages.error(request, str(exc))
        return HttpResponseRedirect(request.path)
    try:
        with transaction.atomic():
            pending = governance.check_invitation(token, user)
    except (governance.GovernanceError, NotPermitted) as exc:
        return render(
            request,
            "web/error.html",
            {"title": _("Invitation not valid"), "message": str(exc)},
            status=400,
        )
    context = {
        "invitation": pending,
        "two_factor_refusal": two_factor_refusal(user, pending.project),
        "email_verified": user.has_verified_primary_email,
    }
    return render(request, "packages/invitation.html", context)


# --- your projects ----------------------------------------------------------------------------


@login_required
def your_projects(request: HttpRequest) -> HttpResponse:
    filters = listing.Filters.from_query(request.GET)
    rows = listing.projects_of(_user(request), filters)
    page = Paginator(rows, PAGE_SIZE).get_page(request.GET.get("page"))
    columns = [
        ("name", _("Project")),
        ("role", _("Your role")),
        ("release", _("Last release")),
        ("critical", _("Critical")),
        ("2fa", _("2FA required")),
        ("lacking", _("Collaborators without 2FA")),
    ]
    headers = []
    for key, label in columns:
        current = filters.sort.removeprefix("-") == key
        descending = filters.sort.startswith("-")
        next_sort = f"-{key}" if current and not descending else key
        headers.append(
            {
                "label": label,
                "url": "?" + urlencode(filters.as_query(sort=next_sort)),
                "sorted": ("descending" if descending else "ascending") if current else "",
            }
        )

    def page_url(number: int) -> str:
        return "?" + urlencode({**filters.as_query(), "page": str(number)})

    context = {
        "page": page,
        "filters": filters,
        "headers": headers,
        "previous_url": page_url(page.previous_page_number()) if page.has_previous() else "",
        "next_url": page_url(page.next_page_number()) if page.has_next() else "",
        "role_choices": Role.Name.choices,
    }
    return render(request, "packages/your_projects.html", context)


def critical_help(request: HttpRequest) -> HttpResponse:
    from django.conf import settings

    return render(
        request,
        "packages/critical_help.html",
        {
            "share_percent": f"{settings.CRITICAL_SHARE * 100:g}",
            "window_days": settings.CRITICAL_WINDOW_DAYS,
        },
    )
