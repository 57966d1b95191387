"""Verifying secret-scanning reports (GitHub's format) before acting on them.

A report is a JSON list of ``{"token", "type", "url", "source"}`` objects, signed with
ECDSA P-256 / SHA-256 over the raw body. The signature (base64 DER) and the key id come
in headers; keys are configured as a JSON document in the shape GitHub publishes:
``{"public_keys": [{"key_identifier": ..., "key": "<PEM>"}]}``.
"""

from __future__ import annotations

import base64
import binascii
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.serialization import load_pem_public_key

MAX_REPORT_BYTES = 1024 * 1024
MAX_REPORTED_TOKENS = 1000


class BadReport(ValueError):
    """The report is unsigned, forged or not in the expected format."""


@dataclass(frozen=True)
class ReportedToken:
    token: str
    type: str
    url: str
    source: str


def load_public_keys(source: str) -> dict[str, ec.EllipticCurvePublicKey]:
    """Key id → public key, from a JSON file path or a JSON string."""
    if not source:
        return {}
    text = source if source.lstrip().startswith("{") else Path(source).read_text()
    document = json.loads(text)
    keys: dict[str, ec.EllipticCurvePublicKey] = {}
    for entry in document.get("public_keys", []):
        key = load_pem_public_key(entry["key"].encode())
        if isinstance(key, ec.EllipticCurvePublicKey):
            keys[str(entry["key_identifier"])] = key
    return keys


def verify_report(
    body: bytes, key_id: str, signature_b64: str, keys: dict[str, ec.EllipticCurvePublicKey]
) -> list[ReportedToken]:
    """Check the signature over ``body`` and return the reported tokens."""
    if len(body) > MAX_REPORT_BYTES:
        raise BadReport("The report is too large.")
    key = keys.get(key_id or "")
    if key is None:
        raise BadReport("Unknown signing key.")
    try:
        signature = base64.b64decode(signature_b64 or "", validate=True)
        key.verify(signature, body, ec.ECDSA(hashes.SHA256()))
    except (binascii.Error, ValueError, InvalidSignature) as exc:
        raise BadReport("The report's signature is not valid.") from exc
    try:
        items: Any = json.loads(body)
    except (ValueError, RecursionError) as exc:  # RecursionError: deeply nested arrays
        raise BadReport("The report is not JSON.") from exc
    if not isinstance(items, list) or len(items) > MAX_REPORTED_TOKENS:
        raise BadReport("The report must be a JSON list.")
    reported = []
    for item in items:
        if not isinstance(item, dict) or not isinstance(item.get("token"), str):
            raise BadReport("Each reported item needs a token.")
        reported.append(
            ReportedToken(
                token=item["token"],
                type=str(item.get("type", "")),
                url=str(item.get("url", "")),
                source=str(item.get("source", "")),
            )
        )
    return reported
