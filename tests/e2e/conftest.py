"""Fixtures for end-to-end tests against a real ``strongroom serve``."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.e2e.server import Server, start_server


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """A running server on a fresh data directory, stopped after the module."""
    data_dir: Path = tmp_path_factory.mktemp("strongroom-e2e")
    running = start_server(data_dir)
    try:
        yield running
    finally:
        running.stop()
