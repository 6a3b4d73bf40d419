"""The house rules: small helpers modules whose imports form a tree, research out of scripts/, a short README."""
from __future__ import annotations

import ast
import subprocess
import sys

from conftest import PROJECT_ROOT

HELPERS = PROJECT_ROOT / "helpers"
MAX_MODULE_LINES = 400       # one concern per module
MAX_README_LINES = 200


def helpers_imports() -> dict[str, set[str]]:
    """Each helpers module and the helpers modules it imports (at the top or inside functions)."""
    graph = {}
    for path in HELPERS.glob("*.py"):
        imported = set()
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom) and node.module == "helpers":
                imported |= {alias.name for alias in node.names}
            elif isinstance(node, ast.ImportFrom) and (node.module or "").startswith("helpers."):
                imported.add(node.module.split(".")[1])
            elif isinstance(node, ast.Import):
                imported |= {alias.name.split(".")[1] for alias in node.names if alias.name.startswith("helpers.")}
        graph[path.stem] = imported - {path.stem}
    return graph


def import_cycle(graph: dict[str, set[str]]) -> list[str] | None:
    """One cycle of the import graph (a module that imports one above it), or None."""
    state: dict[str, str] = {}

    def visit(module: str, trail: list[str]) -> list[str] | None:
        state[module] = "open"
        for target in sorted(graph.get(module, ())):
            if state.get(target) == "open":
                return trail[trail.index(target):] + [target] if target in trail else [module, target]
            if target not in state and (cycle := visit(target, trail + [target])):
                return cycle
        state[module] = "done"
        return None

    for module in sorted(graph):
        if module not in state and (cycle := visit(module, [module])):
            return cycle
    return None


def test_no_helpers_module_is_over_about_400_lines() -> None:
    long = {path.name: n for path in HELPERS.glob("*.py") if (n := len(path.read_text().splitlines())) > MAX_MODULE_LINES}
    assert not long, f"split these modules by concern: {long}"


def test_helpers_imports_form_a_tree() -> None:
    graph = helpers_imports()
    assert graph["crops"] >= {"digitstruct"} and "crops" in graph["reader"]   # the graph is really read
    assert import_cycle(graph) is None, f"import cycle: {' -> '.join(import_cycle(graph))}"


def test_reading_and_the_app_load_no_training_parsing_or_synthesis_code() -> None:
    """Inference stands alone: the reader and the app load neither training, nor the digitStruct
    parser, nor the data synthesizers (a photo app should not drag in h5py parsing or MNIST)."""
    code = ("import sys, helpers.reader, helpers.app, helpers.app_server; "
            "print(' '.join(sorted(m for m in sys.modules if m.startswith('helpers.'))))")
    loaded = set(subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                                cwd=PROJECT_ROOT).stdout.split())
    assert {"helpers.reader", "helpers.app", "helpers.app_server", "helpers.crops"} <= loaded   # the check sees what loaded
    forbidden = {f"helpers.{name}" for name in ("training", "train_svhn", "digitstruct", "sequences",
                                                  "street_numbers", "svhn", "data", "detection_data")}
    assert not loaded & forbidden, f"inference loads {sorted(loaded & forbidden)}"


def test_the_cycle_finder_finds_an_upward_import() -> None:
    assert import_cycle({"low": {"high"}, "high": {"low"}}) is not None
    assert import_cycle({"app": {"reader"}, "reader": {"crops"}, "crops": set()}) is None


def test_scripts_holds_the_commands_setup_template_and_benchmarks_only() -> None:
    allowed = {"report.sh", "test.sh", "setup_env.sh", "font_packages.txt", "report_template", "make_new_images.py"}
    others = {path.name for path in (PROJECT_ROOT / "scripts").iterdir()
              if path.name not in allowed and not path.name.startswith("benchmark_") and path.name != "__pycache__"}
    assert not others, f"research scripts belong in experiments/: {sorted(others)}"


def test_every_experiment_script_has_a_section_in_the_experiments_readme() -> None:
    readme = (PROJECT_ROOT / "experiments" / "README.md").read_text()
    missing = [path.name for path in (PROJECT_ROOT / "experiments").glob("*.py") if f"## `{path.name}`" not in readme]
    assert not missing, f"experiments/README.md has no section for {missing}"


def test_the_readme_is_short() -> None:
    assert len((PROJECT_ROOT / "README.md").read_text().splitlines()) <= MAX_README_LINES


def test_helpers_is_installed_not_put_on_the_path_by_hand() -> None:
    # pyproject.toml + `pip install -e .` (setup_env.sh): only test conftest files may edit sys.path.
    import importlib.metadata

    edit = "sys.path" + ".insert"      # spelled apart, so that this file does not match itself
    editors = [path.relative_to(PROJECT_ROOT) for folder in ("helpers", "scripts", "experiments", "tests")
               for path in (PROJECT_ROOT / folder).rglob("*.py")
               if edit in path.read_text() and path.name != "conftest.py"]
    assert editors == [], f"these edit sys.path instead of relying on the installed package: {editors}"
    assert importlib.metadata.version("digit-recognition")      # setup_env.sh installed the project
