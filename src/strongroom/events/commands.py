"""``strongroom audit ...``: verify, re-key, purge and export the audit log."""

from __future__ import annotations

import argparse
import sys
from typing import Any

from strongroom.clistart import migrate as _migrate
from strongroom.clistart import setup as _setup


def cmd_audit_verify(args: argparse.Namespace) -> int:
    """Recompute the audit log's hash chain; exit 1 naming the first broken event."""
    _setup(args.data_dir)
    _migrate()
    from strongroom.events.chain import verify_chain

    result = verify_chain()
    print(result, file=sys.stdout if result.ok else sys.stderr)
    return 0 if result.ok else 1


def cmd_audit_rekey(args: argparse.Namespace) -> int:
    """Re-hash the audit chain under the current key (after a key rotation)."""
    _setup(args.data_dir)
    _migrate()
    from strongroom.events.chain import rekey_chain

    result = rekey_chain()
    if not result.ok:
        print(f"{result}; nothing was re-hashed", file=sys.stderr)
        return 1
    print(f"audit log re-hashed under the current key: {result.checked} events")
    return 0


def cmd_audit_purge(args: argparse.Namespace) -> int:
    _setup(args.data_dir)
    _migrate()
    from datetime import timedelta

    from django.conf import settings
    from django.utils import timezone

    from strongroom.events.chain import purge_before

    days = args.days if args.days is not None else settings.AUDIT_RETENTION_DAYS
    if days < 1:
        raise SystemExit("error: --days must be at least 1")
    removed = purge_before(timezone.now() - timedelta(days=days))
    print(f"Removed {removed} audit events older than {days} days.")
    return 0


def _parse_since(value: str) -> Any:
    from datetime import UTC, datetime

    try:
        when = datetime.fromisoformat(value)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"{value!r} is not a date (YYYY-MM-DD or an ISO 8601 time)"
        ) from None
    return when if when.tzinfo else when.replace(tzinfo=UTC)


def cmd_audit_export(args: argparse.Namespace) -> int:
    """Every event (since --since) as JSON Lines on standard output, oldest first."""
    _setup(args.data_dir)
    _migrate()
    from strongroom.events.export import stream
    from strongroom.events.models import Event

    events = Event.objects.all()
    if args.since is not None:
        events = events.filter(created__gte=args.since)
    out = sys.stdout
    for line in stream(events):
        out.write(line)
    out.flush()
    return 0


def add_audit_commands(commands: Any, common: argparse.ArgumentParser) -> None:
    """The ``audit`` command and its subcommands, on the main parser's ``commands``."""
    audit = commands.add_parser("audit", help="check, export and trim the audit log")
    audit_commands = audit.add_subparsers(dest="audit_command", required=True)
    verify = audit_commands.add_parser(
        "verify", parents=[common], help="recompute the hash chain; exit 1 if it is broken"
    )
    verify.set_defaults(func=cmd_audit_verify)
    rekey = audit_commands.add_parser(
        "rekey",
        parents=[common],
        help="re-hash the audit log under the current secret key (after a rotation)",
    )
    rekey.set_defaults(func=cmd_audit_rekey)
    purge = audit_commands.add_parser(
        "purge", parents=[common], help="remove events older than the retention period"
    )
    purge.add_argument(
        "--days",
        type=int,
        default=None,
        help="keep this many days (default: STRONGROOM_AUDIT_RETENTION_DAYS, 730)",
    )
    purge.set_defaults(func=cmd_audit_purge)
    export = audit_commands.add_parser(
        "export", parents=[common], help="print events as JSON Lines, oldest first"
    )
    export.add_argument("--since", type=_parse_since, default=None, help="YYYY-MM-DD")
    export.set_defaults(func=cmd_audit_export)
