"""The library imports one way (issue 14), checked from the source text (AST; fast):

- no ``import`` inside a function of ``hessian_common`` except the heavy optional dependencies
  of :data:`LAZY` (imported where used so that importing a module does not pay for them);
- no import circle between the modules of ``hessian_common`` (module-level imports, outside
  ``if TYPE_CHECKING:``), except inside :data:`EXEMPT` (the simulation, being untangled on its
  own branch).
"""

from __future__ import annotations

import ast
from functools import cache
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PACKAGE = "hessian_common"

LAZY = {
    "pandas": "data frames: the lending form and the data room import it where they build one",
    "scipy": "Brent's root finder and expit: only the bench and calibration need them",
    "sklearn": "the hold-out split and Platt's logistic fit: only task creation and calibration",
    "waitress": "the WSGI server: only `serve` needs it, never the tests of the apps",
    "importlib": "the lazy loaders themselves (`hessian_common.data` / `.insurance.__getattr__`)",
}
"""Modules (top-level names) that may be imported inside a function, and why."""

EXEMPT = ("hessian_common.simulation",)
"""Packages whose inside imports and circles are not checked here (the `sim` helper's)."""


def _modules() -> dict[str, Path]:
    out = {}
    for path in sorted((ROOT / PACKAGE).rglob("*.py")):
        parts = list(path.relative_to(ROOT).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts.pop()
        out[".".join(parts)] = path
    return out


MODULES = _modules()


def _exempt(name: str) -> bool:
    return any(name == e or name.startswith(e + ".") for e in EXEMPT)


@cache
def _tree(name: str) -> ast.Module:
    return ast.parse(MODULES[name].read_text())


def _resolve(name: str, node: ast.ImportFrom) -> str:
    if not node.level:
        return node.module or ""
    base = name.split(".")
    if MODULES[name].name != "__init__.py":
        base.pop()
    base = base[: len(base) - node.level + 1]
    return ".".join([*base, node.module] if node.module else base)


def _targets(name: str, node: ast.Import | ast.ImportFrom) -> list[str]:
    """The library modules an import statement in ``name`` runs: each module named, a
    package's ``__init__`` for ``from pkg import x`` unless ``x`` is a submodule, and the
    packages above them (Python runs ``a`` and ``a.b`` before ``a.b.c``) that do not already
    hold ``name`` (those are being run already)."""
    if isinstance(node, ast.Import):
        named = [a.name for a in node.names if a.name in MODULES]
    else:
        module = _resolve(name, node)
        named = []
        for alias in node.names:
            sub = f"{module}.{alias.name}"
            if sub in MODULES:
                named.append(sub)
            elif module in MODULES:
                named.append(module)
    out = set()
    for target in named:
        parts = target.split(".")
        for k in range(2, len(parts) + 1):
            above = ".".join(parts[:k])
            if above in MODULES and not (name == above or name.startswith(above + ".")):
                out.add(above)
    return sorted(out)


def _is_type_checking(node: ast.If) -> bool:
    test = node.test
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def _module_level_imports(tree: ast.Module) -> list[ast.Import | ast.ImportFrom]:
    out = []
    todo = list(tree.body)
    while todo:
        node = todo.pop(0)
        if isinstance(node, ast.Import | ast.ImportFrom):
            out.append(node)
        elif isinstance(node, ast.If) and not _is_type_checking(node):
            todo.extend(node.body + node.orelse)
        elif isinstance(node, ast.Try):
            todo.extend(node.body + node.orelse + node.finalbody)
            for handler in node.handlers:
                todo.extend(handler.body)
    return out


def _graph() -> dict[str, set[str]]:
    graph: dict[str, set[str]] = {}
    for name in MODULES:
        edges = set()
        for node in _module_level_imports(_tree(name)):
            edges.update(t for t in _targets(name, node) if t != name)
        graph[name] = edges
    return graph


def _cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components with more than one module (Tarjan), sorted."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on: set[str] = set()
    out: list[list[str]] = []
    counter = [0]

    def visit(v: str) -> None:
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on.add(v)
        for w in sorted(graph.get(v, ())):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                out.append(sorted(comp))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return sorted(out)


def test_no_import_inside_a_function_but_heavy_optional_ones():
    found = []
    for name, path in MODULES.items():
        if _exempt(name):
            continue
        for node in ast.walk(_tree(name)):
            if not isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                continue
            for sub in ast.walk(node):
                if isinstance(sub, ast.Import | ast.ImportFrom):
                    mods = (
                        [a.name for a in sub.names]
                        if isinstance(sub, ast.Import)
                        else [_resolve(name, sub)]
                    )
                    for mod in mods:
                        if mod.split(".")[0] not in LAZY:
                            found.append(f"{path.relative_to(ROOT)}:{sub.lineno} imports {mod}")
    assert sorted(set(found)) == []


def test_no_import_circle_in_the_library():
    graph = _graph()
    pruned = {
        a: {b for b in edges if not _exempt(b)} for a, edges in graph.items() if not _exempt(a)
    }
    assert _cycles(pruned) == []


def test_the_checker_sees_a_circle_and_an_inside_import():
    graph = {"p.a": {"p.b"}, "p.b": {"p.c"}, "p.c": {"p.a"}, "p.d": {"p.a"}}
    assert _cycles(graph) == [["p.a", "p.b", "p.c"]]
    tree = ast.parse("def f():\n    import json\n")
    inner = [n for n in ast.walk(tree.body[0]) if isinstance(n, ast.Import)]
    assert [a.name for n in inner for a in n.names] == ["json"]
