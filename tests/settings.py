"""Settings for the test run: the real settings, on a throw-away data directory.

Each pytest(-xdist) process gets its own data dir, so rate-limit stores, outboxes and
file stores never leak between workers.
"""

import os
import tempfile

# Always a fresh directory: xdist workers inherit the controller's environment, and a
# shared rate-limit store would let one worker clear another's counts mid-test.
os.environ["STRONGROOM_DATA_DIR"] = tempfile.mkdtemp(prefix="strongroom-test-")

# pytest-xdist workers share one Redis: give each its own database number so that one
# worker clearing its rate limits cannot clear another's.
_worker = os.environ.get("PYTEST_XDIST_WORKER", "gw0").removeprefix("gw")
if os.environ.get("STRONGROOM_REDIS_URL") and _worker.isdigit():
    _base = os.environ["STRONGROOM_REDIS_URL"].rsplit("/", 1)[0]
    os.environ["STRONGROOM_REDIS_URL"] = f"{_base}/{1 + int(_worker) % 15}"

# A scaled-out index refuses to start without a shared secret key; any will do here.
if os.environ.get("STRONGROOM_DATABASE_URL"):
    os.environ.setdefault("STRONGROOM_SECRET_KEY", "test-secret-key-" * 4)

from strongroom.settings import *  # noqa: E402,F403

# One S3 prefix per worker; conftest narrows it to one per test.
if S3_BUCKET:  # noqa: F405
    S3_PREFIX = f"{S3_PREFIX}/test-gw{_worker}-{os.getpid()}".strip("/")  # noqa: F405

# Argon2 is slow by design; unit tests use a fast hasher and the Argon2 rule has its own
# test that switches it back on.
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]

STATIC_ROOT.mkdir(parents=True, exist_ok=True)  # noqa: F405

# A faster ``flush`` on PostgreSQL for the transactional tests (tests/dbflush).
INSTALLED_APPS = ["tests.dbflush", *INSTALLED_APPS]  # noqa: F405

# Each process's download counter flushes on a timer (index.counting); in the test process
# it must not write into whichever test's database is open a minute later. Tests of the
# timer set their own interval (or run a real server).
DOWNLOAD_FLUSH_SECONDS = 24 * 3600
