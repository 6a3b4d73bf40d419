"""Rewrite tests/test_layout.py's import checks for the layered package (run from the worktree root)."""
from pathlib import Path

p = Path("tests/test_layout.py"); t = p.read_text()
graph_code = Path("/tmp/test_layout_graph.py").read_text()
start = t.index("def helpers_imports()")
end = t.index("def import_cycle(")
t = t[:start] + graph_code + "\n\n" + t[end:]
t = t.replace('''MAX_MODULE_LINES = 400       # one concern per module
''', '''MAX_MODULE_LINES = 400       # one concern per module
LAYERS = {"core", "datasets", "synth", "modeling", "steps", "app", "report"}   # helpers' subpackages
READING = {"app.reader", "app.cli", "app.server", "app.browser"}   # a photo in, its numbers out
# What reading a photo must never load: training, data parsing and synthesis, the steps and the report.
HEAVY = ("modeling.training", "modeling.models", "modeling.comparison", "modeling.localization",
         "modeling.detection_data", "datasets.", "synth.", "steps.", "report.")
''')
old = t[t.index("def test_no_helpers_module_is_over_about_400_lines()"):t.index("def test_scripts_holds_the_commands")]
new = '''def test_no_helpers_module_is_over_about_400_lines() -> None:
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
        top = {alias.name.split(".")[0] for node in tree.body if isinstance(node, ast.Import) for alias in node.names} | \\
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


'''
t = t.replace(old, new)
t = t.replace('"""The house rules: small helpers modules whose imports form a tree, research out of scripts/, a short README."""',
              '"""The house rules: helpers in layers whose imports form a tree, a reading path that stays light, research out of\\nscripts/, a short README."""')
p.write_text(t)
t = p.read_text()
t = t.replace("import subprocess\nimport sys\n", "import subprocess\nimport sys\nfrom pathlib import Path\n", 1)
p.write_text(t)
