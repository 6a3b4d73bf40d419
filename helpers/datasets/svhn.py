"""The official SVHN format-1 archives: verified download, safe extraction and the folder layout."""
from __future__ import annotations

import tarfile
from dataclasses import dataclass
from pathlib import Path

from helpers.core import paths
from helpers.datasets import mnist as data

SVHN_URL = "http://ufldl.stanford.edu/housenumbers/"


@dataclass(frozen=True)
class Archive:
    """One official format-1 archive: file name, size in bytes and MD5."""

    filename: str
    size: int
    md5: str


SVHN_ARCHIVES = {
    "train": Archive("train.tar.gz", 404_141_560, "a649f4cb15c35520e8a8c342d4c0005a"),
    "test": Archive("test.tar.gz", 276_555_967, "790d9c8d42f1fcbd219b59956c853a81"),
    "extra": Archive("extra.tar.gz", 1_955_489_752, "606f41243d71ca4d5fe66dbaf1f02bee"),
}


def safe_extract(archive: Path, destination: Path) -> Path:
    """Extract a .tar.gz into `destination` with tarfile's "data" filter (nothing outside it, no devices, no links
    leaving it), every member checked before any is written, so a refused archive writes nothing."""
    destination = Path(destination).resolve()
    try:
        with tarfile.open(archive, "r:gz") as tar:
            members = tar.getmembers()
            for member in members:
                tarfile.data_filter(member, str(destination))
            tar.extractall(destination, members=members, filter="data")
    except tarfile.FilterError as error:
        raise ValueError(f"{archive} holds a member that would be written outside {destination} or is a link or "
                         f"device ({error}); refusing to extract it.") from error
    except (tarfile.TarError, EOFError, OSError) as error:
        raise ValueError(f"{archive} is not a readable .tar.gz ({error}); delete it and download it "
                         "again.") from error
    return destination


def fetch_svhn(split: str, data_dir: Path | None = None, *, base_url: str = SVHN_URL,
               progress: bool = True) -> Path:
    """Make sure `data_dir/svhn/<split>/` holds the split's PNGs and digitStruct.mat."""
    if split not in SVHN_ARCHIVES:
        raise ValueError(f"unknown SVHN split {split!r}; choose one of {sorted(SVHN_ARCHIVES)}.")
    root = Path(data_dir or paths.data_dir()) / "svhn"
    folder = root / split
    if (folder / "digitStruct.mat").exists():
        return folder
    archive = SVHN_ARCHIVES[split]
    target = root / archive.filename
    if not target.exists():
        data.download(base_url + archive.filename, target, expected_size=archive.size, md5=archive.md5,
                      progress=progress)
    safe_extract(target, root)
    if not (folder / "digitStruct.mat").exists():
        raise ValueError(f"{target} did not contain {split}/digitStruct.mat; is it the SVHN format-1 archive?")
    return folder



if __name__ == "__main__":   # python -m helpers.datasets.svhn [train test extra]: download + extract (online users)
    import sys

    for requested in sys.argv[1:] or ["train", "test"]:
        print(f"SVHN {requested} ready in {fetch_svhn(requested)}")
