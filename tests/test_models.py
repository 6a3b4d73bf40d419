"""Model factories: output shapes, named layers, a training step that learns, saving and loading."""
from __future__ import annotations

from pathlib import Path

import keras
import numpy as np
import pytest
import tensorflow as tf

from conftest import fake_digits
from helpers import metrics, models, sequences

SMALL = dict(input_shape=(32, 128, 1), filters=(4, 8, 8))


def _batch(count: int = 16, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Synthetic numbers whose images really show their labels (made of fake digit blobs)."""
    return sequences.generate_sequences(sequences.DigitSource(*fake_digits(20, seed=seed)), count, seed=seed)


def test_multihead_outputs() -> None:
    model = models.build_model(**SMALL, dense_units=16)
    outputs = model.predict(np.zeros((3, 32, 128, 1), np.float32), verbose=0)
    assert sorted(outputs) == ["digit_1", "digit_2", "digit_3", "digit_4", "digit_5", "length"]
    assert outputs["length"].shape == (3, 6) and outputs["digit_3"].shape == (3, 11)
    np.testing.assert_allclose(outputs["digit_1"].sum(-1), 1, rtol=1e-5)
    assert model.get_layer("shared_features").units == 16


def test_attention_model_outputs_heads_and_columns() -> None:
    model = models.build_attention_model(**SMALL, rnn_units=8, dense_units=8)
    outputs = model.predict(np.zeros((3, 32, 128, 1), np.float32), verbose=0)
    assert sorted(outputs) == ["column_logits", "digit_1", "digit_2", "digit_3", "digit_4", "digit_5", "length"]
    assert outputs["column_logits"].shape == (3, 16, 11) and outputs["digit_5"].shape == (3, 11)
    attention = keras.Model(model.input, model.get_layer("position_attention").output)
    weights = attention.predict(np.zeros((1, 32, 128, 1), np.float32), verbose=0)
    np.testing.assert_allclose(weights.sum(axis=1), 1, rtol=1e-5)   # each head's weights over columns


def test_attention_model_learns_with_auxiliary_ctc() -> None:
    images, labels = _batch()
    model = models.compile_multihead(models.build_attention_model(**SMALL, rnn_units=8, dropout=0.0), 1e-2)
    targets = models.multihead_ctc_targets(labels)
    # Training-mode losses: with 40 steps, batch-norm moving statistics have not settled for evaluate().
    history = model.fit(images, targets, epochs=40, batch_size=16, verbose=0).history
    assert history["loss"][-1] < 0.7 * history["loss"][0] and np.isfinite(history["column_logits_loss"][-1])


@pytest.mark.parametrize("build", [models.build_model, models.build_attention_model, models.build_ctc_model])
def test_dropout_zero_builds_no_dropout_layers_and_describe_says_so(build) -> None:
    without, with_ = build(**SMALL, dropout=0.0), build(**SMALL, dropout=0.2)
    kinds = (keras.layers.Dropout, keras.layers.SpatialDropout2D)
    assert not [layer.name for layer in without.layers if isinstance(layer, kinds)]
    assert [layer.name for layer in with_.layers if isinstance(layer, kinds)]
    assert "spatial dropout" not in models.describe(without) and "spatial dropout" in models.describe(with_)


def test_ctc_model_outputs_one_column_per_four_pixels() -> None:
    model = models.build_ctc_model(**SMALL, rnn_units=8)
    assert model.predict(np.zeros((2, 32, 128, 1), np.float32), verbose=0).shape == (2, 16, 11)


@pytest.mark.parametrize("kwargs", [dict(input_shape=(32, 128)), dict(filters=()), dict(dropout=1.0)])
def test_bad_arguments_raise_value_error(kwargs) -> None:
    with pytest.raises(ValueError):
        models.build_model(**{**SMALL, **kwargs})


def test_one_training_step_lowers_the_multihead_loss() -> None:
    images, labels = _batch()
    model = models.compile_multihead(models.build_model(**SMALL, dense_units=16, dropout=0.0), 1e-2)
    targets = sequences.split_targets(labels)
    history = model.fit(images, targets, epochs=40, batch_size=16, verbose=0).history
    assert history["loss"][-1] < 0.7 * history["loss"][0]


def test_ctc_loss_is_finite_and_learns() -> None:
    images, labels = _batch()
    model = models.compile_ctc(models.build_ctc_model(**SMALL, rnn_units=8, dropout=0.0), 1e-2)
    before = model.evaluate(images, labels, verbose=0)
    model.fit(images, labels, epochs=40, batch_size=16, verbose=0)
    after = model.evaluate(images, labels, verbose=0)
    assert np.isfinite(before) and after < 0.8 * before


@pytest.mark.parametrize("key", sorted(models.DESIGNS))
def test_saved_model_reloads_with_plain_load_model(tmp_path: Path, key: str) -> None:
    design = models.DESIGNS[key]
    model = design.compile(design.build(SMALL["input_shape"], filters=SMALL["filters"]), 1e-3)
    images, _ = _batch(4)
    model.save(tmp_path / "m.keras")
    again = keras.models.load_model(tmp_path / "m.keras")   # no custom_objects needed
    expected = keras.tree.flatten(model.predict(images, verbose=0))
    for want, got in zip(expected, keras.tree.flatten(again.predict(images, verbose=0)), strict=True):
        np.testing.assert_allclose(got, want, rtol=1e-4, atol=1e-5)


def test_learning_rate_schedule_warms_up_then_decays() -> None:
    schedule = models.learning_rate_schedule(1e-3, total_steps=100, warmup_steps=10)
    rates = [float(schedule(step)) for step in (0, 10, 55, 100)]
    assert rates[0] < rates[1] and rates[1] == pytest.approx(1e-3) and rates[2] < rates[1]
    assert rates[3] == pytest.approx(0.0, abs=1e-9)


def test_decoders_accept_real_model_outputs() -> None:
    images, labels = _batch(5)
    model = models.build_model(**SMALL, dense_units=8)
    decoded = metrics.decode_multihead(model.predict(images, verbose=0))
    assert decoded.rows.shape == labels.shape and ((decoded.confidence > 0) & (decoded.confidence <= 1)).all()


def test_ctc_loss_matches_keras_reference_and_skips_impossible_numbers() -> None:
    logits = np.random.default_rng(0).normal(size=(3, 6, 11)).astype(np.float32)
    labels = np.array([[2, 1, 2, 10, 10, 10], [3, 4, 4, 5, 10, 10], [5, 1, 1, 1, 1, 1]])   # last needs 9 columns
    ours = np.asarray(models.CTCLoss().call(labels, logits))
    reference = np.asarray(keras.ops.ctc_loss(labels[:2, 1:], logits[:2], labels[:2, 0], np.full(2, 6),
                                              mask_index=10))
    np.testing.assert_allclose(ours[:2], reference, rtol=1e-4)
    assert ours[2] == 0.0                         # too long for 6 columns: ignored, not infinite
    logits_var = keras.Variable(logits)
    with tf.GradientTape() as tape:
        total = keras.ops.sum(models.CTCLoss().call(labels, logits_var))
    assert np.isfinite(np.asarray(tape.gradient(total, logits_var.value))).all()
