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

import math
from dataclasses import dataclass
from typing import Callable, NamedTuple

import cv2
import numpy as np

from .errors import UserError
from .preprocess import INK_THRESHOLD, SPECK_FRACTION, normalize_digit, stroke_width

# (n, 28, 28) uint8 images [, the strokes each was drawn from] → (n, 10) probabilities
Classify = Callable[..., np.ndarray]

MAX_STROKES = 4            # strokes in one digit at most (pen digits have 1–3)
MAX_ASPECT = 1.3           # width over height beyond which a piece is unlikely to be one digit
FRAGMENT = 0.5             # a piece shorter than this share of the digit height is a fragment
FRAGMENT_PENALTY = 4.0     # log-score cost of reading a fragment as a digit of its own
CLASSIFIER_WEIGHT = 1.0    # how much the classifier's confidence counts against the boundary model
UNLIKELY = -7.0            # log-probability below which a run of strokes is not tried as one digit
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
    """The pen width b the strokes were drawn with, from the ink's area: each stroke of length
    L leaves about L·b of ink plus a round end of π b²/4."""
    length = sum(float(np.sqrt(np.square(np.diff(s, axis=0)).sum(axis=1)).sum()) for s in strokes)
    ink = cv2.countNonZero((canvas >= INK_THRESHOLD).view(np.uint8))
    ends = np.pi / 4 * len(strokes)
    return float((np.sqrt(length ** 2 + 4 * ends * ink) - length) / (2 * ends)) if strokes else 0.0


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
    return np.array([_box(s) for s in strokes], np.float64)


def _union(boxes: np.ndarray) -> np.ndarray:
    return np.concatenate((boxes[:, :2].min(axis=0), boxes[:, 2:].max(axis=0)))


def digit_height(boxes: np.ndarray) -> float:
    """How tall the digits are: the median height of the strokes that are at least half as
    tall as the tallest (caps and bars are shorter than digits; whole-digit strokes are not)."""
    heights = boxes[:, 3] - boxes[:, 1]
    return float(max(np.median(heights[heights >= 0.5 * heights.max()]), 1.0))


def _segments_cross(a: np.ndarray, b: np.ndarray, box_a: tuple, box_b: tuple) -> bool:
    """Whether any segment of path a crosses any segment of path b (`box_a`, `box_b`: their
    boxes, _box)."""
    if len(a) < 2 or len(b) < 2:
        return False
    if box_a[2] < box_b[0] or box_b[2] < box_a[0] or box_a[3] < box_b[1] or box_b[3] < box_a[1]:
        return False
    p, r = a[:-1, None, :], (a[1:] - a[:-1])[:, None, :]       # (m, 1, 2)
    q, s = b[None, :-1, :], (b[1:] - b[:-1])[None, :, :]       # (1, k, 2)
    cross = r[..., 0] * s[..., 1] - r[..., 1] * s[..., 0]      # (m, k)
    qp = q - p
    with np.errstate(divide="ignore", invalid="ignore"):
        t = (qp[..., 0] * s[..., 1] - qp[..., 1] * s[..., 0]) / cross
        u = (qp[..., 0] * r[..., 1] - qp[..., 1] * r[..., 0]) / cross
    return bool(np.any((cross != 0) & (t >= 0) & (t <= 1) & (u >= 0) & (u <= 1)))


def _box(path: np.ndarray) -> tuple[float, float, float, float]:
    """x0, y0, x1, y1 of a path, as Python floats (cheaper than numpy scalars in the
    arithmetic of transition_features, which runs a few times per stroke on every read)."""
    (x0, y0), (x1, y1) = path.min(axis=0).tolist(), path.max(axis=0).tolist()
    return x0, y0, x1, y1


FEATURE_NAMES = ("start right of digit", "x overlap", "x overlap of narrower", "crosses",
                 "stroke height", "start from ink", "end from ink", "reaches right of digit",
                 "left edge right of digit's", "ends meet ends", "tops apart", "bottoms apart",
                 "starts where a stroke ended")


PEN_LIFT = 0.05  # digit heights: a stroke with an end this close to where one of the digit's ended goes on from it


def transition_features(digit: list[np.ndarray], stroke: np.ndarray, height: float) -> np.ndarray:
    """How a new stroke sits against the strokes of the digit being written, in digit heights:
    the evidence for whether it starts the next digit (see BOUNDARY_COEF). Digits of a number
    stand on much the same line with much the same tops; a 4's stem set apart from its L,
    a 5's cap or a 7's bar does not."""
    ink = np.concatenate(digit)
    boxes = [_box(path) for path in digit]
    box = (min(b[0] for b in boxes), min(b[1] for b in boxes), max(b[2] for b in boxes), max(b[3] for b in boxes))
    new = _box(stroke)
    overlap = min(box[2], new[2]) - max(box[0], new[0])
    narrower = max(min(box[2] - box[0], new[2] - new[0]), 0.05 * height)
    start_gap, end_gap = (np.sqrt(np.min(_squared_distances(ink, stroke[[0, -1]]), axis=0)) / height).tolist()
    crosses = float(any(_segments_cross(path, stroke, path_box, new) for path, path_box in zip(digit, boxes)))
    # a pen lifted and put down again: an end of the new stroke where a stroke of the digit ended
    ends = np.concatenate([path[[0, -1]] for path in digit])
    ends_meet = float(np.sqrt(np.min(_squared_distances(ends, stroke[[0, -1]])))) / height
    return np.array([(stroke[0, 0] - box[2]) / height, min(max(overlap / height, -1.0), 1.0),
                     min(max(overlap / narrower, -1.0), 1.0), crosses, (new[3] - new[1]) / height,
                     min(start_gap, 1.0), min(end_gap, 1.0), (new[2] - box[2]) / height,
                     (new[0] - box[0]) / height, min(ends_meet, 1.0),
                     min(abs(new[1] - box[1]) / height, 1.0), min(abs(new[3] - box[3]) / height, 1.0),
                     float(ends_meet < PEN_LIFT)])


def _squared_distances(points: np.ndarray, to: np.ndarray) -> np.ndarray:
    """(n, m) squared distances from each of n points to each of m points."""
    difference = points[:, None, :] - to[None, :, :]
    return np.einsum("nmk,nmk->nm", difference, difference)


# A logistic regression on transition_features: log-odds that a stroke starts a new digit.
# Fitted by `python benchmarks/fit_segmentation.py strokes runs/pendigits-train.tra` (UCI pen
# digits of writers 1-24, written in pairs at gaps from -0.1 to 0.4 of their height, a third
# of them with an extra pen lift); the fitted bias of 1.794 is raised by 0.5, chosen on 200
# 3-digit numbers per gap of writers 1-24, composed as `evaluate.py numbers` does them (+0,
# +0.5, +1.0: 95.5, 97.5, 98.5 % read exactly at a -0.05 gap; 99.0, 99.5, 99.5 % at 0; single
# digits 99.85, 99.85, 99.80 %). Before "tops apart", "bottoms apart" and "starts where a stroke
# ended", 52 of the 728 pen 4s (13 of the 30 writers) were read as two digits, the stem set
# apart from the L read as a "1" ("61"); on writers 25-30 the model missed 1.10 % of new
# digits (now 0.48 %) and took 0.59 % of a digit's own later strokes for new digits (now 0.04 %).
BOUNDARY_COEF = np.array([2.613, -3.856, -1.236, -1.065, -0.6826, -3.268, -1.692, 3.43, 3.692, 3.647, -6.71,
                          -2.806, -2.555])
BOUNDARY_BIAS = 1.794 + 0.5


def new_digit_log_odds(digit: list[np.ndarray], stroke: np.ndarray, height: float) -> float:
    return float(transition_features(digit, stroke, height) @ BOUNDARY_COEF + BOUNDARY_BIAS)


def _log_sigmoid(z: float) -> float:
    return -math.log1p(math.exp(-z)) if z >= 0 else z - math.log1p(math.exp(z))


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


def simplify(stroke: np.ndarray, tolerance: float) -> np.ndarray:
    """The path with points dropped where it runs straight to within `tolerance` pixels
    (a mouse stroke has hundreds of points; its shape needs a few dozen)."""
    if len(stroke) < 3:
        return stroke
    return cv2.approxPolyDP(stroke.astype(np.float32)[:, None, :], tolerance, False)[:, 0, :].astype(np.float64)


def group_strokes(strokes: list[np.ndarray], classify: Classify) -> list[StrokeGroup]:
    """The digits among `strokes` (checked, in drawing order), left to right.

    Each cut of the strokes into runs of consecutive strokes is scored by the boundary model
    (does each stroke start a digit or continue one?), plus how surely the classifier reads
    each run and how digit-like its shape is; dynamic programming finds the best cut."""
    if not strokes:
        return []
    boxes = stroke_boxes(strokes)
    height = digit_height(boxes)
    # specks (a stray touch of the pen) are no digit and no part of one, as in the ink
    kept = [i for i, b in enumerate(boxes) if max(b[2] - b[0], b[3] - b[1]) >= SPECK_FRACTION * height]
    if len(kept) < len(strokes):
        return [StrokeGroup(tuple(kept[i] for i in g.strokes), g.box, g.image, g.probs)
                for g in group_strokes([strokes[i] for i in kept], classify)]
    paths = [simplify(s, 0.01 * height) for s in strokes]
    n = len(strokes)
    odds: dict[tuple[int, int], float] = {}

    def starts_digit(first: int, k: int) -> float:  # log-odds that stroke k starts a digit after [first, k)
        if (first, k) not in odds:
            odds[(first, k)] = new_digit_log_odds(paths[first:k], paths[k], height)
        return odds[(first, k)]

    def link(prev: tuple[int, int], a: int) -> float:  # log-probability that stroke a starts a digit after prev
        return _log_sigmoid(starts_digit(prev[0], a))

    box_of = boxes.tolist()
    runs, shape = [], {}  # runs of consecutive strokes that could be one digit; their score without the classifier
    for start in range(n):
        log_p = 0.0  # that each later stroke of the run continues it
        box = box_of[start]
        for stop in range(start + 1, min(n, start + MAX_STROKES) + 1):
            if stop - 1 > start:
                log_p += _log_sigmoid(-starts_digit(start, stop - 1))
                added = box_of[stop - 1]
                box = [min(box[0], added[0]), min(box[1], added[1]), max(box[2], added[2]), max(box[3], added[3])]
            if stop - start > 1 and (log_p < UNLIKELY or box[2] - box[0] > 2.0 * max(box[3] - box[1], height)):
                break  # longer runs are less likely still, and wider; one stroke, however wide, is a run
            runs.append((start, stop))
            shape[(start, stop)] = log_p + piece_prior(box, height)
    # The classifier only lowers a cut's score (log p ≤ 0), so read the cut that scores best
    # without it first: a run whose best cut without the classifier scores below that cut's
    # full score cannot be in the best cut, and is never drawn or read.
    forward, after = _forward(runs, shape, link), _backward(runs, shape, link, n)
    leading = _best_path(forward, n)
    read = dict(zip(leading, _read_runs(leading, strokes, classify)))  # run: (image, probs)

    def full_score(run):
        return shape[run] + CLASSIFIER_WEIGHT * float(np.log(read[run][1].max() + 1e-9))

    bar = sum(map(full_score, leading)) + sum(link(a, b[0]) for a, b in zip(leading, leading[1:]))
    contenders = [run for run in runs if run not in read and run in forward
                  and forward[run][0] + after[run] >= bar]
    read.update(zip(contenders, _read_runs(contenders, strokes, classify)))
    best = _forward([run for run in runs if run in read], {run: full_score(run) for run in read}, link)
    groups = []  # [stroke indices, image, probs], in drawing order
    for run in _best_path(best, n):
        groups.append([list(range(*run)), *read[run]])
    groups = _join_late_fragments(_return_strays(groups, boxes), boxes, height)
    changed = [g for g in groups if g[1] is None]  # read again, in one call
    if changed:
        their_strokes = [[strokes[k] for k in g[0]] for g in changed]
        redrawn = np.stack([render_strokes(digit) for digit in their_strokes])
        for g, image, p in zip(changed, redrawn, classify(redrawn, their_strokes)):
            g[1], g[2] = image, p
    found = [StrokeGroup(tuple(g[0]), tuple(_union(boxes[g[0]])), g[1], g[2]) for g in groups]
    return sorted(found, key=lambda g: (g.box[0] + g.box[2]) / 2)


def _read_runs(runs: list[tuple[int, int]], strokes: list[np.ndarray], classify: Classify) -> list:
    """(image, probs) of each run of strokes, read in one call."""
    if not runs:
        return []
    images = np.stack([render_strokes(strokes[a:b]) for a, b in runs])
    return list(zip(images, classify(images, [strokes[a:b] for a, b in runs])))


def _forward(runs: list[tuple[int, int]], score: dict, link: Callable) -> dict:
    """best[(a, b)]: (the best score of strokes [0, b) cut into runs, the last being (a, b),
    the run before it). `runs` come ordered by start, so every predecessor is scored first;
    a run that no run leads to is left out."""
    best: dict[tuple[int, int], tuple[float, tuple | None]] = {}
    for a, b in runs:
        if a == 0:
            best[(a, b)] = (score[(a, b)], None)
            continue
        options = [(best[prev][0] + link(prev, a) + score[(a, b)], prev) for prev in best if prev[1] == a]
        if options:
            best[(a, b)] = max(options, key=lambda option: option[0])
    return best


def _backward(runs: list[tuple[int, int]], score: dict, link: Callable, n: int) -> dict:
    """after[(a, b)]: the best score of strokes [b, n) cut into runs, coming after run (a, b)."""
    after: dict[tuple[int, int], float] = {}
    for a, b in reversed(runs):
        after[(a, b)] = 0.0 if b == n else max(
            (link((a, b), c) + score[(c, d)] + after[(c, d)] for c, d in after if c == b), default=-np.inf)
    return after


def _best_path(best: dict, n: int) -> list[tuple[int, int]]:
    """The runs of the best cut of all n strokes, in drawing order."""
    run = max((r for r in best if r[1] == n), key=lambda r: best[r][0])
    path = []
    while run is not None:
        path.append(run)
        run = best[run][1]
    return path[::-1]


def _overlap(box: np.ndarray, other: np.ndarray) -> float:
    """How far two boxes (x0, y0, x1, y1) overlap in x (negative: the gap between them)."""
    return min(box[2], other[2]) - max(box[0], other[0])


def _return_strays(groups: list, boxes: np.ndarray) -> list:
    """A stroke that lies clear of the rest of its group but over another digit (a 5's cap
    written after the next digit) goes back to that digit. Groups whose strokes change lose
    their reading (image and probs become None)."""
    for group in groups:
        for k in list(group[0]):
            others = [m for m in group[0] if m != k]
            if not others or _overlap(_union(boxes[others]), boxes[k]) > 0:
                continue
            overlap, host = max(((_overlap(_union(boxes[h[0]]), boxes[k]), h) for h in groups if h is not group),
                                key=lambda option: option[0], default=(0.0, None))
            if host is not None and overlap >= 0.6 * (boxes[k, 2] - boxes[k, 0]):
                group[0].remove(k)
                host[0][:] = sorted(host[0] + [k])
                group[1] = group[2] = host[1] = host[2] = None
    return groups


def _join_late_fragments(groups: list, boxes: np.ndarray, height: float) -> list:
    """A fragment read as a digit of its own (a cap or bar added after other digits) joins the
    digit whose strokes it lies over; the joined group loses its reading (None)."""
    for group in sorted(groups, key=lambda g: len(g[0])):
        box = _union(boxes[group[0]])
        if len(groups) < 2 or max(box[2] - box[0], box[3] - box[1]) >= FRAGMENT * height:
            continue
        overlap, host = max(((_overlap(_union(boxes[h[0]]), box), h) for h in groups if h is not group),
                            key=lambda option: option[0])
        if overlap > 0.5 * (box[2] - box[0]):
            host[0][:] = sorted(host[0] + group[0])
            host[1] = host[2] = None
            groups.remove(group)
    return groups


# ---------------------------------------------------------------- digits from ink alone

WIDE = 0.8                 # a blob narrower than this share of the digit height is one digit
MAX_SEAMS = 4              # candidate cuts tried in one blob
MIN_PIECE = 0.12           # narrowest piece, as a share of the digit height (an inked "1")
MIN_TALL = 3.0             # brush widths: a blob less tall is a dash or a stroke, not touching digits
SEAM_SLOPE_COST = 0.3      # cost of a seam's sideways step, against 1 per ink pixel crossed
SEARCH_BRUSH = 17.0        # px: the widest pen, and…
SEARCH_HEIGHT = 80.0       # …the least digit height, of the numbers the cut model was fitted on
CUT_FEATURE_NAMES = ("ink crossed", "strokes crossed", "cut position", "left width", "right width",
                     "left height", "right height", "smaller ink share", "blob width", "blob aspect",
                     "tops apart", "bottoms apart", "seam sway", "whole read", "left read", "right read",
                     "whole margin", "left margin", "right margin", "whole sure", "left sure", "right sure")
# A logistic regression on cut_features: log-odds that a seam separates two touching digits.
# Fitted by `python benchmarks/fit_segmentation.py cuts runs/pendigits-train.tra --numbers 5000`
# (UCI pen digits of writers 1-24, written as numbers with touching digits), its bias as
# fitted. Log-probabilities and margins saturate near 1, so the "sure" features (log-odds of
# each reading) tell a blob read at 0.99999 (one digit) from one read at 0.99 (often two).
# Against the fit without them, on writers 1-24 (200 numbers a gap, 1,200 pen digits, 3,000
# MNIST test digits pasted 300 px tall), read from the canvas alone: numbers at gaps 0.1 / 0 /
# -0.05 read 97.5 / 67 / 53 % → 99 / 71 / 55 %, single pen digits 99.0 → 99.58 %, MNIST
# digits 99.0 → 99.17 % (14 → 9 cut in two). Bias +0.5: 98 / 72 / 55.5 %, 99.5 %, 99.13 %.
CUT_COEF = np.array([-2.364, -0.413, 1.152, -1.914, -1.213, 1.929, 2.141, 3.95, 0.02544, 1.991, -3.38, -5.68,
                     -3.285, -1.704, 0.05952, 1.921, 1.51, -0.8305, -2.34, -0.181, 0.2827, 0.2459])
CUT_BIAS = -3.223


@dataclass(frozen=True)
class InkDigit:
    """One digit found in the ink: its canvas box (x, y, w, h), what the model sees."""

    box: tuple[int, int, int, int]
    image: np.ndarray
    probs: np.ndarray


def seams(ink: np.ndarray, height: float) -> list[np.ndarray]:
    """Where a blob of touching digits may part: top-to-bottom paths (one column per row) that
    cross the least ink, each ending at a different column, at most MAX_SEAMS, none closer than
    MIN_PIECE of the digit height to the blob's edges or to each other (seam carving).

    The search runs at the size it is given: searched shrunk, even with only its rows merged,
    it missed the narrow gaps between touching digits (numbers at gap 0 read 63-66 % instead
    of 70 %), so best_cut shrinks only blobs drawn with a fatter pen than the cut model was
    fitted on. Tracing seams from the top row as well (up to twice the candidates) read 74.7
    instead of 73.0 % of numbers at gap 0 (writers 25-30), but took read()'s p99 on one
    MNIST digit from 4.7 to 6.1 ms, and 2.2 instead of 1.4 ms at the median; only in blobs
    wider than 1.2 digit heights: 73.7 %, p99 4.8 ms."""
    cost = (ink >= INK_THRESHOLD).astype(np.float32)
    rows, width = cost.shape
    margin = max(2, int(MIN_PIECE * height))
    if width <= 2 * margin:
        return []
    total = cost.copy()                        # least ink crossed by a path from the top to here
    padded = np.full(width + 2, np.inf, np.float32)  # a row above, with no way in from beyond its ends
    for r in range(1, rows):  # from straight above, or a step sideways that costs SEAM_SLOPE_COST
        above = total[r - 1]
        padded[1:-1] = above
        sideways = np.minimum(padded[:-2], padded[2:])
        sideways += SEAM_SLOPE_COST
        total[r] += np.minimum(sideways, above, out=sideways)
    # the column step taken into each pixel (-1, 0, 1; ties: left, then straight), all rows at once
    above = total[:-1]
    from_left, from_right = np.full(above.shape, np.inf, np.float32), np.full(above.shape, np.inf, np.float32)
    from_left[:, 1:], from_right[:, :-1] = above[:, :-1] + SEAM_SLOPE_COST, above[:, 1:] + SEAM_SLOPE_COST
    best = np.minimum(np.minimum(from_left, above), from_right)
    step = np.zeros(cost.shape, np.int8)
    step[1:] = np.where(from_left == best, -1, np.where(above == best, 0, 1))
    bottom = total[-1]
    lowest = np.zeros(width, bool)
    lowest[1:-1] = (bottom[1:-1] <= bottom[:-2]) & (bottom[1:-1] <= bottom[2:])
    ends = np.flatnonzero(lowest[margin:width - margin]) + margin
    ends = ends[np.argsort(bottom[ends], kind="stable")].tolist()  # least ink first; ties: leftmost
    moves = memoryview(step.reshape(-1))  # its items are Python ints: tracing a path is ~10x faster
    found: list[np.ndarray] = []
    for end in ends:
        if any(abs(end - path[-1]) < margin for path in found):
            continue
        columns, column = [end], end
        for row_start in range((rows - 1) * width, 0, -width):  # back up from the bottom row
            column += moves[row_start + column]
            columns.append(column)
        path = np.array(columns[::-1], np.int64)
        if margin <= path.min() and path.max() < width - margin:
            found.append(path)
        if len(found) == MAX_SEAMS:
            break
    return found


def split_along(ink: np.ndarray, path: np.ndarray) -> tuple[np.ndarray, np.ndarray, int]:
    """The blob's ink left of the seam and right of it (the seam's own pixels go left), each
    only as wide as the seam lets it reach, and the blob column where the right part starts."""
    reach, start = int(path.max()) + 1, int(path.min())
    columns = np.arange(ink.shape[1])[None, :]
    left = np.where(columns[:, :reach] <= path[:, None], ink[:, :reach], 0).astype(np.uint8)
    right = np.where(columns[:, start:] <= path[:, None], 0, ink[:, start:]).astype(np.uint8)
    return left, right, start


def _ink_box(ink: np.ndarray) -> tuple[int, int, int, int]:
    """(x0, y0, x1, y1) of the ink in an image."""
    x, y, w, h = cv2.boundingRect((ink >= INK_THRESHOLD).view(np.uint8))
    return x, y, x + w, y + h


def _without_slivers(ink: np.ndarray) -> np.ndarray:
    """The ink without the small bits a cut leaves of a neighbour."""
    count, labels, stats, _ = cv2.connectedComponentsWithStats((ink >= INK_THRESHOLD).view(np.uint8), connectivity=8)
    if count <= 2:
        return ink
    keep = [i for i in range(1, count) if stats[i, cv2.CC_STAT_AREA] >= 0.15 * stats[1:, cv2.CC_STAT_AREA].max()]
    return np.where(np.isin(labels, keep), ink, 0).astype(np.uint8)


def cut_features(ink: np.ndarray, path: np.ndarray, left: np.ndarray, right: np.ndarray,
                 probs: np.ndarray, height: float, brush: float) -> np.ndarray:
    """The evidence that a seam separates two digits in a blob of `ink`: how much ink it goes
    through (in brush widths, and in strokes), where and how straight it runs, the shapes of
    the two pieces (ink boxes, in digit heights) and whether they stand side by side as digits
    of a number do, and how surely the classifier reads the whole and each piece (`probs`:
    (3, 10) for the whole, left and right)."""
    on_seam = ink[np.arange(len(path)), path] >= INK_THRESHOLD
    strokes_crossed = int(np.count_nonzero(np.diff(on_seam.astype(np.int8)) == 1) + on_seam[0])
    (l0, t0, l1, b0), (r0, t1, r1, b1) = _ink_box(left), _ink_box(right)
    areas = cv2.countNonZero((left >= INK_THRESHOLD).view(np.uint8)), cv2.countNonZero((right >= INK_THRESHOLD).view(np.uint8))
    ranked = np.sort(probs, axis=1)
    return np.array([on_seam.sum() / max(brush, 1.0), strokes_crossed, path.mean() / ink.shape[1],
                     (l1 - l0) / height, (r1 - r0) / height, (b0 - t0) / height, (b1 - t1) / height,
                     min(areas) / max(sum(areas), 1), ink.shape[1] / height, ink.shape[1] / ink.shape[0],
                     abs(t0 - t1) / height, abs(b0 - b1) / height, np.ptp(path) / height,
                     *np.log(ranked[:, -1] + 1e-6), *(ranked[:, -1] - ranked[:, -2]),
                     *np.clip(np.log(ranked[:, -1] + 1e-9) - np.log(1 - ranked[:, -1] + 1e-9), -5, 12)])


def search_scale(height: float, brush: float) -> float:
    """How much a blob is shrunk before it is searched for cuts: to strokes at most
    SEARCH_BRUSH wide, but digits at least SEARCH_HEIGHT tall, the range the cut model was
    fitted on; never grown. A fat-pen digit searched at full size costs ~6 ms for nothing
    the pixels add: its strokes and the gaps between its digits are many pixels wide."""
    return min(1.0, max(SEARCH_BRUSH / max(brush, 1e-6), SEARCH_HEIGHT / height))


class Cut(NamedTuple):
    """A seam through a blob, the two pieces of ink it leaves (without slivers of the
    neighbour), the blob column where the right piece starts, what the classifier sees of
    each piece and reads there ((image, probs), None for a cut remade at another size), and
    the cut_features the cut model weighs."""

    path: np.ndarray
    left: np.ndarray
    right: np.ndarray
    right_start: int
    left_reading: tuple | None
    right_reading: tuple | None
    features: np.ndarray


def cut_candidates(ink: np.ndarray, height: float, brush: float, classify: Classify,
                   whole_probs: np.ndarray) -> list[Cut]:
    """Each seam of a blob as a Cut, its pieces read in one call; `whole_probs`: how the
    classifier reads the whole blob as one digit."""
    paths = seams(ink, height)
    if not paths:
        return []
    parts = [split_along(ink, path) for path in paths]
    halves = [(_without_slivers(left), _without_slivers(right)) for left, right, _ in parts]
    images = np.stack([normalize_digit(piece) for pair in halves for piece in pair])
    probs = classify(images)
    return [Cut(path, left, right, start, (images[2 * i], probs[2 * i]), (images[2 * i + 1], probs[2 * i + 1]),
                cut_features(ink, path, left, right, np.stack([whole_probs, probs[2 * i], probs[2 * i + 1]]),
                             height, brush))
            for i, (path, (left, right), (_, _, start)) in enumerate(zip(paths, halves, parts))]


def best_cut(ink: np.ndarray, height: float, brush: float, classify: Classify,
             whole_probs: np.ndarray) -> Cut | None:
    """The likeliest cut of a blob into two digits, when the cut model favours it; None when
    it does not, or the blob is too narrow, too flat (a dash) or has no seam. The search runs
    on the blob shrunk by search_scale; the cut is made at full size."""
    if ink.shape[1] < WIDE * height or ink.shape[0] < MIN_TALL * brush:
        return None
    shrink = search_scale(height, brush)
    searched = ink if shrink == 1 else cv2.resize(ink, None, fx=shrink, fy=shrink, interpolation=cv2.INTER_AREA)
    candidates = cut_candidates(searched, height * shrink, brush * shrink, classify, whole_probs)
    if not candidates:
        return None
    odds = [float(cut.features @ CUT_COEF + CUT_BIAS) for cut in candidates]
    best = candidates[int(np.argmax(odds))]
    if max(odds) <= 0:
        return None
    if shrink == 1:
        return best
    path = _grown(best.path, searched.shape, ink.shape)
    left, right, start = split_along(ink, path)
    return Cut(path, _without_slivers(left), _without_slivers(right), start, None, None, best.features)


def _grown(path: np.ndarray, small: tuple[int, int], full: tuple[int, int]) -> np.ndarray:
    """A seam found in a blob shrunk to `small` (rows, columns), in the blob at `full` size:
    each full row takes the seam of the small row it lies in, and the last full column of
    the small column the seam holds (seam pixels go left)."""
    rows = np.minimum(((np.arange(full[0]) + 0.5) * small[0] / full[0]).astype(np.int64), small[0] - 1)
    return np.clip(np.round((path[rows] + 1) * full[1] / small[1]).astype(np.int64) - 1, 0, full[1] - 1)


def _split_blob(ink: np.ndarray, height: float, brush: float, classify: Classify,
                reading: tuple | None, offset: int = 0) -> list[tuple[int, np.ndarray, tuple]]:
    """The digits in one blob of ink as (column offset in the blob, ink, (image, probs)), left
    to right: cut where the cut model is surest, while it favours a cut, then look again in
    each piece. `reading`: the blob's (image, probs) as one digit, None when not yet read."""
    if reading is None:
        image = normalize_digit(ink)
        reading = image, classify(image[None])[0]
    cut = best_cut(ink, height, brush, classify, reading[1])
    if cut is None:
        return [(offset, ink, reading)]
    pieces = []
    for part, part_offset, part_reading in ((cut.left, offset, cut.left_reading),
                                            (cut.right, offset + cut.right_start, cut.right_reading)):
        part, part_offset = _crop_columns(part, part_offset)  # the same image: normalize_digit crops to the ink
        pieces += _split_blob(part, height, brush, classify, part_reading, part_offset)
    return pieces


def _crop_columns(ink: np.ndarray, offset: int) -> tuple[np.ndarray, int]:
    """The ink without its empty columns on either side, and its new column offset (rows are
    kept, so a piece keeps its place)."""
    columns = np.flatnonzero((ink >= INK_THRESHOLD).any(axis=0))
    return ink[:, columns[0]:columns[-1] + 1], offset + int(columns[0])


def read_ink(segments: list, classify: Classify) -> list[InkDigit]:
    """Digits from ink segments (preprocess.find_digits), left to right: each segment is one
    digit unless the cut model finds touching digits in it. Every segment is read whole first,
    in one call: most are one digit, and the cut model weighs that reading too."""
    if not segments:
        return []
    heights = np.array([s.box[3] for s in segments], np.float64)
    height = float(np.median(heights[heights >= 0.5 * heights.max()]))
    images = np.stack([normalize_digit(segment.ink) for segment in segments])
    pieces = []  # (canvas box, (image, probs) of one digit)
    for segment, image, probs in zip(segments, images, classify(images)):
        x, y, _, _ = segment.box
        brush = stroke_width((segment.ink >= INK_THRESHOLD).view(np.uint8))
        for offset, ink, reading in _split_blob(segment.ink, height, brush, classify, (image, probs)):
            x0, y0, x1, y1 = _ink_box(ink)
            pieces.append(((x + offset + x0, y + y0, x1 - x0, y1 - y0), reading))
    pieces.sort(key=lambda piece: piece[0][0] + piece[0][2] / 2)  # a cut piece's ink box moves its centre
    return [InkDigit(box, image, probs) for box, (image, probs) in pieces]
