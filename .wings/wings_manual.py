from pathlib import Path
def sub(path, old, new, count=1):
    p = Path(path); t = p.read_text(); assert t.count(old) == count, (path, old, t.count(old)); p.write_text(t.replace(old, new))
sub("helpers/core/paths.py", "PROJECT_ROOT = Path(__file__).resolve().parent.parent", "PROJECT_ROOT = Path(__file__).resolve().parents[2]   # helpers/core/paths.py")
sub("helpers/report/results.py", "    root = Path(__file__).resolve().parent.parent\n", "    root = Path(__file__).resolve().parents[2]   # helpers/report/results.py\n")
sub("helpers/app/server.py", 'PAGE_FILE = Path(__file__).with_name("app_page.html")', 'PAGE_FILE = Path(__file__).with_name("page.html")')
sub("pyproject.toml", 'packages = ["helpers"]\n\n[tool.setuptools.package-data]\nhelpers = ["*.html"]',
    'packages = ["helpers", "helpers.core", "helpers.datasets", "helpers.synth", "helpers.modeling", "helpers.steps",\n            "helpers.app", "helpers.report"]\n\n[tool.setuptools.package-data]\n"helpers.app" = ["*.html"]')
docs = {
 "core": "The run and its conventions, imported by every other layer: `config` (every budget and setting),\n`paths`, `labels` (a number as length + digits), `boxes` (one box convention) and `images` (any photo as RGB).",
 "datasets": "The data the steps read: `mnist`, `svhn` and `digitstruct` (+ `_hdf5`, format 1), `crops` (number\ntables and Goodfellow et al.'s crops), `real_photos` (the real-photo yardstick) and `new_images` (Step 3's folder).",
 "synth": "Made data: `sequences` (Step 1's MNIST numbers) and the stand-in for SVHN, `street_numbers`, drawn by\n`street_drawing` with `fonts` and SVHN's `framing`.",
 "modeling": "Models and their training: `models` (the readers), `localization` and `detection` (Step 4's finders),\n`detection_data`, `metrics`, `training` (train or load, cached) and `comparison` (paired comparisons).",
 "steps": "One module per report step that trains: `step1`, `step2`, `step4`, each taking the run configuration;\n`export` writes the released models' TFLite files and model card; `train_svhn` scales Step 2 up to the full SVHN.",
 "app": "Reading a photo and the application: `reader` (find, crop, read), `model_files`, `lite` (TensorFlow Lite),\n`annotation`, `cli` (the command line, `python -m helpers.app`), `server` + `page.html` and `browser` (the page\nin Chromium).",
 "report": "The report's figures and words: `plotting`, `results` (metrics.json and the README's table), `wording`,\n`model_card` and `peers` (the readers a user would try instead).",
}
for package, doc in docs.items():
    Path(f"helpers/{package}/__init__.py").write_text(f'"""{doc}\n"""\n')
Path("helpers/app/__main__.py").write_text('"""`python -m helpers.app PHOTO...`: the command line of `helpers.app.cli`."""\nimport sys\n\nfrom helpers.app.cli import run_cli\n\nif __name__ == "__main__":\n    sys.exit(run_cli())\n')
p = Path("helpers/__init__.py"); t = p.read_text()
start, end = t.index('"""'), t.index('"""', 3) + 3
doc = '''"""Helpers behind digit_recognition.ipynb, in layers:

* `core`: the run's configuration, paths, labels, boxes and photo loading;
* `datasets`: MNIST, SVHN format 1, crops, the real photos and Step 3's images;
* `synth`: Step 1's MNIST numbers and the rendered stand-in for SVHN;
* `modeling`: the models, their metrics and training;
* `steps`: one module per step that trains (the notebook calls them);
* `app`: reading a photo (`reader`), the command line, the web page and the exports;
* `report`: figures, tables, wording and the model card.

Reading and the app import neither training, parsing nor synthesis code (tests/test_layout.py checks it).
"""'''
p.write_text(t[:start] + doc + t[end:])
