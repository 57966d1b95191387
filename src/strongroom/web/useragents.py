"""Turn a User-Agent header into words a person recognises."""

from __future__ import annotations

import json
import re
from functools import lru_cache

from django.utils.translation import get_language
from django.utils.translation import gettext as _
from user_agents import parse

# pip, uv and twine put their name and version first; pip also appends a JSON blob.
_INSTALLER = re.compile(r"^(pip|uv|twine|poetry|flit|hatch|pdm|requests|python-requests)/(\S+)")


def describe_user_agent(raw: str) -> str:
    """``"Firefox 128 on Linux"``, ``"twine 6.1 / CPython 3.12"`` or ``"Unknown client"``,
    in the active language."""
    return _describe(raw, get_language())


# Keyed on the language too: the words ("on", "Unknown client") are translated, so a
# description cached for one reader must not reach a reader of another language.
@lru_cache(maxsize=1024)
def _describe(raw: str, language: str | None) -> str:
    raw = (raw or "").strip()
    if not raw:
        return _("Unknown client")
    installer = _INSTALLER.match(raw)
    if installer:
        name, version = installer.groups()
        python = re.search(r"(CPython|PyPy)/(\d+\.\d+)", raw)
        if python is None and "{" in raw:
            try:
                blob = json.loads(raw[raw.index("{") :])
                impl = blob.get("implementation", {})
                if impl.get("name") and impl.get("version"):
                    python_desc = f"{impl['name']} {'.'.join(impl['version'].split('.')[:2])}"
                    return f"{name} {version} / {python_desc}"
            except (ValueError, AttributeError):
                pass
        if python:
            return f"{name} {version} / {python.group(1)} {python.group(2)}"
        return f"{name} {version}"
    agent = parse(raw)
    browser = agent.browser.family
    if browser == "Other":
        return raw[:80]
    major = agent.browser.version_string.split(".")[0]
    os_name = agent.os.family
    if os_name and os_name != "Other":
        return _("%(browser)s %(version)s on %(os)s") % {
            "browser": browser,
            "version": major,
            "os": os_name,
        }
    return f"{browser} {major}".strip()
