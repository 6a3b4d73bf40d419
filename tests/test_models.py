"""Model factories: output shapes, named layers, a training step that learns, saving and loading."""
from __future__ import annotations

from pathlib import Path

import keras
import numpy as np
import pytest
import tensorflow as tf

from conftest import fake_digits
from helpers.core import labels
from helpers.modeling import metrics, models
from helpers.synth import sequences

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


@pytest.mark.parametrize("build", [models.build_model, models.build_attention_model, models.build_ctc_model])
def test_pool_first_moves_pooling_before_batch_norm_with_the_same_weights(build) -> None:
    before, after = build(**SMALL, dropout=0.0), build(**SMALL, dropout=0.0, pool_first=True)
    assert before.count_params() == after.count_params()
    assert sorted(layer.name for layer in before.layers) == sorted(layer.name for layer in after.layers)
    # The pooled map feeds batch norm: BN's input is a quarter of the conv's pixels.
    assert after.get_layer("block1_bn1").input.shape[1:3] == (16, 64)
    assert before.get_layer("block1_bn1").input.shape[1:3] == (32, 128)
    assert "pooling, then batch normalisation" in models.describe(after)
    assert "pooling, then batch normalisation" not in models.describe(before)


@pytest.mark.parametrize("build", [models.build_model, models.build_attention_model, models.build_ctc_model])
def test_input_scale_shrinks_the_image_before_the_first_convolution(build) -> None:
    full, shrunk = build(**SMALL, dropout=0.0), build(**SMALL, dropout=0.0, input_scale=0.75)
    assert shrunk.get_layer("block1_conv1").input.shape[1:3] == (24, 96)
    assert full.get_layer("block1_conv1").input.shape[1:3] == (32, 128)
    assert "downscale" not in {layer.name for layer in full.layers}
    assert "shrunk inside the model to 24x96" in models.describe(shrunk)
    assert "shrunk" not in models.describe(full)
    # The model still takes the full-size image and gives finite outputs.
    outputs = shrunk.predict(np.zeros((2, 32, 128, 1), np.float32), verbose=0)
    assert all(np.isfinite(value).all() for value in (outputs.values() if isinstance(outputs, dict) else [outputs]))


def test_column_skip_widens_the_columns_the_heads_read() -> None:
    plain = models.build_attention_model(**SMALL, rnn_units=8, dropout=0.0)
    skip = models.build_attention_model(**SMALL, rnn_units=8, dropout=0.0, column_skip=True)
    assert plain.get_layer("attended_columns").output.shape[-1] == 16          # BiGRU: 2 x 8
    assert skip.get_layer("attended_columns").output.shape[-1] == 16 + 16      # + the projected columns
    assert "skip connection" in models.describe(skip) and "skip connection" not in models.describe(plain)


def test_ctc_weight_scales_the_auxiliary_loss_only() -> None:
    images, labels = _batch(8)
    targets = models.multihead_ctc_targets(labels)
    losses = {}
    for weight in (1.0, 0.25):
        model = models.build_attention_model(**SMALL, rnn_units=8, dropout=0.0)
        models.compile_multihead(model, 1e-3, ctc_weight=weight)
        losses[weight] = model.evaluate(images, targets, verbose=0, return_dict=True)
    # Each model has its own random weights, so check each total against its own parts.
    for weight, logs in losses.items():
        heads = sum(value for name, value in logs.items() if name.endswith("_loss") and name != "column_logits_loss")
        assert logs["loss"] == pytest.approx(heads + weight * logs["column_logits_loss"], rel=1e-4)


def test_label_smoothing_matches_the_formula_and_zero_is_plain_cross_entropy(tmp_path: Path) -> None:
    probabilities = np.array([[0.7, 0.2, 0.1], [0.1, 0.1, 0.8]], np.float32)
    labels = np.array([0, 2])
    plain = float(keras.losses.SparseCategoricalCrossentropy()(labels, probabilities))
    assert float(models.SmoothedSparseCrossentropy(0.0)(labels, probabilities)) == pytest.approx(plain, rel=1e-5)
    # Smoothing 0.3 over 3 classes: target 0.8 on the true class, 0.1 on each other one.
    targets = np.full((2, 3), 0.1)
    targets[[0, 1], labels] = 0.8
    expected = -(targets * np.log(probabilities)).sum(1).mean()
    assert float(models.SmoothedSparseCrossentropy(0.3)(labels, probabilities)) == pytest.approx(expected, rel=1e-5)
    with pytest.raises(ValueError, match="label_smoothing"):
        models.SmoothedSparseCrossentropy(1.0)
    # The compiled model trains with it and reloads with its loss.
    images, rows = _batch(8)
    model = models.compile_multihead(models.build_attention_model(**SMALL, rnn_units=8, dropout=0.0), 1e-3,
                                     label_smoothing=0.1)
    assert isinstance(model.loss["digit_1"], models.SmoothedSparseCrossentropy)
    model.fit(images, models.multihead_ctc_targets(rows), epochs=1, verbose=0)
    model.save(tmp_path / "smoothed.keras")
    again = keras.models.load_model(tmp_path / "smoothed.keras")
    assert again.loss["digit_1"].label_smoothing == pytest.approx(0.1)


def test_ctc_model_outputs_one_column_per_four_pixels() -> None:
    model = models.build_ctc_model(**SMALL, rnn_units=8)
    assert model.predict(np.zeros((2, 32, 128, 1), np.float32), verbose=0).shape == (2, 16, 11)


def test_convs_per_block_can_differ_per_block() -> None:
    model = models.build_attention_model(**SMALL, rnn_units=8, dropout=0.0, convs_per_block=(1, 2, 2))
    convs = sorted(layer.name for layer in model.layers if isinstance(layer, keras.layers.Conv2D))
    assert convs == ["block1_conv1", "block2_conv1", "block2_conv2", "block3_conv1", "block3_conv2"]
    assert "5 convolution" not in models.describe(model) and "3 convolution blocks" in models.describe(model)


@pytest.mark.parametrize("kwargs", [dict(input_shape=(32, 128)), dict(filters=()), dict(dropout=1.0),
                                    dict(convs_per_block=(1, 2)), dict(convs_per_block=(1, 0, 1)),
                                    dict(input_scale=0.0), dict(input_scale=1.5)])
def test_bad_arguments_raise_value_error(kwargs) -> None:
    with pytest.raises(ValueError):
        models.build_model(**{**SMALL, **kwargs})


def test_one_training_step_lowers_the_multihead_loss() -> None:
    images, label_rows = _batch()
    model = models.compile_multihead(models.build_model(**SMALL, dense_units=16, dropout=0.0), 1e-2)
    targets = labels.split_targets(label_rows)
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
    # Build the optimizer's slots first, as training does, so that they are saved and restored too.
    model.optimizer.build(model.trainable_variables)
    model.save(tmp_path / "m.keras")
    again = keras.models.load_model(tmp_path / "m.keras")   # no custom_objects needed
    assert len(again.optimizer.variables) == len(model.optimizer.variables) > len(model.trainable_variables)
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


def test_ctc_likelihood_matches_the_training_loss_and_rules_out_impossible_numbers() -> None:
    logits = np.random.default_rng(1).normal(size=(5, 6, 11))
    rows = np.array([[2, 1, 2, 10, 10, 10], [3, 4, 4, 5, 10, 10], [1, 7, 10, 10, 10, 10], [0, 10, 10, 10, 10, 10],
                     [5, 1, 1, 1, 1, 1]])                     # the last needs 9 columns: impossible in 6
    ours = metrics.ctc_log_likelihood(logits, rows)
    reference = -np.asarray(models.CTCLoss().call(rows[:3], logits[:3].astype(np.float32)))
    np.testing.assert_allclose(ours[:3], reference, rtol=1e-4)
    blank = logits - np.log(np.exp(logits).sum(-1, keepdims=True))
    assert ours[3] == pytest.approx(blank[3, :, 10].sum())   # no digits: blank in every column
    assert ours[4] == -np.inf


def test_joint_decoding_lets_confident_columns_overrule_a_hesitant_head() -> None:
    """Heads torn between 37 and 31 (0.55 vs 0.45 on digit 2); the CTC columns clearly read 31."""
    outputs = {"length": np.array([[0.0, 0.02, 0.96, 0.02, 0.0, 0.0]])}
    for position, hot in enumerate([3, 7, 10, 10, 10], start=1):
        probs = np.full(11, 0.001)
        probs[hot] = 1.0
        outputs[f"digit_{position}"] = (probs / probs.sum())[None]
    outputs["digit_2"][0, 7], outputs["digit_2"][0, 1] = 0.55, 0.45
    path = [10, 3, 3, 10, 1, 10]                                   # columns: blank 3 3 blank 1 blank
    outputs["column_logits"] = np.where(np.arange(11)[None] == np.array(path)[:, None], 6.0, 0.0)[None]
    assert metrics.number_string(metrics.decode_joint(outputs, 0.0).rows[0]) == "37"
    joint = metrics.decode_joint(outputs, 0.5)
    assert metrics.number_string(joint.rows[0]) == "31"
    assert 0 < joint.confidence[0] < metrics.decode_multihead(outputs).confidence[0]
    stacked = {**outputs, "column_logits": np.stack([outputs["column_logits"]] * 2)}   # one per test-time shift
    np.testing.assert_array_equal(metrics.decode_joint(stacked, 0.5).rows, joint.rows)
    with pytest.raises(ValueError, match="0 or more"):
        metrics.decode_joint(outputs, -1.0)
    with pytest.raises(ValueError, match="column_logits"):
        metrics.decode_joint({k: v for k, v in outputs.items() if k != "column_logits"}, 0.5)


def test_compact_table_has_one_row_per_model_with_its_outputs_and_parameters() -> None:
    model = models.build_model((32, 128, 1))
    table = models.compact_table({"reader": model}).splitlines()
    assert len(table) == 3 and table[2].startswith("| reader | 32x128x1 | 3 Conv2D (32, 64, 128 filters)")
    assert "digit_1...digit_5 (11 each)" in table[2] and f"{model.count_params():,}" in table[2]
