"""Pen strokes: reading UNIPEN and stroke JSON, laying digits out, drawing them as the board does."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from ..common.errors import UserError

INK = 255


# Where known pen files come from, and on what terms (by the start of a file's name: the
# held-out splits of benchmarks/split_*.py keep it); a model card names them.
PEN_SOURCES = {
    "pendigits": "UCI Pen-Based Recognition of Handwritten Digits (E. Alpaydin, F. Alimoglu, 1998): "
                 "7,494 digits by 30 writers; CC BY 4.0",
    "unipen": "UNIPEN train_r01_v07 category 1a (International Unipen Foundation, 1999; I. Guyon et al., "
              "ICPR 1994), from Zenodo doi 10.5281/zenodo.1195803: 15,935 digits by 268 writers at 17 sites; "
              "CC BY 4.0 on Zenodo (the 1999 CD-ROM notice allowed research use only)",
}
MAX_COORDINATE = 1e6  # pen units or pixels: beyond this a coordinate is a broken file, not a drawing
MAX_BRUSH = 1000      # px: no pen is wider (OpenCV draws lines at most 32,767 px thick)


@dataclass
class PenDigit:
    """One written digit: its label and its strokes, each an (n, 2) array of x, y (y down);
    who wrote it and at which site, where the file says (UNIPEN's `.COMMENT`)."""

    label: str
    strokes: list[np.ndarray]
    writer: str = ""
    donor: str = ""


def pen_source(path: Path) -> str | None:
    """What a pen file is and its licence, for a model card; None for a file of unknown origin."""
    name = Path(path).name.lower()
    return next((text for prefix, text in PEN_SOURCES.items() if name.startswith(prefix)), None)


def checked_points(points, where: str) -> np.ndarray:
    """A stroke's points as an (n, 2) float array; UserError naming `where` for anything a pen
    cannot have drawn: not numbers, not pairs, NaN or infinite, beyond MAX_COORDINATE."""
    try:
        array = np.asarray(points, np.float64).reshape(-1, 2)
    except (TypeError, ValueError):
        raise UserError(f"{where}: a stroke's points must be pairs of numbers") from None
    if not np.isfinite(array).all():
        raise UserError(f"{where}: a stroke holds NaN or infinite coordinates")
    if np.abs(array).max(initial=0.0) > MAX_COORDINATE:
        raise UserError(f"{where}: a stroke reaches {np.abs(array).max():.3g}, beyond any drawing "
                        f"(coordinates are at most {MAX_COORDINATE:.0e})")
    return array


def brush_for(canvas_height: int) -> int:
    """The board's brush width in pixels for a canvas of this height."""
    return max(2, round(canvas_height / 36))


def draw_segment(canvas: np.ndarray, start, end, brush: int) -> None:
    """Draw one anti-aliased, round-capped line of the stroke into `canvas`, in place."""
    p0 = (int(round(start[0])), int(round(start[1])))
    p1 = (int(round(end[0])), int(round(end[1])))
    cv2.line(canvas, p0, p1, INK, thickness=max(1, int(brush)), lineType=cv2.LINE_AA)


def draw_strokes(strokes: list[np.ndarray], canvas: np.ndarray | None = None,
                 brush: int | None = None, size: tuple[int, int] = (280, 280)) -> np.ndarray:
    """Draw strokes onto `canvas` (a new black canvas of `size` (w, h) with the strokes fitted
    into it when none is given) exactly as the board draws mouse ink."""
    if canvas is None:
        width, height = size
        canvas = np.zeros((height, width), np.uint8)
        margin = 0.15 * min(width, height)
        strokes = fit_strokes(strokes, (margin, margin, width - 2 * margin, height - 2 * margin))
    if brush is None:
        brush = brush_for(canvas.shape[0])
    for stroke in strokes:
        points = np.asarray(stroke, np.float64)
        if len(points) == 1:
            draw_segment(canvas, points[0], points[0], brush)
        for start, end in zip(points[:-1], points[1:]):
            draw_segment(canvas, start, end, brush)
    return canvas


def draw_pen_digit(strokes: list[np.ndarray], height: float, brush: int) -> np.ndarray:
    """A pen digit drawn `height` pixels tall with a `brush`-pixel pen, as on the board."""
    side = int(height / 0.7)  # draw_strokes leaves a 15 % margin on each side
    return draw_strokes(strokes, brush=brush, size=(side, side))


def fit_strokes(strokes: list[np.ndarray], box: tuple[float, float, float, float]) -> list[np.ndarray]:
    """Scale and move strokes, keeping their aspect ratio, to sit centred in box (x, y, w, h)."""
    points = np.concatenate([np.asarray(s, np.float64) for s in strokes])
    low, high = points.min(axis=0), points.max(axis=0)
    extent = np.maximum(high - low, 1e-6)
    x, y, w, h = box
    scale = min(w / extent[0], h / extent[1])
    offset = np.array([x + (w - extent[0] * scale) / 2, y + (h - extent[1] * scale) / 2])
    return [(np.asarray(s, np.float64) - low) * scale + offset for s in strokes]


def layout_number(digits: list[PenDigit], canvas_size: tuple[int, int],
                  height_fraction: float = 0.5) -> list[list[np.ndarray]]:
    """Place digits left to right as one number, each in its own cell, vertically centred."""
    width, height = canvas_size
    cell_h = height * height_fraction
    n = max(1, len(digits))
    cell_w = min(cell_h * 0.8, width * 0.9 / (n + 0.25 * (n - 1)))  # cells plus gaps fit in 90 %
    gap = cell_w * 0.25
    total = len(digits) * cell_w + (len(digits) - 1) * gap
    left, top = (width - total) / 2, (height - cell_h) / 2
    return [fit_strokes(d.strokes, (left + i * (cell_w + gap), top, cell_w, cell_h))
            for i, d in enumerate(digits)]


# ---------------------------------------------------------------- files

def read_unipen(path: Path) -> list[PenDigit]:
    """Digits from a UNIPEN text file (`.SEGMENT DIGIT … "<label>"`, `.PEN_DOWN`, x y, `.PEN_UP`).

    Tablet y grows upwards; the strokes come back with y growing downwards like a canvas."""
    path = Path(path)
    try:
        lines = path.read_text(errors="replace").splitlines()
    except OSError as err:
        raise UserError(f"cannot read {path}: {err.strerror or err}") from None
    digits: list[PenDigit] = []
    stroke: list[tuple[float, float]] | None = None
    for number, line in enumerate(lines, start=1):
        words = line.split()
        if not words:
            continue
        keyword = words[0]
        if keyword == ".SEGMENT":
            if stroke is not None:
                raise UserError(f"{path}:{number}: .SEGMENT inside a stroke (missing .PEN_UP)")
            label = line.rsplit('"', 2)[-2] if line.count('"') >= 2 else ""
            if len(label) != 1 or not label.isdigit():
                raise UserError(f"{path}:{number}: expected a digit label like \"7\" in: {line.strip()}")
            digits.append(PenDigit(label, []))
        elif keyword == ".COMMENT" and digits and not digits[-1].writer and not digits[-1].strokes:
            # `.COMMENT <label> <writer> <donor>` (UNIPEN 1a) or `<label> <writer> <n>` (pendigits)
            if len(words) >= 3:
                digits[-1].writer = words[2]
                digits[-1].donor = words[3] if len(words) >= 4 and words[3].isalpha() else path.stem
        elif keyword == ".PEN_DOWN":
            if not digits:
                raise UserError(f"{path}:{number}: .PEN_DOWN before any .SEGMENT")
            if stroke is not None:
                raise UserError(f"{path}:{number}: .PEN_DOWN twice without .PEN_UP")
            stroke = []
        elif keyword == ".PEN_UP":
            if stroke is None:
                raise UserError(f"{path}:{number}: .PEN_UP without .PEN_DOWN")
            if stroke:
                digits[-1].strokes.append(checked_points(stroke, f"{path}:{number}"))
            stroke = None
        elif keyword.startswith("."):
            continue  # .COMMENT, .DT, .INCLUDE, .LEXICON, … carry nothing we draw
        else:
            if stroke is None:
                raise UserError(f"{path}:{number}: coordinates outside .PEN_DOWN/.PEN_UP: {line.strip()}")
            try:
                x, y = (float(v) for v in words[:2]) if len(words) >= 2 else (None, None)
            except ValueError:
                x = None
            if x is None:
                raise UserError(f"{path}:{number}: expected 'x y' coordinates, got: {line.strip()}")
            stroke.append((x, -y))
    if stroke is not None:
        raise UserError(f"{path}: ends inside a stroke (missing .PEN_UP)")
    digits = [d for d in digits if d.strokes]
    if not digits:
        raise UserError(f"{path}: no digits with strokes found (is it UNIPEN text?)")
    return digits


def read_stroke_json(path: Path) -> tuple[list[PenDigit], tuple[int, int] | None]:
    """Digits from the board's stroke JSON, {"digits": [{"label": "4", "strokes": [[[x, y], …]]}],
    "canvas_size": [w, h]}, and the size of the canvas they were drawn on (None if not given)."""
    path = Path(path)
    try:
        document = json.loads(path.read_text())
        digits = [PenDigit(str(d.get("label", "")),
                           [checked_points(s, f"{path}: digit {index}") for s in d["strokes"] if len(s)])
                  for index, d in enumerate(document["digits"])]
        size = document.get("canvas_size")
        canvas_size = None if size is None else (int(size[0]), int(size[1]))
    except OSError as err:
        raise UserError(f"cannot read {path}: {err.strerror or err}") from None
    except (ValueError, KeyError, TypeError, AttributeError, IndexError) as err:
        raise UserError(f"{path}: not stroke JSON ({type(err).__name__}: {err})") from None
    digits = [d for d in digits if d.strokes]
    if not digits:
        raise UserError(f"{path}: holds no strokes")
    unlabelled = next((i for i, d in enumerate(digits) if d.label not in ("", *"0123456789")), None)
    if unlabelled is not None:
        raise UserError(f"{path}: digit {unlabelled} is labelled {digits[unlabelled].label!r}, "
                        "not one of 0-9")
    if canvas_size is not None and min(canvas_size) <= 0:
        raise UserError(f"{path}: canvas_size must be two positive numbers, got {list(canvas_size)}")
    return digits, canvas_size


def read_drawing(path: Path) -> tuple[list[PenDigit], tuple[int, int] | None]:
    """The digits of a stroke JSON (.json) or UNIPEN text (anything else) file, and the canvas
    size (w, h) they were drawn on: known for the board's stroke JSON, None for pen data."""
    path = Path(path)
    if not path.is_file():
        raise UserError(f"no such file: {path}")
    return read_stroke_json(path) if path.suffix.lower() == ".json" else (read_unipen(path), None)


def read_strokes(path: Path) -> list[PenDigit]:
    """The digits of a stroke JSON (.json) or UNIPEN text (anything else) file."""
    return read_drawing(path)[0]


def place_drawing(digits: list[PenDigit], drawn_on: tuple[int, int],
                  canvas_size: tuple[int, int]) -> list[list[np.ndarray]]:
    """Strokes drawn on a canvas of `drawn_on` (w, h), scaled to fit `canvas_size` and centred:
    the same drawing, spacing and all, on another canvas."""
    scale = min(canvas_size[0] / drawn_on[0], canvas_size[1] / drawn_on[1])
    offset = (np.array(canvas_size) - np.array(drawn_on) * scale) / 2
    return [[s * scale + offset for s in d.strokes] for d in digits]


def stroke_json(digits: list[PenDigit], canvas_size: tuple[int, int] | None = None) -> str:
    """The board's stroke JSON for these digits (coordinates rounded to 0.1 px)."""
    document = {"digits": [{"label": d.label,
                            "strokes": [np.round(s, 1).tolist() for s in d.strokes]} for d in digits]}
    if canvas_size is not None:
        document["canvas_size"] = list(canvas_size)
    return json.dumps(document)
