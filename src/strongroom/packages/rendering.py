"""Render a release description to safe HTML once, at upload time."""

from __future__ import annotations

import logging

from django.utils.html import escape
from readme_renderer import markdown, rst, txt

log = logging.getLogger(__name__)


def render_description(text: str, content_type: str) -> str:
    """Sanitised HTML for the description (readme-renderer cleans its own output)."""
    if not text:
        return ""
    kind = (content_type or "").split(";")[0].strip().lower()
    try:
        if kind == "text/markdown":
            variant = "GFM"
            if "variant=commonmark" in (content_type or "").lower():
                variant = "CommonMark"
            rendered = markdown.render(text, variant=variant)
        elif kind == "text/plain":
            rendered = txt.render(text)
        else:
            rendered = rst.render(text)
    except Exception:  # a hostile description must never break an upload
        log.warning("could not render a description", exc_info=True)
        rendered = None
    if rendered is None:
        return f"<pre>{escape(text)}</pre>"
    return rendered
