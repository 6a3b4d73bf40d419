"""The house rules: helpers in layers whose imports form a tree, a light reading path, research out of scripts/."""
from __future__ import annotations

import ast
import os
import subprocess
import sys
from pathlib import Path

from conftest import PROJECT_ROOT

HELPERS = PROJECT_ROOT / "helpers"
MAX_MODULE_LINES = 400       # one concern per module
LAYERS = {"core", "datasets", "synth", "modeling", "steps", "app", "report"}   # helpers' subpackages
READING = {"app.reader", "app.cli", "app.server", "app.browser"}   # a photo in, its numbers out
# What reading a photo must never load: training, data parsing and synthesis, the steps and the report.
HEAVY = ("modeling.training", "modeling.models", "modeling.comparison", "modeling.localization",
         "modeling.detection_data", "datasets.", "synth.", "steps.", "report.")
MAX_README_LINES = 200


def helpers_modules() -> dict[str, Path]:
    """Every module of the helpers package by its dotted name under helpers ("app.reader"); packages' __init__ apart."""
    return {".".join(path.relative_to(HELPERS).with_suffix("").parts): path
            for path in HELPERS.rglob("*.py") if path.name != "__init__.py" and "__pycache__" not in path.parts}


def helpers_imports() -> dict[str, set[str]]:
    """Each helpers module and the helpers modules it imports, at the top or inside functions (read from the
    source, so an import placed inside a function counts as much as one at the top)."""
    modules = helpers_modules()
    graph = {}
    for name, path in modules.items():
        imported = set()
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("helpers."):
                package = node.module.removeprefix("helpers.")
                children = {f"{package}.{alias.name}" for alias in node.names} & modules.keys()
                imported |= children or ({package} & modules.keys())
            elif isinstance(node, ast.Import):
                imported |= {alias.name.removeprefix("helpers.") for alias in node.names} & modules.keys()
        graph[name] = imported - {name}
    return graph


def reached(graph: dict[str, set[str]], start: set[str]) -> set[str]:
    """Every module `start` imports, directly or through others."""
    seen, todo = set(), list(start)
    while todo:
        module = todo.pop()
        if module not in seen:
            seen.add(module)
            todo.extend(graph.get(module, ()))
    return seen


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
    long = {name: n for name, path in helpers_modules().items() if (n := len(path.read_text().splitlines())) > MAX_MODULE_LINES}
    assert not long, f"split these modules by concern: {long}"


def test_helpers_is_made_of_its_layers_only() -> None:
    loose = sorted(path.name for path in HELPERS.glob("*.py") if path.name != "__init__.py")
    assert not loose, f"every module belongs to a layer: {loose}"
    packages = {path.parent.name for path in HELPERS.glob("*/__init__.py")}
    assert packages == LAYERS and {name.split(".")[0] for name in helpers_modules()} == LAYERS


def test_helpers_imports_form_a_tree() -> None:
    graph = helpers_imports()
    assert graph["datasets.crops"] >= {"datasets.digitstruct"} and "core.cropping" in graph["app.reader"]   # really read
    assert import_cycle(graph) is None, f"import cycle: {' -> '.join(import_cycle(graph))}"


def test_the_reading_path_imports_no_training_parsing_or_synthesis_code() -> None:
    """Read from the source: reading a photo needs the models' files, not the code that made them."""
    graph = helpers_imports()
    loaded = reached(graph, READING)
    assert {"app.reader", "core.cropping", "modeling.detection"} <= loaded     # the walk sees the imports
    heavy = sorted(module for module in loaded if module.startswith(HEAVY))
    assert not heavy, f"the reading path imports {heavy}"
    assert reached({"a": {"b"}, "b": {"c"}, "c": set()}, {"a"}) == {"a", "b", "c"}


def test_reading_and_the_app_load_no_training_parsing_or_synthesis_code() -> None:
    """The same at run time: what importing the reader, the command line and the server loads."""
    code = ("import sys, helpers.app.reader, helpers.app.cli, helpers.app.server; "
            "print(' '.join(sorted(m for m in sys.modules if m.startswith('helpers.'))))")
    loaded = set(subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                                cwd=PROJECT_ROOT).stdout.split())
    assert {"helpers.app.reader", "helpers.app.cli", "helpers.app.server", "helpers.core.cropping"} <= loaded
    heavy = sorted(module for module in loaded if module.removeprefix("helpers.").startswith(HEAVY))
    assert not heavy, f"inference loads {heavy}"


def test_no_module_imports_tensorflow_again_inside_a_function() -> None:
    """A module that imports Keras or TensorFlow at the top has it already: an import inside a function only hides it."""
    repeated = []
    for name, path in helpers_modules().items():
        tree = ast.parse(path.read_text())
        top = {alias.name.split(".")[0] for node in tree.body if isinstance(node, ast.Import) for alias in node.names} | \
              {(node.module or "").split(".")[0] for node in tree.body if isinstance(node, ast.ImportFrom)}
        if top & {"keras", "tensorflow"}:
            repeated += [f"{name}:{node.lineno}" for function in ast.walk(tree)
                         if isinstance(function, (ast.FunctionDef, ast.AsyncFunctionDef))
                         for node in ast.walk(function) if isinstance(node, ast.Import)
                         and any(alias.name == "tensorflow" for alias in node.names)]
    assert not repeated, f"tensorflow imported again inside functions: {sorted(set(repeated))}"


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


def test_importing_the_reader_silences_nothing() -> None:
    """A library user keeps TensorFlow's log lines: only import_tensorflow_quietly (notebook, command line) hides them."""
    code = ("import os, sys, helpers.app.reader; "
            "print(os.environ.get('TF_CPP_MIN_LOG_LEVEL', 'unset'), 'tensorflow' in sys.modules)")
    env = {key: value for key, value in os.environ.items() if key != "TF_CPP_MIN_LOG_LEVEL"}
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=PROJECT_ROOT, env=env)
    assert done.stdout.split() == ["unset", "True"]
