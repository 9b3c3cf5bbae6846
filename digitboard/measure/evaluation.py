"""Measuring a recognizer: test-set metrics, pen-data replay through read(), marks that are not
digits, and latency."""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import cv2
import numpy as np

from ..common.errors import UserError
from ..common.paths import ROOT
from ..read.image import SIDE
from ..read.recognizer import Recognizer
from ..data.pen import MAX_COORDINATE, brush_for, draw_strokes, fit_strokes, PenDigit
from ..data.images import as_model_input


def confusion_matrix(y_true: np.ndarray, y_pred: np.ndarray, n_classes: int) -> np.ndarray:
    """Counts of true class (rows) against predicted class (columns)."""
    matrix = np.zeros((n_classes, n_classes), np.int64)
    np.add.at(matrix, (np.asarray(y_true, np.int64), np.asarray(y_pred, np.int64)), 1)
    return matrix


def per_class_scores(matrix: np.ndarray, class_names: list[str]) -> list[dict]:
    """Precision, recall, F1 and support for each class of a confusion matrix."""
    true_positives = np.diag(matrix).astype(np.float64)
    predicted, actual = matrix.sum(axis=0), matrix.sum(axis=1)
    precision = np.divide(true_positives, predicted, out=np.zeros_like(true_positives), where=predicted > 0)
    recall = np.divide(true_positives, actual, out=np.zeros_like(true_positives), where=actual > 0)
    total = precision + recall
    f1 = np.divide(2 * precision * recall, total, out=np.zeros_like(total), where=total > 0)
    return [{"class": name, "precision": round(float(p), 4), "recall": round(float(r), 4),
             "f1": round(float(f), 4), "support": int(s)}
            for name, p, r, f, s in zip(class_names, precision, recall, f1, actual)]


def classify_all(recognizer: Recognizer, images: np.ndarray, batch_size: int = 1024) -> np.ndarray:
    """(n, 28, 28) → (n, 10) probabilities, in batches."""
    return np.concatenate([recognizer.classify(images[i:i + batch_size])
                           for i in range(0, len(images), batch_size)] or [np.zeros((0, 10))])


def predict_images(model, images: np.ndarray, batch_size: int = 256) -> np.ndarray:
    """(n, h, w) or (n, h, w, c) uint8 images → (n, classes) probabilities from any Keras
    classifier train.py made (the recognizer is for 28×28 digits only)."""
    batch = as_model_input(np.asarray(images, np.float32))  # (n, h, w, c)
    return np.asarray(model.predict(batch, batch_size=batch_size, verbose=0), np.float32)


def cross_entropy(probs: np.ndarray, labels: np.ndarray) -> float:
    picked = probs[np.arange(len(labels)), labels]
    return float(-np.mean(np.log(np.clip(picked, 1e-7, 1.0))))


# ---------------------------------------------------------------- pen data replay

@dataclass
class DrawingStyle:
    """How replayed pen digits land on the canvas."""

    canvas_size: tuple[int, int] = (960, 600)     # the board's default canvas (w, h)
    digit_height: int = 360                        # pixels
    brush: int | None = None                       # None: the board's brush for this canvas
    off_centre: bool = False                       # random position instead of the centre


def draw_on_canvas(digit: PenDigit, style: DrawingStyle,
                   rng: np.random.Generator) -> tuple[np.ndarray, list[np.ndarray]]:
    """One pen digit drawn onto a board-sized canvas as the mouse would leave it: the canvas
    and the strokes, in canvas coordinates."""
    width, height = style.canvas_size
    size = min(style.digit_height, height - 4, width - 4)
    if style.off_centre:
        x, y = rng.uniform(2, width - size - 2), rng.uniform(2, height - size - 2)
    else:
        x, y = (width - size) / 2, (height - size) / 2
    canvas = np.zeros((height, width), np.uint8)
    brush = style.brush if style.brush is not None else brush_for(height)
    strokes = fit_strokes(digit.strokes, (x, y, size, size))
    return draw_strokes(strokes, canvas, brush), strokes


def digits_read(readings) -> str:
    """What the readings say, digit after digit: "407"; "" when nothing was found."""
    return "".join(str(r.digit) for r in readings)


@dataclass
class ReplayResult:
    labels: list[str]
    predictions: list[str]                         # read with the strokes, as the board reads
    canvas_only: list[str]                         # read from the pixels alone
    inputs: list[np.ndarray]                       # the first 28×28 model input of each digit
    confidences: list[float]                       # of the first reading with strokes (0: none)
    canvas_only_confidences: list[float]           # of the first reading from the pixels alone
    read_ms: list[float] = field(default_factory=list)  # each read() with strokes, in ms

    @property
    def accuracy(self) -> float:
        return _share(self.labels, self.predictions)

    @property
    def canvas_only_accuracy(self) -> float:
        return _share(self.labels, self.canvas_only)


def _share(labels: list[str], predictions: list[str]) -> float:
    return sum(t == p for t, p in zip(labels, predictions)) / len(labels) if labels else 0.0


def more_and_fewer(labels: list[str], predictions: list[str]) -> tuple[float, float]:
    """(the share read as more digits than written, the share read as fewer). For a single
    digit: split into several readings, and rejected (no digit read); for a number, more
    says some digit was split (or a piece read), fewer that one was rejected or two joined."""
    if not labels:
        return 0.0, 0.0
    more = sum(len(p) > len(t) for t, p in zip(labels, predictions))
    fewer = sum(len(p) < len(t) for t, p in zip(labels, predictions))
    return more / len(labels), fewer / len(labels)


def replay(recognizer: Recognizer, digits: list[PenDigit], style: DrawingStyle, seed: int = 0,
           progress=None) -> ReplayResult:
    """Draw each pen digit alone on a canvas and read it back twice, with its strokes (as the
    board does) and from the pixels alone; a digit counts as read when read() finds exactly
    that one digit."""
    rng = np.random.default_rng(seed)
    result = ReplayResult([], [], [], [], [], [])
    for digit in progress(digits) if progress else digits:
        canvas, strokes = draw_on_canvas(digit, style, rng)
        started = time.perf_counter()
        readings = recognizer.read(canvas, strokes=strokes)
        result.read_ms.append((time.perf_counter() - started) * 1000)
        canvas_readings = recognizer.read(canvas)
        result.labels.append(digit.label)
        result.predictions.append(digits_read(readings))
        result.canvas_only.append(digits_read(canvas_readings))
        result.inputs.append(readings[0].image if readings else np.zeros((SIDE, SIDE), np.uint8))
        result.confidences.append(readings[0].confidence if readings else 0.0)
        result.canvas_only_confidences.append(canvas_readings[0].confidence if canvas_readings else 0.0)
    return result


def confidence_figures(labels: list[str], predictions: list[str], confidences: list[float], sure: float,
                       shown_unsure_below: float) -> dict:
    """What a reading's confidence is worth: the share of readings at `sure` or more, how many
    of those are right, and the share the board shows as "?" (below `shown_unsure_below`)."""
    if not confidences:
        return {"sure_share": 0.0, "sure_accuracy": None, "unsure_shown": 0.0}
    confidence = np.array(confidences)
    right = np.array(labels) == np.array(predictions)
    is_sure = confidence >= sure
    return {"sure_share": round(float(is_sure.mean()), 5),
            "sure_accuracy": round(float(right[is_sure].mean()), 5) if is_sure.any() else None,
            "unsure_shown": round(float(np.mean(confidence < shown_unsure_below)), 5)}


# ---------------------------------------------------------------- marks that are not digits

JUNK_SET = ROOT / "benchmarks" / "data" / "junk-marks.json"  # made by benchmarks/make_junk_set.py
RING = "ring_around"                       # the kind of a ring drawn around a digit
WRITTEN_KINDS = ("letter", "symbol")       # the kinds written from a font, not made
GROUPS = ("made marks", "letters and symbols", "ring around a digit")


@dataclass
class Mark:
    """A mark that is not a digit, as drawn on the board: its strokes in canvas pixels, the
    canvas and the pen it was drawn with; a ring around a digit knows the digit's label and
    which stroke is the ring."""

    kind: str                              # "scribble", "letter", …, RING; "drawn" when the file does not say
    strokes: list[np.ndarray]              # (n, 2) x, y in canvas pixels, y down
    canvas_size: tuple[int, int]           # (w, h)
    pen: int                               # brush width in pixels
    label: str = ""                        # RING: the circled digit
    ring: int | None = None                # RING: index of the ring's stroke
    text: str = ""                         # a letter or symbol: the character


def group_of(kind: str) -> str:
    """Which of GROUPS a kind of mark belongs to."""
    return GROUPS[2] if kind == RING else GROUPS[1] if kind in WRITTEN_KINDS else GROUPS[0]


def load_marks(path: Path) -> list[Mark]:
    """The marks of a stroke JSON file: the board's format ({"digits": [{"label", "strokes"}],
    "canvas_size"}), each item read as one mark where it lies on the canvas, with the optional
    fields the junk set adds per item: "kind", "canvas_size", "pen", and for a ring around a
    digit "label" and "ring" (the ring's stroke index). Without them a mark is of kind "drawn",
    on the file's canvas (960x600 if none) with the board's pen for it."""
    path = Path(path)
    try:
        document = json.loads(path.read_text())
        size = document.get("canvas_size") or (960, 600)
        marks = []
        for index, item in enumerate(document["digits"]):
            width, height = (int(v) for v in item.get("canvas_size", size))
            strokes = [np.asarray(s, np.float64).reshape(-1, 2) for s in item["strokes"] if len(s)]
            ring = item.get("ring")
            mark = Mark(str(item.get("kind", "drawn")), strokes, (width, height),
                        int(item.get("pen", brush_for(height))), str(item.get("label", "")),
                        None if ring is None else int(ring), str(item.get("text", "")))
            problem = _mark_problem(mark)
            if problem:
                raise UserError(f"{path}: mark {index} has {problem}")
            marks.append(mark)
    except OSError as err:
        raise UserError(f"cannot read {path}: {err.strerror or err}") from None
    except (ValueError, KeyError, TypeError, AttributeError, IndexError) as err:
        raise UserError(f"{path}: not stroke JSON ({type(err).__name__}: {err})") from None
    if not marks:
        raise UserError(f"{path}: holds no marks")
    return marks


def first_of_each_kind(marks: list[Mark], count: int) -> list[Mark]:
    """The first `count` marks of each kind, in their order."""
    seen: dict[str, int] = {}
    kept = []
    for mark in marks:
        seen[mark.kind] = seen.get(mark.kind, 0) + 1
        if seen[mark.kind] <= count:
            kept.append(mark)
    return kept


def _mark_problem(mark: Mark) -> str:
    """What makes a mark unreadable ("" when nothing does)."""
    if not mark.strokes:
        return "no strokes"
    if not all(np.isfinite(s).all() and np.abs(s).max() <= MAX_COORDINATE for s in mark.strokes):
        return "NaN, infinite or far-off points (beyond 1e6 px)"
    if min(mark.canvas_size) <= 0 or mark.pen < 1:
        return f"a canvas of {mark.canvas_size} and a pen of {mark.pen} px"
    if mark.kind == RING and (len(mark.label) != 1 or not mark.label.isdigit()
                              or mark.ring is None or not 0 <= mark.ring < len(mark.strokes)):
        return "a ring around a digit without the digit's label or the ring's stroke index"
    return ""


def draw_mark(mark: Mark, brush: int | None = None) -> np.ndarray:
    """The mark on its own board-sized canvas, where and as large as it was drawn, with its pen
    (or `brush`): marks are not fitted to a size as replayed digits are."""
    width, height = mark.canvas_size
    return draw_strokes(mark.strokes, np.zeros((height, width), np.uint8), brush or mark.pen)


def thumbnail(canvas: np.ndarray, side: int = 64) -> np.ndarray:
    """The inked part of a canvas, on a square a little larger than it and at least a quarter
    of the canvas height (so a dot stays small), resized to `side` pixels: what a gallery shows
    of a mark."""
    rows, columns = np.nonzero(canvas)
    if not len(rows):
        return np.zeros((side, side), np.uint8)
    top, bottom, left, right = rows.min(), rows.max() + 1, columns.min(), columns.max() + 1
    extent = max(int(max(bottom - top, right - left) * 1.15) + 2, canvas.shape[0] // 4)
    square = np.zeros((extent, extent), np.uint8)
    y, x = (extent - (bottom - top)) // 2, (extent - (right - left)) // 2
    square[y:y + bottom - top, x:x + right - left] = canvas[top:bottom, left:right]
    return cv2.resize(square, (side, side), interpolation=cv2.INTER_AREA)


@dataclass
class JunkResult:
    """Marks read with their strokes, as the board reads, and from the pixels alone."""

    marks: list[Mark]
    with_strokes: list[str]                # the digits read, "" when none
    canvas_only: list[str]
    thumbnails: list[np.ndarray]           # (64, 64) of each mark as drawn


def read_junk(recognizer: Recognizer, marks: list[Mark], brush: int | None = None,
              progress=None) -> JunkResult:
    """Draw each mark alone on its canvas and read it back with its strokes and from the pixels
    alone."""
    result = JunkResult([], [], [], [])
    for mark in progress(marks) if progress else marks:
        canvas = draw_mark(mark, brush)
        result.marks.append(mark)
        result.with_strokes.append(digits_read(recognizer.read(canvas, strokes=mark.strokes)))
        result.canvas_only.append(digits_read(recognizer.read(canvas)))
        result.thumbnails.append(thumbnail(canvas))
    return result


def junk_figures(result: JunkResult) -> list[dict]:
    """One row per kind, group by group (GROUPS), with a row for each group of junk, then "all
    junk" (made marks, letters and symbols; a ring around a digit is not junk): how many, the
    share rejected (no digit read) and the mean number of digits read, with strokes and from
    the pixels alone; for rings around a digit, the share where exactly the circled digit is
    read."""
    kinds = [m.kind for m in result.marks]
    named: list[tuple[str, list[int]]] = []
    for group in GROUPS:
        if group == GROUPS[2]:  # the junk ends before the rings around a digit
            named.append(("all junk", [i for i, k in enumerate(kinds) if group_of(k) != group]))
        for kind in sorted({k for k in kinds if group_of(k) == group}):
            named.append((kind, [i for i, k in enumerate(kinds) if k == kind]))
        if group != GROUPS[2]:  # a ring around a digit is one kind
            named.append((group, [i for i, k in enumerate(kinds) if group_of(k) == group]))
    rows = []
    for name, picked in named:
        if not picked:
            continue
        row = {"kind": name, "n": len(picked)}
        for prefix, read in (("", result.with_strokes), ("canvas_only_", result.canvas_only)):
            row[f"{prefix}rejected"] = round(float(np.mean([read[i] == "" for i in picked])), 5)
            row[f"{prefix}digits"] = round(float(np.mean([len(read[i]) for i in picked])), 3)
        if all(kinds[i] == RING for i in picked):
            for prefix, read in (("", result.with_strokes), ("canvas_only_", result.canvas_only)):
                row[f"{prefix}digit_read"] = round(float(np.mean([read[i] == result.marks[i].label
                                                                  for i in picked])), 5)
        rows.append(row)
    return rows


def misread_marks(result: JunkResult, most: int = 100) -> list[int]:
    """Indices of marks read wrong with strokes (junk read as a digit; a ring around a digit
    not read as exactly that digit), in their order: as many of each kind as lets every kind
    show within `most`."""
    per_kind = max(1, most // max(1, len({m.kind for m in result.marks})))
    chosen, counts = [], {}
    for i, (mark, read) in enumerate(zip(result.marks, result.with_strokes)):
        wrong = read != mark.label if mark.kind == RING else read != ""
        if wrong and counts.get(mark.kind, 0) < per_kind:
            counts[mark.kind] = counts.get(mark.kind, 0) + 1
            chosen.append(i)
    return chosen


# ---------------------------------------------------------------- latency

def seed_read(model, canvas: np.ndarray) -> list[int]:
    """The seed notebooks' board pipeline, kept only as a baseline to measure against:
    per contour, crop, stretch to 28×28, pad 10, resize, and one `model.predict` each."""
    contours, _ = cv2.findContours((canvas > 0).astype(np.uint8), cv2.RETR_EXTERNAL,
                                   cv2.CHAIN_APPROX_SIMPLE)
    digits = []
    for x, y, w, h in sorted(cv2.boundingRect(c) for c in contours):
        digit = np.pad(cv2.resize(canvas[y:y + h, x:x + w], (SIDE, SIDE)), 10)
        batch = cv2.resize(digit, (SIDE, SIDE)).astype(np.float32)[None, :, :, None]
        digits.append(int(np.argmax(model.predict(batch, verbose=0))))
    return digits


def time_calls(function, canvases: list[np.ndarray], repeats: int) -> np.ndarray:
    """Milliseconds per call, cycling through the canvases."""
    times = []
    for i in range(repeats):
        canvas = canvases[i % len(canvases)]
        start = time.perf_counter()
        function(canvas)
        times.append((time.perf_counter() - start) * 1000)
    return np.array(times)


# ---------------------------------------------------------------- numbers

@dataclass
class WrittenNumber:
    """Pen digits written side by side as one number, as a person would on the board."""

    label: str                       # e.g. "407"
    strokes: list[np.ndarray]        # canvas coordinates, in writing order
    canvas: np.ndarray               # (h, w) uint8 with the strokes drawn


def write_number(digits: list[PenDigit], gap: float, rng: np.random.Generator,
                 canvas_size: tuple[int, int] = (1024, 600), height: float = 180,
                 size_jitter: float = 0.15, baseline_jitter: float = 0.05, brush: int = 12) -> WrittenNumber:
    """Write `digits` left to right, placed by place_number, with a `brush`-wide pen."""
    width, canvas_height = canvas_size
    strokes = place_number(digits, gap, rng, canvas_size, height, size_jitter, baseline_jitter)
    canvas = draw_strokes(strokes, np.zeros((canvas_height, width), np.uint8), brush)
    return WrittenNumber("".join(d.label for d in digits), strokes, canvas)


def place_number(digits: list[PenDigit], gap: float, rng: np.random.Generator,
                 canvas_size: tuple[int, int] = (1024, 600), height: float = 180,
                 size_jitter: float = 0.15, baseline_jitter: float = 0.05) -> list[np.ndarray]:
    """The strokes of `digits` placed left to right on a canvas of `canvas_size`, each `height`
    ± `size_jitter` tall, bottoms on a baseline that wanders by ± `baseline_jitter` of the
    height, the boxes of neighbouring digits' pen paths `gap` × height apart (0: the boxes
    touch, so the ink overlaps by a brush width; < 0: the boxes overlap); UserError, saying
    so, when they do not fit the canvas."""
    width, canvas_height = canvas_size
    heights = height * rng.uniform(1 - size_jitter, 1 + size_jitter, len(digits))
    shapes = []
    for digit, digit_height in zip(digits, heights):
        points = np.concatenate(digit.strokes)
        low, extent = points.min(axis=0), np.ptp(points, axis=0)
        scale = digit_height / max(extent[1], 0.2 * extent[0], 1e-6)
        shapes.append(([(s - low) * scale for s in digit.strokes], extent * scale))
    gaps = [gap * (a + b) / 2 for a, b in zip(heights[:-1], heights[1:])]
    total = sum(size[0] for _, size in shapes) + sum(gaps)
    left, baseline = (width - total) / 2, (canvas_height + height) / 2
    strokes = []
    for index, (digit_strokes, size) in enumerate(shapes):
        bottom = baseline + rng.uniform(-baseline_jitter, baseline_jitter) * height
        strokes += [s + (left, bottom - size[1]) for s in digit_strokes]
        left += size[0] + (gaps[index] if index < len(gaps) else 0)
    points = np.concatenate(strokes)
    low, high = points.min(axis=0), points.max(axis=0)
    if low.min() < -1 or high[0] > width or high[1] > canvas_height:  # as read() checks strokes
        raise UserError(f"a number of {len(digits)} digits, {height:g} px tall, at gap {gap:g} is "
                        f"{high[0] - low[0]:.0f}×{high[1] - low[1]:.0f} px (the pen's path) and does not fit "
                        f"the {width}×{canvas_height} canvas: lower the height or the gap, or widen the canvas")
    return strokes


@dataclass
class NumbersResult:
    """Numbers written at one gap, read with strokes and from the pixels alone."""

    gap: float
    labels: list[str]
    with_strokes: list[str]
    canvas_only: list[str]
    read_ms: list[float]                 # read() with strokes, per number
    canvas_only_ms: list[float]          # read() of the pixels alone, per number

    @property
    def accuracy(self) -> float:
        return _share(self.labels, self.with_strokes)

    @property
    def canvas_only_accuracy(self) -> float:
        return _share(self.labels, self.canvas_only)


def read_numbers(recognizer: Recognizer, digits: list[PenDigit], gap: float, count: int,
                 length: int = 3, seed: int = 0, batch: int = 200, **writing) -> NumbersResult:
    """Write `count` numbers of `length` pen digits drawn at random from `digits`, `gap` apart
    (write_number; `writing` passes its other settings), and read each back with its strokes
    and from the pixels alone. The same seed writes the same numbers at every gap. They are
    written `batch` at a time (a board canvas is 0.6 MB), and each kind of read is timed in a pass
    of its own over a batch, back to back as the board reads, so neither the writing nor the
    other kind of read runs between two timed calls."""
    rng = np.random.default_rng(seed)
    result = NumbersResult(gap, [], [], [], [], [])
    for first in range(0, count, batch):
        written = [write_number(_chosen(digits, length, rng), gap, rng, **writing)
                   for _ in range(min(batch, count - first))]
        _timed_reads(lambda number: recognizer.read(number.canvas, strokes=number.strokes), written,
                     result.with_strokes, result.read_ms)
        _timed_reads(lambda number: recognizer.read(number.canvas), written, result.canvas_only,
                     result.canvas_only_ms)
        result.labels.extend(number.label for number in written)
    return result


def check_numbers_fit(digits: list[PenDigit], gaps, count: int, length: int = 3, seed: int = 0,
                      canvas_size: tuple[int, int] = (1024, 600), height: float = 180) -> None:
    """Place every number read_numbers would write at each gap, without drawing or reading
    them: UserError for the first that does not fit the canvas (place_number)."""
    for gap in gaps:
        rng = np.random.default_rng(seed)
        for _ in range(count):
            place_number(_chosen(digits, length, rng), gap, rng, canvas_size, height)


def _chosen(digits: list[PenDigit], length: int, rng: np.random.Generator) -> list[PenDigit]:
    """`length` digits drawn at random, for one number."""
    return [digits[i] for i in rng.choice(len(digits), length, replace=len(digits) < length)]


def _timed_reads(read: Callable, numbers: list[WrittenNumber], digits: list[str], times: list[float]) -> None:
    """Append the digits read from each number, and the milliseconds each read took."""
    for number in numbers:
        started = time.perf_counter()
        readings = read(number)
        times.append((time.perf_counter() - started) * 1000)
        digits.append(digits_read(readings))
