"""Report figures: panel titles wrapped to their panels, so none overlaps a neighbour or leaves the figure."""
from __future__ import annotations

import matplotlib

matplotlib.use("Agg")
import numpy as np  # noqa: E402

from helpers import plotting  # noqa: E402

LONG = ["06_shop_front.png: read 77 (0.87), sure", "01_enamel_sign.png: true 27, read 21 (0.45)",
        "03_seven_segment.png: no number", "02_handwritten_note.jpg: read 4051 (0.99)"]


def test_caption_wraps_to_the_panel_width() -> None:
    wrapped = plotting.caption(LONG[1], panel_inches=1.5)
    assert "\n" in wrapped and wrapped.split() != [LONG[1]] and "".join(wrapped.split()) == "".join(LONG[1].split())
    assert plotting.caption("27", panel_inches=1.5) == "27"


def test_long_titles_in_grids_neither_overlap_nor_run_out() -> None:
    photos = [np.full((60, 90, 3), 200, np.uint8)] * 4
    fig = plotting.photo_grid(photos, LONG, columns=4, title="Step 3: the new images")
    assert plotting.title_clashes(fig) == []
    fig = plotting.number_grid(np.zeros((4, 54, 54, 3), np.uint8), LONG, columns=4)
    assert plotting.title_clashes(fig) == []


def test_clashing_titles_are_found() -> None:
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 4, figsize=(6, 2))
    for axis, text in zip(axes, LONG):
        axis.set_title(text, fontsize=9)           # unwrapped: each runs into its neighbours
    assert any("overlaps" in clash for clash in plotting.title_clashes(fig))


def test_a_continuation_is_drawn_after_the_epochs_it_builds_on() -> None:
    short = {"loss": [2.0, 1.0], "val_sequence_accuracy": [0.5, 0.7]}
    longer = {"loss": [0.9, 0.8, 0.7], "val_sequence_accuracy": [0.8, 0.85, 0.9]}
    fig = plotting.training_curves({"comparison run": short, "continued": longer}, "curves",
                                   starts={"continued": 2})
    lines = fig.axes[1].get_lines()
    assert list(lines[0].get_xdata()) == [1, 2] and list(lines[1].get_xdata()) == [3, 4, 5]


def test_saved_figures_record_their_title_clashes(tmp_path) -> None:
    import json

    import matplotlib.pyplot as plt

    plotting.setup(tmp_path)
    fig, axes = plt.subplots(1, 4, figsize=(6, 2))
    for axis, text in zip(axes, LONG):
        axis.set_title(text, fontsize=9)
    plotting.save_fig(fig, "crowded")
    assert "crowded" in json.loads((tmp_path / "title_clashes.json").read_text())
    plotting.save_fig(plotting.photo_grid([np.zeros((60, 90, 3), np.uint8)] * 4, LONG, columns=4), "crowded")
    assert json.loads((tmp_path / "title_clashes.json").read_text()) == {}
