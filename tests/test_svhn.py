"""SVHN format 1: the digitStruct parser on real and generated files, safe download and extraction."""
from __future__ import annotations

import hashlib
import io
import tarfile
from pathlib import Path

import h5py
import numpy as np
import pytest

from conftest import SHARED_DATA
from helpers import svhn
from helpers.svhn import Annotation

SAMPLE = SHARED_DATA / "svhn-sample"
needs_sample = pytest.mark.skipif(not SAMPLE.exists(), reason=f"{SAMPLE} is absent (real SVHN sample files)")
KNOWN = {"train": ["19", "23", "25"], "test": ["5", "210", "6"], "extra": ["478", "71", "174"]}


@needs_sample
@pytest.mark.parametrize("split", sorted(KNOWN))
def test_real_digit_struct_files_parse_to_known_labels(split: str) -> None:
    annotations = svhn.parse_digit_struct(SAMPLE / split / "digitStruct.mat")
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
    monkeypatch.setattr(svhn, "_entries_h5py", lambda handle: pytest.fail("fell back to h5py"))


@needs_sample
@pytest.mark.parametrize("split", sorted(KNOWN))
def test_fast_reader_handles_real_files_and_agrees_with_h5py(split: str, monkeypatch) -> None:
    path = SAMPLE / split / "digitStruct.mat"
    slow = svhn.parse_digit_struct(path, fast=False)
    _no_fallback(monkeypatch)
    assert _same(svhn.parse_digit_struct(path), slow)


def _examples() -> list[Annotation]:
    return [Annotation("1.png", (7,), np.array([[5.0, 6.0, 10.0, 20.0]])),
            Annotation("2.png", (1, 0, 3), np.array([[1, 2, 3, 4], [5, 6, 7, 8], [9, 10, 11, 12.5]])),
            Annotation("10.png", (0,), np.array([[0.0, 1.0, 2.0, 3.0]]))]


def test_write_then_parse_round_trip_single_and_multi_digit(tmp_path: Path) -> None:
    path = svhn.write_digit_struct(tmp_path / "digitStruct.mat", _examples())
    with h5py.File(path) as handle:   # the layout really differs between one and several digits
        first, second = (handle[handle["digitStruct/bbox"][i, 0]]["label"] for i in (0, 1))
        assert first.dtype == np.float64 and second.dtype.kind == "O"
        assert handle[handle["digitStruct/bbox"][2, 0]]["label"][0, 0] == 10    # digit 0 stored as 10
    parsed = svhn.parse_digit_struct(path)
    for want, got in zip(_examples(), parsed, strict=True):
        assert got.name == want.name and got.digits == want.digits
        np.testing.assert_allclose(got.boxes, want.boxes)


def test_fast_reader_on_generated_files_and_fallback_for_newer_hdf5(tmp_path: Path, monkeypatch) -> None:
    rng = np.random.default_rng(0)
    many = [Annotation(f"{i}.png", tuple(rng.integers(0, 10, rng.integers(1, 6)).tolist()), np.zeros(0))
            for i in range(1, 300)]
    many = [Annotation(a.name, a.digits, rng.uniform(0, 500, (len(a.digits), 4)).round(1)) for a in many]
    old = svhn.write_digit_struct(tmp_path / "old.mat", many)
    new = svhn.write_digit_struct(tmp_path / "new.mat", many, libver="latest")
    slow = svhn.parse_digit_struct(old, fast=False)
    assert _same(slow, many)
    assert _same(svhn.parse_digit_struct(new), many)       # v2 headers: read through h5py
    _no_fallback(monkeypatch)
    assert _same(svhn.parse_digit_struct(old), many)       # MATLAB-style file: the fast reader alone


def test_malformed_files_give_clear_errors(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError):
        svhn.parse_digit_struct(tmp_path / "missing.mat")
    (tmp_path / "text.mat").write_text("not hdf5")
    with pytest.raises(ValueError, match="not an HDF5"):
        svhn.parse_digit_struct(tmp_path / "text.mat")
    with h5py.File(tmp_path / "empty.mat", "w") as handle:
        handle.create_group("other")
    with pytest.raises(ValueError, match="not an SVHN digitStruct"):
        svhn.parse_digit_struct(tmp_path / "empty.mat")
    bad = Annotation("x.png", (3, 4), np.ones((2, 4)))
    path = svhn.write_digit_struct(tmp_path / "bad.mat", [bad])
    with h5py.File(path, "r+") as handle:
        label = handle[handle["digitStruct/bbox"][0, 0]]["label"]
        handle[label[1, 0]][0, 0] = 42.0
    with pytest.raises(ValueError, match="entry 1"):
        svhn.parse_digit_struct(path)


def test_load_digit_struct_caches_by_size_and_mtime(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setenv("DIGITS_CACHE_DIR", str(tmp_path / "cache"))
    path = svhn.write_digit_struct(tmp_path / "digitStruct.mat", _examples())
    first = svhn.load_digit_struct(path)
    monkeypatch.setattr(svhn, "parse_digit_struct", lambda p: pytest.fail("cache not used"))
    again = svhn.load_digit_struct(path)
    assert [(a.name, a.digits) for a in again] == [(a.name, a.digits) for a in first]
    np.testing.assert_allclose(again[1].boxes, first[1].boxes)


def _tar(path: Path, members: dict[str, bytes]) -> Path:
    with tarfile.open(path, "w:gz") as tar:
        for name, payload in members.items():
            info = tarfile.TarInfo(name)
            info.size = len(payload)
            tar.addfile(info, io.BytesIO(payload))
    return path


def test_safe_extract_refuses_path_traversal(tmp_path: Path) -> None:
    evil = _tar(tmp_path / "evil.tar.gz", {"train/1.png": b"x", "../outside.txt": b"gotcha"})
    with pytest.raises(ValueError, match="outside"):
        svhn.safe_extract(evil, tmp_path / "out")
    assert not (tmp_path / "outside.txt").exists()
    (tmp_path / "broken.tar.gz").write_bytes(b"\x1f\x8b garbage")
    with pytest.raises(ValueError, match="not a readable"):
        svhn.safe_extract(tmp_path / "broken.tar.gz", tmp_path / "out")


def test_fetch_svhn_downloads_verifies_and_extracts(http_root, tmp_path: Path, monkeypatch) -> None:
    root, url = http_root
    struct = svhn.write_digit_struct(tmp_path / "digitStruct.mat", _examples())
    archive = _tar(root / "test.tar.gz", {"test/digitStruct.mat": struct.read_bytes(), "test/1.png": b"png"})
    good = svhn.Archive("test.tar.gz", archive.stat().st_size, hashlib.md5(archive.read_bytes()).hexdigest())
    monkeypatch.setitem(svhn.SVHN_ARCHIVES, "test", good)
    folder = svhn.fetch_svhn("test", tmp_path / "data", base_url=url, progress=False)
    assert [a.digits for a in svhn.parse_digit_struct(folder / "digitStruct.mat")] == [(7,), (1, 0, 3), (0,)]

    monkeypatch.setitem(svhn.SVHN_ARCHIVES, "train", svhn.Archive("test.tar.gz", good.size, "0" * 32))
    with pytest.raises(ValueError, match="MD5"):
        svhn.fetch_svhn("train", tmp_path / "data2", base_url=url, progress=False)
    assert not any((tmp_path / "data2").rglob("*.gz*"))
    with pytest.raises(ValueError, match="unknown SVHN split"):
        svhn.fetch_svhn("validation", tmp_path)


def test_truncated_digit_struct_gives_a_clear_error(tmp_path: Path) -> None:
    path = svhn.write_digit_struct(tmp_path / "digitStruct.mat", _examples())
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    with pytest.raises(ValueError, match="digitStruct.mat"):
        svhn.parse_digit_struct(path)


def test_photos_on_disk_skips_listed_but_absent_photos(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setenv("DIGITS_CACHE_DIR", str(tmp_path / "cache"))
    folder = tmp_path / "split"
    folder.mkdir()
    svhn.write_digit_struct(folder / "digitStruct.mat", _examples())
    (folder / "2.png").write_bytes(b"only this photo is present")
    table = svhn.photos_on_disk([folder])
    assert [Path(p).name for p in table.paths] == ["2.png"]
    assert table.labels[0].tolist() == [3, 1, 0, 3, 10, 10]
    # Union of the three digit boxes (left, top, width, height) as (top, left, bottom, right).
    assert table.union[0].tolist() == pytest.approx([2, 1, 22.5, 20])
    (folder / "2.png").unlink()
    with pytest.raises(FileNotFoundError, match="no annotated photo"):
        svhn.photos_on_disk([folder])


@needs_sample
def test_photos_on_disk_reads_the_real_sample(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setenv("DIGITS_CACHE_DIR", str(tmp_path / "cache"))
    table = svhn.photos_on_disk([SAMPLE / split for split in ("train", "test", "extra")])
    numbers = ["".join(map(str, row[1:1 + row[0]])) for row in table.labels]
    assert numbers == KNOWN["train"] + KNOWN["test"] + KNOWN["extra"]
