"""The architecture, checked like behaviour: the layers and "no cycles" contracts of import-linter
(``[tool.importlinter]`` in pyproject.toml), no import cycle between any two modules, and no module
reaching into another's private names or another package's private modules.

Every import statement counts, the ones inside functions too (a lazy import still couples two
modules); imports under ``if TYPE_CHECKING:`` do not.
"""

from __future__ import annotations

import ast
import re
import subprocess
import sys
from pathlib import Path

import pytest

grimp = pytest.importorskip("grimp")

ROOT = Path(__file__).resolve().parent.parent
PACKAGE = ROOT / "nbagents"


def _graph():
    return grimp.build_graph("nbagents", exclude_type_checking_imports=True, cache_dir=None)


def _cycles(graph) -> list[list[str]]:
    """The strongly connected components of more than one module (Tarjan, iterative)."""
    modules = sorted(graph.modules)
    edges = {m: sorted(graph.find_modules_directly_imported_by(m)) for m in modules}
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    on_stack: set[str] = set()
    stack: list[str] = []
    found: list[list[str]] = []
    counter = 0
    for root in modules:
        if root in index:
            continue
        work = [(root, iter(edges[root]))]
        index[root] = low[root] = counter
        counter += 1
        stack.append(root)
        on_stack.add(root)
        while work:
            node, children = work[-1]
            advanced = False
            for child in children:
                if child not in index:
                    index[child] = low[child] = counter
                    counter += 1
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(edges.get(child, ()))))
                    advanced = True
                    break
                if child in on_stack:
                    low[node] = min(low[node], index[child])
            if advanced:
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[node])
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
    return found


def test_no_import_cycle_between_modules():
    cycles = _cycles(_graph())
    assert not cycles, "Import cycles (lazy imports count):\n" + "\n".join(" <-> ".join(c) for c in cycles)


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _package_of(module: str, path: Path) -> str:
    return module if path.name == "__init__.py" else module.rpartition(".")[0]


def _absolute(importer_package: str, node: ast.ImportFrom) -> str:
    if not node.level:
        return node.module or ""
    base = importer_package.split(".")
    if node.level > 1:
        base = base[: len(base) - (node.level - 1)]
    return ".".join(base + ([node.module] if node.module else []))


def _private_uses() -> list[str]:
    """``importer: what`` for every import of a private name from another module, and of a
    private module from outside the package that holds it."""
    found = []
    for path in sorted(PACKAGE.rglob("*.py")):
        module = _module_name(path)
        package = _package_of(module, path)
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            targets: list[tuple[str, list[str]]] = []
            if isinstance(node, ast.ImportFrom):
                source = _absolute(package, node)
                targets.append((source, [a.name for a in node.names]))
            elif isinstance(node, ast.Import):
                targets += [(a.name, []) for a in node.names]
            for source, names in targets:
                if not source.startswith("nbagents"):
                    continue
                parts = source.split(".")
                for i, part in enumerate(parts):
                    holder = ".".join(parts[:i])  # the package holding the private module
                    if part.startswith("_") and not part.startswith("__") and not (
                            package == holder or package.startswith(holder + ".")):
                        found.append(f"{module}: imports the private module {source}")
                for name in names:
                    if name.startswith("_") and not name.startswith("__"):
                        found.append(f"{module}: imports the private name {name} from {source}")
    return found


def test_no_module_uses_another_modules_private_names():
    found = _private_uses()
    assert not found, "\n".join(found)


def test_import_linter_contracts_hold():
    """The layers and acyclic-siblings contracts in pyproject.toml (``lint-imports``)."""
    pytest.importorskip("importlinter")
    script = "import sys; from importlinter.cli import lint_imports_command; sys.exit(lint_imports_command())"
    done = subprocess.run([sys.executable, "-c", script, "--no-cache"], cwd=ROOT, capture_output=True,
                          text=True, timeout=300)
    assert done.returncode == 0, done.stdout[-6000:] + done.stderr[-2000:]
    kept = re.search(r"Contracts: (\d+) kept, 0 broken", done.stdout)
    assert kept and int(kept.group(1)) >= 2, done.stdout[-2000:]  # the layers and the no-cycles contracts
