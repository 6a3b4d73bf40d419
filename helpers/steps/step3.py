"""Step 3: the Step 2 reader alone on the new images of `images/`, read whole and inside their true boxes."""
from __future__ import annotations

from helpers.app import reader
from helpers.datasets import new_images
from helpers.modeling import training
from helpers.steps import step2


def crop_reader(step2_reader: training.TrainedModel, real_val_crops) -> tuple[float, reader.NumberReader]:
    """The Step 2 reader with its unsure threshold: the lowest confidence that keeps its answers on the real
    validation photos (in their true boxes) 98% right."""
    threshold = step2.unsure_threshold(step2_reader.model, real_val_crops)
    return threshold, reader.NumberReader.in_boxes(step2_reader.model, min_confidence=threshold)


def figures(folder: new_images.NewImages, whole: list, in_box: list, min_confidence: float) -> dict:
    """Step 3's record: the images read whole and in their true boxes, scored, with where they come from."""
    return {**new_images.score(folder, whole), "min_confidence": min_confidence,
            "in_true_box": new_images.score(folder, in_box),
            "made_by": "scripts/make_new_images.py", "real_from": "licensed-photos (images/README.md)"}


def with_released_reader(record: dict, folder: new_images.NewImages, first: list, released_figures: dict) -> dict:
    """Step 3's record with the released reader's first answers on the real photographs beside it (as Q11 reads them)."""
    found, _ = new_images.box_hits(new_images.entries(folder, first, with_boxes=True, with_how=False))[new_images.REAL]
    return {**record, "released_reader": {"real_photos": {"labelled": record["real_photos"]["labelled"], "found": found,
                                                          "correct": released_figures["real_photos"]["correct"]}}}
