"""File storage behind a small interface, chosen by ``settings.FILE_STORAGE_BACKEND``.

Writes are transactional: ``save`` stages the file under a temporary name and moves it
into place only when the surrounding database transaction commits; ``discard_staged``
removes what a failed transaction staged. ``delete`` likewise waits for the commit.
"""

from __future__ import annotations

import os
from functools import lru_cache
from typing import TYPE_CHECKING

from django.conf import settings
from django.utils.module_loading import import_string

if TYPE_CHECKING:
    from strongroom.storage.base import Storage


@lru_cache(maxsize=1)
def get_storage() -> Storage:
    """The configured storage (one instance per process)."""
    cls = import_string(settings.FILE_STORAGE_BACKEND)
    return cls()


def reset_storage() -> None:
    """Forget the cached instance (tests that change settings call this)."""
    get_storage.cache_clear()


# A forked worker must not share its parent's connections to the store: the parent (serve's
# start-up repair, the bucket check) may have left pooled sockets, and two processes
# reading one socket take each other's replies and wait for ever. Each child starts afresh.
os.register_at_fork(after_in_child=reset_storage)
