"""Find user-facing strings that do not go through gettext.

Templates: text between tags and the attributes people read (title, aria-label,
placeholder, alt, and the value of buttons), once the translated blocks, template tags,
comments, scripts and styles are taken out. Python: string literals handed straight to
ValidationError, the messages framework, HttpResponse bodies, and form/model field
labels, help texts and verbose names.
"""

from __future__ import annotations

import ast
import re
from html.parser import HTMLParser
from pathlib import Path

SRC = Path(__file__).resolve().parents[2] / "src" / "strongroom"

# Words that read the same in every language: product and protocol names, hash names.
ALLOWED_WORDS = {
    "SHA256",
    "BLAKE2b-256",
    "MD5",
    "JSON",
    "pip",
    "twine",
    "TOTP",
    "OIDC",
    "UTC",
    "PyPI",
}

_WORD = re.compile(r"[A-Za-z][A-Za-z0-9'\u2019-]*[A-Za-z0-9]")
_BLOCKS = re.compile(
    r"{%\s*(blocktranslate|blocktrans|comment|verbatim)\b.*?%}.*?{%\s*end\1\s*%}", re.S
)
_COMMENT = re.compile(r"{#.*?#}", re.S)
_TAG_OR_VAR = re.compile(r"{%.*?%}|{{.*?}}", re.S)
_RAW = re.compile(r"<(script|style)\b.*?</\1\s*>", re.S | re.I)
_READ_ATTRIBUTES = {"title", "aria-label", "placeholder", "alt", "aria-description"}
_BUTTON_INPUTS = {"submit", "button", "reset"}
_CODE_TAGS = {"pre", "code", "kbd", "samp"}


def words_left(text: str) -> list[str]:
    """Words in the text that are not in the allow-list."""
    return [w for w in _WORD.findall(text) if w not in ALLOWED_WORDS]


def _strip_template(source: str) -> str:
    source = _COMMENT.sub(" ", source)
    source = _BLOCKS.sub(" ", source)
    source = _RAW.sub(" ", source)
    return _TAG_OR_VAR.sub(" ", source)


class _Collector(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.found: list[str] = []
        self._code_depth = 0

    def handle_endtag(self, tag: str) -> None:
        if tag in _CODE_TAGS and self._code_depth:
            self._code_depth -= 1

    def handle_data(self, data: str) -> None:
        # Commands and configuration shown as code read the same in every language.
        if not self._code_depth and words_left(data):
            self.found.append(data.strip())

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = dict(attrs)
        readable = set(_READ_ATTRIBUTES)
        # A <button>'s value is sent, not shown (its content is); an input button shows it.
        if tag == "input" and values.get("type") in _BUTTON_INPUTS:
            readable.add("value")
        for name, value in attrs:
            if name in readable and value and words_left(value):
                self.found.append(f'{name}="{value}"')

        if tag in _CODE_TAGS:
            self._code_depth += 1

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        depth = self._code_depth
        self.handle_starttag(tag, attrs)
        self._code_depth = depth


def untranslated_in_template(source: str, *, html: bool = True) -> list[str]:
    """Pieces of a template's text that a reader sees and gettext never translates."""
    stripped = _strip_template(source)
    if not html:
        return [line.strip() for line in stripped.splitlines() if words_left(line)]
    collector = _Collector()
    collector.feed(stripped)
    collector.close()
    return collector.found


_GETTEXT = {
    "_",
    "gettext",
    "gettext_lazy",
    "ngettext",
    "ngettext_lazy",
    "pgettext",
    "pgettext_lazy",
    "npgettext",
    "format_lazy",
}
_MESSAGE_FUNCTIONS = {"success": 1, "error": 1, "info": 1, "warning": 1, "debug": 1}
_RESPONSES = re.compile(r"^HttpResponse\w*$")
# The project's errors whose message is shown to a person (a page, a flash message, the
# reason line of an upload refusal). Operator-only errors (BackupError for the CLI,
# PurgeError for logs) and CeremonyError (mapped to translated text) are not here.
_USER_FACING_ERRORS = {
    "ValidationError",
    "AccountError",
    "ConsoleError",
    "MfaError",
    "PackageError",
    "GovernanceError",
    "OrgError",
    "UploadError",
    "PublisherTokenError",
    "TokenRefused",
    "PublishingError",
    "TokenError",
    "CaveatError",
    "PermissionDenied",
}
# Template context entries that templates print as text ({{ title }}, {{ submit_label }}).
_RENDERERS = {"render", "render_to_string", "TemplateResponse"}
_CONTEXT_TEXT = {"title", "heading", "submit_label", "message", "intro", "explanation"}
_FIELD_KEYWORDS = {"label", "help_text", "verbose_name", "verbose_name_plural", "empty_label"}


def _name(node: ast.expr) -> str:
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Attribute):
        return node.attr
    return ""


def _literal_text(node: ast.expr) -> str | None:
    """The text of a bare literal (or a literal formatted with % / .format / f"")."""
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return node.value
    if isinstance(node, ast.JoinedStr):
        return "".join(
            v.value for v in node.values if isinstance(v, ast.Constant) and isinstance(v.value, str)
        )
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Mod | ast.Add):
        return _literal_text(node.left)
    is_call = isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)
    if is_call and node.func.attr == "format":  # type: ignore[union-attr]
        return _literal_text(node.func.value)  # type: ignore[union-attr]
    return None


def untranslated_in_python(source: str) -> list[tuple[int, str]]:
    """(line, text) of literals that reach a user without gettext."""
    found: list[tuple[int, str]] = []

    def check(node: ast.expr | None) -> None:
        if node is None:
            return
        text = _literal_text(node)
        if text is not None and words_left(text):
            found.append((node.lineno, text))

    for node in ast.walk(ast.parse(source)):
        if not isinstance(node, ast.Call):
            continue
        name = _name(node.func)
        owner = node.func.value if isinstance(node.func, ast.Attribute) else None
        if name in _USER_FACING_ERRORS and node.args:
            check(node.args[0])
        elif name in _MESSAGE_FUNCTIONS and _name(owner) == "messages" if owner else False:
            index = _MESSAGE_FUNCTIONS[name]
            if len(node.args) > index:
                check(node.args[index])
        elif name == "add_message" and _name(owner) == "messages" and len(node.args) > 2:
            check(node.args[2])
        elif _RESPONSES.match(name) and node.args and not _is_machine_body(node):
            check(node.args[0])
        if name in _RENDERERS:
            for argument in [*node.args, *(k.value for k in node.keywords)]:
                if isinstance(argument, ast.Dict):
                    for key, value in zip(argument.keys, argument.values, strict=True):
                        if isinstance(key, ast.Constant) and key.value in _CONTEXT_TEXT:
                            check(value)
        for keyword in node.keywords:
            if keyword.arg in _FIELD_KEYWORDS:
                check(keyword.value)
            if keyword.arg == "content" and _RESPONSES.match(name) and not _is_machine_body(node):
                check(keyword.value)
    return found


def _is_machine_body(call: ast.Call) -> bool:
    """A response for programs rather than people: an explicit non-HTML content type."""
    for keyword in call.keywords:
        if keyword.arg == "content_type":
            value = keyword.value
            if isinstance(value, ast.Constant) and isinstance(value.value, str):
                return not value.value.startswith("text/html")
            return True
    return False


def template_files() -> list[Path]:
    return sorted(p for p in SRC.rglob("templates/**/*") if p.suffix in {".html", ".txt"})


def python_files() -> list[Path]:
    return sorted(p for p in SRC.rglob("*.py") if "migrations" not in p.parts)
