"""The package's modules import one another without cycles (issue 8: one home per job)."""

from __future__ import annotations

import ast
import graphlib
from pathlib import Path

import pytest_vmtp

PACKAGE = Path(pytest_vmtp.__file__).parent


def _modules(package: Path) -> dict[str, Path]:
    found = {}
    for path in package.rglob("*.py"):
        parts = list(path.relative_to(package.parent).with_suffix("").parts)
        found[".".join(parts[:-1] if parts[-1] == "__init__" else parts)] = path
    return found


def _imports(name: str, path: Path, modules: dict[str, Path]) -> set[str]:
    """The package's modules that name imports anywhere (also inside functions and
    TYPE_CHECKING blocks: a late import hides a cycle, it does not remove it)."""
    here = name.split(".") if path.name == "__init__.py" else name.split(".")[:-1]
    out = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            candidates = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = ".".join(here[:len(here) - node.level + 1] + [node.module or ""]).strip(".") \
                if node.level else node.module or ""
            candidates = [base] + [f"{base}.{alias.name}" for alias in node.names]
        else:
            continue
        for candidate in candidates:
            while candidate and candidate not in modules:
                candidate = candidate.rpartition(".")[0]
            if candidate and candidate != name and not name.startswith(candidate + "."):
                out.add(candidate)  # (a package's __init__ is no dependency of its submodules)
    return out


def _cycle(package: Path) -> list[str] | None:
    modules = _modules(package)
    graph = {name: _imports(name, path, modules) for name, path in modules.items()}
    try:
        graphlib.TopologicalSorter(graph).prepare()
    except graphlib.CycleError as exc:
        return list(exc.args[1])
    return None


def test_no_import_cycles() -> None:
    cycle = _cycle(PACKAGE)
    assert cycle is None, f"import cycle: {' -> '.join(cycle or [])}"


def test_a_late_relative_import_is_a_cycle(tmp_path: Path) -> None:
    """The check itself: a module importing another that imports it back inside a function."""
    package = tmp_path / "pkg"
    (package / "sub").mkdir(parents=True)
    (package / "__init__.py").write_text("")
    (package / "sub" / "__init__.py").write_text("")
    (package / "sub" / "a.py").write_text("from ..b import thing\n")
    (package / "b.py").write_text("def f():\n    from pkg.sub import a\n")
    assert sorted(set(_cycle(package) or [])) == ["pkg.b", "pkg.sub.a"]
    (package / "b.py").write_text("def f():\n    pass\n")
    assert _cycle(package) is None
