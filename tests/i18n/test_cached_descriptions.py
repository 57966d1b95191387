"""Cached text that holds translated words is cached per language."""

from __future__ import annotations

from django.utils import translation

from strongroom.web.useragents import describe_user_agent

FIREFOX = "Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0"


def test_user_agent_description_follows_the_active_language() -> None:
    # English first, as when an English page was served before: the cache must not
    # hand that English text to the French and German readers that follow.
    with translation.override("en"):
        assert describe_user_agent("") == "Unknown client"
        assert describe_user_agent(FIREFOX) == "Firefox 128 on Linux"
    with translation.override("fr"):
        assert describe_user_agent("") == "Client inconnu"
        assert describe_user_agent(FIREFOX) == "Firefox 128 sur Linux"
    with translation.override("de"):
        assert describe_user_agent("") != "Unknown client"
        assert describe_user_agent(FIREFOX) == "Firefox 128 auf Linux"
