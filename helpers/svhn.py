"""SVHN format 1: verified download, safe extraction, and a fast, cached digitStruct.mat parser."""
from __future__ import annotations

import json
import tarfile
from dataclasses import dataclass
from pathlib import Path

import h5py
import numpy as np

from helpers import data, paths

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
BOX_FIELDS = ("left", "top", "width", "height")


@dataclass(frozen=True)
class Annotation:
    """One image's annotation: file name, digits (SVHN's label 10 read as 0) and boxes."""

    name: str
    digits: tuple[int, ...]
    boxes: np.ndarray          # (digits, 4): left, top, width, height in pixels

    def to_json(self) -> list:
        return [self.name, list(self.digits), self.boxes.round(2).tolist()]

    @classmethod
    def from_json(cls, item: list) -> "Annotation":
        return cls(item[0], tuple(item[1]), np.asarray(item[2], np.float64).reshape(-1, 4))


def safe_extract(archive: Path, destination: Path) -> Path:
    """Extract a .tar.gz into `destination`, refusing members that would land outside it."""
    destination = Path(destination).resolve()
    try:
        with tarfile.open(archive, "r:gz") as tar:
            for member in tar.getmembers():
                target = (destination / member.name).resolve()
                if destination not in target.parents and target != destination:
                    raise ValueError(f"{archive} contains {member.name!r}, which would be written outside "
                                     f"{destination}; refusing to extract it.")
                if member.issym() or member.islnk() or member.isdev():
                    raise ValueError(f"{archive} contains a link or device ({member.name!r}); refusing it.")
            tar.extractall(destination, filter="data")
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


def _read(dataset: h5py.h5d.DatasetID) -> np.ndarray:
    """Read a whole dataset through the low-level API (no high-level wrapper objects)."""
    out = np.empty(dataset.shape, dtype=dataset.dtype)
    dataset.read(h5py.h5s.ALL, h5py.h5s.ALL, out)
    return out


def _field(group: h5py.h5g.GroupID, name: bytes, file_id: h5py.h5f.FileID) -> np.ndarray:
    """One bbox field: a plain array for one digit, or an array of references for several."""
    values = _read(h5py.h5d.open(group, name)).ravel()
    if values.dtype.kind != "O":
        return values.astype(np.float64)
    return np.array([_read(h5py.h5r.dereference(ref, file_id)).item() for ref in values], np.float64)


def parse_digit_struct(path: Path) -> list[Annotation]:
    """Parse an SVHN format-1 digitStruct.mat (MATLAB v7.3 / HDF5) into annotations.

    The high-level h5py route (`file[ref]` for every value) manages about 250 entries/s; this one
    dereferences with the low-level API and reads straight into NumPy buffers.
    """
    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(f"{path} does not exist; download SVHN with helpers.svhn.fetch_svhn().")
    try:
        handle = h5py.File(path, "r")
    except OSError as error:
        raise ValueError(f"{path} is not an HDF5 (MATLAB v7.3) file: {error}.") from error
    with handle:
        try:
            names, boxes = handle["digitStruct/name"], handle["digitStruct/bbox"]
        except KeyError as error:
            raise ValueError(f"{path} has no digitStruct/name and digitStruct/bbox: not an SVHN "
                             "digitStruct.mat.") from error
        if names.shape != boxes.shape:
            raise ValueError(f"{path}: {names.shape} names but {boxes.shape} boxes.")
        file_id = handle.id
        annotations = []
        for index, (name_ref, box_ref) in enumerate(zip(names[()].ravel(), boxes[()].ravel())):
            try:
                name = _read(h5py.h5r.dereference(name_ref, file_id)).ravel().astype(np.uint8).tobytes().decode()
                group = h5py.h5r.dereference(box_ref, file_id)
                labels = _field(group, b"label", file_id)
                fields = np.stack([_field(group, key.encode(), file_id) for key in BOX_FIELDS], axis=1)
            except (KeyError, ValueError, TypeError, UnicodeDecodeError) as error:
                raise ValueError(f"{path}: entry {index + 1} is malformed ({error}).") from error
            if len(labels) == 0 or fields.shape != (len(labels), 4) or not np.isin(labels, np.arange(1, 11)).all():
                raise ValueError(f"{path}: entry {index + 1} ({name}) has labels {labels.tolist()} and "
                                 f"boxes of shape {fields.shape}; expected labels 1-10 with one box each.")
            digits = tuple(int(label) % 10 for label in labels)   # SVHN writes digit 0 as label 10
            annotations.append(Annotation(name, digits, fields))
    return annotations


def load_digit_struct(path: Path, *, cache: bool = True) -> list[Annotation]:
    """Parsed annotations of a digitStruct.mat, cached as JSON keyed by the file's size and mtime."""
    path = Path(path).resolve()
    if not path.exists():
        raise FileNotFoundError(f"{path} does not exist; download SVHN with helpers.svhn.fetch_svhn().")
    stat = path.stat()
    cache_file = paths.cache_dir() / "svhn" / f"{path.parent.name}-{stat.st_size}-{stat.st_mtime_ns}.json"
    if cache and cache_file.exists():
        return [Annotation.from_json(item) for item in json.loads(cache_file.read_text())]
    annotations = parse_digit_struct(path)
    if cache:
        cache_file.parent.mkdir(parents=True, exist_ok=True)
        temporary = cache_file.with_suffix(".tmp")
        temporary.write_text(json.dumps([a.to_json() for a in annotations]))
        temporary.replace(cache_file)
    return annotations


def write_digit_struct(path: Path, annotations: list[Annotation]) -> Path:
    """Write annotations as a digitStruct.mat in SVHN's exact MATLAB v7.3 layout.

    Names are uint16 character arrays; a one-digit entry stores each bbox field as a 1x1 double,
    a longer one as an array of references to 1x1 doubles, and digit 0 is written as label 10.
    """
    with h5py.File(path, "w") as handle:
        refs = handle.create_group("#refs#")
        counter = iter(range(10**9))

        def scalar(value: float) -> h5py.Reference:
            dataset = refs.create_dataset(f"v{next(counter)}", data=np.array([[value]], np.float64))
            dataset.attrs["MATLAB_class"] = np.bytes_("double")
            return dataset.ref

        name_refs, box_refs = [], []
        for annotation in annotations:
            name = refs.create_dataset(f"n{next(counter)}",
                                       data=np.frombuffer(annotation.name.encode(), np.uint8).astype(np.uint16)[:, None])
            name.attrs["MATLAB_class"] = np.bytes_("char")
            name_refs.append(name.ref)
            group = refs.create_group(f"b{next(counter)}")
            group.attrs["MATLAB_class"] = np.bytes_("struct")
            columns = {"label": [10 if d == 0 else d for d in annotation.digits],
                       **{key: annotation.boxes[:, i] for i, key in enumerate(BOX_FIELDS)}}
            for key, values in columns.items():
                if len(values) == 1:
                    group.create_dataset(key, data=np.array([[float(values[0])]]))
                else:
                    group.create_dataset(key, data=np.array([[scalar(float(v))] for v in values],
                                                            dtype=h5py.ref_dtype))
            box_refs.append(group.ref)
        struct = handle.create_group("digitStruct")
        struct.create_dataset("name", data=np.array(name_refs, dtype=h5py.ref_dtype)[:, None])
        struct.create_dataset("bbox", data=np.array(box_refs, dtype=h5py.ref_dtype)[:, None])
    return Path(path)
