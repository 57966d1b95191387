from __future__ import annotations

from collections.abc import Iterator

import pytest

from strongroom.proxy import fast
from strongroom.proxy.config import UpstreamConfig
from tests.proxy.upstream_server import Upstream, UpstreamServer


@pytest.fixture(autouse=True)
def _fresh_proxy_memo() -> Iterator[None]:
    fast.forget()
    yield
    fast.forget()


@pytest.fixture
def upstream_server() -> Iterator[UpstreamServer]:
    server = UpstreamServer()
    yield server
    server.stop()


@pytest.fixture
def upstream(upstream_server: UpstreamServer, settings) -> Upstream:  # type: ignore[no-untyped-def]
    """The proxy pointed at a local upstream (1 s timeout, default max age, no cooldown)."""
    settings.UPSTREAM = UpstreamConfig(url=upstream_server.state.url, timeout=1.0)
    return upstream_server.state
