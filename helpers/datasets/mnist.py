"""Dataset access: verified atomic downloads and a strict reader for MNIST's gzip IDX files."""
from __future__ import annotations

import gzip
import hashlib
import os
import struct
import urllib.error
import urllib.request
import zlib
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from tqdm import tqdm

from helpers.core import paths

# Official archives; Google's CVDF mirror serves the original LeCun files (same MD5s) and,
# unlike yann.lecun.com, does not refuse scripted downloads.
MNIST_MIRRORS = (
    "https://storage.googleapis.com/cvdf-datasets/mnist/",
    "https://ossci-datasets.s3.amazonaws.com/mnist/",
    "http://yann.lecun.com/exdb/mnist/",
)


@dataclass(frozen=True)
class Checksums:
    """Accepted fingerprints of one gzip file: MD5 of the .gz bytes or SHA-256 of its content."""

    gz_md5: str
    content_sha256: str


# SHA-256 of the uncompressed IDX bytes (re-compressed copies keep these) and the official .gz MD5s.
MNIST_FILES: dict[str, Checksums] = {
    "train-images-idx3-ubyte.gz": Checksums(
        "f68b3c2dcbeaaa9fbdd348bbdeb94873",
        "ba891046e6505d7aadcbbe25680a0738ad16aec93bde7f9b65e87a2fc25776db"),
    "train-labels-idx1-ubyte.gz": Checksums(
        "d53e105ee54ea40749a09fcbcd1e9432",
        "65a50cbbf4e906d70832878ad85ccda5333a97f0f4c3dd2ef09a8a9eef7101c5"),
    "t10k-images-idx3-ubyte.gz": Checksums(
        "9fb629c4189551a2d022fa330f9573f3",
        "0fa7898d509279e482958e8ce81c8e77db3f2f8254e26661ceb7762c4d494ce7"),
    "t10k-labels-idx1-ubyte.gz": Checksums(
        "ec29112dd5afa0611ce80d1b7f02629c",
        "ff7bcfd416de33731a308c3f266cc351222c34898ecbeaf847f06e48f7ec33f2"),
}

_IDX_DTYPES = {0x08: np.uint8, 0x09: np.int8, 0x0B: np.dtype(">i2"), 0x0C: np.dtype(">i4"),
               0x0D: np.dtype(">f4"), 0x0E: np.dtype(">f8")}
_CHUNK = 1 << 20


def file_digest(path: Path, algorithm: str = "md5", *, gunzip: bool = False) -> str:
    """Hex digest of a file's bytes, or of its decompressed content when `gunzip` is set."""
    digest = hashlib.new(algorithm)
    opener = gzip.open if gunzip else open
    try:
        with opener(path, "rb") as stream:
            while chunk := stream.read(_CHUNK):
                digest.update(chunk)
    except (OSError, EOFError, zlib.error) as error:
        raise ValueError(f"{path} is not a readable gzip file ({error}); delete it and download "
                         "it again.") from error
    return digest.hexdigest()


def matches_checksums(path: Path, checksums: Checksums) -> bool:
    """True when a .gz file is the official archive or a re-compression of the same content."""
    if file_digest(path, "md5") == checksums.gz_md5:
        return True
    try:
        return file_digest(path, "sha256", gunzip=True) == checksums.content_sha256
    except ValueError:   # not even gzip: certainly not the right file
        return False


def download(url: str, destination: Path, *, checksums: Checksums | None = None,
             expected_size: int | None = None, md5: str | None = None,
             progress: bool = True, timeout: float = 30.0) -> Path:
    """Download `url` to `destination` atomically, verifying size and checksums.

    The bytes go to `destination.part` first and replace `destination` only once verified, so an
    interrupted or corrupt download never leaves a half file under the final name and never
    clobbers a good copy. Raises ConnectionError when offline, ValueError on a bad download.
    Not `keras.utils.get_file`: it writes straight to the final name, keeps a file that failed its hash there,
    re-downloads over a good copy whose hash differs, and raises a bare Exception when offline.
    """
    destination = Path(destination)
    destination.parent.mkdir(parents=True, exist_ok=True)
    partial = destination.with_name(destination.name + ".part")
    try:
        with urllib.request.urlopen(url, timeout=timeout) as response:
            total = int(response.headers.get("Content-Length") or 0) or expected_size
            digest = hashlib.md5()
            with open(partial, "wb") as out, tqdm(total=total, unit="B", unit_scale=True,
                                                  desc=destination.name, disable=not progress,
                                                  ascii=True, mininterval=1.0) as bar:
                while chunk := response.read(_CHUNK):
                    out.write(chunk)
                    digest.update(chunk)
                    bar.update(len(chunk))
        size = partial.stat().st_size
        if expected_size is not None and size != expected_size:
            raise ValueError(f"{url} gave {size:,} bytes, expected {expected_size:,}: the download "
                             "is truncated or the file changed on the server.")
        if md5 is not None and digest.hexdigest() != md5:
            raise ValueError(f"{url} failed its MD5 check (got {digest.hexdigest()}, expected {md5}).")
        if checksums is not None and not matches_checksums(partial, checksums):
            raise ValueError(f"{url} failed its checksum: the file is corrupt or not the official "
                             "one. Nothing was kept; try again or use another mirror.")
        os.replace(partial, destination)
    except (urllib.error.URLError, TimeoutError, ConnectionError) as error:
        partial.unlink(missing_ok=True)
        raise ConnectionError(f"Could not download {url} ({error}). If this machine is offline, "
                              "copy the files by hand and point DIGITS_DATA_DIR at them.") from error
    except BaseException:
        partial.unlink(missing_ok=True)
        raise
    return destination


def fetch_mnist(data_dir: Path | None = None, *, mirrors: tuple[str, ...] = MNIST_MIRRORS,
                progress: bool = True) -> Path:
    """Make sure the four MNIST files are in `data_dir/mnist`, downloading the missing ones."""
    folder = Path(data_dir or paths.data_dir()) / "mnist"
    for name, checksums in MNIST_FILES.items():
        target = folder / name
        if target.exists():
            continue
        errors = []
        for mirror in mirrors:
            try:
                download(mirror + name, target, checksums=checksums, progress=progress)
                break
            except (ConnectionError, ValueError) as error:
                errors.append(str(error))
        else:
            raise ConnectionError(f"MNIST file {name} is missing from {folder} and no mirror "
                                  "worked:\n  " + "\n  ".join(errors))
    return folder


def write_idx(path: Path, array: np.ndarray) -> Path:
    """Write a uint8 array as a (gzip-compressed if the name ends in .gz) IDX file."""
    array = np.ascontiguousarray(array, dtype=np.uint8)
    header = struct.pack(">BBBB", 0, 0, 0x08, array.ndim) + struct.pack(f">{array.ndim}I", *array.shape)
    opener = gzip.open if str(path).endswith(".gz") else open
    with opener(path, "wb") as stream:
        stream.write(header + array.tobytes())
    return Path(path)


def read_idx(path: Path) -> np.ndarray:
    """Read an IDX file (gzip or raw), rejecting bad magic numbers and truncated data clearly."""
    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(f"{path} does not exist. Run helpers.datasets.mnist.fetch_mnist() or set "
                                "DIGITS_DATA_DIR to the folder that holds mnist/.")
    opener = gzip.open if path.suffix == ".gz" else open
    try:
        with opener(path, "rb") as stream:
            raw = stream.read()
    except (OSError, EOFError, zlib.error) as error:
        raise ValueError(f"{path} is corrupt or truncated ({error}); delete it and download it "
                         "again.") from error
    if len(raw) < 4 or raw[0] != 0 or raw[1] != 0 or raw[2] not in _IDX_DTYPES:
        raise ValueError(f"{path} is not an IDX file (bad magic number {raw[:4].hex() or 'empty'}).")
    ndim = raw[3]
    header_size = 4 + 4 * ndim
    if ndim == 0 or len(raw) < header_size:
        raise ValueError(f"{path} has a truncated or invalid IDX header.")
    shape = struct.unpack(f">{ndim}I", raw[4:header_size])
    dtype = np.dtype(_IDX_DTYPES[raw[2]])
    expected = int(np.prod(shape)) * dtype.itemsize
    actual = len(raw) - header_size
    if actual != expected:
        raise ValueError(f"{path} should hold {expected:,} data bytes for shape {shape} but holds "
                         f"{actual:,}: the file is truncated or corrupt.")
    return np.frombuffer(raw, dtype=dtype, offset=header_size).reshape(shape)


@dataclass(frozen=True)
class Mnist:
    """MNIST as compact uint8 arrays (about 55 MB in all)."""

    train_images: np.ndarray
    train_labels: np.ndarray
    test_images: np.ndarray
    test_labels: np.ndarray


def _read_pair(folder: Path, prefix: str) -> tuple[np.ndarray, np.ndarray]:
    """Read one images/labels pair and check that they agree."""
    images = read_idx(folder / f"{prefix}-images-idx3-ubyte.gz")
    labels = read_idx(folder / f"{prefix}-labels-idx1-ubyte.gz")
    if images.ndim != 3 or labels.ndim != 1:
        raise ValueError(f"{folder}: expected 3-D images and 1-D labels, got {images.shape} and "
                         f"{labels.shape}.")
    if len(images) != len(labels):
        raise ValueError(f"{folder}: {len(images):,} {prefix} images but {len(labels):,} labels; "
                         "one of the files is incomplete.")
    if labels.size and labels.max() > 9:
        raise ValueError(f"{folder}: {prefix} labels must be digits 0-9, found {labels.max()}.")
    return images, labels


def load_mnist(data_dir: Path | None = None, *, download_missing: bool = True,
               verify: bool = True) -> Mnist:
    """Load MNIST from `data_dir/mnist` (downloading it if allowed), checksums verified."""
    folder = Path(data_dir or paths.data_dir()) / "mnist"
    if download_missing:
        fetch_mnist(folder.parent)
    if verify:
        for name, checksums in MNIST_FILES.items():
            if (folder / name).exists() and not matches_checksums(folder / name, checksums):
                raise ValueError(f"{folder / name} does not match the official MNIST checksum; "
                                 "delete it and run again to download a fresh copy.")
    train = _read_pair(folder, "train")
    test = _read_pair(folder, "t10k")
    return Mnist(train[0], train[1], test[0], test[1])


if __name__ == "__main__":
    import sys

    try:
        print(f"MNIST ready in {fetch_mnist()}")
    except (ConnectionError, ValueError) as error:     # offline, or a bad download: a message, not a traceback
        print(f"error: {str(error).splitlines()[0].rstrip(':')}. Offline, point DIGITS_DATA_DIR at a folder that holds mnist/ "
              "(here: DIGITS_DATA_DIR=../shared/data).", file=sys.stderr)
        sys.exit(1)
