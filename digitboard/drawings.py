"""Saving a labelled drawing from the board where `train.py --extra` finds it."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np

from .files import write_bytes, write_text
from .preprocess import digit_inputs
from .strokes import PenDigit, stroke_json


def save_drawing(canvas: np.ndarray, strokes: list[list[tuple[float, float]]], digit: int,
                 directory: Path, stamp: str) -> list[Path]:
    """Write a labelled drawing where `train.py --extra` finds it and return the files:

    directory/<digit>/<stamp>.png          the 28×28 model input (<stamp>-<i>.png for several digits)
    directory/<digit>/<stamp>/canvas.png   the whole canvas
    directory/<digit>/<stamp>/strokes.json the strokes, in canvas coordinates

    The class-folder loader takes every file directly inside <digit>/, so the canvas and
    strokes sit one folder down. Each file is written in one step. Raises OSError when the
    disk refuses."""
    _, images = digit_inputs(canvas)  # exactly what the reader feeds the model
    class_dir = Path(directory) / str(digit)
    extras = class_dir / stamp
    extras.mkdir(parents=True, exist_ok=False)
    names = [f"{stamp}.png"] if len(images) == 1 else [f"{stamp}-{i}.png" for i in range(len(images))]
    written = []
    for name, image in zip(names, images):
        written.append(_write_png(class_dir / name, image))
    written.append(_write_png(extras / "canvas.png", canvas))
    pen = PenDigit(str(digit), [np.asarray(s, np.float64) for s in strokes])
    write_text(extras / "strokes.json", stroke_json([pen], (canvas.shape[1], canvas.shape[0])))
    written.append(extras / "strokes.json")
    return written


def _write_png(path: Path, image: np.ndarray) -> Path:
    ok, encoded = cv2.imencode(".png", image)
    if not ok:
        raise OSError(f"cannot encode {path.name} as PNG")
    write_bytes(path, encoded.tobytes())  # raises OSError with the reason; cv2.imwrite only returns False
    return path
