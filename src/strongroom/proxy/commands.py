"""``strongroom proxy purge|allow|allow-shadow`` and ``strongroom namespace reserve``.

Run by the operator (the system actor), or as a staff account with ``--by``; each goes
through proxy.services, so the audit events are the same as anywhere else."""

from __future__ import annotations

import argparse
from typing import Any

from strongroom.clistart import migrate as _migrate
from strongroom.clistart import setup as _setup


def _actor(by: str | None) -> Any:
    from strongroom.accounts.actors import Actor
    from strongroom.accounts.models import User

    if not by:
        return Actor.operator()
    user = User.objects.filter(username__iexact=by, is_active=True, is_staff=True).first()
    if user is None:
        raise SystemExit(f"error: no active staff account named {by!r}")
    return Actor.of(user, user_agent="strongroom-cli")


def _run(args: argparse.Namespace) -> int:
    _setup(args.data_dir)
    _migrate()
    from strongroom.accounts.actors import NotPermitted
    from strongroom.proxy import services

    try:
        if args.action == "purge":
            pages, files = services.purge(args.project)
            print(f"purged {pages} cached page(s) and {files} cached file(s)")
        elif args.action == "allow":
            services.allow_cooldown(_actor(args.by), args.project, args.version or "")
            which = f"{args.project} {args.version}" if args.version else args.project
            print(f"{which} is offered from upstream without waiting for the cooldown")
        elif args.action == "allow-shadow":
            services.allow_shadow(_actor(args.by), args.project)
            print(f"a local project named {args.project} may now shadow the upstream one")
        else:
            services.reserve_prefix(_actor(args.by), args.prefix, args.owner)
            print(f"names starting with {args.prefix} are reserved for {args.owner}")
    except (services.ProxyError, NotPermitted) as exc:
        raise SystemExit(f"error: {exc}") from None
    return 0


def add_proxy_commands(commands: Any, common: argparse.ArgumentParser) -> None:
    proxy = commands.add_parser("proxy", help="the upstream proxy (docs/proxy.md)")
    sub = proxy.add_subparsers(dest="proxy_command", required=True)
    purge = sub.add_parser("purge", parents=[common], help="drop cached upstream pages and files")
    purge.add_argument("--project", default=None, help="only this project's")
    purge.set_defaults(func=_run, action="purge")
    allow = sub.add_parser(
        "allow", parents=[common], help="let a project's upstream releases skip the cooldown"
    )
    allow.add_argument("--project", required=True)
    allow.add_argument("--version", default=None, help="only this version")
    allow.add_argument("--by", default=None, help="the staff account doing it")
    allow.set_defaults(func=_run, action="allow")
    shadow = sub.add_parser(
        "allow-shadow", parents=[common], help="allow a local project to shadow an upstream name"
    )
    shadow.add_argument("--project", required=True)
    shadow.add_argument("--by", default=None, help="the staff account doing it")
    shadow.set_defaults(func=_run, action="allow-shadow")
    namespace = commands.add_parser("namespace", help="reserved project name prefixes")
    ns_sub = namespace.add_subparsers(dest="namespace_command", required=True)
    reserve = ns_sub.add_parser(
        "reserve", parents=[common], help="reserve a name prefix for an organisation"
    )
    reserve.add_argument("--prefix", required=True)
    reserve.add_argument("--owner", required=True, help="the organisation")
    reserve.add_argument("--by", default=None, help="the staff account doing it")
    reserve.set_defaults(func=_run, action="reserve")
