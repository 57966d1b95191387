"""STRONGROOM_UPSTREAM_* parsing: off by default, durations, sizes, clear errors."""

from __future__ import annotations

import pytest

from strongroom.proxy.config import UpstreamConfig, upstream_config


def parse(**values: str) -> UpstreamConfig:
    return upstream_config(lambda name, default: values.get(name, default))


def test_off_by_default_with_documented_defaults() -> None:
    config = parse()
    assert not config.enabled
    assert (config.max_age, config.cooldown, config.cache_bytes) == (600, 0, 0)


def test_values_are_parsed() -> None:
    config = parse(UPSTREAM_URL="https://pypi.org/simple", UPSTREAM_COOLDOWN="3d",
                   UPSTREAM_MAX_AGE="10m", UPSTREAM_CACHE_SIZE="20G",
                   UPSTREAM_TIMEOUT="2.5", UPSTREAM_USERNAME="u")  # fmt: skip
    assert config.url == "https://pypi.org/simple/"
    assert (config.cooldown, config.max_age) == (3 * 86400, 600)
    assert config.cache_bytes == 20 * 1024**3
    assert config.timeout == 2.5 and config.username == "u"


@pytest.mark.parametrize(
    ("name", "value", "message"),
    [
        ("UPSTREAM_URL", "ftp://example.org/", "http"),
        ("UPSTREAM_URL", "pypi.org/simple", "http"),
        ("UPSTREAM_COOLDOWN", "three days", "UPSTREAM_COOLDOWN"),
        ("UPSTREAM_MAX_AGE", "-5", "UPSTREAM_MAX_AGE"),
        ("UPSTREAM_CACHE_SIZE", "lots", "UPSTREAM_CACHE_SIZE"),
        ("UPSTREAM_TIMEOUT", "0", "UPSTREAM_TIMEOUT"),
        ("UPSTREAM_TIMEOUT", "soon", "UPSTREAM_TIMEOUT"),
    ],
)
def test_bad_values_are_refused_with_the_setting_named(name: str, value: str, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        parse(**{name: value})
