"""Confusable project names: the skeleton two names share when they look alike.

Project names are ASCII by PEP 508 (packaging refuses anything else), so what can be
confused in them is ASCII: letter case, ``0``/``o``, ``1``/``l``/``I`` (and ``i``, which
upper-cases to ``I``), and the separators ``-``, ``_`` and ``.``, which PEP 503 already
folds. The skeleton also decomposes compatibility characters and drops combining marks,
so a non-ASCII name reaching here by another path (an import, a console) cannot slip past:
``holdout`` in fullwidth letters, or with an accent, folds as ``holdout`` does. This is
PyPI's own rule (Warehouse's "ultranormalised" names), extended by that Unicode step.
"""

from __future__ import annotations

import re
import unicodedata

_FOLD = str.maketrans({"0": "o", "1": "l", "i": "l"})
_SEPARATORS = re.compile(r"[-_.\s]+")


def confusable_skeleton(name: str) -> str:
    """The form two look-alike names share: ``holdout-tool``, ``h0ldout_t00l``,
    ``ho1dout.too1``, ``holdout-tooI`` and ``holdouttool`` all give ``holdouttool``."""
    text = unicodedata.normalize("NFKD", unicodedata.normalize("NFKC", name))
    text = "".join(char for char in text if not unicodedata.combining(char)).casefold()
    return _SEPARATORS.sub("", text.translate(_FOLD))
