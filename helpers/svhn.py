"""SVHN format 1: verified download, safe extraction, and a fast, cached digitStruct.mat parser."""
from __future__ import annotations

import json
import struct
import tarfile
from dataclasses import dataclass
from pathlib import Path

import h5py
import numpy as np

from helpers import data, paths
from helpers.sequences import BLANK

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


def _entries_h5py(handle: h5py.File) -> list[tuple]:
    """(name, labels, boxes) of every entry through h5py, one library call per value (slow, general)."""
    file_id, entries = handle.id, []
    names, boxes = (handle["digitStruct"][key][()].ravel() for key in ("name", "bbox"))
    for index, (name_ref, box_ref) in enumerate(zip(names, boxes)):
        try:
            name = _read(h5py.h5r.dereference(name_ref, file_id)).ravel().astype(np.uint8).tobytes().decode()
            group = h5py.h5r.dereference(box_ref, file_id)
            labels = _field(group, b"label", file_id)
            fields = np.stack([_field(group, key.encode(), file_id) for key in BOX_FIELDS], axis=1)
        except (KeyError, ValueError, TypeError, UnicodeDecodeError) as error:
            raise ValueError(f"entry {index + 1} is malformed ({error})") from error
        entries.append((name, labels, fields))
    return entries


class _Unsupported(Exception):
    """The file uses an HDF5 feature the fast reader does not handle; use h5py instead."""


class _RawHDF5:
    """Just enough of the HDF5 format to read digitStruct.mat without a library call per value.

    Handles what MATLAB v7.3 and h5py's default settings write: version-1 object headers (with
    continuation blocks), symbol-table groups (B-tree, symbol nodes, local heap) and compact or
    contiguous datasets of doubles, integers or object references. Anything else raises
    `_Unsupported` and the caller falls back to h5py, so the fast path can never change a result.
    """

    def __init__(self, buffer: memoryview, base: int) -> None:
        self.buffer, self.base = buffer, base
        self.u8 = np.frombuffer(buffer, np.uint8)

    def _unpack(self, fmt: str, position: int) -> tuple:
        try:
            return struct.unpack_from(fmt, self.buffer, position)
        except struct.error as error:
            raise _Unsupported(f"read past the end at {position}") from error

    def messages(self, address: int) -> list[tuple[int, int, int]]:
        """(type, data position, size) of each message in the object header at `address`."""
        position = address + self.base
        version, _, count, _, size = self._unpack("<BBHII", position)
        if version != 1:
            raise _Unsupported(f"object header version {version}")
        blocks, found = [(position + 16, position + 16 + size)], []
        while blocks and len(found) < count:
            start, end = blocks.pop(0)
            while start + 8 <= end and len(found) < count:
                kind, length, flags = self._unpack("<HHB", start)
                if flags & 0x02:
                    raise _Unsupported("shared message")
                if kind == 0x10:    # continuation: the header goes on in another block
                    where, extent = self._unpack("<QQ", start + 8)
                    blocks.append((where + self.base, where + self.base + extent))
                found.append((kind, start + 8, length))
                start += 8 + length
        return found

    def dataset(self, address: int) -> np.ndarray:
        """The values of a compact or contiguous dataset, flattened."""
        dtype, data = None, None
        for kind, position, _ in self.messages(address):
            if kind == 0x03:
                dtype = self._dtype(position)
            elif kind == 0x08:
                data = self._layout(position)
            elif kind == 0x0B:
                raise _Unsupported("filtered dataset")
        if dtype is None or data is None:
            raise _Unsupported("dataset without datatype or layout")
        if len(data) % dtype.itemsize:
            raise _Unsupported("storage size is not a whole number of values")
        return np.frombuffer(data, dtype)

    def _dtype(self, position: int) -> np.dtype:
        class_version, bits, _, _, size = self._unpack("<BBBBI", position)
        kind, big_endian = class_version & 0x0F, bits & 0x01
        if kind == 1 and size in (4, 8) and not big_endian:
            return np.dtype(f"<f{size}")
        if kind == 0 and size in (1, 2, 4, 8) and not big_endian:
            return np.dtype(f"<{'i' if bits & 0x08 else 'u'}{size}")
        if kind == 7 and size == 8 and (bits & 0x0F) == 0:     # object reference = header address
            return np.dtype("<u8")
        raise _Unsupported(f"datatype class {kind}, size {size}")

    def _layout(self, position: int) -> bytes:
        version, layout = self._unpack("<BB", position)
        if version != 3:
            raise _Unsupported(f"layout message version {version}")
        if layout == 0:                                         # compact: the data sits in the header
            (size,) = self._unpack("<H", position + 2)
            return bytes(self.buffer[position + 4:position + 4 + size])
        if layout == 1:                                         # contiguous: somewhere else in the file
            where, size = self._unpack("<QQ", position + 2)
            if where == 2**64 - 1 or where + self.base + size > len(self.buffer):
                raise _Unsupported("contiguous data never written or out of the file")
            return bytes(self.buffer[where + self.base:where + self.base + size])
        raise _Unsupported(f"layout class {layout}")

    def group(self, address: int) -> dict[str, int]:
        """Member name -> object header address of a symbol-table group."""
        tables = [position for kind, position, _ in self.messages(address) if kind == 0x11]
        if len(tables) != 1:
            raise _Unsupported("group without a symbol table")
        tree, heap = self._unpack("<QQ", tables[0])
        signature, _, _, _, _, heap_data = self._unpack("<4sB3sQQQ", heap + self.base)
        if signature != b"HEAP":
            raise _Unsupported("bad local heap")
        members: dict[str, int] = {}
        pending = [tree]
        while pending:
            position = pending.pop() + self.base
            signature, node_type, level, used = self._unpack("<4sBBH", position)
            if signature != b"TREE" or node_type != 0:
                raise _Unsupported("bad group B-tree")
            children = [self._unpack("<Q", position + 24 + 16 * i + 8)[0] for i in range(used)]
            if level > 0:
                pending.extend(children)
                continue
            for child in children:                              # symbol table nodes
                signature, _, _, count = self._unpack("<4sBBH", child + self.base)
                if signature != b"SNOD":
                    raise _Unsupported("bad symbol table node")
                for i in range(count):
                    name_offset, header = self._unpack("<QQ", child + self.base + 8 + 40 * i)
                    start = heap_data + self.base + name_offset
                    name = bytes(self.buffer[start:start + 256]).split(b"\0", 1)
                    if len(name) != 2:
                        raise _Unsupported("unterminated member name")
                    members[name[0].decode()] = header
        return members

    def scalars(self, addresses: np.ndarray) -> np.ndarray:
        """Values of many 1x1 double datasets at once: the header walk is vectorised with NumPy."""
        if len(addresses) == 0:
            return np.zeros(0)
        try:
            return self._scalars(np.asarray(addresses, np.int64) + self.base)
        except IndexError as error:
            raise _Unsupported("scalar header out of the file") from error

    def _read_at(self, positions: np.ndarray, dtype: str) -> np.ndarray:
        width = np.dtype(dtype).itemsize
        return self.u8[positions[:, None] + np.arange(width)].copy().view(dtype).ravel()

    def _scalars(self, headers: np.ndarray) -> np.ndarray:
        if (self.u8[headers] != 1).any():
            raise _Unsupported("object header version")
        remaining = self._read_at(headers + 2, "<u2").astype(np.int64)
        position = headers + 16
        datatype = np.full(len(headers), -1)
        layout = np.full(len(headers), -1)
        for _ in range(64):
            active = remaining > 0
            if not active.any():
                break
            kind = np.where(active, self._read_at(position, "<u2"), 0)
            length = self._read_at(position + 2, "<u2").astype(np.int64)
            datatype = np.where(kind == 0x03, position + 8, datatype)
            layout = np.where(kind == 0x08, position + 8, layout)
            step = position + 8 + length
            continued = kind == 0x10
            if continued.any():
                step[continued] = self._read_at(position[continued] + 8, "<u8").astype(np.int64) + self.base
            position = np.where(active, step, position)
            remaining -= active
        if (remaining > 0).any() or (datatype < 0).any() or (layout < 0).any():
            raise _Unsupported("scalar without datatype or layout")
        is_double = ((self.u8[datatype] & 0x0F) == 1) & ((self.u8[datatype + 1] & 1) == 0) \
            & (self._read_at(datatype + 4, "<u4") == 8)
        if not is_double.all() or (self.u8[layout] != 3).any():
            raise _Unsupported("scalar is not a version-3 double")
        compact = self.u8[layout + 1] == 0
        contiguous = self.u8[layout + 1] == 1
        if not (compact | contiguous).all():
            raise _Unsupported("scalar layout")
        value_at = np.where(compact, layout + 4, 0)
        if contiguous.any():
            value_at[contiguous] = self._read_at(layout[contiguous] + 2, "<u8").astype(np.int64) + self.base
        return self._read_at(value_at, "<f8")


def _entries_raw(reader: _RawHDF5, name_addresses: np.ndarray, box_addresses: np.ndarray) -> list[tuple]:
    """(name, labels, boxes) of every entry with the fast reader; scalars resolved in one batch."""
    names, columns, pending = [], [], []        # pending: addresses of 1x1 doubles behind references
    for name_address, box_address in zip(name_addresses.tolist(), box_addresses.tolist()):
        names.append(reader.dataset(name_address).astype(np.uint8).tobytes().decode())
        members = reader.group(box_address)
        entry = []
        for key in ("label", *BOX_FIELDS):
            if key not in members:
                raise _Unsupported(f"bbox without {key}")
            values = reader.dataset(members[key])
            if values.dtype == np.uint64:                     # references: resolve later, all at once
                entry.append((len(pending), len(values)))
                pending.extend(values.tolist())
            else:
                entry.append(values.astype(np.float64))
        columns.append(entry)
    resolved = reader.scalars(np.array(pending, np.int64))
    entries = []
    for name, entry in zip(names, columns):
        values = [resolved[item[0]:item[0] + item[1]] if isinstance(item, tuple) else item for item in entry]
        if len({len(v) for v in values}) != 1:
            raise _Unsupported("fields of different lengths")  # h5py path reports it with the entry number
        entries.append((name, values[0], np.stack(values[1:], axis=1)))
    return entries


def _addresses(dataset: h5py.Dataset) -> np.ndarray:
    """The object-header addresses stored in a dataset of object references."""
    if dataset.dtype != h5py.ref_dtype:
        raise ValueError(f"{dataset.name} should hold object references, not {dataset.dtype}.")
    out = np.empty(dataset.shape, np.uint64)
    dataset.id.read(h5py.h5s.ALL, h5py.h5s.ALL, out, mtype=h5py.h5t.STD_REF_OBJ)
    return out.ravel()


def parse_digit_struct(path: Path, *, fast: bool = True) -> list[Annotation]:
    """Parse an SVHN format-1 digitStruct.mat (MATLAB v7.3 / HDF5) into annotations.

    The high-level h5py route (`file[ref]` for every value) manages about 250 entries/s. This one
    reads the HDF5 structures straight from the file's bytes (`_RawHDF5`) and resolves all the
    per-digit values in one vectorised pass; files it does not understand go through h5py instead.
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
        try:
            name_addresses, box_addresses = _addresses(names), _addresses(boxes)
        except ValueError as error:
            raise ValueError(f"{path}: {error}") from error
        entries = None
        if fast:
            try:   # one read of the whole file (tens of MB) beats hundreds of thousands of seeks
                reader = _RawHDF5(memoryview(path.read_bytes()), handle.userblock_size)
                entries = _entries_raw(reader, name_addresses, box_addresses)
            except (_Unsupported, UnicodeDecodeError, ValueError):
                entries = None                                   # let h5py read it (and name the problem)
        if entries is None:
            try:
                entries = _entries_h5py(handle)
            except ValueError as error:
                raise ValueError(f"{path}: {error}.") from error
    annotations = []
    for index, (name, labels, fields) in enumerate(entries):
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


def write_digit_struct(path: Path, annotations: list[Annotation], *, libver: str = "earliest") -> Path:
    """Write annotations as a digitStruct.mat in SVHN's exact MATLAB v7.3 layout.

    Names are uint16 character arrays; a one-digit entry stores each bbox field as a 1x1 double,
    a longer one as an array of references to 1x1 doubles, and digit 0 is written as label 10.
    `libver="earliest"` writes the same HDF5 structures as MATLAB; "latest" writes newer ones.
    """
    with h5py.File(path, "w", libver=libver) as handle:
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


@dataclass(frozen=True)
class NumberTable:
    """A split ready for tf.data: image paths, expanded number boxes and label rows."""

    paths: np.ndarray        # (n,) str
    boxes: np.ndarray        # (n, 4) float32: top, left, bottom, right in pixels (expanded union box)
    labels: np.ndarray       # (n, 1 + max_digits) int64: length, then digits with BLANK padding
    union: np.ndarray        # (n, 4) float32: the tight union of the digit boxes (top, left, bottom, right)
    dropped: int             # numbers longer than max_digits, left out

    def __len__(self) -> int:
        return len(self.paths)


def union_box(boxes: np.ndarray) -> np.ndarray:
    """(top, left, bottom, right) of the box around all digit boxes (left, top, width, height)."""
    boxes = np.asarray(boxes, np.float64).reshape(-1, 4)
    return np.array([boxes[:, 1].min(), boxes[:, 0].min(), (boxes[:, 1] + boxes[:, 3]).max(),
                     (boxes[:, 0] + boxes[:, 2]).max()])


def expand_box(box: np.ndarray, factor: float = 0.3) -> np.ndarray:
    """Grow a (top, left, bottom, right) box by `factor` of its size in x and in y, about its centre."""
    top, left, bottom, right = np.asarray(box, np.float64)
    grow_y, grow_x = (bottom - top) * factor / 2, (right - left) * factor / 2
    return np.array([top - grow_y, left - grow_x, bottom + grow_y, right + grow_x])


def number_table(folder: Path, annotations: list[Annotation] | None = None, *, max_digits: int = 5,
                 expand: float = 0.3) -> NumberTable:
    """Index a format-1 split: paths, 30%-expanded union boxes and labels; drops numbers > max_digits.

    Goodfellow et al. also leave out the few numbers longer than five digits (a handful in SVHN).
    """
    folder = Path(folder)
    annotations = annotations if annotations is not None else load_digit_struct(folder / "digitStruct.mat")
    kept = [a for a in annotations if len(a.digits) <= max_digits]
    labels = np.full((len(kept), 1 + max_digits), BLANK, np.int64)
    for row, annotation in enumerate(kept):
        labels[row, 0] = len(annotation.digits)
        labels[row, 1:1 + len(annotation.digits)] = annotation.digits
    union = np.array([union_box(a.boxes) for a in kept], np.float32).reshape(-1, 4)
    boxes = np.array([expand_box(u, expand) for u in union], np.float32).reshape(-1, 4)
    paths = np.array([str(folder / a.name) for a in kept])
    missing = [p for p in paths[:1] if not Path(p).exists()]
    if missing:
        raise FileNotFoundError(f"{missing[0]} is listed in {folder / 'digitStruct.mat'} but missing; "
                                "is the split fully extracted?")
    return NumberTable(paths, boxes, labels, union, len(annotations) - len(kept))


def concat_tables(tables: list[NumberTable]) -> NumberTable:
    """One table holding the rows of several splits (e.g. SVHN train + extra)."""
    if not tables:
        raise ValueError("need at least one split to train on.")
    return NumberTable(*(np.concatenate([getattr(t, field) for t in tables])
                         for field in ("paths", "boxes", "labels", "union")), sum(t.dropped for t in tables))


def photos_on_disk(folders: list[Path], *, max_digits: int = 5) -> NumberTable:
    """The annotated photos of several format-1 folders that are actually present (e.g. the tiny real sample).

    The sample's digitStruct.mat files list 40 photos each but ship only the first few; the
    rest are skipped rather than reported missing.
    """
    tables = []
    for folder in map(Path, folders):
        annotations = [a for a in load_digit_struct(folder / "digitStruct.mat") if (folder / a.name).exists()]
        if annotations:
            tables.append(number_table(folder, annotations, max_digits=max_digits))
    if not tables:
        raise FileNotFoundError(f"no annotated photo found in {', '.join(map(str, folders))}.")
    return concat_tables(tables)


def split_table(table: NumberTable, validation_size: int, seed: int) -> tuple[NumberTable, NumberTable]:
    """(train, validation): a random `validation_size` rows split off a training table."""
    if not 0 < validation_size < len(table):
        raise ValueError(f"validation_size must be between 1 and {len(table) - 1}, got {validation_size}.")
    order = np.random.default_rng(seed).permutation(len(table))

    def take(rows: np.ndarray) -> NumberTable:
        return NumberTable(table.paths[rows], table.boxes[rows], table.labels[rows], table.union[rows], 0)

    return take(order[validation_size:]), take(order[:validation_size])


def crop_arrays(table: NumberTable, **kwargs) -> tuple[np.ndarray, np.ndarray]:
    """Every evaluation crop of a table as one uint8 array (54x54x3 = 8.7 KB per number) + labels."""
    images, labels = [], []
    for batch_images, batch_labels in crop_dataset(table, training=False, batch_size=512, **kwargs):
        images.append(batch_images.numpy())
        labels.append(batch_labels.numpy())
    return np.concatenate(images), np.concatenate(labels)


def crop_number(image, box, *, resize: int = 64, crop: int = 54, random_pair=None):
    """Crop an image tensor (H, W, 3) to `box` (top, left, bottom, right, pixels; clipped to the
    image), resize to `resize`^2 and take the centre `crop`^2 window, or a random one given a
    stateless seed pair. Returns uint8. Training, evaluation and inference all crop through here."""
    import tensorflow as tf

    box = tf.cast(box, tf.float32)
    size = tf.cast(tf.shape(image)[:2], tf.float32)
    window = tf.concat([tf.maximum(box[:2], 0.0) / size, tf.minimum(box[2:], size) / size], 0)[None]
    resized = tf.image.crop_and_resize(tf.cast(image, tf.float32)[None], window, [0], [resize, resize])[0]
    if random_pair is not None:
        out = tf.image.stateless_random_crop(resized, [crop, crop, 3], seed=random_pair)
    else:
        offset = (resize - crop) // 2
        out = resized[offset:offset + crop, offset:offset + crop]
    return tf.cast(tf.round(tf.clip_by_value(out, 0, 255)), tf.uint8)


def with_random_pairs(rows, count: int, *, training: bool, seed: int):
    """(row, stateless seed pair) elements: shuffled and endless for training, in order once otherwise.

    Each training row gets its own seed pair, so its random crop is reproducible under `seed`.
    """
    import tensorflow as tf

    if training:
        rows = rows.shuffle(count, seed=seed, reshuffle_each_iteration=True).repeat()
        return tf.data.Dataset.zip(rows, tf.data.Dataset.random(seed=seed).batch(2))
    return rows.map(lambda *row: (row, tf.zeros(2, tf.int64)))


def crop_dataset(table: NumberTable, *, training: bool, batch_size: int, seed: int = 0,
                 resize: int = 64, crop: int = 54, target_fn=None, random_crop: bool = True,
                 box_jitter: float = 0.0):
    """Stream (uint8 crop, targets) batches from the PNGs, as Goodfellow et al. preprocess SVHN.

    Each image is cropped to its expanded number box and resized to `resize`^2; training takes a
    random `crop`^2 window of that (shuffled, endless), evaluation the centre one (one pass, in order).
    `random_crop=False` trains on centre crops too (the "no augmentation" baseline). `box_jitter`
    (training only) rescales each box by up to that fraction per axis and shifts it by up to half
    of it, as a localizer's boxes are off, so that a reader trained on it tolerates them.
    """
    import tensorflow as tf

    target_fn = target_fn or (lambda labels, max_digits: labels)
    max_digits = table.labels.shape[1] - 1
    rows = with_random_pairs(tf.data.Dataset.from_tensor_slices((table.paths, table.boxes, table.labels)),
                             len(table), training=training, seed=seed)

    def load(row, random_pair):
        path, box, label = row
        image = tf.io.decode_png(tf.io.read_file(path), channels=3)
        if training and box_jitter:
            u = tf.random.stateless_uniform([4], seed=random_pair + 5, minval=-1.0, maxval=1.0)
            centre, half = (box[:2] + box[2:]) / 2, (box[2:] - box[:2]) / 2
            centre = centre + u[2:] * box_jitter * half
            half = half * (1 + u[:2] * box_jitter)
            box = tf.concat([centre - half, centre + half], 0)
        return crop_number(image, box, resize=resize, crop=crop,
                           random_pair=random_pair if training and random_crop else None), label

    batches = rows.map(load, num_parallel_calls=tf.data.AUTOTUNE, deterministic=True).batch(batch_size)
    return batches.map(lambda x, y: (x, target_fn(y, max_digits)),
                       num_parallel_calls=tf.data.AUTOTUNE).prefetch(tf.data.AUTOTUNE)


if __name__ == "__main__":   # python -m helpers.svhn [train test extra]: download + extract (online users)
    import sys

    for requested in sys.argv[1:] or ["train", "test"]:
        print(f"SVHN {requested} ready in {fetch_svhn(requested)}")
