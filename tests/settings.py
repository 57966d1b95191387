"""Settings for the test run: the real settings, on a throw-away data directory.

Each pytest(-xdist) process gets its own data dir, so rate-limit stores, outboxes and
file stores never leak between workers.
"""

import os
import tempfile

# Always a new directory: xdist workers inherit the controller's environment, so a
# setdefault here would make every worker share (and wipe) one rate-limit store.
os.environ["STRONGROOM_DATA_DIR"] = tempfile.mkdtemp(prefix="strongroom-test-")

from strongroom.settings import *  # noqa: F403

# Argon2 is slow by design; unit tests use a fast hasher and the Argon2 rule has its own
# test that switches it back on.
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]

STATIC_ROOT.mkdir(parents=True, exist_ok=True)  # noqa: F405
