"""After the move: fix what the mechanical rewrite left (run from the worktree root)."""
from pathlib import Path
import re, subprocess

def sub(path, old, new, count=1):
    p = Path(path); t = p.read_text(); assert t.count(old) == count, (path, old, t.count(old)); p.write_text(t.replace(old, new))

sub("README.md", "from helpers import reader\n", "from helpers.app import reader\n")
sub("tests/test_app.py", '''script = ("import sys; from helpers import app; "
              f"code = app.run_cli(''', '''script = ("import sys; from helpers.app import cli; "
              f"code = cli.run_cli(''')
for path in ("helpers/app/reader.py", "tests/test_reader.py"):
    sub(path, "from helpers.core import cropping\nimport helpers\n", "import helpers\n")
subprocess.run(["/tmp/rufftool/bin/ruff", "check", "--isolated", "--select", "F401", "--fix", "--line-length", "120",
                "helpers", "tests", "experiments", "scripts"], capture_output=True)
sub("helpers/modeling/detection.py", "from helpers.core import cropping\n", "") if "from helpers.core import cropping\n" in Path("helpers/modeling/detection.py").read_text() else None

def units(lines, start):
    """The import statement starting at lines[start] (with its continuation lines)."""
    end = start
    if "(" in lines[start].split("#")[0] and ")" not in lines[start].split("#")[0]:
        while ")" not in lines[end].split("#")[0]:
            end += 1
    return end + 1

def reindent(unit):
    first = unit[0]
    if len(unit) == 1: return unit
    col = first.index("(") + 1
    return [first] + [" " * col + line.lstrip() for line in unit[1:]]

def module_of(line):
    return re.match(r"\s*from (helpers[\w.]*) import", line).group(1)

for path in [p for p in Path(".").rglob("*.py") if ".git" not in p.parts]:
    lines = path.read_text().split("\n")
    out, i = [], 0
    while i < len(lines):
        if re.match(r"(\s*)from helpers[\w.]* import ", lines[i]) and not lines[i].startswith("from helpers import import_tensorflow"):
            indent = re.match(r"(\s*)", lines[i]).group(1)
            group = []
            while i < len(lines) and re.match(re.escape(indent) + r"from helpers[\w.]* import ", lines[i]):
                end = units(lines, i)
                group.append(reindent(lines[i:end])); i = end
            group.sort(key=lambda unit: module_of(unit[0]))
            merged = []
            for unit in group:   # two one-line imports from one module, without notes, become one
                last = merged[-1] if merged else None
                if (last and len(last) == 1 and len(unit) == 1 and "#" not in last[0] + unit[0]
                        and module_of(last[0]) == module_of(unit[0])):
                    names = sorted(set(n.strip() for n in (last[0].split(" import ")[1] + "," + unit[0].split(" import ")[1]).split(",")))
                    candidate = f"{indent}from {module_of(unit[0])} import {', '.join(names)}"
                    if len(candidate) <= 120:
                        merged[-1] = [candidate]; continue
                merged.append(unit)
            for unit in merged: out.extend(unit)
        else:
            out.append(lines[i]); i += 1
    new = "\n".join(out)
    if new != path.read_text(): path.write_text(new)

sub("helpers/app/reader.py", "from helpers.core import boxes as box_tools, images, paths  # noqa: E402",
    "from helpers.core import boxes as box_tools, cropping, images, paths  # noqa: E402")
sub("tests/test_reader.py", "from helpers.core import boxes  # noqa: E402", "from helpers.core import boxes, cropping  # noqa: E402")

# The notebook names what it imports as the modules are now called.
import json
nbp = Path("digit_recognition.ipynb"); nb = json.loads(nbp.read_text())
for cell in nb["cells"]:
    if cell["cell_type"] != "code": continue
    s = "".join(cell["source"])
    n = s.replace("from helpers.app import cli as app, browser as app_browser, reader", "from helpers.app import browser, cli, reader")
    n = n.replace("from helpers.datasets import crops, mnist as data, new_images, real_photos", "from helpers.datasets import crops, mnist, new_images, real_photos")
    n = re.sub(r"\bapp\.run_cli\(", "cli.run_cli(", n)
    n = re.sub(r"\bapp_browser\.", "browser.", n)
    n = n.replace("mnist = data.load_mnist()", "mnist_digits = mnist.load_mnist()")
    n = re.sub(r"\bmnist\.(train_images|test_images)", r"mnist_digits.\1", n)
    n = n.replace("step1.make_data(mnist, RUN)", "step1.make_data(mnist_digits, RUN)")
    if n != s:
        lines = n.split("\n"); cell["source"] = [l + "\n" for l in lines[:-1]] + [lines[-1]]
nbp.write_text(json.dumps(nb, indent=1, ensure_ascii=False) + "\n")
