"""The French and German catalogues are complete, current with the sources, and compiled."""

from __future__ import annotations

import gettext
import io
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from django.conf import settings

from strongroom.web.catalogues import LOCALE_DIR, catalogues, compile_mo, parse_po, untranslated
from tests.support import require

SRC = LOCALE_DIR.parent
LANGUAGES = [code for code, _ in settings.LANGUAGES if code != "en"]
# What must survive translation: named placeholders, brace fields, %% and HTML tags.
_KEPT = re.compile(r"%\([A-Za-z_]+\)[sdr]|%%|\{[A-Za-z_]+\}|</?[a-z]+\b[^>]*>")


def _po(language: str) -> Path:
    return LOCALE_DIR / language / "LC_MESSAGES" / "django.po"


def _msgids(path: Path) -> set[str]:
    return {e.msgid for e in parse_po(path.read_text("utf-8")) if e.msgid and not e.obsolete}


def test_there_is_a_catalogue_for_every_language_but_english() -> None:
    assert sorted(LANGUAGES) == ["de", "fr"]
    assert sorted(p.parent.parent.name for p in catalogues()) == ["de", "fr"]


@pytest.mark.parametrize("language", LANGUAGES)
def test_catalogue_has_no_untranslated_or_fuzzy_entry(language: str) -> None:
    left = [e.msgid for e in untranslated(_po(language))]
    assert not left, f"{len(left)} entries to translate in {language}: {left[:10]}"


@pytest.mark.parametrize("language", LANGUAGES)
def test_translations_keep_placeholders_and_markup(language: str) -> None:
    broken = []
    for entry in parse_po(_po(language).read_text("utf-8")):
        if not entry.msgid:
            continue
        sources = [entry.msgid] + ([entry.msgid_plural] if entry.msgid_plural else [])
        for index, text in enumerate(entry.msgstr):
            source = sources[min(index, len(sources) - 1)]
            if sorted(_KEPT.findall(source)) != sorted(_KEPT.findall(text)):
                broken.append(entry.msgid)
    assert not broken, broken


@pytest.mark.parametrize("language", LANGUAGES)
def test_committed_mo_matches_its_po(language: str) -> None:
    """The .mo files are committed (a fresh install needs no compiler): they must hold
    exactly what the .po says. Run scripts/messages.sh compile after editing a .po."""
    po = _po(language)
    committed = gettext.GNUTranslations(io.BytesIO(po.with_suffix(".mo").read_bytes()))
    fresh = gettext.GNUTranslations(io.BytesIO(compile_mo(parse_po(po.read_text("utf-8")))))
    assert committed._catalog == fresh._catalog  # type: ignore[attr-defined]


@pytest.mark.parametrize("language", LANGUAGES)
def test_pure_python_compiler_agrees_with_gnu_msgfmt(language: str, tmp_path: Path) -> None:
    msgfmt = shutil.which("msgfmt")
    require(msgfmt is not None, "GNU gettext is not installed (apt-get install gettext)")
    out = tmp_path / "gnu.mo"
    subprocess.run([msgfmt, "-c", "-o", str(out), str(_po(language))], check=True)
    gnu = gettext.GNUTranslations(io.BytesIO(out.read_bytes()))
    ours = gettext.GNUTranslations(io.BytesIO(_po(language).with_suffix(".mo").read_bytes()))
    # msgfmt rewrites the header (it drops POT-Creation-Date); the messages must agree.
    ours_messages = {k: v for k, v in ours._catalog.items() if k}  # type: ignore[attr-defined]
    gnu_messages = {k: v for k, v in gnu._catalog.items() if k}  # type: ignore[attr-defined]
    assert ours_messages == gnu_messages
    assert ours.ngettext("%(count)s project", "%(count)s projects", 2)


def test_parser_reads_plurals_fuzzy_flags_and_continued_lines() -> None:
    text = "\n".join(
        [
            'msgid ""',
            'msgstr ""',
            '"Language: fr\\n"',
            "",
            "#, fuzzy, python-format",
            'msgid "Hello %(name)s"',
            'msgstr "Bonjour %(name)s"',
            "",
            'msgid ""',
            '"two "',
            '"lines"',
            'msgstr ""',
            '"deux "',
            '"lignes"',
            "",
            'msgid "%(n)s file"',
            'msgid_plural "%(n)s files"',
            'msgstr[0] "%(n)s fichier"',
            'msgstr[1] ""',
            "",
            '#~ msgid "gone"',
            '#~ msgstr "parti"',
        ]
    )
    header, fuzzy, lines, plural, gone = parse_po(text)
    assert header.msgid == "" and "Language: fr" in header.msgstr[0]
    assert "fuzzy" in fuzzy.flags and not fuzzy.translated
    assert (lines.msgid, lines.msgstr) == ("two lines", ["deux lignes"])
    assert plural.msgid_plural == "%(n)s files" and not plural.translated
    assert gone.obsolete
    compiled = gettext.GNUTranslations(io.BytesIO(compile_mo([header, fuzzy, lines, plural])))
    assert compiled.gettext("two lines") == "deux lignes"
    assert compiled.gettext("Hello %(name)s") == "Hello %(name)s"  # fuzzy: left out


def test_catalogues_hold_every_msgid_of_the_sources(tmp_path: Path) -> None:
    """Re-extract from a copy of the sources: nothing new may be missing from the
    catalogues, and nothing they hold may be gone from the sources."""
    require(shutil.which("xgettext") is not None, "GNU gettext is not installed")
    copy = tmp_path / "strongroom"
    shutil.copytree(
        SRC, copy, ignore=shutil.ignore_patterns("__pycache__", "*.mo", "migrations", "static")
    )
    env = {
        "PATH": str(Path(sys.executable).parent) + ":/usr/bin:/bin",
        "PYTHONPATH": str(SRC.parent),
        "DJANGO_SETTINGS_MODULE": "strongroom.settings",
        "STRONGROOM_DATA_DIR": str(tmp_path / "data"),
    }
    subprocess.run(
        [
            sys.executable,
            "-m",
            "django",
            "makemessages",
            "-l",
            "fr",
            "--no-obsolete",
            "--extension",
            "html,txt,py",
            "--ignore",
            "tests/*",
        ],
        cwd=copy,
        env=env,
        check=True,
        capture_output=True,
    )
    extracted = _msgids(copy / "locale" / "fr" / "LC_MESSAGES" / "django.po")
    for language in LANGUAGES:
        held = _msgids(_po(language))
        missing = sorted(extracted - held)
        stale = sorted(held - extracted)
        assert not missing, f"{language} lacks {missing[:10]}: run scripts/messages.sh"
        assert not stale, f"{language} holds msgids gone from the sources: {stale[:10]}"


def test_a_built_package_carries_the_compiled_catalogues(tmp_path: Path) -> None:
    """What pip installs (setuptools' build_py, as a wheel build runs it) holds the .mo
    files, so a fresh install translates with nothing else to run."""
    root = SRC.parent.parent
    shutil.copy(root / "pyproject.toml", tmp_path)
    shutil.copy(root / "README.md", tmp_path)
    shutil.copytree(SRC.parent, tmp_path / "src", ignore=shutil.ignore_patterns("__pycache__"))
    out = tmp_path / "built"
    subprocess.run(
        [
            sys.executable,
            "-c",
            "import setuptools; setuptools.setup()",
            "-q",
            "build_py",
            "-d",
            str(out),
        ],
        cwd=tmp_path,
        check=True,
        capture_output=True,
    )
    for language in LANGUAGES:
        mo = out / "strongroom" / "locale" / language / "LC_MESSAGES" / "django.mo"
        translations = gettext.GNUTranslations(io.BytesIO(mo.read_bytes()))
        assert translations.gettext("Log in") != "Log in"
    assert (out / "strongroom" / "formats" / "de" / "formats.py").exists()
