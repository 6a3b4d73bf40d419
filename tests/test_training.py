"""Training with checkpoint selection, and the trained-weights cache."""
from __future__ import annotations

import dataclasses
from pathlib import Path

import keras
import numpy as np
import pytest

from conftest import fake_digits
from helpers.modeling import metrics, models, training
from helpers.synth import sequences


def test_train_then_load_from_cache(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setenv("DIGITS_CACHE_DIR", str(tmp_path))
    source = sequences.DigitSource(*fake_digits(40, seed=0))
    validation = sequences.generate_sequences(source, 32, seed=1)
    settings = {"test": "tiny", "batch_size": 8}

    def build():
        return models.compile_multihead(models.build_model(filters=(4, 8, 8), dense_units=8), 1e-3)

    first = training.train_or_load("tiny", settings, build, sequences.train_dataset(source, 8, seed=2),
                                   validation, metrics.decode_multihead, epochs=2, steps_per_epoch=3)
    assert not first.from_cache and len(first.history["val_sequence_accuracy"]) == 2
    assert first.path.exists() and not list(tmp_path.glob("*.training.keras"))
    best = int(np.argmax(first.history["val_sequence_accuracy"])) + 1
    assert first.info["best_epoch"] == best and first.info["images_seen"] == 2 * 3 * 8

    again = training.train_or_load("tiny", settings, build, None, validation, metrics.decode_multihead,
                                   epochs=2, steps_per_epoch=3)
    assert again.from_cache and again.history == first.history
    images = validation[0][:4]
    np.testing.assert_allclose(training.predict(again.model, images, metrics.decode_multihead).confidence,
                               training.predict(first.model, images, metrics.decode_multihead).confidence,
                               rtol=1e-5)


@pytest.mark.parametrize("scores, epochs_run, best_epoch", [
    ([0.5, 0.9, 0.1, 0.1, 0.2, 0.3, 0.4, 0.95], 8, 8),   # a stall in the first half does not stop it
    ([0.1, 0.2, 0.3, 0.4, 0.9, 0.5, 0.5, 0.5], 7, 5),    # one in the second half does, after `patience`
])
def test_early_stopping_waits_for_the_second_half_of_the_epochs(tmp_path: Path, monkeypatch, scores: list[float],
                                                                 epochs_run: int, best_epoch: int) -> None:
    monkeypatch.setenv("DIGITS_CACHE_DIR", str(tmp_path))
    source = sequences.DigitSource(*fake_digits(40, seed=0))
    remaining = iter(scores)

    def build():
        return models.compile_multihead(models.build_model(filters=(4, 8, 8), dense_units=8), 1e-3)

    run = training.train_or_load("scripted", {"scores": scores}, build, sequences.train_dataset(source, 8, seed=2),
                                 None, metrics.decode_multihead, epochs=8, steps_per_epoch=1, patience=2,
                                 score=("val_score", lambda model: next(remaining)))
    assert run.info["epochs_run"] == epochs_run and run.info["best_epoch"] == best_epoch


def test_an_ema_optimizer_is_validated_and_saved_with_its_averaged_weights(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setenv("DIGITS_CACHE_DIR", str(tmp_path))
    source = sequences.DigitSource(*fake_digits(40, seed=0))
    validation = sequences.generate_sequences(source, 16, seed=1)
    start = models.build_model(filters=(4, 8, 8), dense_units=8).get_weights()
    moved = {}
    for momentum in (0.0, 0.999):
        def build():   # large steps: the raw weights move far, a slow average (Keras starts it after step 1) barely
            model = models.build_model(filters=(4, 8, 8), dense_units=8)
            model.set_weights(start)
            return models.compile_multihead(model, 0.05, ema_momentum=momentum)

        run = training.train_or_load(f"ema-{momentum}", {"momentum": momentum}, build,
                                     sequences.train_dataset(source, 8, seed=2), validation,
                                     metrics.decode_multihead, epochs=1, steps_per_epoch=12)
        moved[momentum] = max(float(np.abs(after - before).max())
                              for after, before in zip(run.model.get_weights(), start) if after.ndim > 1)
    assert moved[0.999] < 0.3 * moved[0.0]


def test_compile_rejects_an_ema_momentum_outside_0_to_1_and_a_negative_weight_decay() -> None:
    for bad in (dict(ema_momentum=1.0), dict(weight_decay=-0.1)):
        with pytest.raises(ValueError, match="ema_momentum"):
            models.compile_multihead(models.build_model(filters=(4, 8, 8), dense_units=8), 1e-3, **bad)


def test_weight_decay_switches_to_adamw_and_shrinks_idle_weights() -> None:
    plain = models.compile_multihead(models.build_model(filters=(4, 8, 8), dense_units=8), 1e-3)
    decayed = models.compile_multihead(models.build_model(filters=(4, 8, 8), dense_units=8), 0.1, weight_decay=0.5)
    assert type(plain.optimizer).__name__ == "Adam" and type(decayed.optimizer).__name__ == "AdamW"
    kernel = decayed.get_layer("digit_5").kernel   # zero gradient: only the decay moves it
    before = np.abs(kernel.numpy()).sum()
    decayed.optimizer.apply_gradients([(np.zeros(kernel.shape, np.float32), kernel)])
    np.testing.assert_allclose(np.abs(kernel.numpy()).sum(), before * (1 - 0.1 * 0.5), rtol=1e-4)


def test_cache_key_depends_on_every_setting() -> None:
    assert training.cache_key({"a": 1, "b": 2}) == training.cache_key({"b": 2, "a": 1})
    assert training.cache_key({"a": 1}) != training.cache_key({"a": 2})


def test_cache_keys_come_from_the_settings_and_the_data_not_from_names(monkeypatch) -> None:
    """A model is reused only for the same settings and the same photos and labels: the folder the
    data sits in and the design's display name do not count; every training setting and label does."""
    from helpers.datasets import crops

    keys = []

    def record_key(name, settings, *args, epochs, steps_per_epoch, patience=training.DEFAULT_PATIENCE, **kwargs):
        keys.append(training.cache_stem(name, settings, epochs=epochs, steps_per_epoch=steps_per_epoch, patience=patience))
        return training.TrainedModel(None, {}, 0.0, False, Path(f"{keys[-1]}.keras"), {})

    monkeypatch.setattr(training, "train_or_load", record_key)
    monkeypatch.setattr(crops, "crop_dataset", lambda *args, **kwargs: None)   # no photos are read here
    labels = np.array([[1, 3, 10, 10, 10, 10], [2, 4, 5, 10, 10, 10]])
    table = crops.NumberTable(np.array(["/data/standin-1/train/1.png", "/data/standin-1/train/2.png"]),
                              np.ones((2, 4), np.float32), labels, np.ones((2, 4), np.float32), 0)
    design = models.DESIGNS["attention"]
    args = dict(batch_size=2, epochs=1, steps_per_epoch=1, learning_rate=1e-3, seed=0)

    def key(used_table=table, used_design=design, **changes) -> str:
        training.fit_crops(used_design, used_table, (np.zeros((1, 54, 54, 3)), None), **{**args, **changes})
        return keys[-1]

    first = key()
    assert key(dataclasses.replace(table, paths=np.char.replace(table.paths, "/data/", "/elsewhere/"))) == first
    assert key(used_design=dataclasses.replace(design, name="another display name")) == first
    assert key(dataclasses.replace(table, labels=labels[::-1].copy())) != first
    assert key(dataclasses.replace(table, paths=np.char.replace(table.paths, "standin-1", "standin-2"))) != first
    for change in ({"box_jitter": 0.1}, {"random_crop": False}, {"photometric": True}, {"patience": 9},
                   {"learning_rate": 2e-3}):
        assert key(**change) != first, change


def test_shifted_moves_pixels_and_fills_with_zeros() -> None:
    images = np.arange(1, 13, dtype=np.uint8).reshape(1, 2, 6, 1)
    assert training.shifted(images, 2)[0, :, :, 0].tolist() == [[0, 0, 1, 2, 3, 4], [0, 0, 7, 8, 9, 10]]
    assert training.shifted(images, -1)[0, 0, :, 0].tolist() == [2, 3, 4, 5, 6, 0]
    assert np.array_equal(training.shifted(images, 0), images)


def test_predict_with_shifts_averages_head_probabilities() -> None:
    import pytest

    model = models.build_attention_model((32, 64, 1), filters=(4, 8, 8), rnn_units=4, dense_units=8)
    images = np.random.default_rng(0).integers(0, 256, (6, 32, 64, 1), dtype=np.uint8)
    plain = training.predict(model, images, metrics.decode_multihead)
    assert np.array_equal(training.predict(model, images, metrics.decode_multihead, shifts=(0, 0)).rows, plain.rows)
    outputs = [model.predict(training.shifted(images, s), verbose=0) for s in (-3, 3)]
    expected = metrics.decode_multihead({k: (outputs[0][k] + outputs[1][k]) / 2 for k in outputs[0] if k != "column_logits"})
    both = training.predict(model, images, metrics.decode_multihead, shifts=(-3, 3))
    assert np.array_equal(both.rows, expected.rows) and np.allclose(both.confidence, expected.confidence, rtol=1e-5)
    ctc = models.build_ctc_model((32, 64, 1), filters=(4, 8, 8), rnn_units=4)
    with pytest.raises(ValueError, match="multi-head"):
        training.predict(ctc, images, metrics.decode_ctc, shifts=(0, 2))
    with pytest.raises(ValueError, match="at least one"):
        training.predict(model, images, metrics.decode_multihead, shifts=())


def test_predict_outputs_keeps_every_shifts_columns_for_joint_decoding() -> None:
    model = models.build_attention_model((32, 64, 1), filters=(4, 8, 8), rnn_units=4, dense_units=8)
    images = np.random.default_rng(1).integers(0, 256, (4, 32, 64, 1), dtype=np.uint8)
    outputs = training.predict_outputs(model, images, shifts=(0, -2, 2))
    assert outputs["column_logits"].shape == (3, 4, 8, 11)    # shifts, images, columns, classes
    np.testing.assert_allclose(outputs["column_logits"][2], model.predict(training.shifted(images, 2), verbose=0)
                               ["column_logits"], rtol=1e-5, atol=1e-5)
    joint = metrics.decode_joint(outputs, 0.5)
    assert joint.rows.shape == (4, 6) and ((joint.confidence > 0) & (joint.confidence <= 1)).all()


def test_predict_outputs_of_an_ensemble_average_every_model_and_shift() -> None:
    images = np.random.default_rng(2).integers(0, 256, (5, 32, 64, 1), dtype=np.uint8)
    members = []
    for seed in (0, 1):
        keras.utils.set_random_seed(seed)   # two differently initialised readers
        members.append(models.build_attention_model((32, 64, 1), filters=(4, 8, 8), rnn_units=4, dense_units=8))
    outputs = training.predict_outputs(members, images, shifts=(0, 2))
    runs = [m.predict(training.shifted(images, s), verbose=0) for m in members for s in (0, 2)]
    np.testing.assert_allclose(outputs["digit_3"], np.mean([run["digit_3"] for run in runs], axis=0), rtol=1e-5)
    assert outputs["column_logits"].shape == (4, 5, 8, 11)   # models x shifts, images, columns, classes
    np.testing.assert_allclose(outputs["column_logits"][2], runs[2]["column_logits"], rtol=1e-5, atol=1e-5)
    assert not np.allclose(runs[0]["digit_3"], runs[2]["digit_3"])   # the members really differ
    with pytest.raises(ValueError, match="at least one model"):
        training.predict_outputs([], images)
    # Passes predicted one at a time combine to the same outputs, so a script can reuse them.
    combined = training.combine_outputs(runs)
    np.testing.assert_allclose(combined["digit_3"], outputs["digit_3"], rtol=1e-5)
    np.testing.assert_allclose(combined["column_logits"], outputs["column_logits"], rtol=1e-5, atol=1e-5)
    with pytest.raises(ValueError, match="at least one pass"):
        training.combine_outputs([])
