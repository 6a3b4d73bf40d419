"""Step 3's `images/` folder: the images, their labels, and how a reading of each is scored.

    from helpers.datasets import new_images
    folder = new_images.load()                     # every image file, with labels.json's entries
    scores = new_images.score(folder, readings)    # real photographs and made images apart

`labels.json` holds, per file: `number` (the true number, "" when there is none), `box` (top, left,
bottom, right in the image's upright pixels, or null), `how` (what makes it hard) and `kind`
("real photo" or "made"). A photo that shows two numbers lists the other in `accept`; either
reading is right. Real photographs also carry `source` and `attribution` (their licence is in
`images/licenses/`). Files without an entry are read but not scored.
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from helpers.core import boxes as box_tools
from helpers.core import images, paths
from helpers.core.labels import confidence_text
from helpers.modeling import metrics

REAL, MADE = "real photo", "made"


@dataclass(frozen=True)
class NewImages:
    """The images of a folder, as the models read them, with their labels (None: unlabelled)."""

    paths: list[Path]
    photos: list[np.ndarray]
    labels: list[dict | None]

    def truth(self) -> list[str | None]:
        """Each image's true number (None: unlabelled, "": no number)."""
        return [None if label is None else label["number"] for label in self.labels]

    def kinds(self) -> list[str | None]:
        """Each image's kind: real photo, made, or None when unlabelled."""
        return [None if label is None else label.get("kind", MADE) for label in self.labels]


def load(folder: Path | None = None) -> NewImages:
    """Every image file of `folder` (default: the project's images/) with its label: the real photos
    first, then the made images, then unlabelled files, each in name order."""
    folder = Path(folder or paths.PROJECT_ROOT / "images")
    labels_file = folder / "labels.json"
    labels = json.loads(labels_file.read_text()) if labels_file.exists() else {}
    rank = {REAL: 0, MADE: 1}     # unlabelled files: 2

    def order(path: Path) -> int:
        return rank[labels[path.name].get("kind", MADE)] if path.name in labels else 2

    found = sorted(images.list_images(folder), key=order)
    return NewImages(found, [images.load_image(path) for path in found], [labels.get(path.name) for path in found])


def is_right(label: dict | None, number: str) -> bool | None:
    """Whether a reading is right: the true number or one the label accepts too (None: unlabelled)."""
    if label is None:
        return None
    return number == label["number"] or (bool(number) and number in label.get("accept", []))


def verdict_colours(folder: NewImages, readings: list) -> list[str]:
    """A title colour per image: green read right, red read wrong, gray no label to check against (or not read)."""
    return [{None: "gray", True: "green", False: "red"}[None if r is None else is_right(label, r.number)]
            for label, r in zip(folder.labels, readings)]


def score(folder: NewImages, readings: list) -> dict:
    """Right answers among the labelled images (readings None: not read), for all of them and per kind: how
    many hold a number and how many of those were read right; sure answers and how many of them were right."""
    def part(kind: str | None) -> dict:
        chosen = [(label, r) for label, r, k in zip(folder.labels, readings, folder.kinds())
                  if label is not None and r is not None and (kind is None or k == kind)]
        right = [bool(is_right(label, r.number)) for label, r in chosen]
        with_number = [ok for (label, _), ok in zip(chosen, right) if label["number"]]
        return {"labelled": len(chosen), "correct": sum(right), "accuracy": float(np.mean(right)) if right else None,
                "with_number": len(with_number), "numbers_read": sum(with_number)}

    pairs = [(label, r) for label, r in zip(folder.labels, readings) if r is not None and label is not None]
    scores = metrics.score_readings([r for _, r in pairs], [label["number"] for label, _ in pairs],
                                    right=[bool(is_right(label, r.number)) for label, r in pairs]) if pairs else None
    sure = [] if scores is None else scores["_right"][scores["_sure"]].tolist()
    return {"images": sum(r is not None for r in readings), **part(None), "real_photos": part(REAL),
            "made_images": part(MADE), "flagged_unsure": sum(r is not None and r.status != "read" for r in readings),
            "sure": len(sure), "sure_right": sum(sure)}


def in_true_boxes(folder: NewImages, number_reader) -> list:
    """Each image read inside its labelled box, as the reader was trained (None where no box is labelled)."""
    boxed = [i for i, label in enumerate(folder.labels) if label and label.get("box")]
    read = number_reader.read([folder.photos[i] for i in boxed],
                              boxes=np.array([folder.labels[i]["box"] for i in boxed], np.float64)) if boxed else []
    by_index = dict(zip(boxed, read))
    return [by_index.get(i) for i in range(len(folder.labels))]


def around_number(photo: np.ndarray, true_box, found_box, margin: float = 1.0) -> tuple[np.ndarray, object, object]:
    """The photo cut to its true number's box grown by `margin` of its height on every side, and the true and
    found boxes in the cut's pixels (the found box clipped to it; None where it lies outside). Without a true
    box, the whole photo and the boxes as they are: a figure can then show the number at a legible size."""
    if true_box is None:
        return photo, None, found_box
    window = box_tools.around(np.asarray(true_box, np.float64), margin, photo.shape)   # as `real_photos.cut_around`
    shift = np.array([window[0], window[1], window[0], window[1]], np.float64)
    found = None
    if found_box is not None:
        clipped = np.clip(np.asarray(found_box, np.float64), [window[0], window[1]] * 2, [window[2], window[3]] * 2)
        found = clipped - shift if (clipped[2] > clipped[0] and clipped[3] > clipped[1]) else None
    return photo[window[0]:window[2], window[1]:window[3]], np.asarray(true_box, np.float64) - shift, found


def number_heights(folder: NewImages, side: int, kind: str = REAL) -> list[float]:
    """How tall each labelled number of `kind` is with its image's longer side scaled to `side` pixels
    (the localizer's letterboxed input)."""
    return [side * (label["box"][2] - label["box"][0]) / max(photo.shape[:2]) for photo, label, k
            in zip(folder.photos, folder.labels, folder.kinds()) if k == kind and label and label.get("box")]


def box_ious(folder: NewImages, readings: list) -> list[float]:
    """IoU of each found box with the labelled one, for the images that have both (as `entries` gives them)."""
    return [entry["iou"] for entry in entries(folder, readings, with_boxes=True) if entry["iou"] is not None]


def entries(folder: NewImages, readings: list, *, with_boxes: bool = False, with_how: bool = True) -> list[dict]:
    """What the report says per image: name, what makes it hard, the reading, the truth and the box IoU."""
    found = []
    for path, label, r in zip(folder.paths, folder.labels, readings):
        label = label or {}
        box = label.get("box")
        iou = float(box_tools.iou(np.array(r.box), np.array(box))) if with_boxes and box and r.box is not None else None
        truth = label.get("number")
        if truth is not None and is_right(label, r.number):
            truth = r.number            # an accepted second number counts as the truth it read
        found.append({"name": path.name, "how": label.get("how", "") if with_how else "", "truth": truth,
                      "number": r.number, "confidence": r.confidence, "status": r.status, "iou": iou,
                      "kind": label.get("kind")})
    return found


def hits(entries_with_boxes: list[dict], kind: str = REAL, least_iou: float = 0.5) -> list[dict]:
    """The entries of `kind` whose box overlaps the true one by `least_iou` or more."""
    return [e for e in entries_with_boxes if e["kind"] == kind and e["iou"] is not None and e["iou"] >= least_iou]


def box_hits(entries_with_boxes: list[dict], least_iou: float = 0.5) -> dict[str, tuple[int, int]]:
    """Per kind (REAL, MADE): how many boxes overlap the true one by `least_iou` or more, of the images
    that hold a number (entries as `entries(..., with_boxes=True)` gives them)."""
    return {kind: (len(hits(entries_with_boxes, kind, least_iou)),
                   sum(bool(e["truth"]) for e in entries_with_boxes if e["kind"] == kind))
            for kind in (REAL, MADE)}


@dataclass(frozen=True)
class View:
    """One panel of a figure of the new images: a cut of image `index`, the boxes in its pixels, its caption."""

    index: int
    cut: np.ndarray
    true: np.ndarray | None      # the true number's box (None: not in this cut)
    found: np.ndarray | None     # the reader's first box (None: not in this cut)
    title: str = ""
    colour: str = "black"        # as `verdict_colours`: green right, red wrong, gray unlabelled


def views(folder: NewImages, readings: list, margin: float = 1.0) -> list[View]:
    """Each image cut around its true number (`around_number`), captioned with its reading; where the first box
    lies outside that cut, a second panel cut around the box itself follows, so one sees what was taken for it."""
    shown, colours = [], verdict_colours(folder, readings)
    for index, (path, photo, label, r) in enumerate(zip(folder.paths, folder.photos, folder.labels, readings)):
        true_box = (label or {}).get("box")
        cut, true, found = around_number(photo, true_box, r.box, margin)
        shown.append(View(index, cut, true, found, f"{path.stem}: '{r.number}' ({confidence_text(r.confidence)})", colours[index]))
        if true_box is not None and r.box is not None and found is None:
            cut, found_here, _ = around_number(photo, r.box, None, margin)
            shown.append(View(index, cut, None, found_here, f"{path.stem}: where its first box is", colours[index]))
    return shown


def other_numbers(folder: NewImages, found: list[list], kind: str = REAL) -> tuple[int, list[str]]:
    """How many numbers the reader listed after its first answer in the images of `kind` (`found`: each image's
    `read_all`), and those that are a labelled number of their image ("309 in sign.jpg")."""
    others = [(path, label, r.number) for path, label, k, numbers in zip(folder.paths, folder.labels, folder.kinds(), found)
              if k == kind for r in numbers[1:]]
    return len(others), [f"{number} in {path.name}" for path, label, number in others if is_right(label, number)]


def misses(folder: NewImages, all_readings: list[list], located: list, least_iou: float = 0.5) -> list[dict]:
    """Why a real photo's first box missed its number (IoU under `least_iou`): the first box's height and the
    number's, whether any other number found covers it (`all_readings`: each photo's numbers, first first),
    and the IoU of the localizer's own box (`located`: the localizer alone's readings)."""
    def overlap(box, true_box) -> float:
        return 0.0 if box is None else float(box_tools.iou(np.array(box, np.float64), np.array(true_box, np.float64)))

    found = []
    for path, label, numbers, alone in zip(folder.paths, folder.labels, all_readings, located):
        if not label or not label.get("box") or label.get("kind") != REAL or not numbers:
            continue
        first, true_box = numbers[0], label["box"]
        if overlap(first.box, true_box) >= least_iou:
            continue
        found.append({"name": path.name, "number": first.number, "confidence": first.confidence,
                      "first_height": None if first.box is None else first.box[2] - first.box[0],
                      "true_height": true_box[2] - true_box[0], "photo_height": first.image_size[0],
                      "found_later": any(overlap(r.box, true_box) >= least_iou for r in numbers[1:]),
                      "localizer_iou": overlap(alone.box, true_box), "localizer_number": alone.number,
                      "from_localizer": alone.box is not None and overlap(first.box, alone.box) > 0.99})
    return found
