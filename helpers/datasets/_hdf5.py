"""A byte-level reader of just enough HDF5 to parse digitStruct.mat fast (private to helpers.datasets.digitstruct)."""
from __future__ import annotations

import struct

import numpy as np


class Unsupported(Exception):
    """The file uses an HDF5 feature the fast reader does not handle; use h5py instead."""


class RawHDF5:
    """Just enough of the HDF5 format to read digitStruct.mat without a library call per value.

    Handles what MATLAB v7.3 and h5py's default settings write: version-1 object headers (with
    continuation blocks), symbol-table groups (B-tree, symbol nodes, local heap) and compact or
    contiguous datasets of doubles, integers or object references. Anything else raises
    `Unsupported` and the caller falls back to h5py, so the fast path can never change a result.
    """

    def __init__(self, buffer: memoryview, base: int) -> None:
        self.buffer, self.base = buffer, base
        self.u8 = np.frombuffer(buffer, np.uint8)

    def _unpack(self, fmt: str, position: int) -> tuple:
        try:
            return struct.unpack_from(fmt, self.buffer, position)
        except struct.error as error:
            raise Unsupported(f"read past the end at {position}") from error

    def messages(self, address: int) -> list[tuple[int, int, int]]:
        """(type, data position, size) of each message in the object header at `address`."""
        position = address + self.base
        version, _, count, _, size = self._unpack("<BBHII", position)
        if version != 1:
            raise Unsupported(f"object header version {version}")
        blocks, found = [(position + 16, position + 16 + size)], []
        while blocks and len(found) < count:
            start, end = blocks.pop(0)
            while start + 8 <= end and len(found) < count:
                kind, length, flags = self._unpack("<HHB", start)
                if flags & 0x02:
                    raise Unsupported("shared message")
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
                raise Unsupported("filtered dataset")
        if dtype is None or data is None:
            raise Unsupported("dataset without datatype or layout")
        if len(data) % dtype.itemsize:
            raise Unsupported("storage size is not a whole number of values")
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
        raise Unsupported(f"datatype class {kind}, size {size}")

    def _layout(self, position: int) -> bytes:
        version, layout = self._unpack("<BB", position)
        if version != 3:
            raise Unsupported(f"layout message version {version}")
        if layout == 0:                                         # compact: the data sits in the header
            (size,) = self._unpack("<H", position + 2)
            return bytes(self.buffer[position + 4:position + 4 + size])
        if layout == 1:                                         # contiguous: somewhere else in the file
            where, size = self._unpack("<QQ", position + 2)
            if where == 2**64 - 1 or where + self.base + size > len(self.buffer):
                raise Unsupported("contiguous data never written or out of the file")
            return bytes(self.buffer[where + self.base:where + self.base + size])
        raise Unsupported(f"layout class {layout}")

    def group(self, address: int) -> dict[str, int]:
        """Member name -> object header address of a symbol-table group."""
        tables = [position for kind, position, _ in self.messages(address) if kind == 0x11]
        if len(tables) != 1:
            raise Unsupported("group without a symbol table")
        tree, heap = self._unpack("<QQ", tables[0])
        signature, _, _, _, _, heap_data = self._unpack("<4sB3sQQQ", heap + self.base)
        if signature != b"HEAP":
            raise Unsupported("bad local heap")
        members: dict[str, int] = {}
        pending = [tree]
        while pending:
            position = pending.pop() + self.base
            signature, node_type, level, used = self._unpack("<4sBBH", position)
            if signature != b"TREE" or node_type != 0:
                raise Unsupported("bad group B-tree")
            children = [self._unpack("<Q", position + 24 + 16 * i + 8)[0] for i in range(used)]
            if level > 0:
                pending.extend(children)
                continue
            for child in children:                              # symbol table nodes
                signature, _, _, count = self._unpack("<4sBBH", child + self.base)
                if signature != b"SNOD":
                    raise Unsupported("bad symbol table node")
                for i in range(count):
                    name_offset, header = self._unpack("<QQ", child + self.base + 8 + 40 * i)
                    start = heap_data + self.base + name_offset
                    name = bytes(self.buffer[start:start + 256]).split(b"\0", 1)
                    if len(name) != 2:
                        raise Unsupported("unterminated member name")
                    members[name[0].decode()] = header
        return members

    def scalars(self, addresses: np.ndarray) -> np.ndarray:
        """Values of many 1x1 double datasets at once: the header walk is vectorised with NumPy."""
        if len(addresses) == 0:
            return np.zeros(0)
        try:
            return self._scalars(np.asarray(addresses, np.int64) + self.base)
        except IndexError as error:
            raise Unsupported("scalar header out of the file") from error

    def _read_at(self, positions: np.ndarray, dtype: str) -> np.ndarray:
        width = np.dtype(dtype).itemsize
        return self.u8[positions[:, None] + np.arange(width)].copy().view(dtype).ravel()

    def _scalars(self, headers: np.ndarray) -> np.ndarray:
        if (self.u8[headers] != 1).any():
            raise Unsupported("object header version")
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
            raise Unsupported("scalar without datatype or layout")
        is_double = ((self.u8[datatype] & 0x0F) == 1) & ((self.u8[datatype + 1] & 1) == 0) \
            & (self._read_at(datatype + 4, "<u4") == 8)
        if not is_double.all() or (self.u8[layout] != 3).any():
            raise Unsupported("scalar is not a version-3 double")
        compact = self.u8[layout + 1] == 0
        contiguous = self.u8[layout + 1] == 1
        if not (compact | contiguous).all():
            raise Unsupported("scalar layout")
        value_at = np.where(compact, layout + 4, 0)
        if contiguous.any():
            value_at[contiguous] = self._read_at(layout[contiguous] + 2, "<u8").astype(np.int64) + self.base
        return self._read_at(value_at, "<f8")

