"""The floor plan, tested: no import cycles, modules of one concept and modest size.

The import graph is read from the source with :mod:`ast` (function-local
imports included), so a cycle hidden inside a function body still fails.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parents[1] / "src" / "cimcity"
#: the issue's limit for modules outside ``_kernels/`` [lines]
MAX_LINES = 800


def _modules() -> dict[str, tuple[Path, bool]]:
    mods = {}
    for p in SRC.rglob("*.py"):
        parts = list(p.relative_to(SRC.parent).with_suffix("").parts)
        is_pkg = parts[-1] == "__init__"
        if is_pkg:
            parts = parts[:-1]
        mods[".".join(parts)] = (p, is_pkg)
    return mods


def import_graph() -> dict[str, set[str]]:
    """Module -> cimcity modules it imports (anywhere in its body)."""
    mods = _modules()
    graph: dict[str, set[str]] = {m: set() for m in mods}
    for name, (path, is_pkg) in mods.items():
        base = name.split(".") if is_pkg else name.split(".")[:-1]
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ImportFrom):
                if node.level:
                    root = base[: len(base) - (node.level - 1)]
                    target = ".".join(root + ([node.module] if node.module else []))
                else:
                    target = node.module or ""
                # ``from pkg import sub`` depends on the submodule; ``from pkg import
                # name`` on the package (its __init__ defines the name)
                candidates = [
                    f"{target}.{a.name}" if f"{target}.{a.name}" in mods else target
                    for a in node.names
                ]
            elif isinstance(node, ast.Import):
                candidates = [a.name for a in node.names]
            else:
                continue
            graph[name].update(c for c in candidates if c in mods and c != name)
    return graph


def cycles(graph) -> list[list[str]]:
    """Strongly connected components with more than one module (Tarjan)."""
    index, low, on, stack, out = {}, {}, set(), [], []
    counter = [0]

    def visit(v):
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on.add(v)
        for w in graph[v]:
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
    return out


def test_cycle_finder_finds_a_planted_cycle():
    # the checker itself must be able to fail
    g = {"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}
    assert cycles(g) == [["a", "b", "c"]]
    assert cycles({"a": {"b"}, "b": set()}) == []


def test_no_import_cycles():
    found = cycles(import_graph())
    assert not found, "import cycles:\n" + "\n".join(" <-> ".join(c) for c in found)


def test_the_root_package_only_imports_errors_eagerly():
    # ``import cimcity`` stays light: the package __init__ may import errors only
    assert import_graph()["cimcity"] <= {"cimcity.errors"}


def test_kernels_import_nothing_from_the_package():
    graph = import_graph()
    for mod, deps in graph.items():
        if mod.startswith("cimcity._kernels"):
            assert all(d.startswith("cimcity._kernels") for d in deps), (mod, deps)


def test_scene_and_readers_are_layered():
    # the Scene never imports a reader; readers never import analyses
    graph = import_graph()
    analyses = ("cimcity.sun.", "cimcity.flood", "cimcity.vegetation", "cimcity.permit",
                "cimcity.solar", "cimcity.shadow", "cimcity.render", "cimcity.commands")
    for mod, deps in graph.items():
        if mod.startswith("cimcity.scene"):
            assert not any(d.startswith("cimcity.io") for d in deps), (mod, deps)
        if mod.startswith("cimcity.io"):
            # sun.position (site, sun positions, times) is a foundation, not an analysis
            bad = [d for d in deps if d.startswith(analyses) and d != "cimcity.sun.position"]
            assert not bad, (mod, bad)


@pytest.mark.parametrize(
    "path",
    sorted(p for p in SRC.rglob("*.py") if "_kernels" not in p.parts),
    ids=lambda p: str(p.relative_to(SRC)),
)
def test_module_size(path):
    n = len(path.read_text(encoding="utf-8").splitlines())
    assert n <= MAX_LINES, f"{path.relative_to(SRC)} has {n} lines (> {MAX_LINES}): split it by concept"


def test_internal_imports_sit_at_module_top():
    # function-local imports are for heavy optional libraries only
    local = []
    for path in SRC.rglob("*.py"):
        for fn in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if not isinstance(fn, ast.FunctionDef | ast.AsyncFunctionDef):
                continue
            for node in ast.walk(fn):
                internal = (
                    isinstance(node, ast.ImportFrom)
                    and (node.level > 0 or (node.module or "").startswith("cimcity"))
                ) or (
                    isinstance(node, ast.Import)
                    and any(a.name.startswith("cimcity") for a in node.names)
                )
                if internal:
                    local.append(f"{path.relative_to(SRC)}:{node.lineno}")
    assert not local, f"package-internal imports inside functions: {local}"
