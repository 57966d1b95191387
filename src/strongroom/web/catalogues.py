"""Message catalogues: read .po files, compile them to .mo, list what is left to translate.

Pure Python and standard library only, so the compiled catalogues never need GNU gettext
or Babel. ``scripts/messages.sh`` runs ``python -m strongroom.web.catalogues compile``
after extraction; tests check that the committed .mo files match their .po files.
"""

from __future__ import annotations

import ast
import struct
import sys
from dataclasses import dataclass, field
from pathlib import Path

LOCALE_DIR = Path(__file__).resolve().parent.parent / "locale"


@dataclass
class Entry:
    """One catalogue entry: ``msgstr`` holds one string, or one per plural form."""

    msgid: str
    msgid_plural: str | None = None
    msgctxt: str | None = None
    msgstr: list[str] = field(default_factory=list)
    flags: set[str] = field(default_factory=set)
    obsolete: bool = False

    @property
    def translated(self) -> bool:
        return bool(self.msgstr) and all(self.msgstr) and "fuzzy" not in self.flags


def _unquote(text: str) -> str:
    return str(ast.literal_eval(text))


def parse_po(text: str) -> list[Entry]:
    """The entries of a .po file, the header (msgid "") included, in file order."""
    entries: list[Entry] = []
    current: Entry | None = None
    flags: set[str] = set()
    key: str | None = None
    values: dict[str, str] = {}

    def finish() -> None:
        nonlocal current, values, key, flags
        if values:
            plural_forms = sorted(k for k in values if k.startswith("msgstr["))
            msgstr = (
                [values[k] for k in plural_forms] if plural_forms else [values.get("msgstr", "")]
            )
            entries.append(
                Entry(
                    msgid=values.get("msgid", ""),
                    msgid_plural=values.get("msgid_plural"),
                    msgctxt=values.get("msgctxt"),
                    msgstr=msgstr,
                    flags=flags,
                    obsolete=current is not None and current.obsolete,
                )
            )
        current, values, key, flags = None, {}, None, set()

    for raw in text.splitlines():
        line = raw.strip()
        obsolete = line.startswith("#~")
        if obsolete:
            line = line[2:].strip()
        if not line:
            finish()
            continue
        if line.startswith("#"):
            if key is not None and key.startswith("msgstr"):
                finish()
            if line.startswith("#,"):
                flags |= {flag.strip() for flag in line[2:].split(",")}
            continue
        if line.startswith('"'):
            if key is not None:
                values[key] += _unquote(line)
            continue
        word, _, rest = line.partition(" ")
        if word in {"msgid", "msgctxt"} and key is not None and key.startswith("msgstr"):
            saved = flags
            finish()
            flags = saved
        if current is None:
            current = Entry(msgid="", obsolete=obsolete)
        key = word
        values[key] = _unquote(rest.strip())
    finish()
    return entries


def compile_mo(entries: list[Entry]) -> bytes:
    """The GNU .mo bytes for the translated entries (fuzzy and empty ones are left out)."""
    pairs: dict[bytes, bytes] = {}
    for entry in entries:
        if entry.obsolete or (entry.msgid and not entry.translated):
            continue
        msgid = entry.msgid
        if entry.msgid_plural is not None:
            msgid += "\0" + entry.msgid_plural
        if entry.msgctxt is not None:
            msgid = entry.msgctxt + "\x04" + msgid
        pairs[msgid.encode()] = "\0".join(entry.msgstr).encode()
    keys = sorted(pairs)
    ids = strs = b""
    offsets = []
    for key in keys:
        offsets.append((len(ids), len(key), len(strs), len(pairs[key])))
        ids += key + b"\0"
        strs += pairs[key] + b"\0"
    header_size = 7 * 4
    ids_start = header_size + 16 * len(keys)
    strs_start = ids_start + len(ids)
    key_table = b"".join(struct.pack("<II", ln, ids_start + off) for off, ln, _, _ in offsets)
    str_table = b"".join(struct.pack("<II", ln, strs_start + off) for _, _, off, ln in offsets)
    header = struct.pack(
        "<7I", 0x950412DE, 0, len(keys), header_size, header_size + 8 * len(keys), 0, 0
    )
    return header + key_table + str_table + ids + strs


def catalogues(locale_dir: Path = LOCALE_DIR) -> list[Path]:
    """Every django.po under the locale directory."""
    return sorted(locale_dir.glob("*/LC_MESSAGES/django.po"))


def untranslated(path: Path) -> list[Entry]:
    """Entries of one .po file still empty or marked fuzzy (the header excepted)."""
    entries = parse_po(path.read_text(encoding="utf-8"))
    return [e for e in entries if e.msgid and not e.obsolete and not e.translated]


def main(argv: list[str]) -> int:
    """``compile``: write every .mo; ``untranslated``: list what is left, exit 1 if any."""
    command = argv[0] if argv else "untranslated"
    if command == "compile":
        for po in catalogues():
            entries = parse_po(po.read_text(encoding="utf-8"))
            po.with_suffix(".mo").write_bytes(compile_mo(entries))
            print(f"compiled {po.with_suffix('.mo')}")
        return 0
    if command == "untranslated":
        left = 0
        for po in catalogues():
            for entry in untranslated(po):
                left += 1
                state = "fuzzy" if "fuzzy" in entry.flags else "empty"
                print(f"{po.parent.parent.name}\t{state}\t{entry.msgid!r}")
        print(f"{left} untranslated entries", file=sys.stderr)
        return 1 if left else 0
    print("usage: python -m strongroom.web.catalogues compile|untranslated", file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
