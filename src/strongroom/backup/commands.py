"""``strongroom backup``, ``strongroom restore`` and ``strongroom verify-storage``."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from strongroom.clistart import setup as _setup


def cmd_backup(args: argparse.Namespace) -> int:
    """Back up the database, the files and the key while the server runs."""
    _setup(args.data_dir)
    from strongroom.backup.manifest import BackupError
    from strongroom.backup.take import take_backup
    from strongroom.storage.base import StorageUnavailable

    target = Path(args.to).expanduser().resolve()
    try:
        manifest = take_backup(target)
    except BackupError as exc:
        raise SystemExit(f"error: {exc}") from None
    except StorageUnavailable as exc:
        raise SystemExit(f"error: the file storage cannot be reached: {exc}") from None
    print(
        f"Backed up the index at serial {manifest.serial} to {target}: the database, "
        f"{len(manifest.files)} file(s)" + (" and the secret key." if manifest.secret_key else ".")
    )
    if manifest.secret_key is None:
        print(
            "The secret key comes from STRONGROOM_SECRET_KEY: keep it with this backup, "
            "the restored index needs it.",
            file=sys.stderr,
        )
    return 0


def cmd_restore(args: argparse.Namespace) -> int:
    """Restore a backup into a data dir (no Django: the target may not exist yet)."""
    from strongroom.backup.manifest import BackupError
    from strongroom.backup.restore import restore_backup

    target = Path(args.data_dir).expanduser().resolve()
    try:
        manifest = restore_backup(Path(args.source).expanduser(), target, force=args.force)
    except BackupError as exc:
        raise SystemExit(f"error: {exc}") from None
    except OSError as exc:
        raise SystemExit(f"error: the restore could not be written: {exc}") from None
    print(
        f"Restored the index at serial {manifest.serial} ({manifest.created}) into "
        f"{target}: {len(manifest.files)} file(s)."
    )
    return 0


def cmd_verify_storage(args: argparse.Namespace) -> int:
    """Report rows whose file is missing and objects no row references; exit 1 if any."""
    _setup(args.data_dir)
    from strongroom.backup.verify import verify_storage
    from strongroom.storage.base import StorageUnavailable

    try:
        check = verify_storage(hashes=args.hashes)
    except StorageUnavailable as exc:
        raise SystemExit(f"error: the file storage cannot be reached: {exc}") from None
    for path in check.missing:
        print(f"missing from storage: {path}")
    for line in check.damaged:
        print(f"damaged: {line}")
    for path in check.orphaned:
        print(f"no row references: {path}")
    print(
        f"{check.rows} object(s) expected, {check.objects} in storage: "
        f"{len(check.missing)} missing, {len(check.damaged)} damaged, "
        f"{len(check.orphaned)} without a row.",
        file=sys.stdout if check.ok else sys.stderr,
    )
    return 0 if check.ok else 1


def add_backup_commands(commands: Any, common: argparse.ArgumentParser) -> None:
    backup = commands.add_parser(
        "backup", parents=[common], help="back up the embedded index while it runs"
    )
    backup.add_argument("--to", required=True, help="a new or empty folder for the backup")
    backup.set_defaults(func=cmd_backup)

    restore = commands.add_parser(
        "restore", parents=[common], help="restore a backup into the data dir"
    )
    restore.add_argument("--from", dest="source", required=True, help="the backup's folder")
    restore.add_argument(
        "--force", action="store_true", help="replace the database, files and key of a data dir"
    )
    restore.set_defaults(func=cmd_restore)

    verify = commands.add_parser(
        "verify-storage",
        parents=[common],
        help="report files missing from storage and objects no row references",
    )
    verify.add_argument(
        "--hashes", action="store_true", help="also read every object and check its SHA-256"
    )
    verify.set_defaults(func=cmd_verify_storage)
