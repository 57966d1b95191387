"""axe-core (through axe-playwright-python) for the browser tests: 0 violations or fail.

axe runs in the page, so its context has JavaScript on; the site's own scripts are blocked
there (``block_site_scripts``), so what axe checks is the page as a no-JS visitor gets it.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from tests.e2e.server import REPO

SCREENSHOTS = REPO / "build" / "screenshots"
# WCAG 2.1 A and AA, and axe's best practices on top.
AXE_OPTIONS = {
    "runOnly": {
        "type": "tag",
        "values": ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "best-practice"],
    },
    "resultTypes": ["violations"],
}


def block_site_scripts(context: Any) -> None:
    context.route("**/static/**/*.js", lambda route: route.abort())


def axe_violations(page: Any) -> list[dict[str, Any]]:
    from axe_playwright_python.sync_playwright import Axe

    result = Axe().run(page, options=AXE_OPTIONS)
    return list(result.response["violations"])


def describe(violations: list[dict[str, Any]]) -> str:
    return json.dumps(
        [
            {
                "id": v["id"],
                "help": v["help"],
                "nodes": [n["target"] for n in v["nodes"]][:5],
                "html": [n["html"][:200] for n in v["nodes"]][:3],
            }
            for v in violations
        ],
        indent=1,
    )


def page_width_overflow(page: Any) -> int:
    """How many CSS pixels the document is wider than the viewport (0: no sideways scroll)."""
    return int(
        page.evaluate("document.documentElement.scrollWidth - document.documentElement.clientWidth")
    )


def screenshot(page: Any, name: str) -> Path:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    return path


def widest_elements(page: Any) -> list[str]:
    """The elements that stick out past the viewport's right edge (to say what to fix)."""
    return list(
        page.evaluate(
            """() => {
              const edge = document.documentElement.clientWidth + 1;
              return [...document.querySelectorAll('body *')]
                .filter(e => e.getBoundingClientRect().right > edge)
                .slice(-5)
                .map(e => e.tagName + '.' + e.className + ' '
                  + Math.round(e.getBoundingClientRect().right));
            }"""
        )
    )
