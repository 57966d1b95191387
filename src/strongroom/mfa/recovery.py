"""Recovery codes: generation, display format and salted hashing. No HTTP, no database.

Each code carries 64 random bits; what is stored is a salted SHA-256 of it. A fast hash
is enough here because the input is random, not chosen by a person: guessing 2**64
values is out of reach whatever the hash costs.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets

CODE_COUNT = 8
CODE_BYTES = 8  # 64 bits
_SCHEME = "sha256"


def generate_codes(count: int = CODE_COUNT) -> list[str]:
    """``count`` fresh codes, formatted for display as four groups of four hex digits."""
    return [format_code(secrets.token_hex(CODE_BYTES)) for _ in range(count)]


def format_code(raw: str) -> str:
    raw = normalize_code(raw)
    return "-".join(raw[i : i + 4] for i in range(0, len(raw), 4))


def normalize_code(code: str) -> str:
    """What the user typed, without spaces, dashes or case."""
    return "".join(ch for ch in code.lower() if ch not in " -\t\r\n")


def hash_code(code: str, *, salt: str | None = None) -> str:
    salt = salt or secrets.token_hex(16)
    digest = hashlib.sha256(f"{salt}:{normalize_code(code)}".encode()).hexdigest()
    return f"{_SCHEME}${salt}${digest}"


def check_code(code: str, stored: str) -> bool:
    """True when ``code`` is the one ``stored`` was made from (constant-time compare)."""
    try:
        scheme, salt, _digest = stored.split("$", 2)
    except ValueError:
        return False
    if scheme != _SCHEME:
        return False
    return hmac.compare_digest(hash_code(code, salt=salt), stored)
