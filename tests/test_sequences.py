"""Synthetic numbers: shapes, labels, blank padding, determinism and no test digits in training."""
from __future__ import annotations

import itertools

import numpy as np
import pytest

from conftest import fake_digits
from helpers.core.labels import BLANK
from helpers.synth import sequences
from helpers.synth.sequences import DigitSource, SequenceConfig


@pytest.fixture
def source() -> DigitSource:
    return DigitSource(*fake_digits(50, seed=0))


def test_ink_boxes_are_tight() -> None:
    image = np.zeros((1, 28, 28), np.uint8)
    image[0, 5:9, 10:20] = 200
    np.testing.assert_array_equal(sequences.ink_boxes(image)[0], [5, 9, 10, 20])


def test_shapes_dtype_and_label_layout(source: DigitSource) -> None:
    images, labels = sequences.generate_sequences(source, 200, seed=1)
    assert images.shape == (200, 32, 128, 1) and images.dtype == np.uint8
    assert labels.shape == (200, 6)
    lengths = labels[:, 0]
    assert lengths.min() == 1 and lengths.max() == 5
    for row in labels:
        digits = row[1:]
        assert (digits[:row[0]] < 10).all(), row     # real digits first
        assert (digits[row[0]:] == BLANK).all(), row  # then blanks


def test_labels_are_the_digits_drawn() -> None:
    images, _ = fake_digits(30, seed=3)
    only_sevens = DigitSource(images, np.full(30, 7))
    _, labels = sequences.generate_sequences(only_sevens, 50, seed=0)
    for row in labels:
        assert (row[1:1 + row[0]] == 7).all()


def test_every_digit_leaves_ink_inside_the_canvas(source: DigitSource) -> None:
    full = DigitSource(np.full((5, 28, 28), 255, np.uint8), np.arange(5))  # widest possible glyphs
    config = SequenceConfig(min_length=5, spacing=(6, 6), digit_height=(28, 28))
    images, labels = sequences.generate_sequences(full, 20, seed=2, config=config)
    assert (labels[:, 0] == 5).all()
    ink_columns = (images[..., 0] > 0).any(axis=1).sum(axis=1)
    assert (ink_columns > 5 * 10).all()   # squeezed to fit, but no digit fell off the canvas


def test_deterministic_under_seed(source: DigitSource) -> None:
    first = sequences.generate_sequences(source, 20, seed=5)
    again = sequences.generate_sequences(source, 20, seed=5)
    other = sequences.generate_sequences(source, 20, seed=6)
    np.testing.assert_array_equal(first[0], again[0])
    np.testing.assert_array_equal(first[1], again[1])
    assert not np.array_equal(first[0], other[0])


def test_split_is_disjoint_and_complete() -> None:
    train, validation = sequences.split_indices(100, 10, seed=0)
    assert len(validation) == 10 and len(train) == 90
    assert not set(train) & set(validation)
    assert sorted(np.concatenate([train, validation])) == list(range(100))
    with pytest.raises(ValueError):
        sequences.split_indices(10, 10, seed=0)


def test_training_digits_split_into_disjoint_named_pools() -> None:
    images, labels = fake_digits(30, seed=3)
    images[:, 0, 0] = np.arange(30)   # a mark that tells every digit apart
    train, validation = sequences.split_training_digits(images, labels, validation_size=8, seed=1)
    assert (len(train), len(validation)) == (22, 8)
    assert (train.name, validation.name) == ("mnist-train", "mnist-val")
    marks = np.concatenate([train.images[:, 0, 0], validation.images[:, 0, 0]])
    assert sorted(marks) == list(range(30))   # disjoint and complete
    np.testing.assert_array_equal(validation.labels, labels[validation.images[:, 0, 0]])
    again, _ = sequences.split_training_digits(images, labels, validation_size=8, seed=1)
    np.testing.assert_array_equal(again.images, train.images)


def test_training_stream_never_uses_test_digits() -> None:
    # Training digits are painted 100, test digits 200; bilinear resizing never exceeds its inputs.
    train = DigitSource(*fake_digits(40, seed=1, intensity=100))
    test = DigitSource(*fake_digits(40, seed=2, intensity=200))
    batches = sequences.sequence_batches(train, batch_size=32, seed=0)
    for _ in range(5):
        images, _ = next(batches)
        assert 0 < images.max() <= 100
    test_images, _ = sequences.generate_sequences(test, 32, seed=0)
    assert test_images.max() > 100


def test_stream_batches_differ_but_repeat_under_seed(source: DigitSource) -> None:
    first, second = sequences.sequence_batches(source, 8, seed=1), sequences.sequence_batches(source, 8, seed=1)
    a1, a2 = next(first)[0], next(first)[0]
    np.testing.assert_array_equal(a1, next(second)[0])
    assert not np.array_equal(a1, a2)


def test_train_dataset_yields_model_targets(source: DigitSource) -> None:
    dataset = sequences.train_dataset(source, batch_size=4, seed=0)
    images, targets = next(iter(dataset))
    assert images.shape == (4, 32, 128, 1) and images.dtype.name == "float32"
    assert sorted(targets) == ["digit_1", "digit_2", "digit_3", "digit_4", "digit_5", "length"]
    assert targets["length"].shape == (4,)


@pytest.mark.parametrize("kwargs", [dict(min_length=0), dict(min_length=6), dict(digit_height=(20, 40)),
                                    dict(spacing=(3, 1)), dict(length_weights=(1, 1, 1)),
                                    dict(length_weights=(1, 1, -1, 1, 1)), dict(length_weights=(0, 0, 0, 0, 0))])
def test_bad_config_is_rejected(kwargs) -> None:
    with pytest.raises(ValueError):
        SequenceConfig(**kwargs)


def test_bad_source_is_rejected() -> None:
    with pytest.raises(ValueError, match="uint8"):
        DigitSource(np.zeros((3, 28, 28), np.float32), np.zeros(3))
    with pytest.raises(ValueError, match="labels"):
        DigitSource(np.zeros((3, 28, 28), np.uint8), np.zeros(2))


def test_distortion_changes_glyphs_but_keeps_labels_and_determinism(source: DigitSource) -> None:
    plain = sequences.generate_sequences(source, 30, seed=4)
    config = SequenceConfig(augment=True)
    distorted = sequences.generate_sequences(source, 30, seed=4, config=config)
    again = sequences.generate_sequences(source, 30, seed=4, config=config)
    np.testing.assert_array_equal(distorted[0], again[0])
    assert not np.array_equal(plain[0], distorted[0])
    assert distorted[0].shape == plain[0].shape and (distorted[0].reshape(30, -1).max(1) > 0).all()


def test_distort_glyph_crops_to_rotated_ink() -> None:
    glyph = np.zeros((20, 6), np.uint8)
    glyph[:, 2:4] = 255                      # a vertical bar
    rng = np.random.default_rng(0)
    out = sequences.distort_glyph(glyph, rng, SequenceConfig(rotation=30, shear=0.0))
    assert out.shape[1] > 6 or out.shape[0] < 20   # tilted: wider or shorter than before
    assert out[0].any() and out[-1].any() and out[:, 0].any() and out[:, -1].any()   # tight crop


def test_elastic_warp_bends_strokes_and_zero_amplitude_only_pads() -> None:
    glyph = np.zeros((20, 12), np.uint8)
    glyph[:, 5:7] = 255                      # a vertical bar
    np.testing.assert_array_equal(sequences.elastic_warp(glyph, np.random.default_rng(0), 0.0), np.pad(glyph, 1))
    bent = sequences.elastic_warp(glyph, np.random.default_rng(0), 2.0)
    assert bent.dtype == np.uint8 and bent.shape == (20 + 2 * 3, 12 + 2 * 3)
    assert not np.array_equal(bent, np.pad(glyph, 3))
    assert 0.7 < bent.sum() / glyph.sum() < 1.3          # ink moves, it is not created or lost
    assert bent[:, :2].sum() == 0 and bent[:, -2:].sum() == 0   # the padding catches what moves out


def test_augment_share_leaves_the_rest_of_the_glyphs_clean(source: DigitSource, monkeypatch) -> None:
    calls = []
    monkeypatch.setattr(sequences, "distort_glyph", lambda glyph, rng, config: calls.append(1) or glyph)
    sequences.generate_sequences(source, 200, seed=4, config=SequenceConfig(augment=True, augment_share=0.0))
    assert not calls
    sequences.generate_sequences(source, 200, seed=4, config=SequenceConfig(augment=True, augment_share=0.5))
    glyphs = sum(sequences.generate_sequences(source, 200, seed=4)[1][:, 0])
    assert 0.4 < len(calls) / glyphs < 0.6
    for bad in (dict(augment_share=1.5), dict(elastic=-1.0)):
        with pytest.raises(ValueError, match="augment_share"):
            SequenceConfig(**bad)


def test_augment_steps_end_distortion_and_leave_later_batches_as_a_clean_stream(source: DigitSource) -> None:
    config = SequenceConfig(augment=True, augment_steps=2)
    distorted = list(itertools.islice(sequences.sequence_batches(source, 4, seed=3, config=config), 4))
    clean = list(itertools.islice(sequences.sequence_batches(source, 4, seed=3), 4))
    for step, ((images, labels), (clean_images, clean_labels)) in enumerate(zip(distorted, clean)):
        # Each batch has its own seed, so from step 2 on the stream is exactly the clean one.
        same = np.array_equal(images, clean_images) and np.array_equal(labels, clean_labels)
        assert same == (step >= 2), step
    with pytest.raises(ValueError, match="augment_steps"):
        SequenceConfig(augment_steps=-1)


def test_length_weights_set_the_mix_of_lengths(source: DigitSource) -> None:
    uniform = sequences.generate_sequences(source, 3000, seed=4)[1][:, 0]
    weighted = sequences.generate_sequences(source, 3000, seed=4,
                                            config=SequenceConfig(length_weights=(1, 2, 3, 4, 5)))[1][:, 0]
    only_long = sequences.generate_sequences(source, 200, seed=4,
                                             config=SequenceConfig(length_weights=(0, 0, 0, 1, 1)))[1][:, 0]
    np.testing.assert_allclose(np.bincount(uniform, minlength=6)[1:] / 3000, 0.2, atol=0.03)
    np.testing.assert_allclose(np.bincount(weighted, minlength=6)[1:] / 3000, np.arange(1, 6) / 15, atol=0.03)
    assert set(only_long) == {4, 5}


def test_glyph_indices_name_each_digit_and_leave_the_stream_unchanged(source: DigitSource) -> None:
    images, labels = sequences.generate_sequences(source, 30, seed=8)
    same_images, same_labels, glyphs = sequences.generate_sequences(source, 30, seed=8, return_glyphs=True)
    np.testing.assert_array_equal(images, same_images)   # asking for the indices draws nothing extra
    np.testing.assert_array_equal(labels, same_labels)
    present = np.arange(glyphs.shape[1]) < labels[:, :1]
    assert ((glyphs >= 0) == present).all()
    np.testing.assert_array_equal(source.labels[glyphs[present]], labels[:, 1:][present])
