"""The package's structure: no import cycles, typed stage results, one representation registry."""
import ast
import dataclasses
from pathlib import Path


PACKAGE = Path(__file__).resolve().parents[1] / "specadv"


def _module_name(f: Path, package: Path) -> str:
    parts = f.relative_to(package.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def import_graph(package: Path = PACKAGE) -> dict[str, set[str]]:
    """Module -> the package's modules it imports, at top level or inside functions
    (importing ``a.b`` also runs ``a``)."""
    files = {_module_name(f, package): f for f in package.rglob("*.py")}
    graph = {m: set() for m in files}
    for m, f in files.items():
        is_pkg = f.name == "__init__.py"
        for node in ast.walk(ast.parse(f.read_text())):
            if isinstance(node, ast.Import):
                targets = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom):
                base = node.module or ""
                if node.level:
                    here = m.split(".") if is_pkg else m.split(".")[:-1]
                    here = here[: len(here) - node.level + 1]
                    base = ".".join(here + ([base] if base else []))
                targets = [base] + [f"{base}.{a.name}" for a in node.names]
            else:
                continue
            for t in targets:
                while t and t not in files:
                    t = t.rpartition(".")[0]
                if not t or t == m:
                    continue
                graph[m].add(t)
                parts = t.split(".")
                graph[m].update(".".join(parts[:i]) for i in range(1, len(parts))
                                if not m.startswith(".".join(parts[:i]) + ".")
                                and ".".join(parts[:i]) != m)
    return graph


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Import cycles, a package importing its own submodules aside."""
    found, state = [], {}

    def visit(m, path):
        state[m] = "open"
        for n in sorted(graph[m]):
            if n.startswith(m + "."):  # a package's __init__ re-exporting its submodules
                continue
            if state.get(n) == "open":
                found.append(path[path.index(n):] + [n])
            elif n not in state:
                visit(n, path + [n])
        state[m] = "done"

    for m in sorted(graph):
        if m not in state:
            visit(m, [m])
    return found


def test_the_cycle_finder_finds_a_cycle_including_one_inside_a_function(tmp_path):
    pkg = tmp_path / "specadv"
    pkg.mkdir()
    (pkg / "__init__.py").write_text("")
    (pkg / "a.py").write_text("from specadv import b\n")
    (pkg / "b.py").write_text("def f():\n    from specadv.a import x\n")
    assert cycles(import_graph(pkg)) == [["specadv.a", "specadv.b", "specadv.a"]]


def test_nothing_in_specadv_imports_in_a_circle():
    assert cycles(import_graph()) == []


def test_stage_results_are_frozen_dataclasses():
    from specadv.stages import attack, beyond, explorer, ladder, reconstruct, results, train

    for cls in (train.FoldModel, attack.FoldAttacks, reconstruct.FoldReconstruction,
                beyond.FoldAware, beyond.FoldInversion, ladder.FoldLadder, results.Results,
                explorer.ExplorerGrid, explorer.ExplorerResult):
        assert dataclasses.is_dataclass(cls) and cls.__dataclass_params__.frozen, cls


def test_every_representation_has_the_model_settings_it_names():
    from specadv.profiles import load_profile
    from specadv.roundtrip import REPRESENTATIONS
    from specadv.stages.train import model_config

    p = load_profile("smoke")
    for name, r in REPRESENTATIONS.items():
        assert r.name == name
        assert model_config(p, name)["input_shape"] == list(r.feature_shape)
        own = r.model_settings(p["model2d"])
        assert set(own) == {"width", "dense", "input_pool", "input_norm", "unshift"}
        assert set(r.train_settings(p["train2d"])) == {"epochs", "lr"}


def test_pipeline_run_stays_thin():
    n = len((PACKAGE / "pipeline.py").read_text().splitlines())
    assert n < 250, f"pipeline.py has {n} lines: a stage's work belongs in specadv/stages/"


def _imports_of_a_third_party(package: Path, name: str) -> set[str]:
    """The package's modules that import the top-level package ``name``."""
    found = set()
    for f in package.rglob("*.py"):
        for node in ast.walk(ast.parse(f.read_text())):
            names = ([a.name for a in node.names] if isinstance(node, ast.Import) else
                     [node.module or ""] if isinstance(node, ast.ImportFrom) and not node.level
                     else [])
            if any(n == name or n.startswith(name + ".") for n in names):
                found.add(_module_name(f, package))
    return found


def test_the_kernels_are_leaves_and_the_explorer_is_split_by_layer():
    graph = import_graph()
    # the inverse STFT and Griffin-Lim, and the device helpers, need nothing of the method
    assert graph["specadv.dsp"] == {"specadv.constants"}
    assert graph["specadv.device"] == set()
    assert "specadv.dsp" in graph["specadv.reconstruction"]
    # a stage never imports what renders it or the widget that shows it
    for m, deps in graph.items():
        if m.startswith("specadv.stages"):
            assert not {d for d in deps if d.startswith("specadv.report")
                        or d == "specadv.explorer"}, m
    # the widget UI lives in one module
    assert _imports_of_a_third_party(PACKAGE, "ipywidgets") == {"specadv.explorer"}


def test_the_finders_see_an_import_inside_a_function_and_a_relative_one(tmp_path):
    pkg = tmp_path / "specadv"
    (pkg / "sub").mkdir(parents=True)
    for f in ("__init__.py", "sub/__init__.py", "leaf.py"):
        (pkg / f).write_text("")
    (pkg / "sub" / "ui.py").write_text("def f():\n    import ipywidgets.widgets\n"
                                       "from ..leaf import x\n")
    assert _imports_of_a_third_party(pkg, "ipywidgets") == {"specadv.sub.ui"}
    assert import_graph(pkg)["specadv.sub.ui"] == {"specadv.leaf"}


def _string_literal_modules(value: str, package: Path = PACKAGE) -> set[str]:
    """The modules of ``package`` with ``value`` as a string constant (docstrings aside)."""
    out = set()
    for f in package.rglob("*.py"):
        if any(isinstance(n, ast.Constant) and n.value == value
               for n in ast.walk(ast.parse(f.read_text()))):
            out.add(_module_name(f, package))
    return out


def test_the_literal_finder_finds_a_name_and_ignores_docstrings(tmp_path):
    pkg = tmp_path / "specadv"
    pkg.mkdir()
    (pkg / "__init__.py").write_text('"""The "bim" attack."""\n')
    (pkg / "a.py").write_text('NAME = "bim"\n')
    assert _string_literal_modules("bim", pkg) == {"specadv.a"}


def test_an_attack_or_representation_name_is_written_in_two_modules_at_most():
    # the registries own the names (specadv.attacks, specadv.roundtrip); the paper's own
    # figures (report.names) and the profiles' defaults may name them once more
    for name in ("bim", "fgsm", "random_sign", "stft_paper"):
        where = _string_literal_modules(name)
        assert len(where) <= 2, (name, sorted(where))
