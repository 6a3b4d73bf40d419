"""Report figures: panel titles wrapped to their panels, legends off the data, every text readable in the report."""
from __future__ import annotations

import matplotlib

matplotlib.use("Agg")
import numpy as np  # noqa: E402

from helpers.report import plotting  # noqa: E402

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


def test_saved_figures_record_what_makes_them_hard_to_read(tmp_path) -> None:
    import json

    import matplotlib.pyplot as plt

    plotting.setup(tmp_path)
    fig, axes = plt.subplots(1, 4, figsize=(6, 2))
    for axis, text in zip(axes, LONG):
        axis.set_title(text, fontsize=9)
    plotting.save_fig(fig, "crowded")
    assert "crowded" in json.loads((tmp_path / plotting.PROBLEMS_FILE).read_text())
    plotting.save_fig(plotting.photo_grid([np.zeros((60, 90, 3), np.uint8)] * 4, LONG, columns=4), "crowded")
    assert json.loads((tmp_path / plotting.PROBLEMS_FILE).read_text()) == {}


def test_a_legend_over_a_curve_is_found_and_one_beside_the_data_is_not() -> None:
    import matplotlib.pyplot as plt

    fig, axis = plt.subplots(figsize=(5, 3))
    epochs = np.arange(1, 11)
    axis.plot(epochs, np.linspace(0.1, 0.9, 10), label="a run with a long name")
    axis.plot(epochs, np.full(10, 0.85), label="another run")
    axis.legend(loc="upper right")             # the flat curve runs right through it
    assert any("legend" in problem and "covers plotted data" in problem for problem in plotting.figure_problems(fig))
    fig, axis = plt.subplots(figsize=(5, 3))
    axis.plot(epochs, np.linspace(0.1, 0.9, 10), label="a run")
    axis.legend(loc="lower right")             # the rising curve is far from that corner
    assert plotting.figure_problems(fig) == []


def test_training_curves_keep_their_legend_off_the_data() -> None:
    runs = {f"setting {k}: a longer name": {"loss": list(np.linspace(2, 0.5, 6) + k / 10),
                                            "val_sequence_accuracy": list(np.linspace(0.3, 0.95, 6) - k / 50)}
            for k in range(4)}
    assert plotting.figure_problems(plotting.training_curves(runs, "curves")) == []


def test_crowded_tick_labels_and_tiny_text_are_found() -> None:
    import matplotlib.pyplot as plt

    fig, axis = plt.subplots(figsize=(3, 2))
    axis.set_xticks(range(12), [f"label {k}" for k in range(12)])
    assert any("tick labels" in problem and "overlap" in problem for problem in plotting.figure_problems(fig))
    fig, axis = plt.subplots(figsize=(16, 2))   # shown scaled down in the report: 7 pt becomes about 6 px
    axis.set_title("a panel title", fontsize=7)
    assert any("'a panel title' is under" in problem for problem in plotting.figure_problems(fig))
    assert plotting.readable_fontsize(16) * plotting.SAVE_DPI / 72 * plotting.REPORT_WIDTH_PX / (16 * 110) > 9


def test_wide_grids_caption_their_panels_in_readable_type() -> None:
    fig = plotting.number_grid(np.zeros((12, 54, 54, 3), np.uint8), LONG * 3, columns=6, title="twelve crops")
    assert plotting.figure_problems(fig) == []
    fig = plotting.photo_grid([np.zeros((60, 90, 3), np.uint8)] * 8, LONG * 2, columns=5, title="eight photos")
    assert plotting.figure_problems(fig) == []


def test_tick_labels_that_run_together_are_found_and_the_confusion_matrix_slants_its_words() -> None:
    import matplotlib.pyplot as plt

    labels = [str(d) for d in range(10)] + ["other", "none"]
    fig, axis = plt.subplots(figsize=(6.2, 4.5))
    axis.imshow(np.ones((10, 12)))
    axis.set(xticks=range(12), xticklabels=labels)          # "other" and "none" touch: "othernone"
    assert any("tick labels" in problem for problem in plotting.figure_problems(fig))
    matrix = np.zeros((10, 12), np.int64)
    matrix[:, 10] = 50
    assert plotting.figure_problems(plotting.confusion(matrix, labels, "Chars74K digits")) == []


def test_a_number_too_small_to_check_in_the_report_is_a_problem() -> None:
    import re

    photo = np.zeros((400, 600, 3), np.uint8)     # a 6-column grid shows it about 115 px tall: 1 px of it is 0.29
    tiny = plotting.photo_grid([photo] * 6, ["a photo"] * 6, columns=6, true_frames=[np.array([200, 300, 214, 340])] * 6)
    problems = plotting.figure_problems(tiny)
    assert len(problems) == 6 and all("px tall in the report (under 10)" in problem for problem in problems)
    assert 3 <= int(re.search(r"is (\d+) px tall", problems[0]).group(1)) <= 5     # a number 4 px tall is flagged
    large = plotting.photo_grid([photo] * 6, ["a photo"] * 6, columns=6, true_frames=[np.array([100, 100, 300, 500])] * 6)
    assert plotting.figure_problems(large) == []


def test_captions_break_long_file_names_after_an_underscore_never_inside_a_part() -> None:
    assert plotting._wrap("real_generator_label_125: read 2 (0.56)", 20) == "real_generator_\nlabel_125: read 2\n(0.56)"
    assert plotting._wrap("a short title that wraps at spaces only", 12) == "a short\ntitle that\nwraps at\nspaces only"
    assert all(len(line) <= 20 for line in plotting._wrap("one two three four five six seven", 20).splitlines())
