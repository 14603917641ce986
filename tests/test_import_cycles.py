"""No import cycles between the modules of `scouting/` (no database).

The imports are read from the source (ast), every one of them: at the top of a module and inside functions,
where a lazy import would otherwise hide a cycle that only bites at run time.  `from . import x` is an edge to the
submodule x when there is one, else to the package (whose __init__ then runs).
"""
from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PACKAGE = "scouting"


def module_files() -> dict[str, Path]:
    files = {}
    for path in sorted((ROOT / PACKAGE).rglob("*.py")):
        parts = list(path.relative_to(ROOT).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts.pop()
        files[".".join(parts)] = path
    return files


def _resolve(module: str, is_package: bool, node: ast.ImportFrom) -> str:
    """The absolute name `from <node.module>` means inside `module`."""
    if not node.level:
        return node.module or ""
    base = module.split(".") if is_package else module.split(".")[:-1]
    base = base[:len(base) - (node.level - 1)]
    return ".".join([*base, node.module] if node.module else base)


def import_graph(files: dict[str, Path]) -> dict[str, set[str]]:
    graph: dict[str, set[str]] = {name: set() for name in files}
    for name, path in files.items():
        is_package = path.name == "__init__.py"
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), str(path))):
            targets: list[str] = []
            if isinstance(node, ast.Import):
                targets = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom):
                source = _resolve(name, is_package, node)
                targets = [f"{source}.{alias.name}" if f"{source}.{alias.name}" in files else source
                           for alias in node.names]
            for target in targets:
                while target and target not in files and "." in target:  # `import scouting.x.y` names a module
                    target = target.rsplit(".", 1)[0]
                if target in files and target != name:
                    graph[name].add(target)
    return graph


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected components with more than one module (Tarjan), each sorted."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for nxt in sorted(graph[node]):
            if nxt not in index:
                visit(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in on_stack:
                low[node] = min(low[node], index[nxt])
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
            visit(node)
    return found


def test_scouting_has_no_import_cycles():
    graph = import_graph(module_files())
    assert cycles(graph) == [], "modules of scouting/ that import each other (directly or round a loop)"


def test_the_walk_sees_imports_inside_functions(tmp_path):
    """The checker itself: a lazy import inside a function closes a cycle and is found."""
    package = tmp_path / "pkg"
    package.mkdir()
    (package / "__init__.py").write_text("")
    (package / "a.py").write_text("from . import b\n")
    (package / "b.py").write_text("def later():\n    from .a import thing\n    return thing\n")
    (package / "c.py").write_text("from .b import later\n")
    files = {"pkg": package / "__init__.py", "pkg.a": package / "a.py", "pkg.b": package / "b.py",
             "pkg.c": package / "c.py"}
    graph = import_graph(files)
    assert graph["pkg.b"] == {"pkg.a"}, "the import inside the function is an edge"
    assert cycles(graph) == [["pkg.a", "pkg.b"]], "a <-> b is the one cycle; c only imports b"


@pytest.mark.parametrize("source, expected", [
    ("from .. import sites", "scouting.sites"),
    ("from ..errors import NotFound", "scouting.errors"),
    ("from . import api", "scouting.web.api"),
    ("import scouting.search", "scouting.search"),
])
def test_import_names_resolve_to_modules(source, expected):
    files = module_files()
    node = ast.parse(source).body[0]
    module = "scouting.web.planner"
    if isinstance(node, ast.ImportFrom):
        base = _resolve(module, False, node)
        name = f"{base}.{node.names[0].name}"
        resolved = name if name in files else base
    else:
        resolved = node.names[0].name
    assert resolved == expected, f"{source!r} inside {module} means {expected}"
