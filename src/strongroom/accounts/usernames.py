"""Username rules: NFKC-normalised, a small ASCII alphabet, unique case-insensitively.

Restricting the alphabet after NFKC folding is what defeats confusables: full-width
Latin letters fold to ASCII, while Cyrillic look-alikes or a zero-width joiner are
refused instead of becoming a copy of someone else's name.
"""

from __future__ import annotations

import re
import unicodedata

from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _

MAX_LENGTH = 50
_ALLOWED = re.compile(r"^[A-Za-z0-9](?:[A-Za-z0-9._-]*[A-Za-z0-9])?$")
# Control, format (zero-width, bidi), separators other than space, private use, unassigned.
_INVISIBLE_CATEGORIES = {"Cc", "Cf", "Co", "Cs", "Cn", "Zl", "Zp", "Zs"}


def normalize_username(raw: str) -> str:
    return unicodedata.normalize("NFKC", raw).strip()


def validate_username(raw: str) -> str:
    """Return the normalised username or raise ValidationError with a clear sentence."""
    if any(unicodedata.category(ch) in _INVISIBLE_CATEGORIES for ch in raw.strip()):
        raise ValidationError(
            _("Usernames cannot contain spaces, control characters or invisible characters."),
            code="invisible",
        )
    name = normalize_username(raw)
    if not name:
        raise ValidationError(_("Choose a username."), code="required")
    if len(name) > MAX_LENGTH:
        raise ValidationError(
            _("Usernames can be at most %(max)d characters long.") % {"max": MAX_LENGTH},
            code="max_length",
        )
    if not _ALLOWED.match(name):
        raise ValidationError(
            _(
                "Usernames may use only the letters A to Z, digits, and '.', '_' or '-', "
                "and must start and end with a letter or digit."
            ),
            code="invalid",
        )
    return name


def username_validator(value: str) -> None:
    """Model-field validator: the same rules for every path, the admin included."""
    if validate_username(value) != value:
        raise ValidationError(
            _("Usernames must be stored in their normalised (NFKC) form."), code="not_normalized"
        )
