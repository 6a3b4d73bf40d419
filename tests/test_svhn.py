"""The official SVHN archives: verified download and safe extraction."""
from __future__ import annotations

import hashlib
import io
import tarfile
from pathlib import Path

import pytest

from helpers.datasets import digitstruct, svhn
from test_digitstruct import _examples


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
    assert not (tmp_path / "outside.txt").exists() and not (tmp_path / "out" / "train" / "1.png").exists()   # nothing
    with tarfile.open(tmp_path / "link.tar.gz", "w:gz") as tar:   # a link out of the folder: refused the same way
        link = tarfile.TarInfo("train/passwd")
        link.type, link.linkname = tarfile.SYMTYPE, "/etc/passwd"
        tar.addfile(link)
    with pytest.raises(ValueError, match="refusing"):
        svhn.safe_extract(tmp_path / "link.tar.gz", tmp_path / "out")
    (tmp_path / "broken.tar.gz").write_bytes(b"\x1f\x8b garbage")
    with pytest.raises(ValueError, match="not a readable"):
        svhn.safe_extract(tmp_path / "broken.tar.gz", tmp_path / "out")


def test_fetch_svhn_downloads_verifies_and_extracts(http_root, tmp_path: Path, monkeypatch) -> None:
    root, url = http_root
    struct = digitstruct.write_digit_struct(tmp_path / "digitStruct.mat", _examples())
    archive = _tar(root / "test.tar.gz", {"test/digitStruct.mat": struct.read_bytes(), "test/1.png": b"png"})
    good = svhn.Archive("test.tar.gz", archive.stat().st_size, hashlib.md5(archive.read_bytes()).hexdigest())
    monkeypatch.setitem(svhn.SVHN_ARCHIVES, "test", good)
    folder = svhn.fetch_svhn("test", tmp_path / "data", base_url=url, progress=False)
    assert [a.digits for a in digitstruct.parse_digit_struct(folder / "digitStruct.mat")] == [(7,), (1, 0, 3), (0,)]

    monkeypatch.setitem(svhn.SVHN_ARCHIVES, "train", svhn.Archive("test.tar.gz", good.size, "0" * 32))
    with pytest.raises(ValueError, match="MD5"):
        svhn.fetch_svhn("train", tmp_path / "data2", base_url=url, progress=False)
    assert not any((tmp_path / "data2").rglob("*.gz*"))
    with pytest.raises(ValueError, match="unknown SVHN split"):
        svhn.fetch_svhn("validation", tmp_path)
