"""``strongroom org ...``: create an organisation, invite, add a team, transfer a project.

Each command acts as the named account (``--by``), through the same service the web
pages call, so every rule and audit event applies; none writes around them."""

from __future__ import annotations

import argparse
import sys
from typing import Any

from strongroom.clistart import migrate as _migrate
from strongroom.clistart import setup as _setup


def _actor(username: str) -> Any:
    from strongroom.accounts.actors import Actor
    from strongroom.accounts.models import User

    user = User.objects.filter(username__iexact=username, is_active=True).first()
    if user is None:
        raise SystemExit(f"error: no active user named {username!r}")
    return Actor.of(user, user_agent="strongroom-cli")


def _organization(name: str) -> Any:
    from strongroom.orgs.services import find_organization

    organization = find_organization(name)
    if organization is None:
        raise SystemExit(f"error: no organisation named {name!r}")
    return organization


def _run(args: argparse.Namespace) -> int:
    _setup(args.data_dir)
    _migrate()
    from strongroom.accounts.actors import NotPermitted
    from strongroom.orgs.services import OrgError

    try:
        print(args.action(args))
    except (OrgError, NotPermitted) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    return 0


def _create(args: argparse.Namespace) -> str:
    from strongroom.orgs.services import create_organization

    organization = create_organization(_actor(args.by), args.name)
    return f"Created the organisation {organization.name}; {args.by} is its Owner."


def _invite(args: argparse.Namespace) -> str:
    from strongroom.orgs.invitations import invite_member

    invitation = invite_member(_actor(args.by), _organization(args.org), args.who, args.role)
    return f"Invited {invitation.email} to {args.org} as {args.role}; the link was emailed."


def _team_create(args: argparse.Namespace) -> str:
    from strongroom.orgs.teams import create_team

    team = create_team(_actor(args.by), _organization(args.org), args.name)
    return f"Created the team {team.name} in {args.org}."


def _transfer(args: argparse.Namespace) -> str:
    from packaging.utils import canonicalize_name

    from strongroom.orgs.transfer import transfer_project
    from strongroom.packages.models import Project

    project = Project.objects.filter(normalized_name=canonicalize_name(args.project)).first()
    if project is None:
        raise SystemExit(f"error: no project named {args.project!r}")
    target = _organization(args.org) if args.org else None
    transfer_project(_actor(args.by), project, target)
    return f"{project.name} now belongs to {target.name if target else 'no organisation'}."


def add_org_commands(commands: Any, common: argparse.ArgumentParser) -> None:
    """The ``org`` command and its subcommands, on the main parser's ``commands``."""
    org = commands.add_parser("org", help="organisations and teams")
    sub = org.add_subparsers(dest="org_command", required=True)
    create = sub.add_parser("create", parents=[common], help="create an organisation")
    create.add_argument("--name", required=True)
    create.add_argument("--by", required=True, help="the account that becomes its Owner")
    create.set_defaults(func=_run, action=_create)
    invite = sub.add_parser("invite", parents=[common], help="invite a username or an address")
    invite.add_argument("--org", required=True)
    invite.add_argument("--by", required=True, help="an Owner of the organisation")
    invite.add_argument("--role", choices=["Owner", "Manager", "Member"], default="Member")
    invite.add_argument("who", help="a username or an email address")
    invite.set_defaults(func=_run, action=_invite)
    team = sub.add_parser("team-create", parents=[common], help="create a team")
    team.add_argument("--org", required=True)
    team.add_argument("--by", required=True, help="an Owner or Manager of the organisation")
    team.add_argument("--name", required=True)
    team.set_defaults(func=_run, action=_team_create)
    transfer = sub.add_parser(
        "transfer", parents=[common], help="move a project into (--org) or out of an organisation"
    )
    transfer.add_argument("--project", required=True)
    transfer.add_argument("--by", required=True, help="an Owner of the project (and of --org)")
    transfer.add_argument("--org", default="", help="empty: out of its organisation")
    transfer.set_defaults(func=_run, action=_transfer)
