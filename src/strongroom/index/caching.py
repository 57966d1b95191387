"""Marking a response as the same for everyone, so a shared cache (CDN) may keep it.

The mark is read by ``index.middleware.PublicCacheMiddleware``; views set it. Kept apart
from the middleware so views need not import the module that imports them.
"""

from __future__ import annotations

from django.http import HttpResponse

PUBLIC_VARY = "public_vary"


def mark_public(response: HttpResponse, vary: str = "") -> HttpResponse:
    """Declare that ``response`` depends only on the URL and the ``vary`` headers."""
    setattr(response, PUBLIC_VARY, vary)
    return response
