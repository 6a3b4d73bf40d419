"""Move helpers/ modules into subpackages and rewrite every import and reference (run in the worktree root)."""
import json, re, subprocess, sys
from pathlib import Path

MAP = {  # module -> (package, new module name)
    "config": ("core", "config"), "paths": ("core", "paths"), "labels": ("core", "labels"), "boxes": ("core", "boxes"),
    "images": ("core", "images"),
    "data": ("datasets", "mnist"), "svhn": ("datasets", "svhn"), "digitstruct": ("datasets", "digitstruct"),
    "_hdf5": ("datasets", "_hdf5"), "crops": ("datasets", "crops"), "real_photos": ("datasets", "real_photos"),
    "new_images": ("datasets", "new_images"),
    "sequences": ("synth", "sequences"), "street_numbers": ("synth", "street_numbers"),
    "street_drawing": ("synth", "street_drawing"), "fonts": ("synth", "fonts"), "framing": ("synth", "framing"),
    "models": ("modeling", "models"), "metrics": ("modeling", "metrics"), "training": ("modeling", "training"),
    "comparison": ("modeling", "comparison"), "localization": ("modeling", "localization"),
    "detection": ("modeling", "detection"), "detection_data": ("modeling", "detection_data"),
    "step1": ("steps", "step1"), "step2": ("steps", "step2"), "step4": ("steps", "step4"),
    "train_svhn": ("steps", "train_svhn"),
    "reader": ("app", "reader"), "model_files": ("app", "model_files"), "lite": ("app", "lite"),
    "annotation": ("app", "annotation"), "app": ("app", "cli"), "app_server": ("app", "server"),
    "app_browser": ("app", "browser"), "export": ("steps", "export"),
    "plotting": ("report", "plotting"), "results": ("report", "results"), "wording": ("report", "wording"),
    "model_card": ("report", "model_card"), "peers": ("report", "peers"),
}
ROOT = Path.cwd()


def dotted(module: str) -> str:
    package, name = MAP[module]
    return f"helpers.{package}.{name}"


def rewrite_from_helpers_import(match: re.Match) -> str:
    """`from helpers import a, b as c  # note` -> one `from helpers.pkg import ...` line per package (the note kept)."""
    indent, body = match.group(1), match.group(2)
    comments = [line.split("#", 1)[1].strip() for line in body.split("\n") if "#" in line]
    code = " ".join(line.split("#", 1)[0] for line in body.split("\n"))
    names = [n.strip() for n in code.replace("(", "").replace(")", "").split(",") if n.strip()]
    by_package, keep = {}, []
    for item in names:
        name = item.split(" as ")[0].strip()
        if name in MAP:
            package, new = MAP[name]
            alias = item.split(" as ")[1].strip() if " as " in item else (name if new != name else None)
            by_package.setdefault(package, []).append(new + (f" as {alias}" if alias and alias != new else ""))
        else:
            keep.append(item)
    lines = [f"{indent}from helpers import {', '.join(keep)}"] if keep else []
    for package, items in by_package.items():
        line = f"{indent}from helpers.{package} import {', '.join(items)}"
        if len(line) > 118:
            line = f"{indent}from helpers.{package} import ({', '.join(items)})"
        lines.append(line)
    noqa = [c for c in comments if c.startswith("noqa")]
    notes = [c for c in comments if not c.startswith("noqa")]
    if noqa:   # a linter's note holds for every line the statement became
        lines = [f"{line}  # {noqa[0]}" for line in lines]
    if notes:
        lines[0] += ("; " if noqa else "  # ") + "; ".join(notes)
    return "\n".join(lines)


FROM_HELPERS = re.compile(r"^([ \t]*)from helpers import (\([^)]*\)[^\n]*|[^\n]*)", re.M)
FROM_MODULE = re.compile(r"\bfrom helpers\.([a-z_0-9]+) import")
DOTTED = re.compile(r"\bhelpers\.([a-z_0-9]+)\b")
SLASHED = re.compile(r"\bhelpers/([a-z_0-9]+)\.py\b")


def rewrite_code(text: str) -> str:
    text = rewrite_text(text)   # also turns `from helpers.reader import` into `from helpers.app.reader import`   # before the new `from helpers.app import` lines exist: `app` is also a module name
    return FROM_HELPERS.sub(rewrite_from_helpers_import, text)


def rewrite_text(text: str) -> str:
    text = re.sub(r"-m helpers\.app\b(?!\.)", "-m helpers.APP_MAIN", text)   # the package's __main__: unchanged
    text = DOTTED.sub(lambda m: dotted(m.group(1)) if m.group(1) in MAP else m.group(0), text)
    text = SLASHED.sub(lambda m: "helpers/{}/{}.py".format(*MAP[m.group(1)]) if m.group(1) in MAP else m.group(0), text)
    return text.replace("-m helpers.APP_MAIN", "-m helpers.app")


def main() -> None:
    for package in sorted({p for p, _ in MAP.values()}):
        (ROOT / "helpers" / package).mkdir(exist_ok=True)
    for module, (package, new) in MAP.items():
        subprocess.run(["git", "mv", f"helpers/{module}.py", f"helpers/{package}/{new}.py"], check=True)
    subprocess.run(["git", "mv", "helpers/app_page.html", "helpers/app/page.html"], check=True)
    files = [p for p in ROOT.rglob("*") if p.is_file() and ".git" not in p.parts and ".venv" not in p.parts
             and "cache" not in p.parts and "build" not in p.parts and p.suffix in (".py", ".md", ".sh", ".toml", ".ini", ".txt", ".j2", ".cfg", ".yml", ".yaml")]
    for path in files:
        text = path.read_text(encoding="utf-8")
        new = rewrite_code(text) if path.suffix == ".py" else rewrite_text(text)
        if new != text:
            path.write_text(new, encoding="utf-8")
    notebook = ROOT / "digit_recognition.ipynb"
    nb = json.loads(notebook.read_text(encoding="utf-8"))
    for cell in nb["cells"]:
        source = "".join(cell["source"])
        new = rewrite_code(source) if cell["cell_type"] == "code" else rewrite_text(source)
        if new != source:
            lines = new.split("\n")
            cell["source"] = [line + "\n" for line in lines[:-1]] + [lines[-1]]
    notebook.write_text(json.dumps(nb, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
