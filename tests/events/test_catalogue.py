"""docs/audit-events.md lists exactly the tags of EventTag.

That every tag is also emitted by some test is checked over the whole run by the collector
in tests/emitted_tags.py (it needs every test module, so it runs at the end of a full run).
"""

from __future__ import annotations

import re
from pathlib import Path

from strongroom.events.tags import EventTag

CATALOGUE = Path(__file__).resolve().parents[2] / "docs" / "audit-events.md"


def _catalogued() -> set[str]:
    rows = re.findall(r"^\| `([a-z_:]+)` \|", CATALOGUE.read_text(), flags=re.MULTILINE)
    return set(rows)


def test_every_tag_is_in_the_catalogue():
    missing = {tag.value for tag in EventTag} - _catalogued()
    assert not missing, f"add these tags to docs/audit-events.md: {sorted(missing)}"


def test_the_catalogue_lists_no_tag_that_does_not_exist():
    stale = _catalogued() - {tag.value for tag in EventTag}
    assert not stale, f"docs/audit-events.md lists tags not in EventTag: {sorted(stale)}"


def test_tags_are_source_subject_action():
    for tag in EventTag:
        assert re.fullmatch(r"[a-z_]+(:[a-z_]+){1,2}", tag.value), tag.value
