"""The "From" column names real installers and browsers (user agents as those tools send them)."""

from __future__ import annotations

import pytest
from django.utils import translation
from pip._internal.network.session import user_agent as pip_user_agent

from strongroom.web.useragents import describe_user_agent

UV = (
    'uv/0.5.11 {"installer":{"name":"uv","version":"0.5.11"},"python":"3.12.8",'
    '"implementation":{"name":"CPython","version":"3.12.8"},"system":{"name":"Linux"}}'
)


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        (
            "twine/6.1.0 pkginfo/1.12.0 requests/2.32.3 requests-toolbelt/1.0.0 "
            "urllib3/2.3.0 CPython/3.12.8 Linux/6.1.0",
            "twine 6.1.0 / CPython 3.12",
        ),
        (UV, "uv 0.5.11 / CPython 3.12"),
        ("poetry/1.8.3", "poetry 1.8.3"),
        (
            "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) "
            "Chrome/131.0.0.0 Safari/537.36",
            "Chrome 131 on Linux",
        ),
        (
            "Mozilla/5.0 (Macintosh; Intel Mac OS X 10.15; rv:133.0) Gecko/20100101 Firefox/133.0",
            "Firefox 133 on Mac OS X",
        ),
        ("", "Unknown client"),
    ],
)
def test_known_clients_are_described(raw, expected):
    # The words are translated ("on", "Unknown client"): these are the English ones.
    with translation.override("en"):
        assert describe_user_agent(raw) == expected


def test_the_installed_pips_own_user_agent_is_described():
    import platform

    import pip

    major_minor = ".".join(platform.python_version_tuple()[:2])
    assert describe_user_agent(pip_user_agent()) == f"pip {pip.__version__} / CPython {major_minor}"
