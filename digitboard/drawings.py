"""Saving labelled digits from the board where `train.py --extra` and `--personalise` find them."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np

from .files import write_bytes, write_text
from .strokes import PenDigit, draw_strokes, stroke_json


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
