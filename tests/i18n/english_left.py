"""What a page shows a reader, and which English strings of the catalogue are still on it."""

from __future__ import annotations

import re
from functools import cache
from html.parser import HTMLParser

from strongroom.web.catalogues import LOCALE_DIR, parse_po

_READ_ATTRIBUTES = {"title", "aria-label", "placeholder", "alt"}
_SPLIT = re.compile(r"%\([A-Za-z_]+\)[sdr]|%%|\{[A-Za-z_]+\}|<[^>]+>|\n")
_LETTERS = re.compile(r"[A-Za-z]{2,}")


class _Text(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self._hidden = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in {"script", "style", "template"}:
            self._hidden += 1
        values = dict(attrs)
        for name, value in attrs:
            shown = name in _READ_ATTRIBUTES or (
                name == "value" and tag == "input" and values.get("type") in {"submit", "button"}
            )
            if shown and value:
                self.parts.append(value)

    def handle_endtag(self, tag: str) -> None:
        if tag in {"script", "style", "template"} and self._hidden:
            self._hidden -= 1

    def handle_data(self, data: str) -> None:
        if not self._hidden and data.strip():
            self.parts.append(data)


def visible_text(html: str) -> str:
    """Text nodes and the attributes people read, one space between each."""
    parser = _Text()
    parser.feed(html)
    parser.close()
    return " ".join(" ".join(parser.parts).split())


@cache
def _english_fragments(language: str) -> tuple[tuple[str, re.Pattern[str]], ...]:
    """Literal pieces of every English msgid that the language translates differently,
    minus the pieces the language itself uses (names, loanwords such as "Token")."""
    entries = parse_po((LOCALE_DIR / language / "LC_MESSAGES" / "django.po").read_text("utf-8"))
    translations = " ".join(" ".join(e.msgstr) for e in entries if e.msgid)
    fragments: set[str] = set()
    for entry in entries:
        for source in filter(None, [entry.msgid, entry.msgid_plural]):
            if source in entry.msgstr:
                continue
            for piece in _SPLIT.split(source):
                piece = " ".join(piece.split()).strip(" ,.:;()·")
                if len(piece) >= 4 and _LETTERS.search(piece):
                    fragments.add(piece)
    patterns = []
    for piece in sorted(fragments):
        pattern = re.compile(r"(?<![A-Za-z])" + re.escape(piece) + r"(?![A-Za-z])")
        if not pattern.search(translations):
            patterns.append((piece, pattern))
    return tuple(patterns)


def english_left(html: str, language: str) -> list[str]:
    """English catalogue strings still shown on a page rendered in ``language``."""
    return english_left_in_text(visible_text(html), language)


_URL = re.compile(r"\b\w+://\S+")


def english_left_in_text(text: str, language: str) -> list[str]:
    """The same for plain text (an email body); links are not prose and are left out."""
    text = " ".join(_URL.sub(" ", text).split())
    return [piece for piece, pattern in _english_fragments(language) if pattern.search(text)]
