"""The ``strongroom`` command: serve, check, migrate, repair, createadmin, user, token,
critical, project, audit (in events/commands.py), org (in orgs/commands.py), backup,
restore, verify-storage (in backup/), issuer (in publishing/commands.py),
proxy and namespace (in proxy/commands.py)."""

from __future__ import annotations

import argparse
import getpass
import os
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from strongroom.backup.commands import add_backup_commands
from strongroom.clistart import DEFAULT_DATA_DIR
from strongroom.clistart import migrate as _migrate
from strongroom.clistart import setup as _setup
from strongroom.events.commands import add_audit_commands
from strongroom.orgs.commands import add_org_commands
from strongroom.proxy.commands import add_proxy_commands
from strongroom.publishing.commands import add_publishing_commands


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
    # Before anything imports prometheus-client: every worker then writes its samples to
    # files the metrics view sums (ops.metrics).
    from strongroom.ops.multiproc import prepare_multiprocess_dir

    prepare_multiprocess_dir(Path(args.data_dir).expanduser().resolve())
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
    from django.db import DatabaseError

    from strongroom.index import root

    # /simple/ is rendered at write time; a new, migrated or restored index gets it here,
    # not in its first reader's request.
    try:
        rendered = root.prepare_at_start()
    except DatabaseError as exc:  # serving goes on: a reader's process renders it then
        print(f"warning: /simple/ not rendered at start: {exc}", file=sys.stderr, flush=True)
    else:
        if rendered is not None:
            print(f"Rendered /simple/ (all projects) in {rendered:.2f} s.", flush=True)
    from strongroom import doctor

    # The config doctor's findings go to the log; serving goes on (`strongroom check`
    # is what stops a deploy).
    doctor.log_findings(doctor.run_checks(doctor.Context(bind_host=args.host)))
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
    # The workers are forked from this process: none may inherit its database connection
    # (the storage's connections are dropped in each child, see strongroom.storage).
    from django.db import connections

    connections.close_all()
    run = serve_granian if args.server == "granian" else serve_gunicorn
    run(host=host, port=args.port, workers=args.workers, threads=args.threads)
    return 0


def cmd_check(args: argparse.Namespace) -> int:
    """Print every unsafe or inconsistent setting with its fix; 1 if any is an error."""
    from strongroom.web.hosts import serve_environment

    # What `serve --host --port` would derive, so the findings are the ones it would log.
    os.environ.update(serve_environment(os.environ, args.host, args.port))
    from django.core.exceptions import ImproperlyConfigured

    try:
        _setup(args.data_dir)
    except (ValueError, ImproperlyConfigured) as exc:  # settings.py refused a value
        print(f"error: [settings] {exc}\n  fix: correct that variable; nothing else was checked.")
        return 1
    from strongroom import doctor

    findings = doctor.run_checks(doctor.Context(bind_host=args.host))
    for finding in findings:
        print(finding)
    errors = sum(1 for f in findings if f.severity == doctor.ERROR)
    if not findings:
        print("No problems found in the configuration.")
    else:
        print(f"{errors} error(s), {len(findings) - errors} warning(s).")
    return 1 if errors else 0


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
            Actor.of(user),
            name=args.name,
            project_names=projects,
            expires_at=expires,
            organization_name=args.org,
            read=args.read,
        )
    except TokenError as exc:
        raise SystemExit(f"error: {exc}") from None
    scope = ", ".join(projects) if projects else "the entire account"
    if args.org:
        scope = f"{scope if projects else 'projects'} of the organisation {args.org}"
    when = f"expires {token.expires:%Y-%m-%d}" if token.expires else "never expires"
    kind = "read token" if args.read else "API token"
    print(f"Created {kind} {token.name!r} for {user.username}: {scope}; {when}.")
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


def cmd_project_visibility(args: argparse.Namespace) -> int:
    """The operator makes a project public or private (audited; its Owners are emailed)."""
    _setup(args.data_dir)
    _migrate()
    from packaging.utils import canonicalize_name

    from strongroom.accounts.actors import Actor
    from strongroom.packages.models import Project
    from strongroom.packages.services import PackageError
    from strongroom.packages.visibility_services import set_visibility

    project = Project.objects.filter(normalized_name=canonicalize_name(args.project)).first()
    if project is None:
        raise SystemExit(f"error: no project named {args.project!r}")
    try:
        changed = set_visibility(Actor.operator(), project, args.visibility)
    except PackageError as exc:
        raise SystemExit(f"error: {exc}") from None
    state = "is now" if changed else "was already"
    print(f"{project.name} {state} {args.visibility.strip().lower()}.")
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
    # 128 threads a worker: a thread waits on a slow client's upload body (both servers)
    # or header block (gunicorn), so the threads, not the CPUs, are what slow clients use
    # up; and slow clients need not spread over the workers (docs/decisions/0003).
    serve.add_argument("--threads", type=int, default=128, help="threads per worker")
    serve.add_argument(
        "--server",
        choices=["gunicorn", "granian"],
        default="gunicorn",
        help="the HTTP server (default: %(default)s; see docs/decisions/0002-app-server.md)",
    )
    serve.set_defaults(func=cmd_serve)

    check = commands.add_parser(
        "check",
        parents=[common],
        help="check the configuration for unsafe or inconsistent settings (exit 1 on errors)",
    )
    check.add_argument("--host", default="127.0.0.1", help="the address serve binds")
    check.add_argument("--port", type=int, default=8000)
    check.set_defaults(func=cmd_check)

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
    token_create.add_argument(
        "--org", default=None, help="scope to the projects of an organisation you belong to"
    )
    token_create.add_argument("--expires-days", type=int, default=0)
    token_create.add_argument(
        "--read", action="store_true", help="a read token (installs; never uploads)"
    )
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
    visibility = project_commands.add_parser(
        "visibility", parents=[common], help="make a project public or private"
    )
    visibility.add_argument("--project", required=True)
    # Checked by the service, so an unknown value gets its sentence, not argparse's.
    visibility.add_argument("visibility", metavar="public|private")
    visibility.set_defaults(func=cmd_project_visibility)
    add_audit_commands(commands, common)
    add_org_commands(commands, common)
    add_backup_commands(commands, common)
    add_publishing_commands(commands, common)
    add_proxy_commands(commands, common)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    func: Callable[[argparse.Namespace], Any] = args.func
    return int(func(args) or 0)


if __name__ == "__main__":
    raise SystemExit(main())
