"""Shared fixtures: tiny fake MNIST files and a local HTTP server, all built by the tests."""
from __future__ import annotations

import functools
import http.server
import os
import sys
import threading
from pathlib import Path

import numpy as np
import pytest

PROJECT_ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(PROJECT_ROOT))
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
os.environ.setdefault("MPLBACKEND", "Agg")   # no screen in CI

from helpers.core import paths  # noqa: E402 (after the path above)

# The real datasets some tests read: the data folder the test command was given (DIGITS_DATA_DIR),
# else this workplace's ../shared/data. Tests that need them are skipped where they are absent.
SHARED_DATA = paths.data_dir() if os.environ.get("DIGITS_DATA_DIR", "").strip() else PROJECT_ROOT.parent / "shared/data"


def fake_digits(count: int, seed: int, intensity: int = 255) -> tuple[np.ndarray, np.ndarray]:
    """Random blobs of ink on 28x28 canvases with labels 0-9 (stand-ins for MNIST digits)."""
    rng = np.random.default_rng(seed)
    images = np.zeros((count, 28, 28), np.uint8)
    for image in images:
        top, left = rng.integers(2, 8, size=2)
        height, width = rng.integers(12, 20), rng.integers(6, 18)
        image[top:top + height, left:left + width] = intensity
    return images, rng.integers(0, 10, size=count).astype(np.uint8)


@pytest.fixture
def fake_mnist_dir(tmp_path: Path) -> Path:
    """A data folder holding a tiny MNIST in the real file layout (gzip IDX)."""
    from helpers.datasets import mnist as data

    folder = tmp_path / "mnist"
    folder.mkdir()
    for prefix, count, seed in (("train", 60, 1), ("t10k", 20, 2)):
        images, labels = fake_digits(count, seed)
        data.write_idx(folder / f"{prefix}-images-idx3-ubyte.gz", images)
        data.write_idx(folder / f"{prefix}-labels-idx1-ubyte.gz", labels)
    return tmp_path


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args) -> None:  # keep pytest output clean
        pass


@pytest.fixture
def http_root(tmp_path: Path):
    """Serve a temporary folder on 127.0.0.1; yields (folder, base_url)."""
    root = tmp_path / "served"
    root.mkdir()
    handler = functools.partial(_QuietHandler, directory=str(root))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield root, f"http://127.0.0.1:{server.server_address[1]}/"
    server.shutdown()
    server.server_close()


def tiny_number_reader(presence: float = 0.99, box=(0.25, 0.25, 0.75, 0.75), length: int = 2, refine: int = 0,
                       finder: str = "released", route: float = 0.0):
    """Tiny untrained end-to-end reader wired to a known presence and length (digits vary).

    finder "localizer": the 64x64-style localizer wired to `box` (0-1 letterbox units); "detector": a
    digit detector whose every cell is a centre with probability `presence` and a box far larger than any
    photo, so it finds one number, the whole photo; "released": both, as released (`route` 0: the
    localizer's box always comes first).
    """
    import helpers

    helpers.import_tensorflow_quietly()
    from helpers.app import reader
    from helpers.modeling import detection, localization, models
    import keras

    keras.utils.set_random_seed(0)    # the same untrained weights whichever tests ran before

    def set_dense(model, name: str, bias) -> None:   # the layer ignores its input, always outputs `bias`
        layer = model.get_layer(name)
        kernel, _ = layer.get_weights()
        layer.set_weights([np.zeros_like(kernel), np.asarray(bias, np.float32)])

    def logit(p):
        p = np.asarray(p, np.float64)
        return np.log(p / (1 - p))

    digits = models.build_attention_model((54, 54, 3), filters=(8, 16), rnn_units=8, dense_units=16)
    lengths = np.full(6, -10.0)
    lengths[length] = 10.0
    set_dense(digits, "length", lengths)
    detector = localizer = None
    if finder in ("detector", "released"):
        detector = detection.build_detector(filters=(4, 4, 4, 4), head=4)
        set_dense(detector, "heat", logit([presence]))
        set_dense(detector, "box_log_distance", [6.0] * 4)    # exp(6) * 4 px: past any letterbox's edges
    if finder in ("localizer", "released"):
        localizer = localization.build_localizer(32, filters=(8, 16), dense_units=16)
        set_dense(localizer, "box", logit(box))
        set_dense(localizer, "has_number", logit([presence]))
    # One box per localizer pass, no rescaled or whole-photo boxes, crops cut at the edge: what each test adds, it says.
    return reader.NumberReader(digits, localizer, detector=detector, min_confidence=0.0, refine=refine, route=route,
                               min_presence=0.0 if finder == "detector" else 0.5, scales=(), whole_photo=False,
                               pad_edges=False)
