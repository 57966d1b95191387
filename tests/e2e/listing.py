"""Reading ``/simple/`` (all projects) after a change to what it lists.

On the embedded database the root is rendered in the committing thread, so a change
shows on the very next request. On PostgreSQL it is rendered after the commit in the
background, and a worker holding the previous root serves it while it fetches the new
one (index.root): a change shows within that time, whichever worker answers, and never
goes back. Tests wait for it here, bounded, and still require the very next request on
SQLite.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import requests

JSON = "application/vnd.pypi.simple.v1+json"


def names(document: dict[str, Any]) -> list[str]:
    return [project["name"] for project in document["projects"]]


def index_when(
    base_url: str,
    until: Callable[[dict[str, Any]], bool],
    timeout: float = 30.0,
    batch: int = 8,
    **headers: str,
) -> dict[str, Any]:
    """``/simple/`` (JSON) once ``until`` holds for ``batch`` answers at once from fresh
    connections (so from every worker); the last of them."""
    strict = not os.environ.get("STRONGROOM_DATABASE_URL")
    deadline = time.monotonic() + timeout

    def get(_: int) -> dict[str, Any]:
        response = requests.get(
            base_url + "/simple/", headers={"Accept": JSON, **headers}, timeout=30
        )
        assert response.status_code == 200, response.status_code
        return dict(response.json())

    while True:
        with ThreadPoolExecutor(max_workers=batch) as pool:
            documents = list(pool.map(get, range(batch)))
        if all(until(document) for document in documents):
            return documents[-1]
        assert not strict, f"/simple/ not yet changed on SQLite: {documents[-1]}"
        assert time.monotonic() < deadline, f"/simple/ not changed in {timeout} s"
        time.sleep(0.1)


def pages_when(base_url: str, text: str, count: int = 40, timeout: float = 30.0) -> list[str]:
    """``count`` HTML answers of ``/simple/`` at once that all hold ``text`` (see above)."""
    strict = not os.environ.get("STRONGROOM_DATABASE_URL")
    deadline = time.monotonic() + timeout

    def get(_: int) -> str:
        response = requests.get(base_url + "/simple/", headers={"Accept": "text/html"}, timeout=30)
        assert response.status_code == 200
        return response.text

    while True:
        with ThreadPoolExecutor(max_workers=8) as pool:
            pages = list(pool.map(get, range(count)))
        if all(text in page for page in pages):
            return pages
        assert not strict, f"/simple/ without {text!r} on SQLite"
        assert time.monotonic() < deadline, f"/simple/ without {text!r} after {timeout} s"
        time.sleep(0.1)
