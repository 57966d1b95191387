"""The ``strongroom`` command: serve, migrate, createadmin, user, token, audit."""

from __future__ import annotations

import argparse
import getpass
import os
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

DEFAULT_DATA_DIR = "./strongroom-data"


def _setup(data_dir: str) -> None:
    """Point settings at the data dir, then start Django."""
    path = Path(data_dir).expanduser().resolve()
    path.mkdir(parents=True, exist_ok=True)
    os.environ["STRONGROOM_DATA_DIR"] = str(path)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "strongroom.settings")
    import django

    django.setup()


# pg_advisory_lock key shared by every node: "strongroom migrate" as a 64-bit number.
MIGRATION_LOCK_KEY = 0x5354_524F_4E47_4D47 & 0x7FFF_FFFF_FFFF_FFFF


def _migrate(verbosity: int = 0) -> None:
    """Apply migrations; on PostgreSQL, nodes starting together take turns.

    ``serve`` migrates on start, so several nodes may try at once: a session-level
    advisory lock makes the others wait, then find nothing left to apply.
    """
    from django.core.management import call_command
    from django.db import OperationalError, connection

    try:
        if connection.vendor != "postgresql":
            call_command("migrate", interactive=False, verbosity=verbosity)
            return
        with connection.cursor() as cursor:
            # Waiting for another node's migration, or rewriting a big table, may take
            # longer than a request's statement timeout (settings.DATABASE_STATEMENT_TIMEOUT).
            cursor.execute("SET statement_timeout = 0")
            driver = connection.connection
            reply_timeout = getattr(driver, "reply_timeout", None)
            if reply_timeout is not None:
                driver.reply_timeout = None
            cursor.execute("SELECT pg_advisory_lock(%s)", [MIGRATION_LOCK_KEY])
        try:
            call_command("migrate", interactive=False, verbosity=verbosity)
        finally:
            with connection.cursor() as cursor:
                cursor.execute("SELECT pg_advisory_unlock(%s)", [MIGRATION_LOCK_KEY])
                cursor.execute("RESET statement_timeout")
            if reply_timeout is not None:
                driver.reply_timeout = reply_timeout
    except OperationalError as exc:
        first_line = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise SystemExit(f"error: the database cannot be reached: {first_line}") from None


def _usage_error(message: str) -> SystemExit:
    """Exit 2 (a usage error, as argparse does) with ``message`` on standard error."""
    print(f"error: {message}", file=sys.stderr)
    return SystemExit(2)


def _read_password(from_stdin: bool, *, confirm: bool = True) -> str:
    if from_stdin:
        line = sys.stdin.readline()
        return line.rstrip("\r\n")
    if not sys.stdin.isatty():
        # getpass would read the password from a pipe, or end in EOFError without one.
        raise _usage_error(
            "no terminal to ask for the password: run this in a terminal, or pass "
            "--password-stdin and write the password to standard input"
        )
    try:
        first = getpass.getpass("Password: ")
        if confirm and getpass.getpass("Password (again): ") != first:
            raise SystemExit("error: the two passwords do not match")
    except (EOFError, KeyboardInterrupt):
        print(file=sys.stderr)
        raise _usage_error("no password was given") from None
    return first


def _validate_new_account(username: str, email: str, password: str) -> tuple[str, str]:
    """Apply the same rules as web registration; return the normalised username and email."""
    from django.contrib.auth import password_validation
    from django.contrib.auth.base_user import BaseUserManager
    from django.core.exceptions import ValidationError
    from django.core.validators import validate_email

    from strongroom.accounts.models import Email, User
    from strongroom.accounts.passwords import PasswordCandidate
    from strongroom.accounts.usernames import validate_username

    errors: list[str] = []
    try:
        username = validate_username(username)
        if User.objects.filter(username__iexact=username).exists():
            errors.append(f"the username {username!r} is already taken")
    except ValidationError as exc:
        errors.extend(exc.messages)
    email = BaseUserManager.normalize_email(email.strip())
    try:
        validate_email(email)
        if Email.objects.filter(email__iexact=email).exists():
            errors.append(f"the email address {email!r} is already in use")
    except ValidationError as exc:
        errors.extend(exc.messages)

    # The similarity check compares against the would-be account's username and email.
    try:
        # validate_password only reads attributes; an unsaved stand-in is enough.
        candidate: Any = PasswordCandidate(username, email)
        password_validation.validate_password(password, candidate)
    except ValidationError as exc:
        errors.extend(exc.messages)
    if errors:
        raise SystemExit("error: " + "\n       ".join(errors))
    return username, email


def cmd_serve(args: argparse.Namespace) -> int:
    from strongroom.web.hosts import serve_environment

    # Before Django reads its settings; the workers inherit the environment.
    os.environ.update(serve_environment(os.environ, args.host, args.port))
    _setup(args.data_dir)
    _migrate()
    from django.conf import settings

    from strongroom.server import serve_granian, serve_gunicorn
    from strongroom.storage import get_storage
    from strongroom.storage.base import StorageUnavailable
    from strongroom.upload.repair import repair_files

    try:
        get_storage().prepare()  # e.g. create the S3 bucket
        # Before any worker runs: publish files a crash left committed but unpublished,
        # remove partial bodies and staged copies of uploads that died.
        _print_repair(repair_files(at_start=True))
    except StorageUnavailable as exc:
        raise SystemExit(f"error: the file storage cannot be reached: {exc}") from None
    Path(settings.STATIC_ROOT).mkdir(parents=True, exist_ok=True)
    host = args.host
    shown = f"[{host}]" if ":" in host else host
    print(f"Strongroom is running at {settings.BASE_URL}/ (data in {settings.DATA_DIR})")
    print(f"Listening on {shown}:{args.port}; links in emails use {settings.BASE_URL}/")
    print(
        "Host names answered: "
        + ", ".join(settings.ALLOWED_HOSTS)
        + " (set STRONGROOM_BASE_URL and STRONGROOM_ALLOWED_HOSTS for others)"
    )
    print("Press Ctrl-C to stop.", flush=True)
    run = serve_granian if args.server == "granian" else serve_gunicorn
    run(host=host, port=args.port, workers=args.workers, threads=args.threads)
    return 0


def _print_repair(repaired: Any) -> None:
    report = repaired.storage
    if report.published or report.removed or repaired.bodies_removed or report.failed:
        print(
            f"Repair: published {len(report.published)} file(s) left in staging, removed "
            f"{len(report.removed)} stale staged cop(ies) and {repaired.bodies_removed} "
            f"partial upload bod(ies); {len(report.failed)} still unpublished.",
            flush=True,
        )


def cmd_repair(args: argparse.Namespace) -> int:
    """Publish committed files left in staging; remove what died over an hour ago."""
    _setup(args.data_dir)
    from strongroom.storage.base import StorageUnavailable
    from strongroom.upload.repair import repair_files

    try:
        repaired = repair_files(at_start=False)
    except StorageUnavailable as exc:
        raise SystemExit(f"error: the file storage cannot be reached: {exc}") from None
    _print_repair(repaired)
    for path in repaired.storage.published:
        print(f"published {path}")
    for path in repaired.storage.failed:
        print(f"still unpublished: {path}")
    return 1 if repaired.storage.failed else 0


def cmd_migrate(args: argparse.Namespace) -> int:
    _setup(args.data_dir)
    _migrate(verbosity=1)
    return 0


def _create(args: argparse.Namespace, *, staff: bool, verified: bool) -> int:
    _setup(args.data_dir)
    _migrate()
    from strongroom.accounts.services import create_user

    password = _read_password(args.password_stdin)
    username, email = _validate_new_account(args.username, args.email, password)
    user = create_user(
        username=username, email=email, password=password, verified=verified, staff=staff
    )
    kind = "administrator" if staff else "user"
    print(f"Created {kind} {user.username} ({email}{'' if verified else ', not verified'}).")
    return 0


def cmd_createadmin(args: argparse.Namespace) -> int:
    return _create(args, staff=True, verified=True)


def cmd_user_create(args: argparse.Namespace) -> int:
    return _create(args, staff=False, verified=args.verified)


def cmd_token_create(args: argparse.Namespace) -> int:
    _setup(args.data_dir)
    _migrate()
    from datetime import timedelta

    from django.utils import timezone
    from packaging.utils import canonicalize_name

    from strongroom.accounts.actors import Actor
    from strongroom.accounts.models import User
    from strongroom.tokens.services import TokenError, create_token

    user = User.objects.filter(username__iexact=args.user).first()
    if user is None:
        raise SystemExit(f"error: no user named {args.user!r}")
    expires = timezone.now() + timedelta(days=args.expires_days) if args.expires_days else None
    projects = [str(canonicalize_name(p)) for p in args.project] if args.project else None
    try:
        token, raw = create_token(
            Actor.of(user), name=args.name, project_names=projects, expires_at=expires
        )
    except TokenError as exc:
        raise SystemExit(f"error: {exc}") from None
    scope = ", ".join(projects) if projects else "the entire account"
    when = f"expires {token.expires:%Y-%m-%d}" if token.expires else "never expires"
    print(f"Created API token {token.name!r} for {user.username}: {scope}; {when}.")
    print(raw)
    return 0


def cmd_critical_update(args: argparse.Namespace) -> int:
    _setup(args.data_dir)
    _migrate()
    from strongroom.packages.critical import update_critical_projects

    newly = update_critical_projects()
    for project in newly:
        print(f"{project.name} is now critical (top downloads); its collaborators were emailed.")
    print(f"{len(newly)} project(s) newly critical.")
    return 0


def cmd_critical_mark(args: argparse.Namespace) -> int:
    _setup(args.data_dir)
    _migrate()
    from packaging.utils import canonicalize_name

    from strongroom.accounts.actors import Actor
    from strongroom.accounts.models import User
    from strongroom.packages.critical import mark_critical, unmark_critical
    from strongroom.packages.models import Project

    project = Project.objects.filter(normalized_name=canonicalize_name(args.project)).first()
    if project is None:
        raise SystemExit(f"error: no project named {args.project!r}")
    staff = User.objects.filter(username__iexact=args.by, is_staff=True).first()
    if staff is None:
        raise SystemExit(f"error: no staff account named {args.by!r}")
    if args.unmark:
        unmark_critical(Actor.of(staff), project)
        print(f"{project.name} is no longer marked critical by staff.")
    else:
        mark_critical(Actor.of(staff), project)
        print(f"{project.name} is marked critical.")
    return 0


def cmd_project_allow_name(args: argparse.Namespace) -> int:
    """Staff allow a project name that looks like an existing project's (audited)."""
    _setup(args.data_dir)
    _migrate()
    from strongroom.accounts.actors import Actor
    from strongroom.accounts.models import User
    from strongroom.packages.services import PackageError, allow_confusable_name

    staff = User.objects.filter(username__iexact=args.by, is_staff=True).first()
    if staff is None:
        raise SystemExit(f"error: no staff account named {args.by!r}")
    try:
        allow_confusable_name(Actor.of(staff), args.name)
    except PackageError as exc:
        raise SystemExit(f"error: {exc}") from None
    print(f"{args.name} may now be created, although it looks like an existing project.")
    return 0


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


def build_parser() -> argparse.ArgumentParser:
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument(
        "--data-dir",
        default=os.environ.get("STRONGROOM_DATA_DIR", DEFAULT_DATA_DIR),
        help="where the database, files and secret key live (default: %(default)s)",
    )
    parser = argparse.ArgumentParser(
        prog="strongroom", description="A self-hosted Python package index."
    )
    commands = parser.add_subparsers(dest="command", required=True)

    serve = commands.add_parser("serve", parents=[common], help="run the index")
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=8000)
    serve.add_argument("--workers", type=int, default=max(2, (os.cpu_count() or 1)))
    serve.add_argument("--threads", type=int, default=4, help="threads per worker")
    serve.add_argument(
        "--server",
        choices=["gunicorn", "granian"],
        default="gunicorn",
        help="the HTTP server (default: %(default)s; see docs/decisions/0002-app-server.md)",
    )
    serve.set_defaults(func=cmd_serve)

    migrate = commands.add_parser("migrate", parents=[common], help="apply database migrations")
    migrate.set_defaults(func=cmd_migrate)

    repair = commands.add_parser(
        "repair",
        parents=[common],
        help="publish files an outage left unpublished; remove stale partial uploads",
    )
    repair.set_defaults(func=cmd_repair)

    def account_args(sub: argparse.ArgumentParser) -> None:
        sub.add_argument("--username", required=True)
        sub.add_argument("--email", required=True)
        sub.add_argument(
            "--password-stdin", action="store_true", help="read the password from standard input"
        )

    admin = commands.add_parser("createadmin", parents=[common], help="create a staff account")
    account_args(admin)
    admin.set_defaults(func=cmd_createadmin)

    user = commands.add_parser("user", help="manage accounts")
    user_commands = user.add_subparsers(dest="user_command", required=True)
    user_create = user_commands.add_parser("create", parents=[common], help="create an account")
    account_args(user_create)
    user_create.add_argument(
        "--verified", action="store_true", help="mark the email address as verified"
    )
    user_create.set_defaults(func=cmd_user_create)

    token = commands.add_parser("token", help="manage API tokens")
    token_commands = token.add_subparsers(dest="token_command", required=True)
    token_create = token_commands.add_parser(
        "create", parents=[common], help="create an API token; printed as the last line"
    )
    token_create.add_argument("--user", required=True)
    token_create.add_argument("--name", required=True)
    token_create.add_argument(
        "--project", action="append", default=[], help="scope to a project (repeatable)"
    )
    token_create.add_argument("--expires-days", type=int, default=0)
    token_create.set_defaults(func=cmd_token_create)

    critical = commands.add_parser("critical", help="critical projects (two-factor required)")
    critical_commands = critical.add_subparsers(dest="critical_command", required=True)
    critical_update = critical_commands.add_parser(
        "update",
        parents=[common],
        help="mark the most-downloaded projects critical (run daily from cron)",
    )
    critical_update.set_defaults(func=cmd_critical_update)
    critical_mark = critical_commands.add_parser(
        "mark", parents=[common], help="mark a project critical, as a staff account"
    )
    critical_mark.add_argument("--project", required=True)
    critical_mark.add_argument("--by", required=True, help="the staff account doing it")
    critical_mark.add_argument("--unmark", action="store_true", help="remove the staff mark")
    critical_mark.set_defaults(func=cmd_critical_mark)
    project = commands.add_parser("project", help="projects")
    project_commands = project.add_subparsers(dest="project_command", required=True)
    allow_name = project_commands.add_parser(
        "allow-name",
        parents=[common],
        help="allow a new project name that looks like an existing one, as a staff account",
    )
    allow_name.add_argument("name")
    allow_name.add_argument("--by", required=True, help="the staff account doing it")
    allow_name.set_defaults(func=cmd_project_allow_name)
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
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    func: Callable[[argparse.Namespace], Any] = args.func
    return int(func(args) or 0)


if __name__ == "__main__":
    raise SystemExit(main())
