"""House rules checked on the source itself: one-way layers, the Sherpa-side dumper's imports, no pickle."""

from __future__ import annotations

import ast
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
#: package -> fame packages it must never import (SPEC §2)
FORBIDDEN = {
    "lhe_tools": {"fame_surrogate", "sherpa_plugin"},
    "fame_surrogate": {"sherpa_plugin"},
}


def _imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(), filename=str(path))
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names.add(node.module.split(".")[0])
    return names


@pytest.mark.parametrize("package", sorted(FORBIDDEN))
def test_lower_layers_never_import_higher_ones(package: str) -> None:
    offenders = {
        str(p.relative_to(REPO)): sorted(_imports(p) & FORBIDDEN[package])
        for p in (REPO / package).rglob("*.py")
    }
    assert {k: v for k, v in offenders.items() if v} == {}


def test_sherpa_side_imports_only_numpy_sherpa_and_stdlib() -> None:
    allowed = {"numpy", "Sherpa", "__future__"} | set(sys.stdlib_module_names)
    files = list((REPO / "sherpa_plugin" / "sherpa_side").rglob("*.py"))
    assert files, "the Sherpa-side dumper is missing"
    bad = {str(p.relative_to(REPO)): sorted(_imports(p) - allowed) for p in files}
    assert {k: v for k, v in bad.items() if v} == {}


def test_no_pickle_anywhere_in_the_packages() -> None:
    hits = [
        str(p.relative_to(REPO))
        for pkg in ("lhe_tools", "fame_surrogate", "sherpa_plugin")
        for p in (REPO / pkg).rglob("*.py")
        if "pickle" in _imports(p) or "torch." + "load(" in p.read_text()
    ]
    assert hits == []
