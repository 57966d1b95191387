"""The shape of the code: no import cycles among strongroom's modules, no oversized module.

Cycles are found from the source with ``ast``, so a cycle hidden behind an import inside
a function counts as much as one at the top of a module: both mean two modules each need
the other, which is one concept split in the wrong place.
"""

from __future__ import annotations

import ast
from pathlib import Path

import strongroom

ROOT = Path(strongroom.__file__).parent
# A module beyond this many lines is asking to be split by concept (STYLE.md says ~400).
MAX_LINES = 500
# Modules allowed past MAX_LINES for now, each at its length when it was allowed.
CEILINGS: dict[str, int] = {"strongroom.settings": 525}  # publishing settings (issues 15, 16)


def _module_name(path: Path) -> str:
    parts = ("strongroom", *path.relative_to(ROOT).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _modules() -> dict[str, Path]:
    return {
        _module_name(path): path for path in ROOT.rglob("*.py") if "migrations" not in path.parts
    }


def _is_type_checking(node: ast.If) -> bool:
    test = node.test
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def _runtime_imports(tree: ast.AST) -> list[ast.Import | ast.ImportFrom]:
    """Every import that runs, at any depth; ``if TYPE_CHECKING:`` blocks never run."""
    found: list[ast.Import | ast.ImportFrom] = []

    def visit(node: ast.AST) -> None:
        if isinstance(node, ast.If) and _is_type_checking(node):
            for child in node.orelse:
                visit(child)
            return
        if isinstance(node, ast.Import | ast.ImportFrom):
            found.append(node)
        for child in ast.iter_child_nodes(node):
            visit(child)

    visit(tree)
    return found


def _package_of(name: str, path: Path) -> str:
    return name if path.name == "__init__.py" else name.rpartition(".")[0]


def import_graph(modules: dict[str, Path]) -> dict[str, set[str]]:
    """strongroom module -> the strongroom modules it imports when it runs."""
    graph: dict[str, set[str]] = {}
    for name, path in modules.items():
        targets: set[str] = set()
        for node in _runtime_imports(ast.parse(path.read_text(), str(path))):
            if isinstance(node, ast.Import):
                targets.update(alias.name for alias in node.names)
                continue
            base = node.module or ""
            if node.level:
                package = _package_of(name, path).split(".")
                base = ".".join(package[: len(package) - node.level + 1] + ([base] if base else []))
            for alias in node.names:
                submodule = f"{base}.{alias.name}"
                targets.add(submodule if submodule in modules else base)
        graph[name] = {t for t in targets if t in modules and t != name}
    return graph


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected components with more than one module (Tarjan's algorithm)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def connect(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for target in sorted(graph[node]):
            if target not in index:
                connect(target)
                low[node] = min(low[node], low[target])
            elif target in on_stack:
                low[node] = min(low[node], index[target])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.append(member)
                if member == node:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for node in sorted(graph):
        if node not in index:
            connect(node)
    return found


def test_the_cycle_finder_sees_a_cycle_hidden_in_a_function(tmp_path: Path) -> None:
    (tmp_path / "a.py").write_text("from strongroom import b\n")
    (tmp_path / "b.py").write_text("def f():\n    from strongroom import a\n")
    (tmp_path / "c.py").write_text(
        "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from strongroom import a\n"
    )
    modules = {f"strongroom.{n}": tmp_path / f"{n}.py" for n in "abc"}
    assert cycles(import_graph(modules)) == [["strongroom.a", "strongroom.b"]]


def test_no_import_cycle_among_strongroom_modules() -> None:
    assert cycles(import_graph(_modules())) == []


def test_no_module_is_oversized() -> None:
    sizes = {name: len(path.read_text().splitlines()) for name, path in _modules().items()}
    oversized = {n: s for n, s in sizes.items() if s > CEILINGS.get(n, MAX_LINES)}
    assert oversized == {}
