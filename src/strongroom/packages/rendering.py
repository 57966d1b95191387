"""Render a release description to safe HTML once, at upload time, at a bounded cost.

readme-renderer's parsers are native code (comrak, nh3) or plain Python (docutils) that
no thread can interrupt, and some inputs cost quadratic time (250 KB of nested ``<div>``s
took 15 s). So the rendering runs in a forked child: it starts in about a millisecond
with readme-renderer already imported, and is killed when it passes
``DESCRIPTION_RENDER_MS`` of wall time (its CPU time is capped by an rlimit as well).
A description that cannot be rendered in time is shown as escaped plain text: the
upload stays fast and the HTML stays sanitised either way.
"""

from __future__ import annotations

import contextlib
import functools
import logging
import math
import os
import re
import resource
import select
import signal
import time

from django.conf import settings
from django.utils.html import escape
from readme_renderer import markdown, rst, txt

log = logging.getLogger(__name__)

# Sanitised HTML larger than this is not kept (the input is at most a few MiB).
MAX_RENDERED_BYTES = 16 * 1024 * 1024


def _render(text: str, content_type: str) -> str | None:
    """readme-renderer's sanitised HTML, or None where it cannot render ``text``."""
    kind = (content_type or "").split(";")[0].strip().lower()
    if kind == "text/markdown":
        variant = "GFM"
        if "variant=commonmark" in (content_type or "").lower():
            variant = "CommonMark"
        return markdown.render(text, variant=variant)
    if kind == "text/plain":
        return txt.render(text)
    return rst.render(text)


@functools.cache
def _warm() -> None:
    """Import what rendering imports lazily (lexers, docutils' parts) once, in the parent,
    so no child has to: a trivial input of each kind costs nothing to render."""
    for content_type in ("text/markdown", "text/x-rst", "text/plain"):
        _render("Title\n=====\n\n*x* `y`\n\n```python\nx = 1\n```\n", content_type)


def _child(write_end: int, text: str, content_type: str, seconds: float) -> None:
    """In the forked child: render, write ``b"1" + html`` (or ``b"0"``), exit at once."""
    status = 1
    try:
        cpu = max(1, math.ceil(seconds))
        resource.setrlimit(resource.RLIMIT_CPU, (cpu, cpu + 1))
        try:
            rendered = _render(text, content_type)
        except Exception:  # a hostile description must never break an upload
            rendered = None
        payload = b"0" if rendered is None else b"1" + rendered.encode()
        view = memoryview(payload)
        while view:
            view = view[os.write(write_end, view) :]
        status = 0
    finally:
        # No atexit handlers, no flushing of the parent's buffers, no database goodbyes.
        os._exit(status)


def _read_until(read_end: int, deadline: float) -> bytes | None:
    """Everything the child writes, or None if it is not done by ``deadline``."""
    chunks: list[bytes] = []
    size = 0
    while True:
        left = deadline - time.monotonic()
        if left <= 0:
            return None
        ready, _w, _x = select.select([read_end], [], [], left)
        if not ready:
            return None
        chunk = os.read(read_end, 1 << 16)
        if not chunk:
            return b"".join(chunks)
        size += len(chunk)
        if size > MAX_RENDERED_BYTES:
            return None
        chunks.append(chunk)


def render_bounded(text: str, content_type: str, seconds: float) -> str | None:
    """readme-renderer's HTML for ``text`` if it is done within ``seconds``, else None."""
    _warm()
    output: bytes | None = None
    read_end, write_end = os.pipe()
    pid = os.fork()
    if pid == 0:  # pragma: no cover - the child leaves through os._exit
        os.close(read_end)
        _child(write_end, text, content_type, seconds)
    os.close(write_end)
    try:
        output = _read_until(read_end, time.monotonic() + seconds)
    finally:
        os.close(read_end)
        if output is None:  # still running, or writing too much: stop it
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        _pid, status = os.waitpid(pid, 0)
    if output is not None and not (os.WIFEXITED(status) and os.WEXITSTATUS(status) == 0):
        output = b"0"  # killed by its CPU limit (or a crash) part way: nothing of it is kept
    if output is None:
        log.warning("a description took longer than %.1f s to render: shown as text", seconds)
        return None
    if not output.startswith(b"1"):
        log.warning("could not render a description: shown as text")
        return None
    return output[1:].decode()


# readme-renderer's heading anchors: links with no text, which screen readers announce
# as bare "link" (axe: link-name). The heading keeps its id, so "#section" links still work.
_EMPTY_ANCHOR = re.compile(r'<a(?: title="[^"<>]*")? href="#[^"<>]*" rel="nofollow"></a>')
# Code fences come out as <pre lang="python">: "python" is no language tag (axe: valid-lang).
_PRE_LANG = re.compile(r'<pre lang="([^"<>]*)">')


def tidy_description_html(html: str) -> str:
    """Drop the empty heading anchors and turn a code block's ``lang`` into a class."""
    html = _EMPTY_ANCHOR.sub("", html)
    return _PRE_LANG.sub(lambda m: f'<pre class="highlight language-{escape(m.group(1))}">', html)


def render_description(text: str, content_type: str) -> str:
    """Sanitised HTML for the description (readme-renderer cleans its own output)."""
    if not text:
        return ""
    rendered = render_bounded(text, content_type, settings.DESCRIPTION_RENDER_MS / 1000)
    if rendered is None:
        return f"<pre>{escape(text)}</pre>"
    return tidy_description_html(rendered)
