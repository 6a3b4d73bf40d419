"""Figures for the report, all saved through one helper."""
from __future__ import annotations

from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np

FIGURE_DIR: Path | None = None
SAVE_DPI = 110          # savefig.dpi of the report's figures
REPORT_WIDTH_PX = 1000  # report.html shows a figure at most about this wide (wider PNGs are scaled down)
MIN_TEXT_PX = 9         # text smaller than this, as report.html shows it, is hard to read
MIN_NUMBER_PX = 10      # a true number box shorter than this in report.html shows digits nobody can check
PROBLEMS_FILE = "figure_problems.json"


def setup(figure_dir: Path) -> None:
    """Plot defaults for the whole report, and the folder that `save_fig` writes to."""
    global FIGURE_DIR
    FIGURE_DIR = Path(figure_dir)
    FIGURE_DIR.mkdir(parents=True, exist_ok=True)
    plt.rcParams.update({"figure.dpi": 90, "savefig.dpi": SAVE_DPI, "axes.titlesize": 11,
                         "axes.labelsize": 10, "font.size": 10, "image.cmap": "gray",
                         "axes.grid": False})
    _add_alt_text_to_inline_figures()


def describe_figure(fig: plt.Figure, limit: int = 300) -> str:
    """A figure's alternative text for the HTML report: its title, else its panels' titles and axis labels."""
    if fig.get_suptitle().strip():
        parts = [fig.get_suptitle()]
    else:
        parts = []
        for axis in fig.axes:
            title = axis.get_title() or axis.get_title("left")
            labels = " against ".join(text for text in (axis.get_ylabel(), axis.get_xlabel()) if text)
            part = f"{title} ({labels})" if title and labels else title or labels
            if part and part not in parts:
                parts.append(part)
    text = " ".join("; ".join(parts).split()) or "A figure without a title"
    return text if len(text) <= limit else text[:limit - 3].rstrip() + "..."


def _add_alt_text_to_inline_figures() -> None:
    """In a notebook, give every shown figure's PNG its `describe_figure` text as "alt" metadata.

    nbconvert's HTML export (with scripts/report_template) writes that metadata into each <img>,
    so a screen reader can tell what report.html's figures show. Outside IPython this does nothing.
    """
    try:
        from IPython import get_ipython
    except ImportError:
        return
    shell = get_ipython()
    if shell is None:
        return
    formatter = shell.display_formatter.formatters["image/png"]
    if plt.Figure not in formatter.type_printers:
        # The inline backend registers its PNG renderer when its module is first loaded, which pyplot
        # otherwise does lazily at the first figure; load it now, so there is a renderer to wrap.
        # (Switching closes open figures, hence only when nothing is registered yet.)
        plt.switch_backend(plt.get_backend())
    render = formatter.type_printers.get(plt.Figure)
    if render is None or getattr(render, "adds_alt_text", False):
        return   # no inline PNG rendering to wrap, or already wrapped (setup called twice)

    def render_with_alt(fig: plt.Figure):
        png = render(fig)
        return (png, {"alt": describe_figure(fig)}) if png is not None else None

    render_with_alt.adds_alt_text = True
    formatter.for_type(plt.Figure, render_with_alt)


def save_fig(fig: plt.Figure, name: str) -> Path:
    """Save a figure as `<figure_dir>/<name>.png` (tight layout) and return its path."""
    if FIGURE_DIR is None:
        raise ValueError("call plotting.setup(folder) before saving figures.")
    path = FIGURE_DIR / f"{name}.png"
    if fig.get_layout_engine() is None:      # grids lay themselves out (constrained), the rest here
        fig.tight_layout()
    _record_problems(name, figure_problems(fig))
    fig.savefig(path, bbox_inches="tight")
    return path


def show(fig: plt.Figure, name: str) -> Path:
    """Save a figure (`save_fig`), then show it in the notebook."""
    path = save_fig(fig, name)
    plt.show()
    return path


def _record_problems(name: str, problems: list[str]) -> None:
    """Keep `<figure_dir>/figure_problems.json` (figure name -> what makes it hard to read) for the tests."""
    import json

    record_path = FIGURE_DIR / PROBLEMS_FILE
    record = json.loads(record_path.read_text()) if record_path.exists() else {}
    if problems:
        record[name] = problems
    else:
        record.pop(name, None)
    record_path.write_text(json.dumps(record, indent=1))


def caption(text: str, panel_inches: float, fontsize: float = 9) -> str:
    """A panel title wrapped to the panel's width (about 0.65 em per character), so neighbours never overlap;
    a word too long for a line (a file name) breaks after an underscore or a hyphen, never inside a part."""
    per_line = max(8, int(panel_inches * 72 / (0.65 * fontsize)))
    return "\n".join(_wrap(line, per_line) for line in str(text).splitlines() or [""])


def _wrap(line: str, width: int) -> str:
    """Greedy wrap of one line at spaces, and inside long words after "_" or "-"."""
    import re

    pieces = []                                      # (text, joins the previous piece without a space)
    for word in line.split():
        parts = re.findall(r"[^_-]*[_-]|[^_-]+", word) if len(word) > width else [word]
        parts = [part[i:i + width] for part in parts for i in range(0, len(part), width)]   # no separator: cut
        pieces += [(part, index > 0) for index, part in enumerate(parts)]
    lines, current = [], ""
    for part, glued in pieces:
        joined = current + ("" if glued or not current else " ") + part
        if current and len(joined) > width:
            lines.append(current)
            current = part
        else:
            current = joined
    return "\n".join([*lines, current])


def title_clashes(fig: plt.Figure) -> list[str]:
    """Titles that overlap one another or run out of the figure, laid out as `save_fig` saves it."""
    if fig.get_layout_engine() is None:
        fig.tight_layout()
    fig.canvas.draw()
    renderer = fig.canvas.get_renderer()
    canvas = fig.bbox
    texts = [axis.title for axis in fig.axes if axis.get_title()] + ([fig._suptitle] if fig._suptitle else [])
    # Shrunk by 2 px: text boxes include line spacing, and boxes that merely touch leave the words legible.
    boxes = [(text.get_text(), text.get_window_extent(renderer).padded(-2)) for text in texts]
    clashes = [f"{name!r} runs out of the figure" for name, box in boxes
               if box.x0 < canvas.x0 - 1 or box.x1 > canvas.x1 + 1]
    for index, (name, box) in enumerate(boxes):
        clashes += [f"{name!r} overlaps {other!r}" for other, other_box in boxes[index + 1:] if box.overlaps(other_box)]
    return clashes


def readable_fontsize(width_inches: float, points: float = 9.0) -> float:
    """The font size (points) for text in a figure `width_inches` wide that still shows at least
    MIN_TEXT_PX + 1 pixels tall in report.html, which scales wide figures down; at least `points`."""
    return max(points, (MIN_TEXT_PX + 1) * 72 / (SAVE_DPI * _shown_scale(width_inches)))


def _shown_scale(width_inches: float) -> float:
    """How much report.html scales a figure `width_inches` wide (1: shown at its own size)."""
    return min(1.0, REPORT_WIDTH_PX / (width_inches * SAVE_DPI))


def figure_problems(fig: plt.Figure) -> list[str]:
    """What makes a figure hard to read, laid out as `save_fig` saves it: titles that overlap or run out
    of it, a legend over plotted data or over tick labels, tick labels over each other, text smaller
    than MIN_TEXT_PX pixels and true number boxes shorter than MIN_NUMBER_PX as report.html shows the figure."""
    from matplotlib.text import Text

    problems = title_clashes(fig)           # lays the figure out and draws it
    renderer = fig.canvas.get_renderer()
    shown = _shown_scale(fig.get_figwidth())
    drawn = {axis: _drawn_tick_labels(axis) for axis in fig.axes}
    legends = [(axis, axis.get_legend()) for axis in fig.axes if axis.get_legend()] + \
        [(None, legend) for legend in fig.legends]
    tick_boxes = [label.get_window_extent(renderer) for ticks in drawn.values() for labels in ticks for label in labels]
    for owner, legend in legends:
        box = legend.get_window_extent(renderer).padded(-1)
        where = f"the legend of {owner.get_title()!r}" if owner is not None and owner.get_title() else "a legend"
        if any(any(_line_crosses(line, box) for line in axis.get_lines())
               or any(patch.get_window_extent(renderer).overlaps(box) for patch in axis.patches) for axis in fig.axes):
            problems.append(f"{where} covers plotted data")
        if any(tick.overlaps(box) for tick in tick_boxes):
            problems.append(f"{where} covers tick labels")
    for axis, ticks_of_axis in drawn.items():
        for ticks in ticks_of_axis:
            # Grown by 1.5 px: labels that merely touch ("othernone") read as one word.
            boxes = [t.get_window_extent(renderer).padded(1.5) for t in ticks]
            if any(a.overlaps(b) for i, a in enumerate(boxes) for b in boxes[i + 1:]):
                problems.append(f"tick labels of {axis.get_title() or 'a panel'!r} overlap")
    hidden = {id(label) for axis in fig.axes for label in (*axis.get_xticklabels(), *axis.get_yticklabels())} - \
        {id(label) for ticks in drawn.values() for labels in ticks for label in labels}
    small = sorted({t.get_text().split(chr(10))[0][:30] for t in fig.findobj(Text)
                    if t.get_visible() and t.get_text().strip() and id(t) not in hidden
                    and t.get_fontsize() * SAVE_DPI / 72 * shown < MIN_TEXT_PX})
    problems += [f"{text!r} is under {MIN_TEXT_PX} px tall in the report" for text in small]
    for axis in fig.axes:
        for patch in (p for p in axis.patches if p.get_gid() == "number"):
            tall = patch.get_window_extent(renderer).height * SAVE_DPI / fig.dpi * shown
            if tall < MIN_NUMBER_PX:
                title = (axis.get_title().splitlines() or [""])[0][:30] or "a panel"
                problems.append(f"the number in {title!r} is {tall:.0f} px "
                                f"tall in the report (under {MIN_NUMBER_PX})")
    return problems


def _drawn_tick_labels(axis) -> tuple[list, list]:
    """(x, y) tick labels an axes really draws: none when its axis is off, and only ticks inside its limits
    (matplotlib keeps labels for ticks just outside, which are never drawn)."""
    if not axis.axison:
        return [], []

    def inside(labels, limits, coordinate: int) -> list:
        low, high = sorted(limits)
        span = (high - low) * 1e-6
        return [label for label in labels if label.get_visible() and label.get_text().strip()
                and low - span <= label.get_position()[coordinate] <= high + span]

    return (inside(axis.get_xticklabels(), axis.get_xlim(), 0) if axis.xaxis.get_visible() else [],
            inside(axis.get_yticklabels(), axis.get_ylim(), 1) if axis.yaxis.get_visible() else [])


def _line_crosses(line, box) -> bool:
    """Whether a plotted line (its points and the segments between them) passes through a display box."""
    points = line.get_transform().transform(np.asarray(line.get_xydata(), float))
    points = points[np.isfinite(points).all(1)]
    if len(points) > 1:   # ten samples along each segment, so a line through the box without a point in it counts
        steps = np.linspace(0, 1, 10)[:, None, None]
        points = (points[:-1] + steps * (points[1:] - points[:-1])).reshape(-1, 2)
    return bool(((points[:, 0] > box.x0) & (points[:, 0] < box.x1) & (points[:, 1] > box.y0) & (points[:, 1] < box.y1)).any())


def number_grid(images: np.ndarray, titles: list[str], columns: int = 4, title: str = "",
                title_colors: list[str] | None = None) -> plt.Figure:
    """Show images (n, h, w[, c]) in a grid with a caption above each."""
    rows = int(np.ceil(len(images) / columns))
    height, width = images.shape[1:3]
    panel = 2.6 * width / max(height * 2.5, width)
    size = readable_fontsize(columns * panel)      # wide grids are shown scaled down: larger type
    captions = [caption(text, panel, size) for text in titles]
    lines = max((text.count("\n") + 1 for text in captions), default=1)
    fig, axes = plt.subplots(rows, columns, figsize=(columns * panel,
                                                     rows * (2.6 * height / max(width / 2.5, height) * 0.55
                                                             + size / 60 * (lines - 1)) + 0.4),
                             squeeze=False, layout="constrained")
    for index, axis in enumerate(axes.flat):
        axis.axis("off")
        if index < len(images):
            image = images[index]
            axis.imshow(image[..., 0] if image.ndim == 3 and image.shape[-1] == 1 else image,
                        vmin=0, vmax=255)
            color = title_colors[index] if title_colors else "black"
            axis.set_title(captions[index], fontsize=size, color=color)
    if title:
        fig.suptitle(title)
    return fig


def training_curves(histories: dict[str, dict[str, list[float]]], title: str,
                    starts: dict[str, int] | None = None) -> plt.Figure:
    """Training loss and validation whole-number accuracy per epoch, one line per model.

    `starts` gives a run the epoch it continues after (a continuation of a 2-epoch comparison
    run starts at 2), so it is drawn after the epochs it builds on, not on top of them.
    """
    fig, (loss_axis, accuracy_axis) = plt.subplots(1, 2, figsize=(10, 3.6), layout="constrained")
    for label, history in histories.items():
        epochs = np.arange(1, len(history["loss"]) + 1) + (starts or {}).get(label, 0)
        loss_axis.plot(epochs, history["loss"], marker="o", ms=3, label=label)
        accuracy_axis.plot(epochs, 100 * np.asarray(history["val_sequence_accuracy"]), marker="o", ms=3,
                           label=label)
    loss_axis.set(xlabel="epoch", ylabel="training loss (sum over heads)", title="Training loss",
                  yscale="log")
    accuracy_axis.set(xlabel="epoch", ylabel="whole-number accuracy (%)", title="Validation accuracy")
    from matplotlib.ticker import MaxNLocator

    for axis in (loss_axis, accuracy_axis):
        axis.grid(alpha=0.3)
        axis.xaxis.set_major_locator(MaxNLocator(integer=True))    # epochs are whole
    # One legend for both panels, below them: inside a panel it hid curves and labels.
    fig.legend(*loss_axis.get_legend_handles_labels(), loc="outside lower center",
               ncol=min(len(histories), 2), frameon=False)
    fig.suptitle(title)
    return fig


def framing_curves(scores: dict[str, dict[str, float]], title: str) -> plt.Figure:
    """Whole-number accuracy end to end against the room left around the number, one line per reader."""
    fig, axis = plt.subplots(figsize=(6.4, 3.4), layout="constrained")
    for label, by_margin in scores.items():
        margins = [float(m) for m in by_margin]
        axis.plot(margins, [100 * v for v in by_margin.values()], marker="o", label=label)
    axis.set(xlabel="room left around the number (in number heights)", ylabel="read right end to end (%)",
             title=title, ylim=(0, 100))
    axis.grid(alpha=0.3)
    axis.legend(frameon=False, loc="lower right")
    return fig


def confusion(matrix: np.ndarray, labels: list[str], title: str, rows: int | None = None) -> plt.Figure:
    """A confusion matrix with counts, on a log colour scale so rare errors stay visible.

    `rows` keeps only the first rows (e.g. the true classes that can occur).
    """
    matrix = matrix[:rows] if rows else matrix
    # Cells wider than tall (aspect "auto"): a word under a column ("other", "none") needs the room.
    fig, axis = plt.subplots(figsize=(0.55 * matrix.shape[1] + 1.6, 0.38 * len(matrix) + 0.7))
    shown = np.ma.masked_equal(matrix, 0)
    image = axis.imshow(np.ma.log10(shown), cmap="viridis", aspect="auto")
    for (row, col), value in np.ndenumerate(matrix):
        if value:
            axis.text(col, row, str(value), ha="center", va="center", fontsize=7,
                      color="white" if row != col else "black")
    axis.set(xticks=range(len(labels)), yticks=range(len(matrix)), xticklabels=labels,
             yticklabels=labels[:len(matrix)], xlabel="predicted", ylabel="true", title=title)

    fig.colorbar(image, ax=axis, label="log10(count)")
    return fig


def photo_grid(photos: list[np.ndarray], titles: list[str], *, digit_boxes: list[np.ndarray] | None = None,
               frames: list[np.ndarray] | None = None, columns: int = 4, title: str = "",
               title_colors: list[str] | None = None, true_frames: list[np.ndarray | None] | None = None
               ) -> plt.Figure:
    """Photos of different sizes in a grid, with digit boxes (left, top, width, height; red),
    number frames (top, left, bottom, right; yellow, dashed: e.g. predicted) and true number boxes
    (top, left, bottom, right; green) drawn on them."""
    from matplotlib.patches import Rectangle

    rows = int(np.ceil(len(photos) / columns))
    size = readable_fontsize(columns * 2.8)        # wide grids are shown scaled down: larger type
    captions = [caption(text, 2.8, size) for text in titles]
    lines = max((text.count("\n") + 1 for text in captions), default=1)
    fig, axes = plt.subplots(rows, columns, figsize=(columns * 2.8, rows * (1.9 + size / 60 * (lines - 1)) + 0.4),
                             squeeze=False, layout="constrained")
    for index, axis in enumerate(axes.flat):
        axis.axis("off")
        if index >= len(photos):
            continue
        axis.imshow(photos[index])
        for left, top, width, height in ([] if digit_boxes is None else digit_boxes[index]):
            axis.add_patch(Rectangle((left, top), width, height, fill=False, color="red", lw=1))
        # The true box first, the predicted one dashed on top of it: a close prediction stays visible.
        if true_frames is not None and true_frames[index] is not None:
            top, left, bottom, right = true_frames[index]
            axis.add_patch(Rectangle((left, top), right - left, bottom - top, fill=False, color="lime", lw=2.5,
                                     gid="number"))      # `figure_problems` checks its size
        if frames is not None and frames[index] is not None:
            top, left, bottom, right = frames[index]
            axis.add_patch(Rectangle((left, top), right - left, bottom - top, fill=False, color="yellow",
                                     lw=1.5, ls="--", zorder=3))
        axis.set_title(captions[index], fontsize=size, color=title_colors[index] if title_colors else "black")
    if title:   # at least as large as the panels' captions: a wide grid is shown scaled down
        from matplotlib.font_manager import FontProperties

        default = FontProperties(size=plt.rcParams["figure.titlesize"]).get_size_in_points()
        fig.suptitle(title, fontsize=max(size * 1.15, default))
    return fig
