"""Each package names its public API in one place, and every package words a bad parameter the same way."""

import numpy as np
import pytest

from prunescale import sim, store, theory, validation

API = {
    store: [
        "OWNER_FILE", "POLICIES", "PathLike", "ConfigMismatch", "CorruptEntry", "KeyedStore", "atomic_write", "check_output_file",
        "check_output_folder", "claim_output_folder", "checks", "digest", "jsonable", "load_json", "normal_mode", "save_json", "save_npz", "to_json", "from_json",
    ],
    sim: [
        "MaxMarginResult", "compare_with_theory", "draw", "draw_pruned", "kept_size", "max_margin",
        "max_margin_reference", "pool_size", "simulate", "teacher_and_probe",
    ],
    validation: [
        "analysis", "calibrate", "criteria", "data", "dynamics", "fits", "jobs", "largescale", "plans", "pruning",
        "runner", "table", "verdicts", "PLANS", "Plan",
        "CIFAR10", "CONFIGS", "Job", "METRICS", "METRIC_DEFAULTS", "Pruned", "Recorder", "Scores", "SweepFailed", "TrainConfig",
        "TrainResult", "accuracy", "class_balanced_subset", "default_sweep", "find_cifar10", "get_config", "grid",
        "load_cifar10", "predict", "prune", "prune_dataset", "prune_dynamics", "prune_embeddings", "prune_scores", "random_pool", "run_serial", "run_sweep", "score", "train",
    ],
}


@pytest.mark.parametrize("package", list(API), ids=lambda p: p.__name__)
def test_public_api_is_pinned(package):
    assert sorted(package.__all__) == sorted(API[package])
    assert all(hasattr(package, name) for name in package.__all__)


def test_one_policies_tuple_for_every_package():
    from prunescale.theory import error
    from prunescale.validation import plans

    assert store.POLICIES == ("hard", "easy", "random")
    assert plans.POLICIES is store.POLICIES and error.checks.POLICIES is store.POLICIES


THETA_ERROR = r"^theta \(degrees\) must lie in \[0, 90\], got 95$"


@pytest.mark.parametrize(
    "call",
    [
        lambda: store.checks.theta(95),
        lambda: theory.test_error(2.0, 0.5, theta=95),
        lambda: theory.optimal_keep_fraction(10.0, theta=95),
        lambda: sim.simulate(N=10, alpha_tot=2.0, keep_fraction=0.5, theta=95, seeds=1),
    ],
    ids=["store", "theory.test_error", "theory.optimal_keep_fraction", "sim.simulate"],
)
def test_every_package_words_a_bad_theta_the_same_way(call):
    with pytest.raises(ValueError, match=THETA_ERROR):
        call()


@pytest.mark.parametrize(
    "call",
    [
        lambda: store.checks.keep_fraction(1.5),
        lambda: theory.test_error(2.0, 1.5),
        lambda: sim.simulate(N=10, alpha_tot=2.0, keep_fraction=1.5, seeds=1),
        lambda: validation.prune(np.zeros(4), np.arange(4), 1.5, "hard"),
        lambda: validation.grid(["el2n"], ["hard"], [100], [1.5], [0]),
    ],
    ids=["store", "theory", "sim", "validation.prune", "validation.grid"],
)
def test_every_package_words_a_bad_keep_fraction_the_same_way(call):
    with pytest.raises(ValueError, match=r"^keep_fraction must lie in \(0, 1\], got 1.5$"):
        call()


def _library_names_used_above():
    """(package, name) for every name that figures/ and prunescale/ take from a library package: ``from
    prunescale.P[.sub] import name`` gives ``sub`` (or ``name``), ``from prunescale import P`` then ``P.name``."""
    import ast
    from pathlib import Path

    root = Path(__file__).parents[1]
    libraries = {"store", "theory", "sim", "validation"}
    used = set()
    for path in [*root.joinpath("figures").glob("*.py"), *root.joinpath("prunescale").rglob("*.py")]:
        tree = ast.parse(path.read_text())
        imported = set()
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("prunescale."):
                package, *sub = node.module.split(".")[1:]
                if package in libraries:
                    used |= {(package, sub[0])} if sub else {(package, a.name) for a in node.names}
            elif isinstance(node, ast.ImportFrom) and node.module == "prunescale":
                imported |= {a.asname or a.name for a in node.names if a.name in libraries}
        for node in ast.walk(tree):
            if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name) and node.value.id in imported:
                used.add((node.value.id, node.attr))
    return sorted(used)


@pytest.mark.parametrize("package, name", _library_names_used_above())
def test_every_name_the_cli_and_figures_use_is_public(package, name):
    import importlib

    assert name in importlib.import_module(f"prunescale.{package}").__all__


def _public_functions():
    """Every public function and method of the library packages' public modules: ``(path:line name, annotated)``."""
    import ast
    from pathlib import Path

    root = Path(__file__).parents[1]
    found = []
    for layer in ("store", "theory", "sim", "validation"):
        for path in sorted(root.joinpath(layer).rglob("*.py")):
            if any(part.startswith("_") and part != "__init__.py" for part in path.relative_to(root).parts):
                continue
            for node in ast.parse(path.read_text()).body:
                members = [node] if isinstance(node, ast.FunctionDef) else []
                if isinstance(node, ast.ClassDef) and not node.name.startswith("_"):
                    members = [m for m in node.body if isinstance(m, ast.FunctionDef)]
                for f in (m for m in members if not m.name.startswith("_")):
                    a = f.args
                    params = [p for p in a.posonlyargs + a.args + a.kwonlyargs if p.arg not in ("self", "cls")]
                    params += [p for p in (a.vararg, a.kwarg) if p is not None]
                    annotated = f.returns is not None and all(p.annotation is not None for p in params)
                    found.append((f"{path.relative_to(root)}:{f.lineno} {f.name}", annotated))
    return found


def test_every_public_function_of_the_library_is_annotated():
    """The type checker (.ci/typecheck) holds the library to its annotations; a public function without them escapes."""
    functions = _public_functions()
    assert len(functions) > 200
    assert [name for name, annotated in functions if not annotated] == []
