"""PEP 691 content negotiation for the simple API."""

from __future__ import annotations

JSON = "application/vnd.pypi.simple.v1+json"
HTML_V1 = "application/vnd.pypi.simple.v1+html"
HTML = "text/html"
# On equal quality the server prefers, in order:
PREFERENCE = (JSON, HTML_V1, HTML)
_ALIASES = {
    "application/vnd.pypi.simple.latest+json": JSON,
    "application/vnd.pypi.simple.latest+html": HTML_V1,
    "json": JSON,
    "html": HTML,
}


def weighted(header: str) -> list[tuple[str, float]]:
    """The items of a weighted header list (``Accept``, ``Accept-Encoding``), lower-cased,
    each with its ``q`` (1 when absent, 0 when unreadable, clamped to 0..1), in order."""
    items: list[tuple[str, float]] = []
    for item in header.split(","):
        value, *params = (part.strip() for part in item.split(";"))
        if not value:
            continue
        quality = 1.0
        for param in params:
            key, _sep, number = param.partition("=")
            if key.strip().lower() == "q":
                try:
                    quality = float(number)
                except ValueError:
                    quality = 0.0
                quality = min(max(quality, 0.0), 1.0)
                if quality != quality:  # NaN
                    quality = 0.0
        items.append((value.lower(), quality))
    return items


def _parse(accept: str) -> list[tuple[str, float]]:
    return [(_ALIASES.get(media, media), quality) for media, quality in weighted(accept)]


def _quality(offer: str, ranges: list[tuple[str, float]]) -> float:
    """The quality of the most specific range that matches ``offer``."""
    best: tuple[int, float] = (-1, 0.0)
    major = offer.split("/")[0]
    for media, quality in ranges:
        if media == offer:
            specificity = 2
        elif media == f"{major}/*":
            specificity = 1
        elif media == "*/*":
            specificity = 0
        else:
            continue
        if specificity > best[0]:
            best = (specificity, quality)
    return best[1]


def choose(accept: str | None, override: str | None = None) -> str | None:
    """The media type to answer with, or None when nothing acceptable is offered (406).

    ``override`` is the ``?format=`` query value and wins over the Accept header.
    """
    if override:
        # An unescaped "+" in a query string arrives as a space.
        wanted = override.strip().lower().replace(" ", "+")
        chosen = _ALIASES.get(wanted, wanted)
        return chosen if chosen in PREFERENCE else None
    if not accept or not accept.strip():
        return HTML
    ranges = _parse(accept)
    scored = [(_quality(offer, ranges), -rank, offer) for rank, offer in enumerate(PREFERENCE)]
    quality, _rank, offer = max(scored)
    # A bare */* (browsers, curl) gets the plain HTML page rather than JSON.
    if quality > 0 and all(media == "*/*" for media, _q in ranges):
        return HTML
    return offer if quality > 0 else None
