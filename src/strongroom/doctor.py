"""The config doctor: ``strongroom check``, also run (and logged) when ``serve`` starts.

One function per check; each reads ``django.conf.settings`` (never the environment) and
returns findings, each with its severity, what is wrong and the fix. An *error* is a
setting that leaks credentials, breaks links or a security rule, or makes the index fail;
``strongroom check`` exits non-zero when there is one, so a deploy script can stop. A
*warning* is unsafe or inconsistent but works.
"""

from __future__ import annotations

import dataclasses
import logging
import secrets
from collections.abc import Callable
from pathlib import Path
from urllib.parse import urlsplit

from django.conf import settings
from django.utils.translation import gettext as _

from strongroom.web.hosts import is_loopback

logger = logging.getLogger(__name__)

ERROR = "error"
WARNING = "warning"

# File systems more than one machine mounts: a secret key file on one is read by all.
NETWORK_FILESYSTEMS = frozenset(
    {"nfs", "nfs4", "cifs", "smb3", "smbfs", "glusterfs", "ceph", "9p", "lustre", "gpfs", "afs"}
)
_OUTBOX = "strongroom.notify.backends.OutboxEmailBackend"
_SMTP = "django.core.mail.backends.smtp.EmailBackend"


@dataclasses.dataclass(frozen=True)
class Finding:
    severity: str  # ERROR or WARNING
    check: str  # the check's name, stable (for scripts)
    message: str
    fix: str

    def __str__(self) -> str:
        return f"{self.severity}: [{self.check}] {self.message}\n  fix: {self.fix}"


@dataclasses.dataclass(frozen=True)
class Context:
    """What the checks need besides settings: the address ``serve`` binds (or would)."""

    bind_host: str = "127.0.0.1"
    mountinfo: Path = Path("/proc/self/mountinfo")

    @property
    def public(self) -> bool:
        """Bound to an address other machines can reach (any non-loopback one)."""
        return not is_loopback(self.bind_host)


def check_public_hosts(ctx: Context) -> list[Finding]:
    """A public address needs the public base URL and host names set, not derived."""
    if not ctx.public:
        return []
    findings = []
    if not settings.BASE_URL_CONFIGURED:
        findings.append(
            Finding(
                ERROR,
                "base-url",
                _(
                    "Listening on %(host)s without STRONGROOM_BASE_URL: links in emails and "
                    "API answers use the derived %(url)s/, which others may not reach."
                )
                % {"host": ctx.bind_host, "url": settings.BASE_URL},
                _("Set STRONGROOM_BASE_URL to the public URL, e.g. https://pypi.example.com."),
            )
        )
    if not settings.ALLOWED_HOSTS_CONFIGURED:
        findings.append(
            Finding(
                ERROR,
                "allowed-hosts",
                _(
                    "Listening on %(host)s without STRONGROOM_ALLOWED_HOSTS: the host names "
                    "answered are guessed (%(hosts)s)."
                )
                % {"host": ctx.bind_host, "hosts": ", ".join(settings.ALLOWED_HOSTS)},
                _(
                    "Set STRONGROOM_ALLOWED_HOSTS to the public host name(s), comma-separated, "
                    "e.g. pypi.example.com."
                ),
            )
        )
    return findings


def check_plain_http(ctx: Context) -> list[Finding]:
    """A public address without a TLS proxy in front sends passwords and tokens in clear."""
    if not ctx.public or settings.BEHIND_PROXY:
        return []
    if urlsplit(settings.BASE_URL).scheme == "https":
        return [
            Finding(
                WARNING,
                "behind-proxy",
                _(
                    "STRONGROOM_BASE_URL is https:// but STRONGROOM_BEHIND_PROXY is off: "
                    "requests arriving through the TLS proxy look like plain HTTP, so cookies "
                    "lose the Secure flag and client addresses are the proxy's."
                ),
                _(
                    "Set STRONGROOM_BEHIND_PROXY=true (and STRONGROOM_TRUSTED_PROXY_COUNT) "
                    "when a TLS-terminating proxy forwards to this server."
                ),
            )
        ]
    return [
        Finding(
            ERROR,
            "plain-http",
            _(
                "Serving plain HTTP on %(host)s without STRONGROOM_BEHIND_PROXY: passwords, "
                "session cookies and API tokens cross the network unencrypted."
            )
            % {"host": ctx.bind_host},
            _(
                "Put a TLS-terminating proxy in front, bind to 127.0.0.1 behind it, and set "
                "STRONGROOM_BEHIND_PROXY=true and an https:// STRONGROOM_BASE_URL."
            ),
        )
    ]


def filesystem_type(path: Path, mountinfo: Path) -> str | None:
    """The type of the file system holding ``path`` (from /proc/self/mountinfo), or None
    when it cannot be told."""
    try:
        lines = mountinfo.read_text().splitlines()
    except OSError:
        return None
    best, best_type = "", None
    target = str(path.resolve())
    for line in lines:
        fields = line.split()
        if " - " not in line or len(fields) < 5:
            continue
        # Mount points escape spaces and such as octal (\040).
        mount_point = fields[4].encode().decode("unicode_escape")
        fs_type = line.split(" - ", 1)[1].split()[0]
        inside = target == mount_point or target.startswith(mount_point.rstrip("/") + "/")
        if inside and len(mount_point) >= len(best):
            best, best_type = mount_point, fs_type
    return best_type


def check_secret_key_location(ctx: Context) -> list[Finding]:
    """The generated key file in the data dir is fine for one machine, not on a shared
    volume: every machine with the volume reads the key that signs sessions and tokens."""
    key_file = settings.SECRET_KEY_FILE
    if key_file is None:
        return []
    fs_type = filesystem_type(Path(key_file).parent, ctx.mountinfo) or ""
    shared = fs_type in NETWORK_FILESYSTEMS or fs_type.startswith("fuse.")
    if not shared and settings.NODES <= 1:
        return []
    where = (
        _("a shared %(type)s volume") % {"type": fs_type}
        if shared
        else _("a data dir %(nodes)s nodes share") % {"nodes": settings.NODES}
    )
    return [
        Finding(
            WARNING,
            "secret-key",
            _(
                "The secret key is the generated file %(file)s on %(where)s: whoever can "
                "read the volume can forge sessions, signed links and API tokens."
            )
            % {"file": key_file, "where": where},
            _(
                "Set STRONGROOM_SECRET_KEY from your secret store (the same on every node; "
                "keep the current value in STRONGROOM_SECRET_KEY_FALLBACKS when changing "
                "it) and delete %(file)s."
            )
            % {"file": key_file},
        )
    ]


def check_smtp_tls(ctx: Context) -> list[Finding]:
    """SMTP to another machine without TLS sends reset links (and the password) in clear."""
    if settings.EMAIL_BACKEND != _SMTP or settings.EMAIL_USE_TLS or settings.EMAIL_USE_SSL:
        return []
    if is_loopback(settings.EMAIL_HOST):
        return []  # a local relay: nothing crosses the network
    with_password = bool(settings.EMAIL_HOST_USER or settings.EMAIL_HOST_PASSWORD)
    return [
        Finding(
            ERROR if with_password else WARNING,
            "smtp-tls",
            _(
                "Email goes to %(host)s:%(port)s by SMTP without TLS: password-reset and "
                "verification links%(password)s cross the network unencrypted."
            )
            % {
                "host": settings.EMAIL_HOST,
                "port": settings.EMAIL_PORT,
                "password": _(" and the SMTP password") if with_password else "",
            },
            _(
                "Set STRONGROOM_SMTP_STARTTLS=true (usually port 587) or "
                "STRONGROOM_SMTP_SSL=true (usually port 465)."
            ),
        )
    ]


def check_outbox_nodes(ctx: Context) -> list[Finding]:
    """The outbox is a folder on one node: with several, nobody reads most emails."""
    if settings.EMAIL_BACKEND != _OUTBOX or settings.NODES <= 1:
        return []
    return [
        Finding(
            WARNING,
            "email-outbox",
            _(
                "Email backend is the outbox with %(nodes)s nodes: security emails are "
                "files in each node's %(dir)s, and nobody receives them."
            )
            % {"nodes": settings.NODES, "dir": settings.EMAIL_OUTBOX_DIR},
            _("Set STRONGROOM_SMTP_HOST (and STRONGROOM_SMTP_STARTTLS=true) to send email."),
        )
    ]


def check_redis_nodes(ctx: Context) -> list[Finding]:
    """Rate limits and the cache must be shared by every node."""
    if settings.REDIS_URL or settings.NODES <= 1:
        return []
    return [
        Finding(
            ERROR,
            "redis",
            _(
                "%(nodes)s nodes without STRONGROOM_REDIS_URL: each node counts rate limits "
                "on its own (an attacker gets %(nodes)s times the login attempts) and caches "
                "pages the others have changed."
            )
            % {"nodes": settings.NODES},
            _("Set STRONGROOM_REDIS_URL=redis://host:6379/0, the same on every node."),
        )
    ]


def check_database(ctx: Context) -> list[Finding]:
    """The database answers (the other checks and every request need it)."""
    from django.db import DatabaseError, connection

    try:
        connection.ensure_connection()
    except DatabaseError as exc:
        return [
            Finding(
                ERROR,
                "database",
                _("The database cannot be reached: %(problem)s.") % {"problem": exc},
                _("Check STRONGROOM_DATABASE_URL and that the database server is running."),
            )
        ]
    return []


def check_storage_writable(ctx: Context) -> list[Finding]:
    """Write, read back and delete a small probe file through the configured storage."""
    from strongroom.storage import get_storage

    storage = get_storage()
    path = f"doctor/write-check-{secrets.token_hex(8)}"
    problem = ""
    if check_database(ctx):
        return []  # publishing waits for a database commit: reported as the database's
    try:
        storage.prepare()
        storage.save(path, b"strongroom check\n")  # outside a transaction: at once
        if storage.take_unpublished() or not storage.exists(path):
            problem = _("the probe file was not there after writing it")
        storage.delete(path)
    except Exception as exc:  # any failure is the finding; the check must not crash
        problem = str(exc) or exc.__class__.__name__
    if not problem:
        return []
    where = (
        f"s3://{settings.S3_BUCKET}/{settings.S3_PREFIX}"
        if settings.STORAGE_URL
        else str(settings.FILES_DIR)
    )
    return [
        Finding(
            ERROR,
            "storage",
            _("The file storage %(where)s cannot be written: %(problem)s.")
            % {"where": where, "problem": problem},
            _(
                "Check STRONGROOM_STORAGE_URL / STRONGROOM_FILES_DIR, the credentials "
                "(AWS_ACCESS_KEY_ID...) and that this server may create and delete objects "
                "there."
            ),
        )
    ]


def check_purge_backend(ctx: Context) -> list[Finding]:
    """A purge backend that cannot be built tells the CDN nothing while pages carry a
    day's CDN lifetime: readers would see stale pages for a day."""
    from strongroom.index import purge

    purge.get_backend.cache_clear()
    try:
        purge.get_backend()
    except Exception as exc:
        return [
            Finding(
                ERROR,
                "purge-backend",
                _("The CDN purge backend %(backend)s is unusable: %(error)s")
                % {"backend": settings.PURGE_BACKEND, "error": exc},
                _(
                    "Set STRONGROOM_PURGE_URL for http; STRONGROOM_FASTLY_SERVICE_ID and "
                    "STRONGROOM_FASTLY_API_TOKEN for fastly; or STRONGROOM_PURGE_BACKEND=none."
                ),
            )
        ]
    finally:
        purge.get_backend.cache_clear()
    return []


def check_sigstore_trusted_root(ctx: Context) -> list[Finding]:
    """A staff trusted root that does not load would refuse every attested upload (503)."""
    if not settings.SIGSTORE_TRUSTED_ROOT:
        return []
    from strongroom.publishing.attestations import AttestationRefused, verifier

    try:
        verifier()
    except AttestationRefused:
        return [
            Finding(
                ERROR,
                "sigstore-trusted-root",
                _("The Sigstore trusted root %(path)s cannot be loaded: attested uploads fail.")
                % {"path": settings.SIGSTORE_TRUSTED_ROOT},
                _(
                    "Point STRONGROOM_SIGSTORE_TRUSTED_ROOT at your Sigstore deployment's "
                    "trusted_root.json, or unset it for the public-good instance."
                ),
            )
        ]
    return []


CHECKS: list[Callable[[Context], list[Finding]]] = [
    check_public_hosts,
    check_plain_http,
    check_secret_key_location,
    check_smtp_tls,
    check_outbox_nodes,
    check_redis_nodes,
    check_database,
    check_storage_writable,
    check_purge_backend,
    check_sigstore_trusted_root,
]


def run_checks(ctx: Context) -> list[Finding]:
    """Every check's findings, errors first."""
    findings = [finding for check in CHECKS for finding in check(ctx)]
    return sorted(findings, key=lambda f: f.severity != ERROR)


def log_findings(findings: list[Finding]) -> None:
    """One log line per finding (``serve`` start)."""
    for finding in findings:
        level = logging.ERROR if finding.severity == ERROR else logging.WARNING
        logger.log(level, "config check: %s Fix: %s", finding.message, finding.fix)
