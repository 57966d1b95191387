"""QR codes as SVG data URIs, rendered on the server (CSP allows ``img-src data:``)."""

from __future__ import annotations

import base64
import io

import segno


def svg_data_uri(text: str) -> str:
    buffer = io.BytesIO()
    segno.make(text, error="m").save(buffer, kind="svg", scale=5, border=2, xmldecl=False)
    return "data:image/svg+xml;base64," + base64.b64encode(buffer.getvalue()).decode()
