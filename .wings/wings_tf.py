"""Modules that import Keras at the top import TensorFlow there too, once (run from the worktree root)."""
import re
from pathlib import Path
for path, top in (("helpers/app/reader.py", "import keras  # noqa: E402\n"), ("helpers/modeling/models.py", "import keras\n"),
                  ("helpers/modeling/localization.py", "import keras\n")):
    p = Path(path); t = p.read_text()
    t = re.sub(r"\n[ \t]+import tensorflow as tf\n", "\n", t)
    note = "  # noqa: E402" if "noqa" in top else ""
    assert t.count(top) == 1, path
    t = t.replace(top, top + f"import tensorflow as tf{note}\n")
    p.write_text(t)
