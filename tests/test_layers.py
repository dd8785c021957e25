"""The layers run one way: store <- theory <- sim <- validation <- figures <- prunescale.

Every import in every module (at the top or inside a function) is read from
the source, so a lazy import cannot hide an upward dependency.  The layers sit
side by side in the repository and install under one root, ``prunescale.theory``
and so on; the bare top-level names are never imported."""

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
LAYERS = ["store", "theory", "sim", "validation", "figures", "prunescale"]
LIBRARIES = ["store", "theory", "sim", "validation"]


def imported_modules(package):
    """``(file, module)`` for every absolute import in the package; ``from prunescale import theory`` gives
    ``prunescale.theory``."""
    for path in sorted((ROOT / package).rglob("*.py")):
        tree = ast.parse(path.read_text(), str(path))
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                for alias in node.names:
                    yield path, alias.name
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                names = [a.name for a in node.names] if node.module == "prunescale" else [None]
                for name in names:
                    yield path, node.module if name is None else f"{node.module}.{name}"


def layer(module):
    """The layer a module belongs to: ``prunescale.sim.grid`` is in ``sim``, ``prunescale.cli`` in ``prunescale``;
    None for everything outside the toolkit."""
    parts = module.split(".")
    if parts[0] != "prunescale":
        return parts[0] if parts[0] in LAYERS else None
    return parts[1] if len(parts) > 1 and parts[1] in LAYERS[:-1] else "prunescale"


@pytest.mark.parametrize("package", LAYERS)
def test_no_package_imports_a_layer_above_it(package):
    above = LAYERS[LAYERS.index(package) + 1 :]
    upward = [
        f"{path.relative_to(ROOT)} imports {module}"
        for path, module in imported_modules(package)
        if layer(module) in above
    ]
    assert not upward


@pytest.mark.parametrize("package", LIBRARIES)
def test_no_library_imports_typer(package):
    assert not [str(p.relative_to(ROOT)) for p, m in imported_modules(package) if m.split(".")[0] == "typer"]


def test_the_bottom_layer_imports_none_of_the_toolkit():
    toolkit = set(LAYERS) - {"store"}
    assert not [m for _, m in imported_modules("store") if layer(m) in toolkit]


@pytest.mark.parametrize("package", LAYERS + ["tests", "benchmarks"])
def test_nothing_imports_a_layer_by_its_bare_name(package):
    """``import theory`` fails once installed: every import goes through the one root."""
    bare = [f"{p.relative_to(ROOT)} imports {m}" for p, m in imported_modules(package) if m.split(".")[0] in LAYERS[:-1]]
    assert not bare


def test_the_check_sees_an_upward_import(tmp_path, monkeypatch):
    """The test itself can fail: a module that imports a layer above it is caught."""
    (tmp_path / "theory").mkdir()
    (tmp_path / "theory" / "bad.py").write_text("def f():\n    from prunescale import validation\n")
    monkeypatch.setattr(__import__(__name__), "ROOT", tmp_path)
    assert [layer(m) for _, m in imported_modules("theory")] == ["validation"]
