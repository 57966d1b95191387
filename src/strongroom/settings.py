"""Django settings for Strongroom.

This is the only module that reads the environment. Every knob is a ``STRONGROOM_*``
variable with a typed default suited to the embedded deployment (SQLite and a folder).
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from urllib.parse import urlparse

from strongroom.db.config import postgresql_database, redis_cache, sqlite_database
from strongroom.proxy.config import upstream_config
from strongroom.secretfile import load_or_create_secret
from strongroom.web.hosts import DEFAULT_HOST, derive_allowed_hosts, derive_base_url
from strongroom.web.logformat import logging_config


def _env(name: str, default: str = "") -> str:
    return os.environ.get(f"STRONGROOM_{name}", default)


def _env_bool(name: str, default: bool) -> bool:
    raw = _env(name, "")
    if not raw:
        return default
    return raw.strip().lower() in {"1", "true", "yes", "on"}


def _env_int(name: str, default: int) -> int:
    raw = _env(name, "")
    return int(raw) if raw.strip() else default


def _env_choice(name: str, default: str, *choices: str) -> str:
    value = _env(name, default).strip().lower()
    if value not in choices:
        raise ValueError(f"STRONGROOM_{name} must be {', '.join(choices[:-1])} or {choices[-1]}")
    return value


def _env_list(name: str, default: list[str]) -> list[str]:
    raw = _env(name, "")
    if not raw.strip():
        return default
    return [item.strip() for item in raw.split(",") if item.strip()]


BASE_DIR = Path(__file__).resolve().parent
DATA_DIR = Path(_env("DATA_DIR", "./strongroom-data")).expanduser().resolve()

# Every node of a scaled-out index must sign sessions and tokens with the same key, so a
# PostgreSQL deployment has to set it; the embedded default generates one into DATA_DIR.
SECRET_KEY = _env("SECRET_KEY")
if not SECRET_KEY:
    if _env("DATABASE_URL"):
        from django.core.exceptions import ImproperlyConfigured

        raise ImproperlyConfigured(
            "STRONGROOM_SECRET_KEY must be set (the same on every node) when "
            "STRONGROOM_DATABASE_URL is used"
        )
    SECRET_KEY = load_or_create_secret(DATA_DIR / "secret_key")
    SECRET_KEY_FILE: Path | None = DATA_DIR / "secret_key"
else:
    SECRET_KEY_FILE = None
# Previous secret keys, newest first, separated by commas or spaces: after a rotation they
# keep sessions, signed links, API tokens, TOTP secrets and the audit chain verifiable,
# while everything new is made with SECRET_KEY (see strongroom/keys.py, docs/deployment.md).
SECRET_KEY_FALLBACKS = [k for k in re.split(r"[\s,]+", _env("SECRET_KEY_FALLBACKS", "")) if k]
DEBUG = _env_bool("DEBUG", False)

SITE_NAME = _env("SITE_NAME", "Strongroom")
# The public base URL of every absolute link (emails, the JSON API, the upload API's
# messages); never taken from a request. `strongroom serve` derives it from --host/--port
# when unset; elsewhere (commands, tests) the default is that of the default host and port.
BASE_URL = (_env("BASE_URL", "").strip() or derive_base_url()).rstrip("/")
# Requests naming any other host (Host, X-Forwarded-Host, an absolute request line) get
# 400 before a view runs (web.hosts). Derived like BASE_URL when unset.
ALLOWED_HOSTS = _env_list("ALLOWED_HOSTS", derive_allowed_hosts(DEFAULT_HOST, BASE_URL))
# Whether the operator set them (`strongroom serve` derives missing ones and lists those in
# STRONGROOM_DERIVED); the config doctor (strongroom.doctor) warns about derived ones.
_DERIVED = _env_list("DERIVED", [])
BASE_URL_CONFIGURED = bool(_env("BASE_URL").strip()) and "BASE_URL" not in _DERIVED
ALLOWED_HOSTS_CONFIGURED = bool(_env("ALLOWED_HOSTS").strip()) and "ALLOWED_HOSTS" not in _DERIVED
# How many app servers serve this index (one database, one storage). The config doctor uses
# it: several nodes need Redis, a shared secret key and real email.
NODES = _env_int("NODES", 1)
CSRF_TRUSTED_ORIGINS = _env_list("CSRF_TRUSTED_ORIGINS", [])

INSTALLED_APPS = [
    "strongroom.web.apps.StaffAdminConfig",  # django.contrib.admin, staff-only
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "strongroom.web",
    "strongroom.events",
    "strongroom.accounts",
    "strongroom.notify",
    "strongroom.mfa",
    "strongroom.packages",
    "strongroom.orgs",
    "strongroom.tokens",
    "strongroom.upload",
    "strongroom.index",
    "strongroom.console",
    "strongroom.publishing",
    "strongroom.proxy",
]

MIDDLEWARE = [
    # An unknown host name gets 400 before anything else runs.
    "strongroom.web.hosts.AllowedHostsMiddleware",
    # A NUL in the path, query or cookies gets 400 before any lookup (PostgreSQL refuses it).
    "strongroom.web.middleware.NulCharacterMiddleware",
    # /_/health/live and /_/health/ready (any Host), answered before anything else runs.
    "strongroom.ops.middleware.HealthProbeMiddleware",
    "strongroom.index.middleware.PublicCacheMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "strongroom.web.middleware.SecurityHeadersMiddleware",
    # Public simple pages answered here skip everything below (sessions, auth, CSRF...).
    "strongroom.index.middleware.SimpleFastPathMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "strongroom.accounts.middleware.SessionTrackingMiddleware",
    "strongroom.accounts.middleware.TimeZoneMiddleware",
    "strongroom.console.middleware.RecoveryEnrolmentMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

ROOT_URLCONF = "strongroom.urls"
WSGI_APPLICATION = "strongroom.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "strongroom.web.context.site",
            ],
        },
    }
]

# --- database -------------------------------------------------------------------------

DATABASE_URL = _env("DATABASE_URL", "")
# PostgreSQL outages answer 503 within these bounds instead of holding requests: seconds to
# connect, seconds a statement may run (the server cancels it), and the client's own
# deadline for any reply (a frozen server cancels nothing; strongroom.db.postgresql).
DATABASE_CONNECT_TIMEOUT = _env_int("DATABASE_CONNECT_TIMEOUT", 3)
DATABASE_STATEMENT_TIMEOUT = _env_int("DATABASE_STATEMENT_TIMEOUT", 10)


DATABASES = {
    "default": postgresql_database(
        DATABASE_URL,
        connect_timeout=DATABASE_CONNECT_TIMEOUT,
        statement_timeout=DATABASE_STATEMENT_TIMEOUT,
    )
    if DATABASE_URL
    else sqlite_database(DATA_DIR / "strongroom.sqlite3")
}

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- cache, sessions, rate limits ----------------------------------------------------

REDIS_URL = _env("REDIS_URL", "")
# Prefix for every Redis key, so several indexes (or test servers) can share one Redis.
REDIS_PREFIX = _env("REDIS_PREFIX", "strongroom")
# Seconds to wait for Redis before treating it as down (see docs/deployment.md#faults).
REDIS_TIMEOUT = float(_env("REDIS_TIMEOUT", "1"))
if REDIS_URL:
    CACHES = {"default": redis_cache(REDIS_URL, REDIS_PREFIX, REDIS_TIMEOUT)}
    # Sessions are read from Redis and written through to the database, which stays the
    # record: every node sees a session at once, and sessions survive a Redis restart.
    SESSION_ENGINE = "django.contrib.sessions.backends.cached_db"
    RATELIMIT_STORAGE_URL = REDIS_URL
else:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
    SESSION_ENGINE = "django.contrib.sessions.backends.db"
    RATELIMIT_STORAGE_URL = "sqlite://" + str(DATA_DIR / "ratelimits.sqlite3")

RATELIMIT_BACKEND = _env("RATELIMIT_BACKEND", "strongroom.ratelimit.backends.LimitsBackend")
RATELIMIT_STORAGE_OPTIONS: dict[str, object] = {}
if REDIS_URL:
    _timeouts = {"socket_connect_timeout": REDIS_TIMEOUT, "socket_timeout": REDIS_TIMEOUT}
    RATELIMIT_STORAGE_OPTIONS = {"key_prefix": f"{REDIS_PREFIX}:limits", **_timeouts}
# Failed password attempts, counted before the password is checked (see
# accounts.limits._login_limits): one account from one address, one account from
# everywhere, one address across all accounts, the whole site.
LOGIN_FAILURE_LIMIT_PER_IP_ACCOUNT = _env("LOGIN_LIMIT_IP_ACCOUNT", "10/5minutes")
LOGIN_FAILURE_LIMIT_PER_ACCOUNT = _env("LOGIN_LIMIT_ACCOUNT", "20/5minutes")
LOGIN_FAILURE_LIMIT_PER_IP = _env("LOGIN_LIMIT_IP", "30/5minutes")
LOGIN_FAILURE_LIMIT_GLOBAL = _env("LOGIN_LIMIT_GLOBAL", "1000/5minutes")
EMAIL_VERIFY_RESEND_LIMIT = _env("EMAIL_RESEND_LIMIT", "3/hour")
PASSWORD_RESET_LIMIT = _env("PASSWORD_RESET_LIMIT", "5/hour")
REGISTRATION_LIMIT_PER_IP = _env("REGISTRATION_LIMIT_IP", "20/hour")
REPORT_LIMIT_PER_ACCOUNT = _env("REPORT_LIMIT", "5/hour")  # project reports (packages.reports)

# --- authentication --------------------------------------------------------------------

AUTH_USER_MODEL = "accounts.User"
AUTHENTICATION_BACKENDS = ["strongroom.accounts.backends.UsernameOrEmailBackend"]
LOGIN_URL = "accounts:login"
LOGIN_REDIRECT_URL = "accounts:manage"
LOGOUT_REDIRECT_URL = "web:home"

_HASHERS = "django.contrib.auth.hashers"
PASSWORD_HASHERS = [f"{_HASHERS}.Argon2PasswordHasher", f"{_HASHERS}.PBKDF2PasswordHasher"]
AUTH_PASSWORD_VALIDATORS = [
    {
        "NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator",
        "OPTIONS": {"user_attributes": ("username", "email")},
    },
    {
        "NAME": "django.contrib.auth.password_validation.MinimumLengthValidator",
        "OPTIONS": {"min_length": 8},
    },
    {"NAME": "strongroom.accounts.passwords.MaximumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "strongroom.accounts.passwords.BreachedPasswordValidator"},
]
# HIBP-style k-anonymity range API; empty disables the check.
BREACHED_PASSWORD_API_URL = _env("BREACHED_PASSWORD_API_URL", "")
BREACHED_PASSWORD_TIMEOUT = float(_env("BREACHED_PASSWORD_TIMEOUT", "3"))
EMAIL_VERIFICATION_MAX_AGE = 6 * 3600
PASSWORD_RESET_TIMEOUT = 6 * 3600
REAUTH_MAX_AGE = _env_int("REAUTH_MAX_AGE", 15 * 60)
HISTORY_WINDOW_DAYS = _env_int("HISTORY_WINDOW_DAYS", 90)
RELEASE_CLOSE_DAYS = _env_int("RELEASE_CLOSE_DAYS", 0)  # days until a release takes no file

# --- audit log ------------------------------------------------------------------------------

# Events older than this are removed by `strongroom audit purge` (a checkpoint keeps the
# remaining hash chain verifiable).
AUDIT_RETENTION_DAYS = _env_int("AUDIT_RETENTION_DAYS", 730)
# Where to forward each event as it is committed: syslog://host:port (UDP, RFC 5424) or an
# http(s):// URL (one JSON POST per event). Empty: no forwarding.
AUDIT_FORWARD = _env("AUDIT_FORWARD", "").strip()
if AUDIT_FORWARD and not AUDIT_FORWARD.startswith(("syslog://", "http://", "https://")):
    raise ValueError("STRONGROOM_AUDIT_FORWARD must be syslog://host:port or an http(s):// URL")
AUDIT_FORWARD_TIMEOUT = float(_env("AUDIT_FORWARD_TIMEOUT", "2"))
# Rows per page on the staff audit page.
AUDIT_PAGE_SIZE = _env_int("AUDIT_PAGE_SIZE", 50)
SEARCH_PAGE_SIZE = max(1, _env_int("SEARCH_PAGE_SIZE", 20))  # /search/, /projects/, /user/

# --- second factors ------------------------------------------------------------------------

# Which accounts must keep a second factor (mfa.policy): "none"; "uploaders" (every account
# that uploads or manages a project); "all". Projects add their own rule on top.
REQUIRE_2FA = _env_choice("REQUIRE_2FA", "none", "none", "uploaders", "all")
# The WebAuthn relying party; the id defaults to the request's host name.
WEBAUTHN_RP_ID = _env("WEBAUTHN_RP_ID", "")
WEBAUTHN_RP_NAME = _env("WEBAUTHN_RP_NAME", SITE_NAME)
# Every second-factor attempt (TOTP, security key, recovery code) counts against these.
MFA_LIMITS_PER_ACCOUNT = _env_list("MFA_LIMITS_ACCOUNT", ["5/5minutes", "20/hour", "50/day"])
MFA_LIMIT_PER_IP = _env("MFA_LIMIT_IP", "30/5minutes")
# How long the half-signed-in state between password and second factor lasts.
MFA_PENDING_MAX_AGE = _env_int("MFA_PENDING_MAX_AGE", 5 * 60)
KNOWN_DEVICE_COOKIE_AGE = _env_int("KNOWN_DEVICE_AGE", 365 * 24 * 3600)

SESSION_COOKIE_AGE = _env_int("SESSION_AGE", 14 * 24 * 3600)
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
SESSION_COOKIE_NAME = "strongroom_session"
CSRF_COOKIE_HTTPONLY = True
CSRF_COOKIE_SAMESITE = "Lax"
CSRF_COOKIE_NAME = "strongroom_csrf"
CSRF_FAILURE_VIEW = "strongroom.web.views.csrf_failure"
# Cookies get the Secure flag on HTTPS requests (see web.middleware); forcing it here
# would break the embedded http://localhost default.
SESSION_COOKIE_SECURE = _env_bool("SECURE_COOKIES", False)
CSRF_COOKIE_SECURE = SESSION_COOKIE_SECURE
# The footer's language choice: a year, sent like the other cookies, readable by nothing
# but the server.
LANGUAGE_COOKIE_AGE = 365 * 24 * 3600
LANGUAGE_COOKIE_SAMESITE = "Lax"
LANGUAGE_COOKIE_HTTPONLY = True
LANGUAGE_COOKIE_SECURE = SESSION_COOKIE_SECURE

# --- HTTP hardening ------------------------------------------------------------------

BEHIND_PROXY = _env_bool("BEHIND_PROXY", False)
if BEHIND_PROXY:
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    USE_X_FORWARDED_HOST = True
TRUSTED_PROXY_COUNT = _env_int("TRUSTED_PROXY_COUNT", 0)
SECURE_HSTS_SECONDS = _env_int("HSTS_SECONDS", 31536000)
SECURE_HSTS_INCLUDE_SUBDOMAINS = False
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
SECURE_CROSS_ORIGIN_OPENER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
ADMIN_PATH = _env("ADMIN_PATH", "admin").strip("/") or "admin"
DATA_UPLOAD_MAX_MEMORY_SIZE = 2_621_440

# --- email ------------------------------------------------------------------------------

# "smtp", "outbox" (files in DATA_DIR/outbox plus a log line) or a dotted backend path.
# Unset: SMTP when STRONGROOM_SMTP_HOST is set, else the outbox.
_EMAIL_BACKENDS = {
    "smtp": "django.core.mail.backends.smtp.EmailBackend",
    "outbox": "strongroom.notify.backends.OutboxEmailBackend",
}
EMAIL_BACKEND = _env("EMAIL_BACKEND", "").strip() or ("smtp" if _env("SMTP_HOST") else "outbox")
EMAIL_BACKEND = _EMAIL_BACKENDS.get(EMAIL_BACKEND.lower(), EMAIL_BACKEND)
EMAIL_OUTBOX_DIR = DATA_DIR / "outbox"
DEFAULT_FROM_EMAIL = _env("EMAIL_FROM", f"{SITE_NAME} <noreply@localhost>")
EMAIL_HOST = _env("SMTP_HOST", "localhost")
EMAIL_PORT = _env_int("SMTP_PORT", 25)
EMAIL_HOST_USER = _env("SMTP_USER", "")
EMAIL_HOST_PASSWORD = _env("SMTP_PASSWORD", "")
EMAIL_USE_TLS = _env_bool("SMTP_STARTTLS", False)
EMAIL_USE_SSL = _env_bool("SMTP_SSL", False)
EMAIL_TIMEOUT = 10

# --- i18n, static -------------------------------------------------------------------------

LANGUAGE_CODE = "en"
# Language names in their own language, so the footer switcher reads the same in every one.
LANGUAGES = [("en", "English"), ("fr", "Français"), ("de", "Deutsch")]
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True
LOCALE_PATHS = [BASE_DIR / "locale"]
# Dates shown per language (strongroom/formats/<lang>/formats.py).
FORMAT_MODULE_PATH = ["strongroom.formats"]

STATIC_URL = "/static/"
STATIC_ROOT = DATA_DIR / "static"
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedStaticFilesStorage"},
}
WHITENOISE_USE_FINDERS = True
WHITENOISE_AUTOREFRESH = False

# "text" (default) or "json": one JSON object per line for the access log (web.accesslog)
# and the application log (web.logformat). Every line carries the request id.
LOG_FORMAT = _env_choice("LOG_FORMAT", "text", "text", "json")
LOGGING = logging_config(LOG_FORMAT, _env("LOG_LEVEL", "INFO"))

# --- packages ---------------------------------------------------------------------------

# Where uploaded files live: a folder (FILES_DIR) by default, or an S3 bucket when
# STORAGE_URL is s3://bucket/prefix. FILE_STORAGE (a dotted path) overrides both.
STORAGE_URL = _env("STORAGE_URL", "")
FILES_DIR = Path(_env("FILES_DIR", str(DATA_DIR / "files"))).expanduser().resolve()
S3_BUCKET = ""
S3_PREFIX = ""
if STORAGE_URL:
    _storage = urlparse(STORAGE_URL)
    if _storage.scheme != "s3" or not _storage.netloc:
        raise ValueError("STRONGROOM_STORAGE_URL must look like s3://bucket/prefix")
    S3_BUCKET = _storage.netloc
    S3_PREFIX = _storage.path.strip("/")
_default_storage = (
    "strongroom.storage.s3.S3Storage"
    if STORAGE_URL
    else "strongroom.storage.filesystem.FilesystemStorage"
)
FILE_STORAGE_BACKEND = _env("FILE_STORAGE", _default_storage)
# Any S3-compatible service (SeaweedFS, MinIO, Ceph, R2...); empty means AWS itself.
S3_ENDPOINT_URL = _env("S3_ENDPOINT_URL", "")
# The standard AWS variables; when unset, boto3's own chain (instance roles...) applies.
S3_ACCESS_KEY_ID = os.environ.get("AWS_ACCESS_KEY_ID", "")
S3_SECRET_ACCESS_KEY = os.environ.get("AWS_SECRET_ACCESS_KEY", "")
S3_REGION = os.environ.get("AWS_DEFAULT_REGION", "") or "us-east-1"
S3_ADDRESSING_STYLE = _env("S3_ADDRESSING_STYLE", "path")
# How /packages/... is answered: "stream" through the app, "presigned" (a redirect to a
# short-lived signed S3 URL) or "cdn" (links and redirects to CDN_BASE_URL + the key).
DOWNLOADS = _env_choice("DOWNLOADS", "stream", "stream", "presigned", "cdn")
CDN_BASE_URL = _env("CDN_BASE_URL", "").rstrip("/")
if DOWNLOADS == "cdn" and not CDN_BASE_URL:
    raise ValueError("STRONGROOM_DOWNLOADS=cdn needs STRONGROOM_CDN_BASE_URL")
PRESIGNED_URL_SECONDS = _env_int("PRESIGNED_URL_SECONDS", 300)
# Upload bodies are streamed here while they are hashed; same filesystem as FILES_DIR
# in the default layout, so accepting a file is a rename.
UPLOAD_TEMP_DIR = DATA_DIR / "tmp"
UPLOAD_MAX_SIZE = _env_int("UPLOAD_MAX_SIZE", 100 * 1024 * 1024)
# All of one project's files together (PyPI's default: 10 GiB); staff raise it per project.
PROJECT_SIZE_LIMIT = _env_int("PROJECT_SIZE_LIMIT", 10 * 1024**3)
# Archive-bomb guards: total uncompressed size, and its ratio to the compressed size.
ARCHIVE_MAX_UNCOMPRESSED = _env_int("ARCHIVE_MAX_UNCOMPRESSED", 2 * 1024 * 1024 * 1024)
ARCHIVE_MAX_RATIO = _env_int("ARCHIVE_MAX_RATIO", 50)
ARCHIVE_MAX_MEMBERS = _env_int("ARCHIVE_MAX_MEMBERS", 100_000)
# Milliseconds of one description's rendering (packages.rendering, in a child process);
# past it the description is shown as escaped plain text.
DESCRIPTION_RENDER_MS = _env_int("DESCRIPTION_RENDER_MS", 2000)
# Seconds a CDN (or client) may keep simple/JSON pages; files are immutable.
INDEX_CACHE_SECONDS = _env_int("INDEX_CACHE_SECONDS", 60)
# Simple pages each worker keeps in memory (index.memo), in MiB; 0 turns the memo off.
INDEX_MEMO_MB = _env_int("INDEX_MEMO_MB", 64)
# authenticated: every read (APIs, project pages, files) needs a session or read token.
READ_ACCESS = _env_choice("READ_ACCESS", "public", "public", "authenticated")

# --- CDN (shared caches told of every change: index.purge) ------------------------------

# Who is told when a project changes: none, http (a PURGE/BAN request to PURGE_URL, as the
# VCL in docs/varnish.vcl takes), fastly, or the dotted path of an index.purge.PurgeBackend.
PURGE_BACKEND = _env("PURGE_BACKEND", "none")
PURGE_URL = _env("PURGE_URL")
PURGE_METHOD = _env("PURGE_METHOD", "PURGE").upper()
FASTLY_API_URL = _env("FASTLY_API_URL", "https://api.fastly.com")
FASTLY_SERVICE_ID = _env("FASTLY_SERVICE_ID")
FASTLY_API_TOKEN = _env("FASTLY_API_TOKEN")
# Attempts per purge (backing off 0.5 s, 1 s, 2 s, ...), and how long the request that made
# the change waits for the first attempt after its commit (0: never waits), so that the
# very next read through the CDN sees the change while a CDN that is down costs at most this.
PURGE_ATTEMPTS = _env_int("PURGE_ATTEMPTS", 5)
PURGE_WAIT_MS = _env_int("PURGE_WAIT_MS", 1000)
# Seconds a CDN keeps read-path pages (Surrogate-Control max-age) when it is told of
# changes; without a purge backend it keeps them INDEX_CACHE_SECONDS, like any cache.
CDN_CACHE_SECONDS = _env_int("CDN_CACHE_SECONDS", 86400)
# Seconds it may serve a page past that while fetching the new one, and while we are down.
CDN_STALE_SECONDS = _env_int("CDN_STALE_SECONDS", 300)
CDN_STALE_IF_ERROR_SECONDS = _env_int("CDN_STALE_IF_ERROR_SECONDS", 86400)

# --- API tokens ------------------------------------------------------------------------

# Secret scanners recognise tokens by this prefix; never "pypi-".
TOKEN_PREFIX = _env("TOKEN_PREFIX", "strongroom-")
# never: uploads need an API token (as on PyPI); without-2fa: passwords work for accounts
# without a second factor; always: passwords always work.
UPLOAD_PASSWORDS = _env_choice("UPLOAD_PASSWORDS", "never", "never", "without-2fa", "always")
# Public keys of secret-scanning services: a JSON file path, or the JSON itself.
DISCLOSURE_PUBLIC_KEYS = _env("DISCLOSURE_PUBLIC_KEYS", "")

# --- trusted publishing (publishing/, docs/trusted-publishing.md) ---------------------------

# The `aud` OIDC tokens must name exactly; by default this index's host name.
OIDC_AUDIENCE = _env("OIDC_AUDIENCE", "") or (urlparse(BASE_URL).hostname or "strongroom")
OIDC_LEEWAY = _env_int("OIDC_LEEWAY", 30)  # seconds of clock skew on exp/nbf/iat
OIDC_HTTP_TIMEOUT = float(_env("OIDC_HTTP_TIMEOUT", "5"))  # discovery and JWKS fetches
PUBLISHER_TOKEN_SECONDS = _env_int("PUBLISHER_TOKEN_SECONDS", 900)  # minted tokens' lifetime
if not 900 <= PUBLISHER_TOKEN_SECONDS <= 6 * 3600:
    raise ValueError("STRONGROOM_PUBLISHER_TOKEN_SECONDS must be 900 (15 min) to 21600 (6 h)")
PENDING_PUBLISHER_DAYS = _env_int("PENDING_PUBLISHER_DAYS", 30)
# Attestations (docs/attestations.md): a Sigstore trusted_root.json for a private deployment;
# empty, the public-good instance's root embedded in sigstore. The upload field's size cap.
SIGSTORE_TRUSTED_ROOT = _env("SIGSTORE_TRUSTED_ROOT", "")
ATTESTATIONS_MAX_SIZE = _env_int("ATTESTATIONS_MAX_SIZE", 256 * 1024)

# --- project governance --------------------------------------------------------------------

# How long an invitation link to join a project stays valid.
INVITATION_MAX_AGE = _env_int("INVITATION_MAX_AGE", 7 * 24 * 3600)
# Account recovery: hours before staff may approve, days before a request expires.
RECOVERY_WAIT_HOURS = _env_int("RECOVERY_WAIT_HOURS", 24)
RECOVERY_EXPIRE_DAYS = _env_int("RECOVERY_EXPIRE_DAYS", 7)
# Critical projects: the top share of projects by downloads over the window (packages.critical).
CRITICAL_SHARE = float(_env("CRITICAL_SHARE", "0.01"))
CRITICAL_WINDOW_DAYS = _env_int("CRITICAL_WINDOW_DAYS", 180)
# Downloads are counted in each worker's memory and written to the database, aggregated per
# file and day, every DOWNLOAD_FLUSH_EVERY downloads or DOWNLOAD_FLUSH_SECONDS, whichever comes
# first, and when the worker stops (index.counting).
DOWNLOAD_FLUSH_EVERY = _env_int("DOWNLOAD_FLUSH_EVERY", 1000)
DOWNLOAD_FLUSH_SECONDS = _env_int("DOWNLOAD_FLUSH_SECONDS", 60)

# --- metrics ------------------------------------------------------------------------------

# The bearer token a Prometheus scraper presents for /_/metrics (Authorization: Bearer ...).
# Unset, /_/metrics answers 404: the metrics are off (docs/deployment.md#metrics).
METRICS_TOKEN = _env("METRICS_TOKEN", "")

# The upstream index proxied for names with no local project (proxy/, docs/proxy.md): off
# unless STRONGROOM_UPSTREAM_URL is set; *_MAX_AGE, *_COOLDOWN, *_TIMEOUT, *_CACHE_SIZE.
_UPSTREAM_RAW = {
    "UPSTREAM_URL": _env("UPSTREAM_URL"), "UPSTREAM_USERNAME": _env("UPSTREAM_USERNAME"),
    "UPSTREAM_PASSWORD": _env("UPSTREAM_PASSWORD"), "UPSTREAM_TIMEOUT": _env("UPSTREAM_TIMEOUT"),
    "UPSTREAM_MAX_AGE": _env("UPSTREAM_MAX_AGE"), "UPSTREAM_COOLDOWN": _env("UPSTREAM_COOLDOWN"),
    "UPSTREAM_CACHE_SIZE": _env("UPSTREAM_CACHE_SIZE"),
}  # fmt: skip
UPSTREAM = upstream_config(lambda name, default: _UPSTREAM_RAW[name] or default)
