"""digitStruct.mat: the fast parser against h5py on real and generated files, writing, caching, bad files."""
from __future__ import annotations

from pathlib import Path

import h5py
import numpy as np
import pytest

from conftest import SHARED_DATA
from helpers.datasets import digitstruct
from helpers.datasets.digitstruct import Annotation

SAMPLE = SHARED_DATA / "svhn-sample"
needs_sample = pytest.mark.skipif(not SAMPLE.exists(), reason=f"{SAMPLE} is absent (real SVHN sample files)")
KNOWN = {"train": ["19", "23", "25"], "test": ["5", "210", "6"], "extra": ["478", "71", "174"]}


@needs_sample
@pytest.mark.parametrize("split", sorted(KNOWN))
def test_real_digit_struct_files_parse_to_known_labels(split: str) -> None:
    annotations = digitstruct.parse_digit_struct(SAMPLE / split / "digitStruct.mat")
    # The sample's README says 40 entries per file; train's actually holds 39 (1.png ... 39.png).
    assert len(annotations) >= 39
    assert [a.name for a in annotations] == [f"{i}.png" for i in range(1, len(annotations) + 1)]
    assert ["".join(map(str, a.digits)) for a in annotations[:3]] == KNOWN[split]
    for annotation in annotations:
        assert annotation.boxes.shape == (len(annotation.digits), 4) and (annotation.boxes[:, 2:] > 0).all()


def _same(first: list[Annotation], second: list[Annotation]) -> bool:
    return len(first) == len(second) and all(
        a.name == b.name and a.digits == b.digits and np.array_equal(a.boxes, b.boxes) for a, b in zip(first, second))


def _no_fallback(monkeypatch) -> None:
    monkeypatch.setattr(digitstruct, "_entries_h5py", lambda handle: pytest.fail("fell back to h5py"))


@needs_sample
@pytest.mark.parametrize("split", sorted(KNOWN))
def test_fast_reader_handles_real_files_and_agrees_with_h5py(split: str, monkeypatch) -> None:
    path = SAMPLE / split / "digitStruct.mat"
    slow = digitstruct.parse_digit_struct(path, fast=False)
    _no_fallback(monkeypatch)
    assert _same(digitstruct.parse_digit_struct(path), slow)


def _examples() -> list[Annotation]:
    return [Annotation("1.png", (7,), np.array([[5.0, 6.0, 10.0, 20.0]])),
            Annotation("2.png", (1, 0, 3), np.array([[1, 2, 3, 4], [5, 6, 7, 8], [9, 10, 11, 12.5]])),
            Annotation("10.png", (0,), np.array([[0.0, 1.0, 2.0, 3.0]]))]


def test_write_then_parse_round_trip_single_and_multi_digit(tmp_path: Path) -> None:
    path = digitstruct.write_digit_struct(tmp_path / "digitStruct.mat", _examples())
    with h5py.File(path) as handle:   # the layout really differs between one and several digits
        first, second = (handle[handle["digitStruct/bbox"][i, 0]]["label"] for i in (0, 1))
        assert first.dtype == np.float64 and second.dtype.kind == "O"
        assert handle[handle["digitStruct/bbox"][2, 0]]["label"][0, 0] == 10    # digit 0 stored as 10
    parsed = digitstruct.parse_digit_struct(path)
    for want, got in zip(_examples(), parsed, strict=True):
        assert got.name == want.name and got.digits == want.digits
        np.testing.assert_allclose(got.boxes, want.boxes)


def test_fast_reader_on_generated_files_and_fallback_for_newer_hdf5(tmp_path: Path, monkeypatch) -> None:
    rng = np.random.default_rng(0)
    many = [Annotation(f"{i}.png", tuple(rng.integers(0, 10, rng.integers(1, 6)).tolist()), np.zeros(0))
            for i in range(1, 300)]
    many = [Annotation(a.name, a.digits, rng.uniform(0, 500, (len(a.digits), 4)).round(1)) for a in many]
    old = digitstruct.write_digit_struct(tmp_path / "old.mat", many)
    new = digitstruct.write_digit_struct(tmp_path / "new.mat", many, libver="latest")
    slow = digitstruct.parse_digit_struct(old, fast=False)
    assert _same(slow, many)
    assert _same(digitstruct.parse_digit_struct(new), many)       # v2 headers: read through h5py
    _no_fallback(monkeypatch)
    assert _same(digitstruct.parse_digit_struct(old), many)       # MATLAB-style file: the fast reader alone


def test_malformed_files_give_clear_errors(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError):
        digitstruct.parse_digit_struct(tmp_path / "missing.mat")
    (tmp_path / "text.mat").write_text("not hdf5")
    with pytest.raises(ValueError, match="not an HDF5"):
        digitstruct.parse_digit_struct(tmp_path / "text.mat")
    with h5py.File(tmp_path / "empty.mat", "w") as handle:
        handle.create_group("other")
    with pytest.raises(ValueError, match="not an SVHN digitStruct"):
        digitstruct.parse_digit_struct(tmp_path / "empty.mat")
    bad = Annotation("x.png", (3, 4), np.ones((2, 4)))
    path = digitstruct.write_digit_struct(tmp_path / "bad.mat", [bad])
    with h5py.File(path, "r+") as handle:
        label = handle[handle["digitStruct/bbox"][0, 0]]["label"]
        handle[label[1, 0]][0, 0] = 42.0
    with pytest.raises(ValueError, match="entry 1"):
        digitstruct.parse_digit_struct(path)


def test_load_digit_struct_caches_by_size_and_mtime(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setenv("DIGITS_CACHE_DIR", str(tmp_path / "cache"))
    path = digitstruct.write_digit_struct(tmp_path / "digitStruct.mat", _examples())
    first = digitstruct.load_digit_struct(path)
    monkeypatch.setattr(digitstruct, "parse_digit_struct", lambda p: pytest.fail("cache not used"))
    again = digitstruct.load_digit_struct(path)
    assert [(a.name, a.digits) for a in again] == [(a.name, a.digits) for a in first]
    np.testing.assert_allclose(again[1].boxes, first[1].boxes)


def test_truncated_digit_struct_gives_a_clear_error(tmp_path: Path) -> None:
    path = digitstruct.write_digit_struct(tmp_path / "digitStruct.mat", _examples())
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    with pytest.raises(ValueError, match="digitStruct.mat"):
        digitstruct.parse_digit_struct(path)
