"""Which ink makes one digit. Pure numpy/OpenCV; the classifier that judges is passed in.

With strokes (the board's case), digits are groups of strokes: a person writes a number
digit by digit, so each digit is a run of consecutive strokes. Every plausible way to cut
the run into digits is scored by how surely the classifier reads each piece, and the best
cut wins (dynamic programming over the strokes in drawing order). Geometry rules out what
cannot be: strokes that cross or lie over each other are one digit, a run much wider than
tall is not. Digits that touch or overlap a little are still apart, and a digit's own
detached strokes (a 5's cap, a 4's second stroke, a 0 drawn as two arcs) stay with it.

Without strokes, the same search runs over the columns of each wide blob of ink, so
touching digits are cut where the pieces read best.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import cv2
import numpy as np

from .errors import UserError
from .preprocess import INK_THRESHOLD, normalize_digit, stroke_width

Classify = Callable[[np.ndarray], np.ndarray]  # (n, 28, 28) uint8 → (n, 10) probabilities

MAX_STROKES = 4            # strokes in one digit at most (pen digits have 1–3)
MAX_ASPECT = 1.3           # width over height beyond which a piece is unlikely to be one digit
FRAGMENT = 0.5             # a piece shorter than this share of the digit height is a fragment
FRAGMENT_PENALTY = 4.0     # log-score cost of reading a fragment as a digit of its own
CLASSIFIER_WEIGHT = 1.0    # how much the classifier's confidence counts against the boundary model
WIDE_PENALTY = 6.0         # log-score cost per unit of aspect beyond MAX_ASPECT
RENDER_HEIGHT = 120        # pixels: strokes are redrawn this tall for the classifier…
RENDER_BRUSH = 6           # …with this pen, as pen data is drawn for training


# ---------------------------------------------------------------- strokes in

def check_strokes(strokes, canvas_shape: tuple[int, int]) -> list[np.ndarray]:
    """Strokes as a list of (n, 2) float arrays of x, y on a canvas of `canvas_shape` (h, w);
    UserError naming the stroke for anything else (empty, NaN, off the canvas, wrong shape)."""
    if isinstance(strokes, np.ndarray) and strokes.dtype != object:
        raise UserError("strokes must be a list of (n, 2) arrays, one per stroke")
    height, width = canvas_shape
    checked = []
    for index, stroke in enumerate(strokes):
        try:
            points = np.asarray(stroke, np.float64)
        except (TypeError, ValueError):
            raise UserError(f"stroke {index} is not an array of numbers") from None
        if points.ndim != 2 or points.shape[1] != 2:
            raise UserError(f"stroke {index} must be an (n, 2) array of x, y, got shape {points.shape}")
        if len(points) == 0:
            raise UserError(f"stroke {index} is empty")
        if not np.isfinite(points).all():
            raise UserError(f"stroke {index} holds NaN or infinite coordinates")
        low, high = points.min(axis=0), points.max(axis=0)
        if low[0] < -1 or low[1] < -1 or high[0] > width or high[1] > height:
            raise UserError(f"stroke {index} leaves the {width}×{height} canvas "
                            f"(x {low[0]:.0f}…{high[0]:.0f}, y {low[1]:.0f}…{high[1]:.0f})")
        checked.append(points)
    return checked


def brush_width(canvas: np.ndarray, strokes: list[np.ndarray]) -> float:
    """The pen width the strokes were drawn with: ink area over path length."""
    length = sum(float(np.linalg.norm(np.diff(s, axis=0), axis=1).sum()) for s in strokes)
    ink = cv2.countNonZero((canvas >= INK_THRESHOLD).view(np.uint8))
    return ink / length if length > 0 else 0.0


def ink_box(path_box, pad: float, canvas_shape: tuple[int, int]) -> tuple[int, int, int, int]:
    """The canvas box (x, y, w, h) of ink drawn along paths within `path_box` (x0, y0, x1, y1)
    with a pen `2 × pad` wide."""
    height, width = canvas_shape
    x0, y0 = max(0, int(np.floor(path_box[0] - pad))), max(0, int(np.floor(path_box[1] - pad)))
    x1, y1 = min(width, int(np.ceil(path_box[2] + pad)) + 1), min(height, int(np.ceil(path_box[3] + pad)) + 1)
    return x0, y0, x1 - x0, y1 - y0


# ---------------------------------------------------------------- drawing a group for the classifier

def render_strokes(strokes: list[np.ndarray]) -> np.ndarray:
    """Strokes redrawn RENDER_HEIGHT tall with a RENDER_BRUSH pen → (28, 28) model input.

    Whatever brush and size they were written with on the canvas, the model sees them drawn
    the same way, so a tiny digit in a fat brush keeps its loops."""
    points = np.concatenate(strokes)
    low, extent = points.min(axis=0), np.ptp(points, axis=0)
    scale = RENDER_HEIGHT / max(extent.max(), 1e-6)
    margin = RENDER_BRUSH
    size = np.ceil(extent * scale).astype(int) + 2 * margin + 1
    ink = np.zeros((size[1], size[0]), np.uint8)
    shift = 4  # sub-pixel coordinates in 1/16 px
    polylines = [np.round(((s - low) * scale + margin) * (1 << shift)).astype(np.int32) for s in strokes]
    cv2.polylines(ink, polylines, False, 255, RENDER_BRUSH, cv2.LINE_AA, shift)
    for line in polylines:
        if len(line) == 1:  # a dot
            cv2.circle(ink, tuple(int(v) for v in line[0]), (RENDER_BRUSH // 2) << shift, 255, -1,
                       cv2.LINE_AA, shift)
    return normalize_digit(ink)


# ---------------------------------------------------------------- geometry

def stroke_boxes(strokes: list[np.ndarray]) -> np.ndarray:
    """(n, 4) boxes x0, y0, x1, y1 of the strokes' paths."""
    return np.array([[*s.min(axis=0), *s.max(axis=0)] for s in strokes], np.float64)


def _union(boxes: np.ndarray) -> np.ndarray:
    return np.array([boxes[:, 0].min(), boxes[:, 1].min(), boxes[:, 2].max(), boxes[:, 3].max()])


def digit_height(boxes: np.ndarray) -> float:
    """How tall the digits are: the median height of the strokes that are at least half as
    tall as the tallest (caps and bars are shorter than digits; whole-digit strokes are not)."""
    heights = boxes[:, 3] - boxes[:, 1]
    return float(max(np.median(heights[heights >= 0.5 * heights.max()]), 1.0))


def _segments_cross(a: np.ndarray, b: np.ndarray) -> bool:
    """Whether any segment of path a crosses any segment of path b."""
    if len(a) < 2 or len(b) < 2:
        return False
    p, r = a[:-1, None, :], (a[1:] - a[:-1])[:, None, :]       # (m, 1, 2)
    q, s = b[None, :-1, :], (b[1:] - b[:-1])[None, :, :]       # (1, k, 2)
    cross = r[..., 0] * s[..., 1] - r[..., 1] * s[..., 0]      # (m, k)
    qp = q - p
    with np.errstate(divide="ignore", invalid="ignore"):
        t = (qp[..., 0] * s[..., 1] - qp[..., 1] * s[..., 0]) / cross
        u = (qp[..., 0] * r[..., 1] - qp[..., 1] * r[..., 0]) / cross
    return bool(np.any((cross != 0) & (t >= 0) & (t <= 1) & (u >= 0) & (u <= 1)))


FEATURE_NAMES = ("start right of digit", "x overlap", "x overlap of narrower", "crosses",
                 "stroke height", "start from ink", "end from ink", "reaches right of digit",
                 "left edge right of digit's")


def transition_features(digit: list[np.ndarray], stroke: np.ndarray, height: float) -> np.ndarray:
    """How a new stroke sits against the strokes of the digit being written, in digit heights:
    the evidence for whether it starts the next digit (see BOUNDARY_COEF)."""
    box, new = _union(stroke_boxes(digit)), stroke_boxes([stroke])[0]
    overlap = min(box[2], new[2]) - max(box[0], new[0])
    narrower = max(min(box[2] - box[0], new[2] - new[0]), 0.05 * height)
    ink = np.concatenate(digit)
    start_gap = np.min(np.linalg.norm(ink - stroke[0], axis=1)) / height
    end_gap = np.min(np.linalg.norm(ink - stroke[-1], axis=1)) / height
    crosses = float(any(_segments_cross(path, stroke) for path in digit))
    return np.array([(stroke[0, 0] - box[2]) / height, np.clip(overlap / height, -1, 1),
                     np.clip(overlap / narrower, -1, 1), crosses, (new[3] - new[1]) / height,
                     min(start_gap, 1.0), min(end_gap, 1.0), (new[2] - box[2]) / height,
                     (new[0] - box[0]) / height])


# A logistic regression on transition_features: log-odds that a stroke starts a new digit.
# Fitted by `python benchmarks/fit_stroke_boundaries.py runs/pendigits-train.tra` (UCI pen
# digits of writers 1-24, written in pairs at gaps from -0.1 to 0.4 of their height).
BOUNDARY_COEF = np.array([2.703, -3.235, -0.6786, -0.4704, 3.956, -6.002, -3.393, 8.589, 4.741])
BOUNDARY_BIAS = -5.002


def new_digit_log_odds(digit: list[np.ndarray], stroke: np.ndarray, height: float) -> float:
    return float(transition_features(digit, stroke, height) @ BOUNDARY_COEF + BOUNDARY_BIAS)


def _log_sigmoid(z: float) -> float:
    return -float(np.logaddexp(0.0, -z))


def piece_prior(box, height: float) -> float:
    """Log-prior of a piece (x0, y0, x1, y1) being one digit, for digits `height` tall:
    pieces much wider than tall, and fragments much shorter than the digits, are unlikely."""
    width, tall = box[2] - box[0], box[3] - box[1]
    aspect = width / max(tall, FRAGMENT * height)
    fragment = FRAGMENT_PENALTY if max(width, tall) < FRAGMENT * height else 0.0
    return -fragment - WIDE_PENALTY * max(0.0, aspect - MAX_ASPECT)


# ---------------------------------------------------------------- digits from strokes

@dataclass(frozen=True)
class StrokeGroup:
    """One digit found among the strokes: their indices (in drawing order), what the model sees."""

    strokes: tuple[int, ...]
    box: tuple[float, float, float, float]   # x0, y0, x1, y1 of the strokes' paths
    image: np.ndarray                        # (28, 28) uint8
    probs: np.ndarray                        # (10,)


def group_strokes(strokes: list[np.ndarray], classify: Classify) -> list[StrokeGroup]:
    """The digits among `strokes` (checked, in drawing order), left to right.

    Each cut of the strokes into runs of consecutive strokes is scored by the boundary model
    (does each stroke start a digit or continue one?), plus how surely the classifier reads
    each run and how digit-like its shape is; dynamic programming finds the best cut."""
    if not strokes:
        return []
    boxes = stroke_boxes(strokes)
    height = digit_height(boxes)
    n = len(strokes)
    runs, inside = [], {}  # runs of consecutive strokes that could be one digit
    for start in range(n):
        log_p = 0.0  # that each later stroke of the run continues it
        for stop in range(start + 1, min(n, start + MAX_STROKES) + 1):
            if stop - 1 > start:
                log_p += _log_sigmoid(-new_digit_log_odds(strokes[start:stop - 1], strokes[stop - 1], height))
            box = _union(boxes[start:stop])
            if box[2] - box[0] > 2.0 * max(box[3] - box[1], height):
                break  # wider still with more strokes
            runs.append((start, stop))
            inside[(start, stop)] = log_p
    images = np.stack([render_strokes(strokes[a:b]) for a, b in runs])
    probs = classify(images)
    score = {run: inside[run] + CLASSIFIER_WEIGHT * float(np.log(p.max() + 1e-9))
             + piece_prior(_union(boxes[run[0]:run[1]]), height) for run, p in zip(runs, probs)}
    # best[(a, b)]: the best score of strokes [0, b) cut into digits, the last being [a, b)
    best: dict[tuple[int, int], tuple[float, tuple | None]] = {}
    for a, b in runs:  # runs come ordered by start, so every predecessor is scored already
        if a == 0:
            best[(a, b)] = (score[(a, b)], None)
            continue
        best[(a, b)] = max(((best[prev][0] + score[(a, b)]
                             + _log_sigmoid(new_digit_log_odds(strokes[prev[0]:a], strokes[a], height)), prev)
                            for prev in best if prev[1] == a), key=lambda option: option[0])
    run = max((r for r in best if r[1] == n), key=lambda r: best[r][0])
    index = {run: i for i, run in enumerate(runs)}
    groups = []
    while run is not None:
        groups.append([list(range(*run)), images[index[run]], probs[index[run]]])
        run = best[run][1]
    groups = _attach_late_strokes(groups[::-1], strokes, boxes, height, classify)
    found = [StrokeGroup(tuple(g[0]), tuple(_union(boxes[g[0]])), g[1], g[2]) for g in groups]
    return sorted(found, key=lambda g: (g.box[0] + g.box[2]) / 2)


def _attach_late_strokes(groups: list, strokes, boxes, height: float, classify: Classify) -> list:
    """A fragment written after other digits (a cap or bar added later) joins the digit whose
    strokes it lies over."""
    changed = True
    while changed and len(groups) > 1:
        changed = False
        for i, (members, _, _) in enumerate(groups):
            box = _union(boxes[members])
            if max(box[2] - box[0], box[3] - box[1]) >= FRAGMENT * height:
                continue
            hosts = [(min(box[2], h[2]) - max(box[0], h[0]), j) for j, (other, _, _) in enumerate(groups)
                     if j != i for h in [_union(boxes[other])]]
            overlap, j = max(hosts)
            if overlap <= 0.5 * (box[2] - box[0]):
                continue
            joined = sorted(groups[j][0] + members)
            image = render_strokes([strokes[k] for k in joined])
            groups[j] = [joined, image, classify(image[None])[0]]
            del groups[i]
            changed = True
            break
    return groups


# ---------------------------------------------------------------- digits from ink alone

WIDE = 0.6                 # a blob narrower than this share of the digit height is one digit
MAX_CUTS = 6               # candidate cut columns tried in one blob
MIN_PIECE = 0.12           # narrowest piece, as a share of the digit height (an inked "1")
CUT_FEATURE_NAMES = ("ink in the cut column", "ink runs in the cut column", "ink span of the cut column",
                     "cut position", "left width", "right width", "left height", "right height",
                     "blob width", "blob aspect", "whole read", "left read", "right read")
# A logistic regression on cut_features: log-odds that a column separates two touching digits.
# Fitted by `python benchmarks/fit_ink_cuts.py runs/pendigits-train.tra` (UCI pen digits of
# writers 1-24, written as numbers with touching digits).
CUT_COEF = np.zeros(len(CUT_FEATURE_NAMES))
CUT_BIAS = -10.0


@dataclass(frozen=True)
class InkDigit:
    """One digit found in the ink: its canvas box (x, y, w, h), what the model sees."""

    box: tuple[int, int, int, int]
    image: np.ndarray
    probs: np.ndarray


def cut_columns(ink: np.ndarray, height: float) -> list[int]:
    """Where a blob of touching digits may be cut: the columns of least ink (local minima
    of the column profile), at most MAX_CUTS, none closer than MIN_PIECE to an edge or another."""
    profile = cv2.blur((ink >= INK_THRESHOLD).sum(axis=0).astype(np.float32)[None], (5, 1))[0]
    margin = max(2, int(MIN_PIECE * height))
    inner = np.arange(margin, len(profile) - margin)
    minima = sorted((c for c in inner if profile[c] <= profile[c - 1] and profile[c] <= profile[c + 1]),
                    key=lambda c: profile[c])
    chosen: list[int] = []
    for c in minima:  # lowest first, spaced apart
        if all(abs(c - d) >= margin for d in chosen):
            chosen.append(int(c))
        if len(chosen) == MAX_CUTS:
            break
    return sorted(chosen)


def _ink_box(ink: np.ndarray) -> tuple[int, int, int, int]:
    """(x0, y0, x1, y1) of the ink in an image."""
    x, y, w, h = cv2.boundingRect((ink >= INK_THRESHOLD).view(np.uint8))
    return x, y, x + w, y + h


def _piece(ink: np.ndarray, start: int, stop: int) -> np.ndarray:
    """Columns [start, stop) of a blob, without the slivers of a neighbour the cut left behind."""
    piece = ink[:, start:stop]
    count, labels, stats, _ = cv2.connectedComponentsWithStats((piece >= INK_THRESHOLD).view(np.uint8), connectivity=8)
    if count <= 2:
        return piece
    keep = [i for i in range(1, count) if stats[i, cv2.CC_STAT_AREA] >= 0.15 * stats[1:, cv2.CC_STAT_AREA].max()]
    return np.where(np.isin(labels, keep), piece, 0).astype(np.uint8)


def cut_features(ink: np.ndarray, column: int, pieces: tuple, reads: tuple, height: float,
                 brush: float) -> np.ndarray:
    """The evidence that `column` separates two digits in a blob of `ink`: how much ink the
    cut goes through (in brush widths, and in separate runs), the shapes of the two pieces
    (ink boxes, in digit heights) and how surely the classifier reads the whole and each piece."""
    line = ink[:, column] >= INK_THRESHOLD
    runs = int(np.count_nonzero(np.diff(line.astype(np.int8)) == 1) + line[0])
    rows = np.flatnonzero(line)
    span = (rows[-1] - rows[0] + 1) / height if len(rows) else 0.0
    (l0, t0, l1, b0), (r0, t1, r1, b1) = pieces
    blob_height, blob_width = ink.shape
    return np.array([line.sum() / max(brush, 1.0), runs, span, column / blob_width,
                     (l1 - l0) / height, (r1 - r0) / height, (b0 - t0) / height, (b1 - t1) / height,
                     blob_width / height, blob_width / blob_height, *(np.log(r + 1e-6) for r in reads)])


def _blob_cuts(ink: np.ndarray, height: float, brush: float, classify: Classify) -> list[tuple[int, int]]:
    """The digits in one blob as column ranges: cut at the likeliest column while its odds
    favour a cut, then look again in each piece."""
    spans, done = [(0, ink.shape[1])], []
    while spans:
        start, stop = spans.pop()
        blob = ink[:, start:stop]
        columns = cut_columns(blob, height) if stop - start >= WIDE * height else []
        if not columns:
            done.append((start, stop))
            continue
        halves = [(_piece(blob, 0, c), _piece(blob, c, stop - start)) for c in columns]
        images = np.stack([normalize_digit(blob), *(normalize_digit(p) for pair in halves for p in pair)])
        reads = classify(images).max(axis=1)
        odds = [float(cut_features(blob, c, (_ink_box(left), _ink_box(right)),
                                   (reads[0], reads[1 + 2 * i], reads[2 + 2 * i]), height, brush) @ CUT_COEF + CUT_BIAS)
                for i, (c, (left, right)) in enumerate(zip(columns, halves))]
        best = int(np.argmax(odds))
        if odds[best] <= 0:
            done.append((start, stop))
            continue
        spans += [(start, start + columns[best]), (start + columns[best], stop)]
    return sorted(done)


def read_ink(segments: list, classify: Classify) -> list[InkDigit]:
    """Digits from ink segments (preprocess.find_digits), left to right: each segment is one
    digit unless the cut model finds touching digits in it."""
    if not segments:
        return []
    heights = np.array([s.box[3] for s in segments], np.float64)
    height = float(np.median(heights[heights >= 0.5 * heights.max()]))
    pieces = []  # (x, y, h of the segment, ink of one digit, its column offset)
    for segment in segments:
        x, y, w, h = segment.box
        spans = [(0, w)]
        if w >= WIDE * height:
            brush = stroke_width((segment.ink >= INK_THRESHOLD).view(np.uint8))
            spans = _blob_cuts(segment.ink, height, brush, classify)
        for a, b in spans:
            ink = _piece(segment.ink, a, b) if (a, b) != (0, w) else segment.ink
            x0, y0, x1, y1 = _ink_box(ink)
            pieces.append(((x + a + x0, y + y0, x1 - x0, y1 - y0), ink))
    images = np.stack([normalize_digit(ink) for _, ink in pieces])
    probs = classify(images)
    return [InkDigit(box, image, p) for (box, _), image, p in zip(pieces, images, probs)]
