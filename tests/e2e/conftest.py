"""End-to-end fixtures: a real ``strongroom serve`` and a real Chromium."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.e2e.browser import page  # noqa: F401  (fixture)
from tests.e2e.server import LiveServer, running_server


@pytest.fixture
def strongroom_server(tmp_path: Path) -> Iterator[LiveServer]:
    """``strongroom serve --workers 2`` on a free port with a fresh data dir."""
    with running_server(tmp_path / "data") as server:
        yield server


@pytest.fixture(params=["gunicorn", "granian"])
def each_server(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[LiveServer]:
    """``strongroom serve --workers 2`` on each HTTP server it offers (``--server``)."""
    with running_server(tmp_path / "data", app_server=request.param) as server:
        yield server


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    """One server shared by a module's tests (publishing and installing build on it)."""
    with running_server(tmp_path_factory.mktemp("strongroom-e2e") / "data") as running:
        yield running
