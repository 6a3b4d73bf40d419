"""TensorFlow Lite exports: the same outputs and readings as Keras, a float16 file half the size, a model card."""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from conftest import PROJECT_ROOT

OWN_IMAGES = sorted((PROJECT_ROOT / "images").glob("*.[pj][np]g"))
RELEASED = PROJECT_ROOT / "models"


def _random_reader(seed: int = 0):
    """A tiny end-to-end reader with random weights: its outputs vary from photo to photo."""
    import helpers

    helpers.import_tensorflow_quietly()
    import keras

    from helpers.app import reader
    from helpers.modeling import detection, localization, models

    keras.utils.set_random_seed(seed)
    digits = models.build_attention_model((54, 54, 3), filters=(8, 16), rnn_units=8, dense_units=16)
    finder = localization.build_localizer(32, filters=(8, 16), dense_units=16)
    detector = detection.build_detector(filters=(4, 8, 8, 8), head=8)
    heat = detector.get_layer("heat")
    heat.set_weights([heat.get_weights()[0] * 20, np.zeros(1, np.float32)])   # centres above the threshold here and there
    return reader.NumberReader(digits, finder, detector=detector, min_confidence=0.02, min_presence=0.3, refine=1, whole_photo=False,
                               scales=(0.9,), route=0.15, pad_edges=True)


@pytest.fixture(scope="module")
def exported(tmp_path_factory) -> Path:
    """A tiny reader saved and exported as the report command exports the released one."""
    from helpers.steps import export

    folder = tmp_path_factory.mktemp("models")
    _random_reader().save(folder)
    out = tmp_path_factory.mktemp("out")
    (out / "results").mkdir()
    (out / "results" / "metrics.json").write_text(json.dumps({"run": {"started": "2026-12-01 10:00:00"}}))
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("DIGITS_OUTPUT_DIR", str(out))
        export.export(folder, check_photos=12)
    return folder


def _sample_photos(count: int = 12) -> list:
    from helpers.core import images
    from helpers.steps import export

    return [images.load_image(path) for path in OWN_IMAGES] + export.standin_photos(count, seed=7)


def test_float32_export_gives_keras_outputs(exported: Path) -> None:
    import keras

    from helpers.app import lite, reader

    inputs = np.random.default_rng(0).uniform(0, 255, (5, 54, 54, 3)).astype(np.float32)
    keras_model = keras.models.load_model(exported / reader.READER_FILE, compile=False)
    expected = keras_model(inputs, training=False)
    got = lite.LiteModel.load(exported / reader.lite_file(reader.READER_FILE, "float32"))(inputs)
    assert set(got) == set(expected)
    for name in expected:
        np.testing.assert_allclose(got[name], np.asarray(expected[name]), atol=1e-4)
    detector = keras.models.load_model(exported / reader.DETECTOR_FILE, compile=False)
    lite_detector = lite.LiteModel.load(exported / reader.lite_file(reader.DETECTOR_FILE, "float32"))
    for shape in ((2, 96, 96, 3), (1, 160, 64, 3)):           # any size: the detector's input is not fixed
        photos = np.random.default_rng(1).uniform(0, 255, shape).astype(np.float32)
        expected, got = detector(photos, training=False), lite_detector(photos)
        for name in ("heat", "box"):
            np.testing.assert_allclose(got[name], np.asarray(expected[name]), atol=1e-3, rtol=1e-4)


def test_float32_pipeline_reads_every_photo_as_keras_does(exported: Path) -> None:
    from helpers.app import reader

    photos = _sample_photos()
    keras_readings = reader.NumberReader.load(exported).read(photos)
    lite_readings = reader.NumberReader.load(exported, runtime="tflite-float32").read(photos)
    assert len({r.number for r in keras_readings}) > 1                     # the photos really differ
    for mine, theirs in zip(lite_readings, keras_readings):
        assert (mine.number, mine.status) == (theirs.number, theirs.status)
        if theirs.box is not None:
            np.testing.assert_allclose(mine.box, theirs.box, atol=0.05)


def test_small_variants_are_smaller_and_their_agreement_is_recorded(exported: Path) -> None:
    figures = json.loads((exported / "export.json").read_text())
    full, half, quarter = (sum(figures["tflite_bytes"][variant].values()) for variant in ("float32", "float16", "int8"))
    assert quarter < half < full          # a tiny model's fixed overhead keeps the ratios above 1/2 and 1/4
    comparison = figures["comparison"]
    assert comparison["tflite-float32"]["agreement"] == 1.0
    assert all(0 <= comparison[f"tflite-{v}"]["agreement"] <= 1 for v in ("float16", "int8"))
    assert comparison["keras"]["photos"] == len(OWN_IMAGES) + 12 and comparison["keras"]["ms_per_photo"] > 0


def test_model_card_is_rendered_from_the_figures(exported: Path) -> None:
    card = (exported / "README.md").read_text()
    figures = json.loads((exported / "export.json").read_text())
    assert "2026-12-01 10:00:00" in card and "never edited by hand" in card
    assert f"{100 * figures['comparison']['tflite-float16']['agreement']:.1f}%" in card
    for item in figures["new_images"]:
        assert f"`{item['image']}`" in card
    assert "no real-photo figures" in card
    # Each released file is listed with its size (the TFLite files included, export.json itself not).
    assert f"`number_reader.keras` {(exported / 'number_reader.keras').stat().st_size / 2**20:.1f} MB" in card
    assert "number_localizer.int8.tflite" in figures["file_bytes"] and "export.json" not in figures["file_bytes"]


def test_bad_exports_and_runtimes_give_clear_errors(exported: Path, tmp_path: Path) -> None:
    from helpers.app import lite, reader

    with pytest.raises(ValueError, match="not a readable TensorFlow Lite model"):
        lite.LiteModel(b"not a flatbuffer", name="junk.tflite")
    with pytest.raises(FileNotFoundError, match="helpers.steps.export"):
        lite.LiteModel.load(tmp_path / "missing.tflite")
    with pytest.raises(ValueError, match="unknown TFLite variant"):
        lite.convert(None, "int4")
    with pytest.raises(ValueError, match="unknown runtime"):
        reader.NumberReader.load(exported, runtime="onnx")
    for name in (reader.READER_FILE, reader.SETTINGS_FILE):
        (tmp_path / name).write_bytes((exported / name).read_bytes())
    with pytest.raises(FileNotFoundError, match="helpers.steps.export"):
        reader.NumberReader.load(tmp_path, runtime="tflite-float32")
    with pytest.raises(ValueError, match="Keras reader"):
        reader.NumberReader.load(exported, runtime="tflite-float32").save(tmp_path / "again")


@pytest.mark.skipif(not (RELEASED / "number_reader.float32.tflite").exists(),
                    reason="no released models in models/ yet: the report command writes them")
def test_released_float32_export_reads_as_keras_on_images_and_300_standin_photos() -> None:
    from helpers.app import reader
    from helpers.core import images
    from helpers.steps import export

    photos = [images.load_image(path) for path in OWN_IMAGES] + export.standin_photos(300)
    keras_readings = reader.NumberReader.load(RELEASED).read(photos)
    lite_readings = reader.NumberReader.load(RELEASED, runtime="tflite-float32").read(photos)
    same = np.mean([(a.number, a.status) == (b.number, b.status) for a, b in zip(lite_readings, keras_readings)])
    print(f"float32 TFLite reads {100 * same:.2f}% of {len(photos)} photos as Keras does")
    assert same >= 0.995
    sizes = {variant: sum((RELEASED / reader.lite_file(name, variant)).stat().st_size
                          for name in reader.model_files("keras")) for variant in ("float32", "int8")}
    assert sizes["int8"] <= sizes["float32"] / 2
