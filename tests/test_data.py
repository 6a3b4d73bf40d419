"""The IDX reader, the verified atomic downloader and MNIST loading."""
from __future__ import annotations

import gzip
import hashlib
import socket
from pathlib import Path

import numpy as np
import pytest

from conftest import SHARED_DATA
from helpers.datasets import mnist as data


def test_idx_round_trip_gzip_and_raw(tmp_path: Path) -> None:
    array = np.arange(2 * 3 * 4, dtype=np.uint8).reshape(2, 3, 4)
    for name in ("a.idx", "a.idx.gz"):
        np.testing.assert_array_equal(data.read_idx(data.write_idx(tmp_path / name, array)), array)


def test_idx_rejects_bad_magic(tmp_path: Path) -> None:
    path = tmp_path / "bad.gz"
    with gzip.open(path, "wb") as stream:
        stream.write(b"\x12\x34\x08\x01" + b"\x00" * 8)
    with pytest.raises(ValueError, match="magic"):
        data.read_idx(path)


def test_idx_rejects_short_data(tmp_path: Path) -> None:
    path = data.write_idx(tmp_path / "x.idx", np.zeros((10, 28, 28), np.uint8))
    path.write_bytes(path.read_bytes()[:-28])   # one row of one image missing
    with pytest.raises(ValueError, match="truncated"):
        data.read_idx(path)


def test_idx_rejects_truncated_gzip(tmp_path: Path) -> None:
    path = data.write_idx(tmp_path / "x.gz", np.random.default_rng(0).integers(0, 255, (50, 28, 28)))
    path.write_bytes(path.read_bytes()[:200])
    with pytest.raises(ValueError, match="corrupt or truncated"):
        data.read_idx(path)


def test_idx_missing_file_says_what_to_do(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match="DIGITS_DATA_DIR"):
        data.read_idx(tmp_path / "nope.gz")


def test_load_mnist_from_fake_folder(fake_mnist_dir: Path) -> None:
    mnist = data.load_mnist(fake_mnist_dir, download_missing=False, verify=False)
    assert mnist.train_images.shape == (60, 28, 28) and mnist.test_labels.shape == (20,)
    assert mnist.train_images.dtype == np.uint8


def test_load_mnist_rejects_count_mismatch(fake_mnist_dir: Path) -> None:
    data.write_idx(fake_mnist_dir / "mnist" / "train-labels-idx1-ubyte.gz", np.zeros(59, np.uint8))
    with pytest.raises(ValueError, match="60 train images but 59 labels"):
        data.load_mnist(fake_mnist_dir, download_missing=False, verify=False)


def test_load_mnist_rejects_checksum_mismatch(fake_mnist_dir: Path) -> None:
    with pytest.raises(ValueError, match="official MNIST checksum"):
        data.load_mnist(fake_mnist_dir, download_missing=False, verify=True)


@pytest.mark.skipif(not (SHARED_DATA / "mnist").exists(), reason=f"{SHARED_DATA / 'mnist'} is absent")
def test_real_mnist_matches_published_checksums() -> None:
    mnist = data.load_mnist(SHARED_DATA, download_missing=False, verify=True)
    assert mnist.train_images.shape == (60000, 28, 28) and mnist.test_images.shape == (10000, 28, 28)
    assert set(np.unique(mnist.test_labels)) == set(range(10))


def _gz_with_checksums(path: Path, payload: bytes) -> data.Checksums:
    with gzip.open(path, "wb") as stream:
        stream.write(payload)
    return data.Checksums(hashlib.md5(path.read_bytes()).hexdigest(), hashlib.sha256(payload).hexdigest())


def test_download_verifies_and_writes_atomically(http_root, tmp_path: Path) -> None:
    root, url = http_root
    sums = _gz_with_checksums(root / "f.gz", b"hello digits" * 1000)
    target = data.download(url + "f.gz", tmp_path / "out" / "f.gz", checksums=sums, progress=False,
                           expected_size=(root / "f.gz").stat().st_size, md5=sums.gz_md5)
    assert target.read_bytes() == (root / "f.gz").read_bytes()
    assert not list(target.parent.glob("*.part"))


def test_download_checksum_mismatch_keeps_nothing_and_loses_nothing(http_root, tmp_path: Path) -> None:
    root, url = http_root
    _gz_with_checksums(root / "f.gz", b"tampered")
    wrong = data.Checksums("0" * 32, "0" * 64)
    target = tmp_path / "f.gz"
    target.write_bytes(b"previous good copy")
    with pytest.raises(ValueError, match="checksum"):
        data.download(url + "f.gz", target, checksums=wrong, progress=False)
    assert target.read_bytes() == b"previous good copy"
    assert not list(tmp_path.glob("*.part"))


def test_download_size_mismatch_is_reported(http_root, tmp_path: Path) -> None:
    root, url = http_root
    (root / "f.bin").write_bytes(b"x" * 100)
    with pytest.raises(ValueError, match="truncated"):
        data.download(url + "f.bin", tmp_path / "f.bin", expected_size=101, progress=False)
    assert not (tmp_path / "f.bin").exists()


def test_download_offline_gives_clear_connection_error(tmp_path: Path) -> None:
    with socket.socket() as probe:        # a port nobody listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    with pytest.raises(ConnectionError, match="DIGITS_DATA_DIR"):
        data.download(f"http://127.0.0.1:{port}/x.gz", tmp_path / "x.gz", progress=False, timeout=2)
    assert not list(tmp_path.iterdir())


def test_fetch_mnist_falls_back_to_next_mirror(http_root, tmp_path: Path, monkeypatch) -> None:
    root, url = http_root
    (root / "good").mkdir()
    sums = {}
    for name in data.MNIST_FILES:
        sums[name] = _gz_with_checksums(root / "good" / name, name.encode())
    monkeypatch.setattr(data, "MNIST_FILES", sums)
    folder = data.fetch_mnist(tmp_path, mirrors=(url + "missing/", url + "good/"), progress=False)
    assert sorted(p.name for p in folder.iterdir()) == sorted(sums)


def test_fetch_mnist_reports_every_failed_mirror(http_root, tmp_path: Path) -> None:
    root, url = http_root
    (root / "train-images-idx3-ubyte.gz").write_bytes(b"not the real file")
    with pytest.raises(ConnectionError, match="no mirror worked") as error:
        data.fetch_mnist(tmp_path, mirrors=(url + "nothing/", url), progress=False)
    assert "checksum" in str(error.value) and "404" in str(error.value)
    assert not (tmp_path / "mnist" / "train-images-idx3-ubyte.gz").exists()
