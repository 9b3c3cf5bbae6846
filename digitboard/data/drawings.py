"""A person's labelled drawings, as the board saves them (datasets/drawn/<digit>/): saving
them, and loading them to teach a personal model or to train with (`train.py --extra`)."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import cv2
import numpy as np

from ..common.errors import UserError
from ..common.files import write_bytes, write_text
from .images import IMAGE_SUFFIXES, read_image
from .pen import PenDigit, draw_strokes, read_strokes, stroke_json


def save_digits(readings: list, labels: str, strokes: list[np.ndarray], canvas_size: tuple[int, int],
                brush: int, directory: Path, stamp: str) -> list[Path]:
    """Write each reading of a drawing under its own label (`labels`, one digit each, left to
    right) where `train.py --extra` and `--personalise` find it, and return the files:

    directory/<digit>/<name>.png           the 28×28 model input the reader made of that digit
    directory/<digit>/<name>/canvas.png    that digit's strokes alone, on a canvas of the board's size
    directory/<digit>/<name>/strokes.json  those strokes, in canvas coordinates

    <name> is `stamp`, or `stamp-<i>` for the i-th of several digits. The class-folder loader
    takes every file directly inside <digit>/, so the extras sit one folder down. Each file is
    written in one step. Raises OSError when the disk refuses."""
    if len(labels) != len(readings) or not all(c in "0123456789" for c in labels):
        raise ValueError(f"{len(readings)} readings need as many digit labels, got {labels!r}")
    width, height = canvas_size
    written = []
    for i, (reading, label) in enumerate(zip(readings, labels)):
        name = stamp if len(readings) == 1 else f"{stamp}-{i}"
        class_dir = Path(directory) / label
        extras = class_dir / name
        extras.mkdir(parents=True, exist_ok=False)
        own = [np.asarray(strokes[j], np.float64) for j in reading.strokes]
        written.append(_write_png(class_dir / f"{name}.png", reading.image))
        written.append(_write_png(extras / "canvas.png", draw_strokes(own, np.zeros((height, width), np.uint8), brush)))
        write_text(extras / "strokes.json", stroke_json([PenDigit(label, own)], (width, height)))
        written.append(extras / "strokes.json")
    return written


def _write_png(path: Path, image: np.ndarray) -> Path:
    ok, encoded = cv2.imencode(".png", image)
    if not ok:
        raise OSError(f"cannot encode {path.name} as PNG")
    write_bytes(path, encoded.tobytes())  # raises OSError with the reason; cv2.imwrite only returns False
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
    if not directory.is_dir():
        raise UserError(f"no drawings folder at {directory}: label some drawings at the board first")
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
        raise UserError(f"no drawings in {directory}" + (f" ({len(skipped)} unreadable)" if skipped else "") +
                        ": draw a digit at the board and type it to label it, or put images in "
                        f"{directory}/<digit>/")
    drawings = Drawings(np.stack(images), np.array(labels, np.int64), str(directory), skipped, strokes)
    if len(drawings.counts()) < 2:
        (digit, count), = drawings.counts().items()
        raise UserError(f"all {count} drawings in {directory} are {digit}s: teach needs at least two "
                        "different digits to learn from")
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
