"""The import graph of the package: no import circle, and layers that import only downward.

Graph: one node per module of chargen_theory (a package is its ``__init__``); one edge per ``import`` statement
anywhere in a module, at its top or inside a function (a lazy import is still a dependency), resolved to a module
name: relative imports against the importing module's package, ``from X import a`` to the module ``X.a`` where there
is one, else to ``X``. Imports of other distributions are left out.

(a) No cycle. Rule: an edge from a package's ``__init__`` to a module inside that package does not count (the
package assembling itself: ``experiments/__init__`` registering its built-in kinds, ``velocity/__init__`` and
``generators/__init__`` importing estimator modules on first use); every other edge counts, including a submodule's
import of its own package (``from . import Kind``).

(b) Layers, lowest first: maths (every module outside the layer folders, e.g. paths, targets/, velocity/,
generators/, metrics/, solvers, error_ledger, expressions) < study/ < verdicts/ < reporting/ < cli (cli, __main__).
A module imports only from its own layer or below.
"""
import ast
from pathlib import Path

import chargen_theory

ROOT = Path(chargen_theory.__file__).resolve().parent
LAYERS = ("maths", "study", "verdicts", "reporting", "cli")


def _modules() -> dict[str, tuple[Path, bool]]:
    """{module name: (file, is a package)} for every .py file of the package."""
    found = {}
    for file in ROOT.rglob("*.py"):
        parts = file.relative_to(ROOT.parent).with_suffix("").parts
        package = parts[-1] == "__init__"
        found[".".join(parts[:-1] if package else parts)] = (file, package)
    return found


def _targets(name: str, package: bool, node, modules) -> list[str]:
    if isinstance(node, ast.Import):
        return [alias.name for alias in node.names]
    base = name if package else name.rpartition(".")[0]
    for _ in range(node.level - 1):
        base = base.rpartition(".")[0]
    source = (f"{base}.{node.module}" if node.module else base) if node.level else node.module
    return [f"{source}.{alias.name}" if f"{source}.{alias.name}" in modules else source for alias in node.names]


def import_graph() -> dict[str, set[str]]:
    """{module: the package modules it imports}, every import statement of the module counted."""
    modules, graph = _modules(), {}
    for name, (file, package) in modules.items():
        graph[name] = set()
        for node in ast.walk(ast.parse(file.read_text(encoding="utf-8"))):
            if isinstance(node, (ast.Import, ast.ImportFrom)):
                graph[name] |= {t for t in _targets(name, package, node, modules) if t in modules and t != name}
    return graph


def layer(module: str) -> int:
    part = module.split(".")[1] if "." in module else ""
    if part in ("cli", "__main__"):
        return LAYERS.index("cli")
    return LAYERS.index(part) if part in LAYERS else LAYERS.index("maths")


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected components of more than one module (Tarjan), without the package-to-own-submodule
    edges (see the module docstring)."""
    packages = {name for name, (_, package) in _modules().items() if package}
    edges = {a: sorted(b for b in bs if not (a in packages and b.startswith(a + "."))) for a, bs in graph.items()}
    index, low, stack, on_stack, found = {}, {}, [], set(), []

    def visit(v):
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in edges.get(v, ()):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while not component or component[-1] != v:
                component.append(stack.pop())
                on_stack.discard(component[-1])
            if len(component) > 1:
                found.append(sorted(component))

    for v in sorted(edges):
        if v not in index:
            visit(v)
    return found


def test_the_graph_sees_top_level_relative_and_lazy_imports():
    graph = import_graph()
    assert "chargen_theory.study.parameters" in graph["chargen_theory.study.config"]  # from . import parameters
    assert "chargen_theory._validate" in graph["chargen_theory.study.cells"]  # from .. import _validate
    assert "chargen_theory.generators" in graph["chargen_theory.study.sizes"]  # inside memory_terms
    assert "chargen_theory.study.experiments.build" in graph["chargen_theory.study.experiments.w2_floor"]


def test_cycle_finder_finds_a_circle_and_skips_a_package_assembling_itself():
    assert cycles({"a.x": {"a.y"}, "a.y": {"a.x"}}) == [["a.x", "a.y"]]
    package = "chargen_theory.study.experiments"
    assert cycles({package: {f"{package}.w2_floor"}, f"{package}.w2_floor": {package}}) == []


def test_no_import_circle():
    assert cycles(import_graph()) == []


def test_layers_import_only_downward():
    upward = {(a, b) for a, targets in import_graph().items() for b in targets if layer(b) > layer(a)}
    assert upward == set()
