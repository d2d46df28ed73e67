"""No import cycle in the package, imports inside functions included: a module's imports, wherever they sit,
form a DAG. (import-linter's layers contract checks the packages against each other; this checks every
module, within a package too, e.g. transcribe/model.py and model_select.py.)"""

from __future__ import annotations

import gc

import grimp
import pytest

#: Cycles known and left for their own change: none.
KNOWN: list[set[str]] = []


@pytest.fixture(autouse=True)
def no_collection_while_parsing():
    """These tests parse every source file (grimp, ast). Garbage another test in this worker left, such as
    an asyncio subprocess transport whose loop has closed, is collected first, not inside the parser:
    CPython 3.11's compile() raises "SystemError: AST constructor recursion depth mismatch" when a
    finalizer's exception lands inside it (CPython gh-106905; seen once in a clean-clone run)."""
    gc.collect()
    gc.disable()
    try:
        yield
    finally:
        gc.enable()


def import_cycles(graph: grimp.ImportGraph) -> list[set[str]]:
    """The strongly connected components of more than one module (Tarjan, iterative)."""
    edges = {m: sorted(graph.find_modules_directly_imported_by(m)) for m in graph.modules}
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    cycles: list[set[str]] = []
    for root in sorted(edges):
        if root in index:
            continue
        work = [(root, iter(edges[root]))]
        index[root] = low[root] = len(index)
        stack.append(root)
        on_stack.add(root)
        while work:
            node, children = work[-1]
            child = next(children, None)
            if child is not None:
                if child not in index:
                    index[child] = low[child] = len(index)
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(edges[child])))
                elif child in on_stack:
                    low[node] = min(low[node], index[child])
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[node])
            if low[node] == index[node]:
                component = set()
                while True:
                    m = stack.pop()
                    on_stack.discard(m)
                    component.add(m)
                    if m == node:
                        break
                if len(component) > 1:
                    cycles.append(component)
    return cycles


def test_no_import_cycles_even_through_imports_inside_functions():
    graph = grimp.build_graph("meeting_tui", cache_dir=None)
    # the graph holds imports made inside functions (model_select reads the demo audio lazily)
    assert graph.direct_import_exists(importer="meeting_tui.transcribe.model_select",
                                      imported="meeting_tui.transcribe.audio_io")
    cycles = [c for c in import_cycles(graph) if c not in KNOWN]
    assert not cycles, "import cycles: " + "; ".join(" <-> ".join(sorted(c)) for c in cycles)


def test_the_cycle_finder_finds_a_cycle_through_a_function_level_import(tmp_path, monkeypatch):
    pkg = tmp_path / "cyclepkg"
    pkg.mkdir()
    (pkg / "__init__.py").write_text("")
    (pkg / "a.py").write_text("from cyclepkg import b\n")
    (pkg / "b.py").write_text("def f():\n    from cyclepkg import a\n    return a\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    assert import_cycles(grimp.build_graph("cyclepkg", cache_dir=None)) == [{"cyclepkg.a", "cyclepkg.b"}]


def _imports(path) -> set[str]:
    import ast

    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            names.update(a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
            names.update(f"{node.module}.{a.name}" for a in node.names)
    return names


def test_tests_never_import_bench_and_bench_takes_only_tests_support():
    """What both need (rig, speech, scenes, echo scenarios) lives in tests/support/: bench imports it,
    tests never import bench."""
    from pathlib import Path

    repo = Path(__file__).resolve().parent.parent
    bad = []
    for path in sorted((repo / "tests").rglob("*.py")):
        bad += [f"{path.relative_to(repo)}: {m}" for m in _imports(path) if m == "bench" or m.startswith("bench.")]
    for path in sorted((repo / "bench").rglob("*.py")):
        bad += [f"{path.relative_to(repo)}: {m}" for m in _imports(path)
                if (m == "tests" or m.startswith("tests.")) and not m.startswith("tests.support")]
    assert not bad, bad
