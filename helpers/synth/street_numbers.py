"""An offline stand-in for SVHN: house-number photos rendered in SVHN's format-1 layout.

The real SVHN cannot be downloaded on the machines this project is built on, so Step 2 trains on
images made here instead: numbers in many fonts, painted on walls (real photographic textures
from scikit-image and procedural ones) or on plaques, seen in perspective, unevenly lit, blurred,
noisy and JPEG-compressed, with distractor digits beside them. They are written exactly like the
official archives (`train/1.png ...` plus `digitStruct.mat`) so the SVHN code path reads them.
Some fonts and textures are held out of training (`HELD_OUT_FONTS`, `HELD_OUT_TEXTURES`) so that
Step 3 can make new images the model has never seen the like of.
"""
from __future__ import annotations

import io
import json
from dataclasses import asdict
from pathlib import Path

import numpy as np
from PIL import Image

from helpers.core import config, paths
from helpers.core.boxes import from_ltwh, to_pil, union
from helpers.datasets import digitstruct
from helpers.synth import fonts, framing, street_drawing
from helpers.synth.street_drawing import TRAIN_TEXTURES, StreetConfig

# The full run's stand-in (rendered once, about 3 minutes here), with the run's seed, so that the
# report command's data step renders what the notebook will use.
FULL_RUN_COUNTS = config.FULL.step2.counts
FULL_RUN_SEED = config.SEED


def standin_config(step: config.Step2Config) -> StreetConfig:
    """How the stand-in of a run is drawn: its geometry and look from the run's configuration (Step2Config)."""
    return StreetConfig(geometry=step.standin_geometry, look=step.standin_look)


FULL_RUN_CONFIG = standin_config(config.FULL.step2)   # what the full run renders


def render_house_number(rng: np.random.Generator, config: StreetConfig = StreetConfig(), *,
                        fonts: list[Path] | None = None, textures: tuple[str, ...] = TRAIN_TEXTURES,
                        digits: list[int] | None = None, blank: bool = False, split: str = "train"
                        ) -> tuple[np.ndarray, tuple[int, ...], np.ndarray]:
    """One stand-in photo: (RGB uint8 image, digits, per-digit boxes as left/top/width/height).

    `blank=True` renders the same kind of scene with the characters left out (an empty plaque, a
    bare wall): a photo with no number, returned with no digits and no boxes. With
    `config.geometry == "svhn"` the photo is framed like one of real SVHN's `split` photos (its
    size, the length of its number, where the number sits, how much of the photo it fills).
    """
    table = framing.frames(split) if config.geometry == "svhn" else None
    frame = framing.sample(rng, table) if table is not None else None
    if fonts is None:    # a family first, then one of its files: big families do not crowd out the rest
        families = list(street_drawing.families(config.font_set))
        family = families[rng.integers(len(families))]
        fonts = list(family)
    if digits is None:
        if frame is not None:
            length = frame.length
        else:
            length = rng.choice(len(config.lengths), p=np.asarray(config.lengths) / sum(config.lengths)) + 1
        digits = rng.integers(0, 10, length).tolist()
        # Longer house numbers rarely start with 0; a lone digit is a 0 as often as any other (a reader
        # that never saw one reads a lone 0 as a 6: 26 of Chars74K's 105 zeros before this rule).
        if digits[0] == 0 and (length > 1 or not config.lone_zeros) and rng.random() < 0.9:
            digits[0] = int(rng.integers(1, 10))
    if frame is None:
        size = int(rng.integers(24, 48))
    else:   # drawn near the size it will have in the photo, sometimes smaller (then blown up)
        shown = frame.fill * np.clip(frame.height, 16, config.final_height[1] * 1.5) / 0.72
        size = int(np.clip(shown * rng.uniform(0.6, 1.4), 16, 72))
    distractors = rng.random() < (config.distractors + 0.2 if config.clutter else config.distractors)
    text, boxes, extent = street_drawing.text_layer(rng, digits, fonts[rng.integers(len(fonts))], size, distractors,
                                                    config, frame)
    if blank:
        text = Image.new("RGBA", text.size)
    width, height = text.size
    wall = street_drawing.wall(rng, height, width, config, textures)
    if config.clutter and rng.random() < 0.6:
        wall = street_drawing.clutter(wall, extent, rng)
    behind = wall[int(extent[1]):int(extent[3]) + 1, int(extent[0]):int(extent[2]) + 1].mean((0, 1))
    if rng.random() < config.plaque:
        behind = street_drawing.random_colour(rng)
        plaque = np.asarray(street_drawing.plaque(Image.new("RGBA", text.size), extent, rng, behind), np.float32)
        wall = wall * (1 - plaque[..., 3:] / 255) + plaque[..., :3] * plaque[..., 3:] / 255
    paint, outline = street_drawing.contrasting(rng, behind), street_drawing.random_colour(rng)
    if config.look and rng.random() < 0.4:      # muted: paint close to the wall, as often in SVHN
        paint = behind + (paint - behind) * rng.uniform(0.5, 0.85)
    rgba = np.asarray(text, np.float32)
    alpha, white = rgba[..., 3:] / 255, rgba[..., :1] / 255
    if rng.random() < 0.3:   # a drop shadow under painted or raised numbers
        dx, dy = rng.integers(-3, 4, 2)
        wall = wall * (1 - np.roll(np.roll(alpha, dy, 0), dx, 1) * rng.uniform(0.3, 0.7))
    image = wall * (1 - alpha) + (white * paint + (1 - white) * outline) * alpha
    if config.look and rng.random() < 0.35 and not blank:   # raised or engraved metal and plastic digits
        image = image + street_drawing.relief(alpha, rng, size)[..., None]
    # Uneven light: a smooth multiplicative gradient, sometimes a hard shadow edge or a highlight.
    y, x = (axis.astype(np.float32) for axis in np.ogrid[0:height, 0:width])   # broadcast, not full grids
    light = 1 + rng.uniform(-0.45, 0.45) * (x / width - 0.5) + rng.uniform(-0.45, 0.45) * (y / height - 0.5)
    if rng.random() < 0.2:
        light = light * np.where(x * rng.uniform(-1, 1) + y * rng.uniform(-1, 1) > rng.uniform(-0.5, 0.5) * width,
                                 rng.uniform(0.4, 0.8), 1.0)
    if config.look and rng.random() < 0.15:    # a specular highlight (glossy enamel, a lamp)
        centre_x, centre_y = rng.uniform(extent[0], extent[2]), rng.uniform(extent[1], extent[3])
        spread = (extent[3] - extent[1]) * rng.uniform(0.3, 1.0)
        light = light + rng.uniform(0.3, 0.9) * np.exp(-((x - centre_x) ** 2 + (y - centre_y) ** 2) / (2 * spread ** 2))
    image = np.clip(image * np.asarray(light, np.float32)[..., None], 0, 255)
    # Camera: rotation + perspective as one homography, applied to the image and the boxes.
    centre = np.array([width / 2, height / 2])
    angle = np.deg2rad(rng.uniform(-config.rotation, config.rotation))
    rotation = np.array([[np.cos(angle), -np.sin(angle)], [np.sin(angle), np.cos(angle)]])
    corners = np.array([[0, 0], [width, 0], [width, height], [0, height]], np.float64)
    moved = (corners - centre) @ rotation.T + centre
    moved += rng.uniform(-config.perspective, config.perspective, (4, 2)) * [width, height]
    forward = street_drawing.homography(corners, moved)
    inverse = np.linalg.inv(forward)
    inverse = inverse / inverse[2, 2]
    fill = tuple(int(c) for c in wall.mean((0, 1)))
    warped = Image.fromarray(image.astype(np.uint8)).transform(
        (width, height), Image.PERSPECTIVE, tuple(inverse.reshape(-1)[:8]), Image.BILINEAR, fillcolor=fill)
    boxes = street_drawing.warp_boxes(boxes, forward)
    if frame is not None:
        final, boxes = street_drawing.framed(warped, boxes, frame, rng, fill, config)
    else:   # crop around the number with uneven margins, as SVHN's photos are, then shrink
        around = to_pil(union(from_ltwh(boxes)))   # left, top, right, bottom of all the digits
        number_w, number_h = around[2] - around[0], around[3] - around[1]
        left = max(0, int(around[0] - number_w * rng.uniform(0.1, 0.8) - number_h * 0.2))
        right = min(width, int(around[2] + number_w * rng.uniform(0.1, 0.8) + number_h * 0.2))
        top = max(0, int(around[1] - number_h * rng.uniform(0.15, 0.7)))
        bottom = min(height, int(around[3] + number_h * rng.uniform(0.15, 0.7)))
        frame_image = warped.crop((left, top, right, bottom))
        boxes = boxes - [left, top, 0, 0]
        scale = rng.integers(*config.final_height) / frame_image.height
        final = frame_image.resize((max(8, round(frame_image.width * scale)), max(8, round(frame_image.height * scale))),
                                   Image.BILINEAR)
        boxes = boxes * scale
    final = street_drawing.camera(final, rng, config)
    pixels = np.asarray(final, np.float64) + rng.normal(0, rng.uniform(0, config.noise), (final.height, final.width, 1))
    buffer = io.BytesIO()
    Image.fromarray(np.clip(pixels, 0, 255).astype(np.uint8)).save(buffer, "JPEG",
                                                                  quality=int(rng.integers(*config.jpeg_quality)))
    result = np.asarray(Image.open(buffer).convert("RGB"))
    if blank:
        return result, (), np.zeros((0, 4))
    # Boxes inside the photo (a stretched number may reach its edge), at least a pixel each way.
    right_edges = np.minimum(boxes[:, 0] + boxes[:, 2], result.shape[1])
    bottom_edges = np.minimum(boxes[:, 1] + boxes[:, 3], result.shape[0])
    boxes[:, :2] = boxes[:, :2].clip(0, None)
    boxes[:, 2], boxes[:, 3] = right_edges - boxes[:, 0], bottom_edges - boxes[:, 1]
    boxes = np.round(boxes)
    boxes[:, 2:] = np.maximum(boxes[:, 2:], 1)
    return result, tuple(int(d) for d in digits), boxes



def sources(config: StreetConfig) -> dict[str, str]:
    """What a render depends on beyond its settings: the font pool and whether real SVHN framings were found."""
    found = {split: framing.frames(split) is not None for split in ("train", "test")}
    return {"fonts": fonts.fingerprint(fonts.training_families(config.font_set)),
            "geometry": config.geometry if config.geometry == "hand" or all(found.values()) else "hand (no annotations)"}


def _save_png(image: np.ndarray, path: Path) -> None:
    """Write a PNG under a temporary name, then rename it: an interrupted render leaves no truncated photo."""
    temporary = path.with_name(path.name + ".part")
    Image.fromarray(image).save(temporary, format="PNG", compress_level=1)
    temporary.replace(path)


def _render_chunk(folder: Path, seed: int, indices: list[int], config: StreetConfig) -> list[digitstruct.Annotation]:
    """Render and save images `indices` (worker side); image i depends only on (seed, i)."""
    annotations = []
    for index in indices:
        image, digits, boxes = render_house_number(np.random.default_rng((seed, index)), config,
                                                   split="test" if folder.name == "test" else "train")
        name = f"{index + 1}.png"
        _save_png(image, folder / name)
        annotations.append(digitstruct.Annotation(name, digits, boxes))
    return annotations


def _render_blank_chunk(folder: Path, seed: int, indices: list[int], config: StreetConfig) -> list[str]:
    """Render photos `indices` of the same scenes with no number (worker side)."""
    names = []
    for index in indices:
        image, _, _ = render_house_number(np.random.default_rng((seed, index)), config, blank=True)
        names.append(f"blank-{index + 1}.png")
        _save_png(image, folder / names[-1])
    return names


def blank_scenes(count: int, seed: int, config: StreetConfig = StreetConfig(), root: Path | None = None,
                 progress: bool = True, workers: int | None = None) -> list[Path]:
    """Make (or reuse) `count` photos without a number (walls, empty plaques): the localizer's negatives."""
    import hashlib

    settings = {"count": count, "seed": seed, "config": asdict(config), "sources": sources(config), "version": 2}
    key = hashlib.sha256(json.dumps(settings, sort_keys=True).encode()).hexdigest()[:10]
    folder = Path(root or paths.cache_dir()) / f"blank-scenes-{key}"
    done = folder / "done.json"
    if not done.exists():
        folder.mkdir(parents=True, exist_ok=True)
        _render_all(_render_blank_chunk, folder, count, seed, config, "rendering scenes without a number",
                    progress, workers)
        done.write_text(json.dumps(settings))     # written last: marks a complete folder
    return [folder / f"blank-{index + 1}.png" for index in range(count)]


def _render_all(worker, folder: Path, count: int, seed: int, config: StreetConfig, description: str,
                progress: bool, workers: int | None) -> list:
    """Run `worker(folder, seed, indices, config)` over chunks of 250 images, in parallel; results in order."""
    import multiprocessing
    import os
    from concurrent.futures import ProcessPoolExecutor

    from tqdm import tqdm

    chunks = [list(range(start, min(start + 250, count))) for start in range(0, count, 250)]
    workers = workers or min(os.cpu_count() or 1, len(chunks), 8)
    bar = tqdm(total=count, desc=description, disable=not progress, mininterval=5)
    done: list = []
    if workers > 1:   # spawn, not fork: the parent may hold TensorFlow's threads
        with ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context("spawn")) as pool:
            for part in pool.map(worker, *zip(*[(folder, seed, c, config) for c in chunks])):
                done += part
                bar.update(len(part))
    else:
        for chunk in chunks:
            part = worker(folder, seed, chunk, config)
            done += part
            bar.update(len(part))
    bar.close()
    return done


def write_split(folder: Path, count: int, seed: int, config: StreetConfig = StreetConfig(), *,
                progress: bool = True, workers: int | None = None) -> Path:
    """Render `count` images into `folder` as 1.png ... plus digitStruct.mat (SVHN format 1)."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    annotations = _render_all(_render_chunk, folder, count, seed, config, f"rendering {folder.name}", progress, workers)
    temporary = folder / "digitStruct.mat.tmp"
    digitstruct.write_digit_struct(temporary, annotations)
    temporary.replace(folder / "digitStruct.mat")    # written last: its presence marks a complete split
    return folder


def standin_dataset(counts: dict[str, int], seed: int = 0, config: StreetConfig = StreetConfig(),
                    root: Path | None = None, progress: bool = True) -> Path:
    """Make (or reuse) the stand-in's train/ and test/ folders; returns their parent folder."""
    settings = {"counts": counts, "seed": seed, "config": asdict(config), "sources": sources(config), "version": 2}
    import hashlib

    key = hashlib.sha256(json.dumps(settings, sort_keys=True).encode()).hexdigest()[:10]
    root = Path(root or paths.cache_dir()) / f"svhn-standin-{key}"
    for offset, (split, count) in enumerate(sorted(counts.items())):
        if not (root / split / "digitStruct.mat").exists():
            write_split(root / split, count, seed=seed * 1000 + offset, config=config, progress=progress)
    (root / "settings.json").write_text(json.dumps(settings, indent=1))
    return root


if __name__ == "__main__":
    # The report command's data step: render the full run's stand-in (cached) unless the real SVHN is
    # in the data folder, so the notebook finds its data ready, as it finds MNIST.
    import time

    if all((paths.data_dir() / "svhn" / split / "digitStruct.mat").exists() for split in ("train", "test")):
        print(f"real SVHN found in {paths.data_dir() / 'svhn'}; no stand-in needed")
    else:
        start = time.perf_counter()
        root = standin_dataset(FULL_RUN_COUNTS, seed=FULL_RUN_SEED, config=FULL_RUN_CONFIG)
        print(f"SVHN stand-in (rendered, not real SVHN) ready in {root} ({time.perf_counter() - start:.0f} s)")
