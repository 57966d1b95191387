"""Settings for the test run: the real settings, on a throw-away data directory.

Each pytest(-xdist) process gets its own data dir, so rate-limit stores, outboxes and
file stores never leak between workers.
"""

import os
import tempfile

os.environ.setdefault("STRONGROOM_DATA_DIR", tempfile.mkdtemp(prefix="strongroom-test-"))

# pytest-xdist workers share one Redis: give each its own database number so that one
# worker clearing its rate limits cannot clear another's.
_worker = os.environ.get("PYTEST_XDIST_WORKER", "gw0").removeprefix("gw")
if os.environ.get("STRONGROOM_REDIS_URL") and _worker.isdigit():
    _base = os.environ["STRONGROOM_REDIS_URL"].rsplit("/", 1)[0]
    os.environ["STRONGROOM_REDIS_URL"] = f"{_base}/{1 + int(_worker) % 15}"

from strongroom.settings import *  # noqa: E402,F403

# Argon2 is slow by design; unit tests use a fast hasher and the Argon2 rule has its own
# test that switches it back on.
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]

STATIC_ROOT.mkdir(parents=True, exist_ok=True)  # noqa: F405
