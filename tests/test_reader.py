"""The end-to-end inference helper: any photo in, number + confidences + box (in its pixels) out."""
from __future__ import annotations

import dataclasses
import inspect
import io
import json
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

import helpers

helpers.import_tensorflow_quietly()
from conftest import tiny_number_reader  # noqa: E402
from helpers.app import reader  # noqa: E402
from helpers.core import boxes, config, cropping  # noqa: E402
from helpers.modeling import metrics  # noqa: E402


def _reader(presence: float = 0.99) -> reader.NumberReader:
    """The baseline's path: the 64x64 localizer wired to a known box."""
    return tiny_number_reader(presence=presence, finder="localizer")


@pytest.fixture(scope="module")
def number_reader() -> reader.NumberReader:
    return _reader()


def _photo(height: int, width: int, seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, 256, (height, width, 3), dtype=np.uint8)


def test_box_comes_back_in_the_photos_own_pixels(number_reader) -> None:
    # A 100x200 photo letterboxes to 32x32 with scale 0.16 and 8 rows of padding above; the
    # localizer's fixed box (0.25..0.75 of the square) is rows 0-100, columns 50-150 of the photo.
    reading = number_reader.read(_photo(100, 200))[0]
    np.testing.assert_allclose(reading.box, (0, 50, 100, 150), atol=1e-3)
    assert reading.image_size == (100, 200)
    assert len(reading.number) == 2 and len(reading.digit_confidences) == 2
    assert all(0 <= c <= 1 for c in reading.digit_confidences) and 0 < reading.confidence <= 1


def test_odd_image_modes_and_sizes_are_read(number_reader) -> None:
    rgb = _photo(40, 60)
    sources = [Image.fromarray(rgb).convert("RGBA"), Image.fromarray(rgb).convert("L"),
               Image.fromarray(rgb).convert("P"), (np.arange(40 * 60).reshape(40, 60) * 20).astype(np.uint16),
               _photo(3, 900), _photo(3000, 2500)]
    readings = number_reader.read(sources)
    assert len(readings) == len(sources)
    for reading in readings:
        height, width = reading.image_size
        top, left, bottom, right = reading.box
        assert 0 <= top < bottom <= height and 0 <= left < right <= width
    # A huge photo is read shrunk, but its size and box are given in its own pixels (checked above).
    assert readings[-1].image_size == (3000, 2500)


def test_exif_rotation_is_applied_before_locating(tmp_path: Path, number_reader) -> None:
    upright = _photo(100, 200)
    exif = Image.Exif()
    exif[0x0112] = 6                    # stored sideways: the viewer turns it 90 degrees clockwise
    path = tmp_path / "sideways.jpg"
    Image.fromarray(upright).transpose(Image.Transpose.ROTATE_90).save(path, exif=exif)
    reading = number_reader.read(str(path))[0]
    assert reading.image_size == (100, 200)
    np.testing.assert_allclose(reading.box, (0, 50, 100, 150), atol=1e-3)


def test_an_empty_photo_is_no_number_not_a_one() -> None:
    empty = _reader(presence=0.01)
    reading = empty.read(np.full((80, 120, 3), 200, np.uint8))[0]
    assert reading.number == "" and reading.box is None and reading.status == "no number"
    assert not reading.confident and reading.to_dict()["status"] == "no number"


def test_one_photo_reads_the_same_alone_and_in_a_batch(number_reader) -> None:
    photos = [_photo(50 + 10 * i, 90 + 7 * i, seed=i) for i in range(5)]
    together = number_reader.read(photos, batch_size=4)
    for photo, batched in zip(photos, together):
        alone = number_reader.read(photo)[0]
        assert alone.number == batched.number
        np.testing.assert_allclose(alone.box, batched.box, atol=1e-3)
        np.testing.assert_allclose(alone.digit_confidences, batched.digit_confidences, atol=1e-4)


def test_bad_files_give_clear_errors(tmp_path: Path, number_reader) -> None:
    text = tmp_path / "notes.png"
    text.write_text("not an image")
    with pytest.raises(ValueError, match="image"):
        number_reader.read(str(text))
    with pytest.raises(FileNotFoundError):
        number_reader.read(str(tmp_path / "missing.jpg"))
    png = io.BytesIO()
    Image.fromarray(_photo(64, 64)).save(png, "PNG")
    with pytest.raises(ValueError):
        number_reader.read(png.getvalue()[:200])


def test_given_boxes_skip_the_localizer_and_whole_photo_boxes_span_the_photo() -> None:
    photos = [_photo(50, 80), _photo(30, 30)]
    spans = reader.whole_photo_boxes(photos)
    for photo, box in zip(photos, spans):
        np.testing.assert_allclose(boxes.grown(box, 0.3), (0, 0, *photo.shape[:2]), atol=1e-9)
    only_reader = reader.NumberReader(_reader().reader)
    readings = only_reader.read(photos, boxes=spans)
    np.testing.assert_allclose(readings[0].box, spans[0])
    with pytest.raises(ValueError, match="no localizer"):
        only_reader.read(photos)


def test_save_and_load_round_trip(tmp_path: Path, number_reader) -> None:
    with pytest.raises(FileNotFoundError, match="scripts/report.sh"):
        reader.NumberReader.load(tmp_path)
    with pytest.raises(ValueError, match="digit detector"):
        number_reader.save(tmp_path)                  # the localizer alone is the baseline: not released
    number_reader = tiny_number_reader()
    number_reader.save(tmp_path)
    loaded = reader.NumberReader.load(tmp_path)
    photo = _photo(70, 90)
    first, second = number_reader.read(photo)[0], loaded.read(photo)[0]
    assert first.number == second.number
    np.testing.assert_allclose(first.box, second.box, atol=1e-4)


def test_saved_models_leave_the_optimizer_out(tmp_path: Path) -> None:
    from helpers.modeling import models

    trained = tiny_number_reader()
    models.compile_multihead(trained.reader, 1e-3)
    trained.reader.optimizer.build(trained.reader.trainable_variables)      # Adam's slots exist
    trained.save(tmp_path / "released")
    trained.reader.save(tmp_path / "with_optimizer.keras")
    import zipfile

    import h5py

    def saved_groups(path: Path) -> set[str]:
        with zipfile.ZipFile(path) as archive, h5py.File(io.BytesIO(archive.read("model.weights.h5")), "r") as weights:
            return set(weights)

    assert "optimizer" in saved_groups(tmp_path / "with_optimizer.keras")
    assert "optimizer" not in saved_groups(tmp_path / "released" / reader.READER_FILE)
    photo = _photo(70, 90)
    assert reader.NumberReader.load(tmp_path / "released").read(photo)[0].number == trained.read(photo)[0].number


def test_default_models_folder_follows_the_run_mode(monkeypatch, tmp_path: Path) -> None:
    from helpers.core import paths

    monkeypatch.delenv("DIGITS_MODELS_DIR", raising=False)
    monkeypatch.delenv("DIGITS_OUTPUT_DIR", raising=False)
    monkeypatch.setenv("DIGITS_FAST", "0")
    assert paths.models_dir() == paths.PROJECT_ROOT / "models"
    monkeypatch.setenv("DIGITS_FAST", "1")          # a smoke run never replaces the released models
    assert paths.models_dir() == paths.PROJECT_ROOT / "build" / "fast" / "models"
    monkeypatch.setenv("DIGITS_MODELS_DIR", str(tmp_path))
    assert paths.models_dir() == tmp_path


def test_confidence_threshold_keeps_98_percent_accuracy_above_it() -> None:
    confidence = np.linspace(1, 0.01, 100)
    correct = np.ones(100, bool)
    correct[[10, 60, 70, 80]] = False          # 1 error in the top 60 (98.3%), 4 in all
    threshold = metrics.confidence_threshold(correct, confidence)
    kept = confidence >= threshold
    assert correct[kept].mean() >= 0.98
    assert kept.sum() == round(100 * metrics.coverage_at_accuracy(correct, confidence)) == 60
    assert metrics.confidence_threshold(np.zeros(5, bool), np.ones(5)) == 1.0


def test_a_refining_pass_looks_again_inside_the_first_box() -> None:
    # First pass: rows 0-100, columns 50-150 (see above). The window grown by 60% and clipped is
    # rows 0-100, columns 20-180 (100x160: scale 0.2, 6 rows of padding); the fixed box there is
    # rows 10-90, columns 40-120 of the window, i.e. columns 60-140 of the photo.
    refined = tiny_number_reader(refine=1)
    boxes, _ = refined.locate([_photo(100, 200)])
    np.testing.assert_allclose(boxes[0], (10, 60, 90, 140), atol=1)        # the window is rounded outward
    with pytest.raises(ValueError, match="refine"):
        reader.NumberReader(refined.reader, refined.localizer, refine=-1)


def test_the_most_confident_of_the_passes_boxes_wins() -> None:
    refined = tiny_number_reader(refine=2)
    photos = [_photo(100, 200, seed=s) for s in range(3)]
    passes, _ = refined.locate_passes(photos)
    assert len(passes) == 3
    readings = refined.read(photos)
    for index, reading in enumerate(readings):
        scores = [refined.read_crops([photos[index]], found[index:index + 1])[0].confidence[0] for found in passes]
        assert reading.confidence == pytest.approx(max(scores), rel=1e-5)
        winner = passes[int(np.argmax(scores))][index]
        np.testing.assert_allclose(reading.box, winner)


def test_rescaled_boxes_join_the_vote_and_are_saved(tmp_path: Path) -> None:
    base = tiny_number_reader()
    scaled = reader.NumberReader(base.reader, base.localizer, refine=0, scales=(0.5, 1.5), min_confidence=0.0,
                                 whole_photo=False)
    photos = [_photo(100, 200, seed=s) for s in range(4)]
    allowed = [np.array(b) for b in ((0, 50, 100, 150), (25, 75, 75, 125), (0, 25, 100, 175))]   # clipped to the photo
    for reading in scaled.read(photos):          # the box read is one of the three candidates
        assert any(np.allclose(reading.box, box, atol=1e-3) for box in allowed)
    released = tiny_number_reader()
    released.scales = (0.5, 1.5)
    released.save(tmp_path)
    assert reader.NumberReader.load(tmp_path).scales == (0.5, 1.5)
    with pytest.raises(ValueError, match="positive"):
        reader.NumberReader(base.reader, base.localizer, scales=(0.0,))


def test_agreement_counts_the_boxes_that_read_the_same_number() -> None:
    base = tiny_number_reader()
    voting = reader.NumberReader(base.reader, base.localizer, refine=2, scales=(0.5, 1.5), min_confidence=0.0,
                                 whole_photo=False, pad_edges=False)
    photos = [_photo(100, 200, seed=s) for s in range(4)]
    candidates, _ = voting.locate_passes(photos)
    candidates += [np.clip(boxes.scaled(candidates[-1], s), 0, [100, 200, 100, 200]) for s in (0.5, 1.5)]
    for index, reading in enumerate(voting.read(photos)):
        numbers = [metrics.number_string(voting.read_crops([photos[index]], found[index:index + 1])[0].rows[0])
                   for found in candidates]
        assert reading.agreement == pytest.approx(numbers.count(reading.number or numbers[0]) / len(numbers))
        assert reading.confident == bool(reading.number)   # agreement is reported, not a gate


def test_the_whole_photo_joins_the_vote_and_is_saved(tmp_path: Path) -> None:
    base = tiny_number_reader()
    whole = reader.NumberReader(base.reader, base.localizer, refine=0, min_confidence=0.0, whole_photo=True, scales=(),
                                pad_edges=False)
    photos = [_photo(100, 200, seed=s) for s in range(8)]
    located, _ = whole.locate(photos)
    candidates = [located, reader.whole_photo_boxes(photos)]
    winners = []
    for index, reading in enumerate(whole.read(photos)):
        scores = [whole.read_crops([photos[index]], found[index:index + 1])[0].confidence[0] for found in candidates]
        assert reading.confidence == pytest.approx(max(scores), rel=1e-5)
        winners.append(int(np.argmax(scores)))
        np.testing.assert_allclose(reading.box, candidates[winners[-1]][index], atol=1e-3)
    assert set(winners) == {0, 1}                 # in these photos each kind of box wins at least once
    released = tiny_number_reader()
    assert not released.whole_photo               # off in the tiny reader
    released.whole_photo = True
    released.save(tmp_path)
    assert reader.NumberReader.load(tmp_path).whole_photo


def test_calibrated_sets_the_threshold_from_both_sets_and_saves_how(tmp_path: Path) -> None:
    calibrated = tiny_number_reader()
    photos = [_photo(100, 200, seed=s) for s in range(12)]
    first = calibrated.read(photos)
    # "Right" on the 6 most confident photos and wrong on the others, in both sets.
    order = np.argsort([-r.confidence for r in first])
    truth = [r.number if rank < 6 else r.number + "0" for r, rank in zip(first, np.argsort(order))]
    pairs = (np.array([r.confidence for r in first]), np.array([r.number == t for r, t in zip(first, truth)]))
    base = calibrated
    calibrated = base.calibrated(photos[:8], truth[:8], photos, truth, precision=0.9, level=0.5)
    threshold = calibrated.min_confidence
    expected, fit = metrics.sure_threshold(pairs, (pairs[0][:8], pairs[1][:8]), 0.9, 0.5)
    assert threshold == expected and calibrated.calibration == fit
    assert (base.min_confidence, base.calibration) == (0.0, {})     # a new reader: the one it came from is unchanged
    assert calibrated.reader is base.reader and calibrated.localizer is base.localizer   # the same models
    assert (fit["shape_count"], fit["level_count"]) == (12, 8)     # the shape from the many, the level from the few
    assert [r.confident for r in calibrated.read(photos)] == [r.confidence >= threshold for r in first]
    calibrated.save(tmp_path)
    assert reader.NumberReader.load(tmp_path).calibration == fit
    with pytest.raises(ValueError, match="one true number per photo"):
        calibrated.calibrated(photos, truth[:3], photos, truth)


def test_the_saved_crop_spec_is_the_crop_the_reader_uses(tmp_path: Path) -> None:

    number_reader = tiny_number_reader()
    photo, box = _photo(90, 120, seed=3), np.array([[30.0, 40.0, 60.0, 80.0]])
    number_reader.save(tmp_path)
    settings_file = tmp_path / "number_reader.json"
    settings = json.loads(settings_file.read_text())
    assert settings["crop"] == {"grow": 0.3, "resize": 64, "window": 54}
    assert reader.NumberReader.load(tmp_path).crop == cropping.CROP
    settings["crop"]["grow"] = 1.0                   # a reader trained on wider crops
    settings_file.write_text(json.dumps(settings))
    wider = reader.NumberReader.load(tmp_path)
    assert wider.crop.grow == 1.0
    seen = []
    wider._predict = lambda model, inputs, batch_size: seen.append(inputs) or number_reader._predict(model, inputs, batch_size)
    wider.read_crops([photo], box)
    expected = cropping.crop_number(photo, boxes.grown(box[0], 1.0).astype(np.float32)).numpy()
    assert np.array_equal(seen[0][0], expected)       # cropped with the saved spec, not the default
    assert not np.array_equal(seen[0][0], cropping.crop_number(photo, boxes.grown(box[0], 0.3).astype(np.float32)).numpy())
    settings["crop"]["window"] = 40                   # a window that is not the reader's input size
    settings_file.write_text(json.dumps(settings))
    with pytest.raises(ValueError, match="not the reader's input"):
        reader.NumberReader.load(tmp_path)


def test_the_detector_path_finds_every_number_and_lists_the_likeliest_first() -> None:
    released = tiny_number_reader(finder="detector")     # finds one number: the whole photo
    photos = [_photo(100, 200), _photo(60, 90), _photo(3000, 2500)]
    for photo, found in zip(photos, released.read_all(photos)):
        assert len(found) == 1 and found[0].number and len(found[0].number) == 2
        np.testing.assert_allclose(found[0].box, (0, 0, *photo.shape[:2]), atol=1e-3)
        assert found[0].has_number == pytest.approx(0.99, abs=1e-3)
    assert [r.number for r in released.read(photos)] == [found[0].number for found in released.read_all(photos)]
    strip = released.read(_photo(3, 900))[0]             # digits 3 px tall at most: smaller than it was trained on
    assert strip.number == "" and strip.box is None
    with pytest.raises(ValueError, match="needs a digit detector"):
        _reader().read_all(photos)


def test_the_route_picks_the_localizer_where_the_number_fills_the_photo() -> None:
    photo = _photo(100, 200)
    whole = tiny_number_reader(route=0.0)                # the detector's number (the whole photo) is never small
    np.testing.assert_allclose(whole.read(photo)[0].box, (0, 50, 100, 150), atol=1e-3)   # the localizer's box
    assert len(whole.read_all(photo)[0]) == 1            # the detector's box overlaps it: listed once
    small = tiny_number_reader(route=1.0)                # every number counts as small: the detector's reading
    np.testing.assert_allclose(small.read(photo)[0].box, (0, 0, 100, 200), atol=1e-3)
    with pytest.raises(ValueError, match="route"):
        reader.NumberReader(whole.reader, whole.localizer, detector=whole.detector, route=1.5)
    layer = whole.localizer.get_layer("has_number")                # the localizer now sees no number ...
    layer.set_weights([np.zeros_like(layer.get_weights()[0]), np.array([-8.0], np.float32)])
    kept = whole.read_all(photo)[0]                                # ... so the detector's number stays first
    assert kept[0].number and kept[0].has_number > 0.9
    np.testing.assert_allclose(kept[0].box, (0, 0, 100, 200), atol=1e-3)


def test_edge_padding_frames_a_number_at_the_photos_edge_as_in_training() -> None:

    photo = _photo(40, 60)
    padded, box = cropping.padded(photo, np.array([-4.0, 10.0, 44.0, 66.0]))
    assert padded.shape == (48, 66, 3) and box.tolist() == [0.0, 10.0, 48.0, 66.0]
    assert (padded[:4, :60] == photo[:1]).all() and (padded[4:44, :60] == photo).all()   # edge rows repeated
    same, inside = cropping.padded(photo, np.array([1.0, 2.0, 30.0, 40.0]))
    assert same is photo and inside.tolist() == [1.0, 2.0, 30.0, 40.0]


def test_the_detector_path_says_no_number_when_it_finds_no_digit() -> None:
    empty = tiny_number_reader(presence=0.01, finder="detector")
    found = empty.read_all([_photo(80, 120)])[0]
    assert len(found) == 1 and found[0].number == "" and found[0].box is None and found[0].status == "no number"
    empty.whole_photo = True                             # nothing found: the whole photo is read instead
    whole = empty.read(_photo(80, 120))[0]
    assert whole.number and whole.has_number == 0.0
    np.testing.assert_allclose(boxes.grown(whole.box, 0.3), (0, 0, 80, 120), atol=1e-6)


def test_a_scene_without_a_number_is_no_number_and_min_found_is_chosen_on_validation(tmp_path: Path) -> None:
    released = tiny_number_reader(presence=0.6)           # the detector finds the whole photo, score 0.6
    released.whole_photo = True
    layer = released.localizer.get_layer("has_number")    # the localizer sees no number
    layer.set_weights([np.zeros_like(layer.get_weights()[0]), np.array([-8.0], np.float32)])
    photos = [_photo(80, 120, seed=s) for s in range(3)]
    strict = released.with_thresholds(min_found=0.7)      # below the score a number needs, and no whole-photo read
    assert [r.status for r in strict.read(photos)] == ["no number"] * 3
    numbers = [r.number for r in released.with_thresholds(min_found=0.5).read(photos)]
    assert all(numbers)
    chosen = released.min_found_chosen(photos, [""] * 3, (0.5, 0.7))
    assert chosen.min_found == 0.7                                               # empty scenes: the stricter score
    assert chosen.found_sweep == {"0.5": 0.0, "0.7": 1.0} and released.found_sweep == {}
    released = released.min_found_chosen(photos, numbers, (0.5, 0.7))
    assert released.min_found == 0.5                                             # numbers there: the score that finds them
    released.save(tmp_path)
    loaded = reader.NumberReader.load(tmp_path)
    assert (loaded.min_found, loaded.found_sweep) == (0.5, {"0.5": 1.0, "0.7": 0.0})
    with pytest.raises(ValueError, match="one true number per photo"):
        released.min_found_chosen(photos, numbers[:1], (0.5,))


def test_the_readers_defaults_are_the_configurations_and_thresholds_are_checked() -> None:
    defaults = inspect.signature(reader.NumberReader).parameters
    settings = config.ReaderConfig()
    shared = [field.name for field in dataclasses.fields(settings) if field.name in defaults]
    assert {"refine", "refine_growth", "scales", "whole_photo", "route", "pad_edges"} <= set(shared)
    assert all(defaults[name].default == getattr(settings, name) for name in shared)
    base = tiny_number_reader()
    with pytest.raises(ValueError, match="not thresholds"):
        base.with_thresholds(refine=3)
    with pytest.raises(ValueError, match="between 0 and 1"):
        base.with_thresholds(min_confidence=1.5)
    assert not reader.NumberReader.in_boxes(base.reader).pad_edges   # readers alone crop as Step 2 validated them
