"""Organisation pages. Views parse a form, call one service, then redirect with a message.

Only members see an organisation's pages: for everyone else they answer 404, as an
unknown organisation does. Every change is a POST that needs a recent password.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.db import transaction
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from strongroom.accounts.actors import NotPermitted
from strongroom.accounts.decorators import reauthentication_redirect, reauthentication_required
from strongroom.accounts.models import User
from strongroom.orgs import invitations, services, teams
from strongroom.orgs import transfer as transfers
from strongroom.orgs.forms import InviteMemberForm, MemberForm, NameForm, TeamRoleForm
from strongroom.orgs.models import Organization, OrganizationInvitation, OrganizationRole, Team
from strongroom.packages.models import Project
from strongroom.packages.views import owned_project
from strongroom.web.actor import actor_from

REFUSED = (services.OrgError, NotPermitted)


def _user(request: HttpRequest) -> User:
    user = request.user
    assert isinstance(user, User)
    return user


def _organization(request: HttpRequest, name: str) -> tuple[Organization, str]:
    """The organisation and the signed-in user's role in it; 404 for non-members."""
    organization = services.find_organization(name)
    role = services.role_in(_user(request), organization) if organization else None
    if organization is None or role is None:
        raise Http404
    return organization, role


def _team(organization: Organization, name: str) -> Team:
    team = teams.find_team(organization, name)
    if team is None:
        raise Http404
    return team


def _run(request: HttpRequest, action: Callable[[], Any], done: str) -> bool:
    try:
        action()
    except REFUSED as exc:
        messages.error(request, str(exc))
        return False
    messages.success(request, done)
    return True


def _to(page: str, *args: str) -> HttpResponseRedirect:
    return HttpResponseRedirect(reverse(page, args=args))


# --- organisations ----------------------------------------------------------------------------


@login_required
def organization_list(request: HttpRequest) -> HttpResponse:
    form = NameForm(request.POST if request.method == "POST" else None)
    if request.method == "POST" and form.is_valid():
        try:
            organization = services.create_organization(
                actor_from(request), form.cleaned_data["name"]
            )
        except REFUSED as exc:
            form.add_error("name", str(exc))
        else:
            messages.success(request, _("%(name)s was created.") % {"name": organization.name})
            return _to("orgs:detail", organization.normalized_name)
    context = {
        # The role's label, translated: the stored name ("Owner") is not for reading.
        "rows": [(o, services.role_label(r)) for o, r in services.organizations_of(_user(request))],
        "form": form,
        "invitations": invitations.pending_invitations(_user(request)),
    }
    return render(request, "orgs/list.html", context, status=400 if form.errors else 200)


@login_required
def detail(request: HttpRequest, name: str) -> HttpResponse:
    organization, role = _organization(request, name)
    context = {
        "organization": organization,
        "role": services.role_label(role),
        "is_owner": role == OrganizationRole.Name.OWNER,
        "projects": Project.objects.filter(organization=organization).order_by("normalized_name"),
        "team_count": organization.teams.count(),
        "member_count": organization.roles.count(),
    }
    return render(request, "orgs/detail.html", context)


@require_POST
@reauthentication_required
def two_factor(request: HttpRequest, name: str) -> HttpResponse:
    organization, _role = _organization(request, name)
    required = request.POST.get("required") == "on"
    _run(
        request,
        lambda: services.set_two_factor_required(actor_from(request), organization, required),
        _("Two-factor authentication is now required in this organisation.")
        if required
        else _("Two-factor authentication is no longer required in this organisation."),
    )
    return _to("orgs:detail", organization.normalized_name)


# --- members ----------------------------------------------------------------------------------


def _members_page(
    request: HttpRequest, organization: Organization, role: str, form: InviteMemberForm
) -> HttpResponse:
    context = {
        "organization": organization,
        "role": role,
        "is_owner": role == OrganizationRole.Name.OWNER,
        "roles": organization.roles.select_related("user").order_by("role_name", "user__username"),
        "pending": OrganizationInvitation.objects.filter(organization=organization),
        "role_choices": OrganizationRole.Name.choices,
        "form": form,
    }
    return render(request, "orgs/members.html", context, status=400 if form.errors else 200)


@login_required
def members(request: HttpRequest, name: str) -> HttpResponse:
    organization, role = _organization(request, name)
    return _members_page(request, organization, role, InviteMemberForm())


@require_POST
@reauthentication_required
def invite(request: HttpRequest, name: str) -> HttpResponse:
    organization, role = _organization(request, name)
    form = InviteMemberForm(request.POST)
    if form.is_valid():
        try:
            invitation = invitations.invite_member(
                actor_from(request),
                organization,
                form.cleaned_data["identifier"],
                form.cleaned_data["role"],
            )
        except REFUSED as exc:
            form.add_error("identifier", str(exc))
        else:
            messages.success(
                request, _("An invitation was sent to %(email)s.") % {"email": invitation.email}
            )
            return _to("orgs:members", organization.normalized_name)
    return _members_page(request, organization, role, form)


@require_POST
@reauthentication_required
def change_role(request: HttpRequest, name: str) -> HttpResponse:
    organization, _role = _organization(request, name)
    username, role_name = request.POST.get("username", ""), request.POST.get("role", "")
    _run(
        request,
        lambda: services.change_member_role(actor_from(request), organization, username, role_name),
        _("The role was changed."),
    )
    return _to("orgs:members", organization.normalized_name)


@require_POST
@reauthentication_required
def remove_member(request: HttpRequest, name: str) -> HttpResponse:
    organization, _role = _organization(request, name)
    username = request.POST.get("username", "")
    left = username.lower() == _user(request).username.lower()
    done = _run(
        request,
        lambda: services.remove_member(actor_from(request), organization, username),
        _("You left the organisation.") if left else _("The member was removed."),
    )
    if done and left:
        return _to("orgs:list")
    return _to("orgs:members", organization.normalized_name)


@require_POST
@reauthentication_required
def revoke_invitation(request: HttpRequest, name: str) -> HttpResponse:
    organization, _role = _organization(request, name)
    try:
        invitation_id = int(request.POST.get("invitation_id", ""))
    except ValueError:
        raise Http404 from None
    _run(
        request,
        lambda: invitations.revoke_invitation(actor_from(request), organization, invitation_id),
        _("The invitation was revoked."),
    )
    return _to("orgs:members", organization.normalized_name)


# --- teams ------------------------------------------------------------------------------------


@login_required
def team_list(request: HttpRequest, name: str) -> HttpResponse:
    organization, role = _organization(request, name)
    if request.method == "POST" and (redirect := reauthentication_redirect(request)):
        return redirect
    form = NameForm(request.POST if request.method == "POST" else None)
    if request.method == "POST" and form.is_valid():
        actor, team_name = actor_from(request), form.cleaned_data["name"]
        try:
            team = teams.create_team(actor, organization, team_name)
        except REFUSED as exc:
            form.add_error("name", str(exc))
        else:
            messages.success(request, _("The team %(team)s was created.") % {"team": team.name})
            return _to("orgs:team", organization.normalized_name, team.normalized_name)
    context = {
        "organization": organization,
        "role": role,
        "may_manage": role in services.MANAGERS,
        "teams": organization.teams.all(),
        "form": form,
    }
    return render(request, "orgs/teams.html", context, status=400 if form.errors else 200)


@login_required
def team_detail(request: HttpRequest, name: str, team: str) -> HttpResponse:
    organization, role = _organization(request, name)
    found = _team(organization, team)
    context = {
        "organization": organization,
        "team": found,
        "may_manage": role in services.MANAGERS,
        "members": teams.team_users(found),
        "grants": found.project_roles.select_related("project").order_by(
            "project__normalized_name"
        ),
        "rename_form": NameForm(initial={"name": found.name}, prefix="rename"),
        "member_form": MemberForm(),
        "grant_form": TeamRoleForm(),
    }
    return render(request, "orgs/team.html", context)


def _team_action(
    run: Callable[[HttpRequest, Team], Any], done: str
) -> Callable[[HttpRequest, str, str], HttpResponse]:
    """A POST view that runs one team service, then goes back to the team page."""

    @require_POST
    @reauthentication_required
    def view(request: HttpRequest, name: str, team: str) -> HttpResponse:
        organization, _role = _organization(request, name)
        found = _team(organization, team)
        _run(request, lambda: run(request, found), done)
        current = Team.objects.filter(pk=found.pk).first()
        if current is None:
            return _to("orgs:teams", organization.normalized_name)
        return _to("orgs:team", organization.normalized_name, current.normalized_name)

    return view


team_rename = _team_action(
    lambda r, t: teams.rename_team(actor_from(r), t, r.POST.get("rename-name", "")),
    _("The team was renamed."),
)
team_delete = _team_action(
    lambda r, t: teams.delete_team(actor_from(r), t), _("The team was deleted.")
)
team_add = _team_action(
    lambda r, t: teams.add_team_member(actor_from(r), t, r.POST.get("username", "")),
    _("The member was added to the team."),
)
team_remove = _team_action(
    lambda r, t: teams.remove_team_member(actor_from(r), t, r.POST.get("username", "")),
    _("The member was removed from the team."),
)
team_grant = _team_action(
    lambda r, t: teams.grant_team_role(
        actor_from(r), t, r.POST.get("project", ""), r.POST.get("role", "")
    ),
    _("The team's role on the project was saved."),
)
team_revoke = _team_action(
    lambda r, t: teams.revoke_team_role(actor_from(r), t, r.POST.get("project", "")),
    _("The team's role on the project was removed."),
)


# --- invitations ------------------------------------------------------------------------------


@login_required
def my_invitations(request: HttpRequest) -> HttpResponse:
    pending = invitations.pending_invitations(_user(request))
    rows = [(i, invitations.invitation_token(i)) for i in pending]
    return render(request, "orgs/invitations.html", {"rows": rows})


@login_required
def invitation(request: HttpRequest, token: str) -> HttpResponse:
    """Show an invitation to the account holding its address; accept or decline (POST)."""
    if request.method == "POST":
        action = request.POST.get("action")
        try:
            if action == "accept":
                organization = invitations.accept_invitation(actor_from(request), token)
                messages.success(request, _("You joined %(name)s.") % {"name": organization.name})
                return _to("orgs:detail", organization.normalized_name)
            if action == "decline":
                organization = invitations.decline_invitation(actor_from(request), token)
                messages.success(
                    request,
                    _("You declined the invitation to %(name)s.") % {"name": organization.name},
                )
                return _to("orgs:my_invitations")
        except REFUSED as exc:
            messages.error(request, str(exc))
        return HttpResponseRedirect(request.path)
    try:
        with transaction.atomic():
            pending = invitations.check_invitation(token, _user(request))
    except REFUSED as exc:
        return render(
            request,
            "web/error.html",
            {"title": _("Invitation not valid"), "message": str(exc)},
            status=400,
        )
    return render(request, "orgs/invitation.html", {"invitation": pending})


# --- project transfer -------------------------------------------------------------------------


@require_POST
@reauthentication_required
def transfer(request: HttpRequest, name: str) -> HttpResponse:
    project = owned_project(request, name)
    choice = request.POST.get("organization", "")
    target = services.find_organization(choice) if choice else None
    if choice and target is None:
        messages.error(request, _("Choose one of your organisations."))
        return _to("packages:settings", project.normalized_name)
    _run(
        request,
        lambda: transfers.transfer_project(actor_from(request), project, target),
        _("%(project)s now belongs to %(organization)s.")
        % {"project": project.name, "organization": target.name}
        if target
        else _("%(project)s no longer belongs to an organisation.") % {"project": project.name},
    )
    return _to("packages:settings", project.normalized_name)
