"""No circle in the import graph of ``src/``: each module's imports (ast, no import executed), the
ones inside functions included, since a function-level import is how a circle usually hides.

An edge goes from a module to the module it names: ``from src.a.b import c`` points at ``src.a.b.c``
when that is a module of ``src/``, else at ``src.a.b``. Importing ``src.a.b`` also runs the package
``src.a``'s ``__init__``, but those implicit edges are left out: a package's ``__init__`` that
re-exports its modules would otherwise close a circle with every one of them, and Python resolves
that pattern fine (the package is already in ``sys.modules`` while its modules load).
"""

from __future__ import annotations

import ast
from pathlib import Path

import networkx as nx  # a dependency of torch
import pytest

SRC = Path(__file__).resolve().parents[1] / "src"


def module_name(path: Path, root: Path) -> str:
    parts = list(path.relative_to(root.parent).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def import_graph(root: Path = SRC) -> nx.DiGraph:
    """Modules of the package at ``root`` and the intra-package imports between them."""
    files = {module_name(p, root): p for p in sorted(root.rglob("*.py"))}
    graph = nx.DiGraph()
    graph.add_nodes_from(files)
    for name, path in files.items():
        package = name if path.name == "__init__.py" else name.rpartition(".")[0]
        for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
            if isinstance(node, ast.Import):
                targets = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom):
                base = node.module or ""
                if node.level:  # relative: ``from . import x``, ``from ..a import b``
                    anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                    base = ".".join([*anchor, *([base] if base else [])])
                targets = [f"{base}.{a.name}" if f"{base}.{a.name}" in files else base for a in node.names]
            else:
                continue
            graph.add_edges_from((name, t) for t in targets if t in files and t != name)
    return graph


def cycles_of(graph: nx.DiGraph) -> list[list[str]]:
    return sorted(sorted(c) for c in nx.simple_cycles(graph))


def test_the_import_graph_of_src_has_no_circle():
    graph = import_graph()
    assert graph.number_of_edges() > 50  # the walk found the imports
    assert ("src.report.writer", "src.report.sections") in graph.edges
    assert not cycles_of(graph), "import circles in src/: " + "; ".join(" <-> ".join(c) for c in cycles_of(graph))


@pytest.mark.parametrize(
    ("a", "b"),
    [
        ("from pkg.b import f\n", "def g():\n    from pkg.a import h\n"),  # a function-level import counts
        ("import pkg.b\n", "from . import a\n"),  # plain and relative imports count
        ("from pkg import b\n", "from .a import x\n"),  # a submodule named in ``from pkg import``
    ],
)
def test_a_circle_is_found_however_it_is_written(tmp_path, a, b):
    package = tmp_path / "pkg"
    package.mkdir()
    (package / "__init__.py").write_text("")
    (package / "a.py").write_text(a)
    (package / "b.py").write_text(b)
    assert cycles_of(import_graph(package)) == [["pkg.a", "pkg.b"]]
    (package / "b.py").write_text("import os\n")
    assert cycles_of(import_graph(package)) == []
