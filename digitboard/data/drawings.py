"""A person's labelled drawings, as the board saves them (datasets/drawn/<digit>/): saving
them, and loading them to teach a personal model or to train with (`train.py --extra`)."""

from __future__ import annotations

import os
import shutil
from dataclasses import dataclass, field
from pathlib import Path

import cv2
import numpy as np

from ..common.errors import UserError
from ..common.files import partial_name, write_text
from ..common.paths import ROOT
from .images import IMAGE_SUFFIXES, read_image
from .pen import PenDigit, draw_strokes, read_strokes, stroke_json


def save_digits(readings: list, labels: str, strokes: list[np.ndarray], canvas_size: tuple[int, int],
                brush: int, directory: Path, stamp: str) -> list[Path]:
    """Write each reading of a drawing under its own label (`labels`, one digit each, left to
    right) where `train.py --extra` and `train.py teach` find it, and return the files:

    directory/<digit>/<name>.png           the 28×28 model input the reader made of that digit
    directory/<digit>/<name>/canvas.png    that digit's strokes alone, on a canvas of the board's size
    directory/<digit>/<name>/strokes.json  those strokes, in canvas coordinates

    <name> is `stamp`, or `stamp-<i>` for the i-th of several digits, with `-2`, `-3`, … added
    when it is taken. The class-folder loader takes every file directly inside <digit>/, so
    the extras sit one folder down. A label is saved whole or not at all: every file is
    written under a partial name first and renamed once all are written (the image last, as
    it is what makes a drawing count). Raises OSError when the disk refuses."""
    if len(labels) != len(readings) or not all(c in "0123456789" for c in labels):
        raise ValueError(f"{len(readings)} readings need as many digit labels, got {labels!r}")
    width, height = canvas_size
    staged = []  # (partial path, final path), in the order they are renamed
    try:
        for i, (reading, label) in enumerate(zip(readings, labels)):
            class_dir = Path(directory) / label
            class_dir.mkdir(parents=True, exist_ok=True)
            name = _free_name(class_dir, stamp if len(readings) == 1 else f"{stamp}-{i}")
            own = [np.asarray(strokes[j], np.float64) for j in reading.strokes]
            extras = class_dir / partial_name(name, "")
            extras.mkdir()
            staged.append((extras, class_dir / name))
            _write_png(extras / "canvas.png", draw_strokes(own, np.zeros((height, width), np.uint8), brush))
            write_text(extras / "strokes.json", stroke_json([PenDigit(label, own)], (width, height)))
            image = class_dir / partial_name(name, ".png")
            staged.append((image, class_dir / f"{name}.png"))
            _write_png(image, reading.image)
        images = [pair for pair in staged if pair[1].suffix == ".png"]
        for partial, final in [pair for pair in staged if pair not in images] + images:
            os.rename(partial, final)
    except BaseException:
        for partial, final in staged:
            for path in (partial, final):
                shutil.rmtree(path, ignore_errors=True) if path.is_dir() else path.unlink(missing_ok=True)
        raise
    return [path for _, final in staged for path in
            ([final / "canvas.png", final / "strokes.json"] if final.suffix != ".png" else [final])]


def _free_name(class_dir: Path, name: str) -> str:
    """`name`, or `name-2`, `name-3`, … : the first that no saved drawing in `class_dir` has."""
    taken = {path.name.split(".")[0] for path in class_dir.iterdir()}
    if name not in taken:
        return name
    return next(f"{name}-{n}" for n in range(2, len(taken) + 3) if f"{name}-{n}" not in taken)


def _write_png(path: Path, image: np.ndarray) -> Path:
    ok, encoded = cv2.imencode(".png", image)
    if not ok:
        raise OSError(f"cannot encode {path.name} as PNG")
    path.write_bytes(encoded.tobytes())  # raises OSError with the reason; cv2.imwrite only returns False
    return path


@dataclass
class Drawings:
    """A person's labelled 28×28 drawings, in the order they were saved."""

    images: np.ndarray                    # (n, 28, 28) uint8
    labels: np.ndarray                    # (n,) digits
    source: str
    skipped: list[str] = field(default_factory=list)  # files that could not be read
    strokes: list = field(default_factory=list)        # per drawing: its strokes, or None

    def counts(self) -> dict[str, int]:
        return {str(d): int(np.sum(self.labels == d)) for d in range(10) if np.any(self.labels == d)}


def load_drawings(directory: Path) -> Drawings:
    """The drawings in `directory/<digit>/*.png` (the board's datasets/drawn layout; any image
    the class-folder loader reads), oldest first by name, with their strokes where the board
    saved them (`<digit>/<name>/strokes.json`). Files that cannot be read are skipped and
    named (a drawing whose strokes cannot be read still teaches its image); no drawings, or
    drawings of one digit only, are a UserError."""
    directory = Path(directory)
    shown = directory.relative_to(ROOT) if directory.is_absolute() and directory.is_relative_to(ROOT) else directory
    if not directory.is_dir():
        raise UserError(f"no labelled drawings yet ({shown} does not exist): at the board, draw a digit "
                        "and type it to label it")
    images, labels, skipped, strokes = [], [], [], []
    for digit in range(10):
        class_dir = directory / str(digit)
        if not class_dir.is_dir():
            continue
        for path in sorted(p for p in class_dir.iterdir() if p.is_file() and p.suffix.lower() in IMAGE_SUFFIXES):
            image = read_image(path, 28, 1)
            if image is None:
                skipped.append(str(path.relative_to(directory)))
                continue
            images.append(image)
            labels.append(digit)
            strokes.append(_saved_strokes(path.with_suffix("") / "strokes.json", directory, skipped))
    if not images:
        raise UserError(f"no labelled drawings in {shown}" + (f" ({len(skipped)} unreadable)" if skipped else "")
                        + f": at the board, draw a digit and type it to label it, or put images in {shown}/<digit>/")
    drawings = Drawings(np.stack(images), np.array(labels, np.int64), str(directory), skipped, strokes)
    if len(drawings.counts()) < 2:
        (digit, count), = drawings.counts().items()
        which = f"the one drawing in {shown} is a {digit}" if count == 1 else \
            f"all {count} drawings in {shown} are {digit}s"
        raise UserError(f"{which}: teaching needs drawings of at least two different digits")
    return drawings


def _saved_strokes(path: Path, directory: Path, skipped: list[str]) -> list[np.ndarray] | None:
    """The strokes of the one digit in a drawing's strokes.json; None when there is no such
    file, and when it cannot be read (then named in `skipped`)."""
    if not path.is_file():
        return None
    try:
        digits = read_strokes(path)
    except UserError:
        digits = []
    if len(digits) != 1 or not digits[0].strokes:
        skipped.append(str(path.relative_to(directory)))
        return None
    return digits[0].strokes
