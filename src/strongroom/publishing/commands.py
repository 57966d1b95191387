"""``strongroom issuer ...``: the OIDC issuers trusted publishing accepts (as the operator)."""

from __future__ import annotations

import argparse
from typing import Any

from strongroom.clistart import migrate as _migrate
from strongroom.clistart import setup as _setup

KINDS = ["github", "gitlab", "forgejo", "google", "generic"]


def cmd_issuer_add(args: argparse.Namespace) -> int:
    """Register an issuer: discovery and its JWKS are fetched now (exit 1 if unusable)."""
    _setup(args.data_dir)
    _migrate()
    from strongroom.accounts.actors import Actor
    from strongroom.publishing.services import PublishingError, add_issuer

    try:
        issuer = add_issuer(
            Actor.operator(), url=args.url, kind=args.kind, audience=args.audience or ""
        )
    except PublishingError as exc:
        raise SystemExit(f"error: {exc}") from None
    print(f"Issuer {issuer.url} ({issuer.kind}) added; {len(issuer.jwks['keys'])} keys fetched.")
    return 0


def cmd_issuer_list(args: argparse.Namespace) -> int:
    _setup(args.data_dir)
    _migrate()
    from django.conf import settings

    from strongroom.publishing.models import Issuer

    for issuer in Issuer.objects.all():
        state = "enabled" if issuer.enabled else "disabled"
        audience = issuer.audience or settings.OIDC_AUDIENCE
        print(f"{issuer.url}\t{issuer.kind}\t{state}\taudience={audience}")
    return 0


def _set_enabled(args: argparse.Namespace, enabled: bool) -> int:
    _setup(args.data_dir)
    _migrate()
    from strongroom.accounts.actors import Actor
    from strongroom.publishing.models import Issuer
    from strongroom.publishing.services import PublishingError, set_issuer_enabled

    issuer = Issuer.objects.filter(url=args.url).first()
    if issuer is None:
        raise SystemExit(f"error: no issuer {args.url!r} (see: strongroom issuer list)")
    state = "enabled" if enabled else "disabled"
    if issuer.enabled == enabled:
        # Nothing changes and nothing is audited; said, so a typo'd intent is noticed.
        print(f"Issuer {args.url} was already {state}.")
        return 0
    try:
        set_issuer_enabled(Actor.operator(), issuer.pk, enabled)
    except PublishingError as exc:
        raise SystemExit(f"error: {exc}") from None
    print(f"Issuer {args.url} {state}.")
    return 0


def cmd_issuer_disable(args: argparse.Namespace) -> int:
    return _set_enabled(args, False)


def cmd_issuer_enable(args: argparse.Namespace) -> int:
    return _set_enabled(args, True)


def add_publishing_commands(commands: Any, common: argparse.ArgumentParser) -> None:
    issuer = commands.add_parser("issuer", help="OIDC issuers for trusted publishing")
    sub = issuer.add_subparsers(dest="issuer_command", required=True)
    add = sub.add_parser("add", parents=[common], help="trust an OIDC issuer")
    add.add_argument("--url", required=True, help="the issuer URL, exactly its tokens' iss")
    add.add_argument("--kind", required=True, choices=KINDS)
    add.add_argument("--audience", help="the aud its tokens carry (default: the site's)")
    add.set_defaults(func=cmd_issuer_add)
    listing = sub.add_parser("list", parents=[common], help="list the issuers")
    listing.set_defaults(func=cmd_issuer_list)
    for name, func in (("disable", cmd_issuer_disable), ("enable", cmd_issuer_enable)):
        command = sub.add_parser(name, parents=[common], help=f"{name} an issuer")
        command.add_argument("--url", required=True)
        command.set_defaults(func=func)
