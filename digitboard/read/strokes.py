"""Which strokes make one digit. Pure numpy/OpenCV; the classifier that judges is passed in.

With strokes (the board's case), digits are groups of strokes: a person writes a number
digit by digit, so each digit is a run of consecutive strokes. Every plausible way to cut
the run into digits is scored by how surely the classifier reads each piece, and the best
cut wins (dynamic programming over the strokes in drawing order). Geometry rules out what
cannot be: strokes that cross or lie over each other are one digit, a run much wider than
tall is not. Digits that touch or overlap a little are still apart, and a digit's own
detached strokes (a 5's cap, a 4's second stroke, a 0 drawn as two arcs) stay with it.

Without strokes, digits are found in the ink alone (cuts.py).
"""

from __future__ import annotations

import dataclasses
import functools
import math
from typing import Callable

import cv2
import numpy as np

from ..common.errors import UserError
from .image import INK_THRESHOLD, SPECK_FRACTION, normalize_digit
from .reading import Classify, Reading, digit_score, fitted_model, is_mark, mark_score, union

MAX_STROKES = 4            # strokes in one digit at most (pen digits have 1–3)
MAX_ASPECT = 1.3           # width over height beyond which a piece is unlikely to be one digit
FRAGMENT = 0.5             # a piece shorter than this share of the digit height is a fragment
FRAGMENT_PENALTY = 4.0     # log-score cost of reading a fragment as a digit of its own
CLASSIFIER_WEIGHT = 4.0    # how much the classifier's log-probabilities count against the boundary model's
# With strokes, ink is read as no digit where the models find that e^STROKE_MARK_COST (1.9)
# times likelier than its likeliest digit: together the two models are surer than either
# (reading.MARK_COST is the canvas's); in the grouping a mark pays 4 × 0.625 = 2.5.
STROKE_MARK_COST = 0.625
UNLIKELY = -7.0            # log-probability below which a run of strokes is not tried as one digit
MARK_STROKES = 12          # strokes in one mark that is no digit at most (a letter, hatching, a star)
MIN_DIGIT_PATH = 3.0       # px: pen paths shorter than this and than the pen is wide are a dot, no digit
MARK_NEAR = 0.15           # digit heights: each stroke of one mark lies at most this far from the others
RING_INSIDE = 0.3          # a stroke drawn round others that are at least this share of its size…
RING_SLACK = 0.1           # …and reach out of it by at most this share of its size may be a ring (_rings)
WIDE_PENALTY = 6.0         # log-score cost per unit of aspect beyond MAX_ASPECT
RENDER_HEIGHT = 120        # pixels: strokes are redrawn this tall for the classifier…
RENDER_BRUSH = 6           # …with this pen, as pen data is drawn for training
RENDER_SLACK = 0.25        # px as redrawn: a stroke's points closer than this to its line are left out


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


def ink_box(path_box, pad: float, canvas_shape: tuple[int, int] | None) -> tuple[int, int, int, int]:
    """The canvas box (x, y, w, h) of ink drawn along paths within `path_box` (x0, y0, x1, y1)
    with a pen `2 × pad` wide, within a canvas of `canvas_shape` (h, w) when given."""
    height, width = canvas_shape or (math.inf, math.inf)
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
    # a mouse stroke has a point every pixel or so: drawn smaller, most lie within a fraction of
    # a pixel of the line through their neighbours, and only slow the drawing down
    strokes = [simplify(stroke, RENDER_SLACK / scale) for stroke in strokes]
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


def _longer_side(box) -> float:
    return float(max(box[2] - box[0], box[3] - box[1]))


def _around(boxes: np.ndarray) -> np.ndarray:
    """The corner box around the rows of an (n, 4) array of corner boxes."""
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
    the evidence for whether it starts the next digit (see new_digit_log_odds). Digits of a number
    stand on much the same line with much the same tops; a 4's stem set apart from its L,
    a 5's cap or a 7's bar does not."""
    ink = np.concatenate(digit)
    boxes = [_box(path) for path in digit]
    box = functools.reduce(union, boxes)
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


# The boundary model (fitted.json ["new digit"]): a logistic regression on transition_features,
# the log-odds that a stroke starts a new digit. Fitted (fitted.json says how) on pen digits of
# the training writers of UCI pendigits (1-24) and of UNIPEN (benchmarks/split_unipen.py),
# written in pairs at gaps from -0.1 to 0.4 of their height, a third of them with an extra pen
# lift. Its bias is raised by 0.5 (bias_shift), a choice made on 200 3-digit numbers per gap of
# pendigits writers 1-24, composed as `evaluate.py numbers` does them (+0, +0.5, +1.0: 95.5,
# 97.5, 98.5 % read exactly at a -0.05 gap; 99.0, 99.5, 99.5 % at 0; single digits 99.85,
# 99.85, 99.80 %). "tops apart", "bottoms apart" and "starts where a stroke ended" keep a 4's
# stem set apart from its L with the L (52 of the 728 pendigits 4s, 13 of 30 writers, were read
# as "61" before them).


def new_digit_log_odds(digit: list[np.ndarray], stroke: np.ndarray, height: float) -> float:
    weights, bias = fitted_model("new digit", FEATURE_NAMES)
    return float(transition_features(digit, stroke, height) @ weights + bias)


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

def _inside(ring: np.ndarray, others: list[np.ndarray]) -> list[int]:
    """The strokes of `others` that the stroke `ring` may be drawn round, as someone circles a
    digit: it comes back near where it started (within a third of its size), and every point
    of theirs lies inside it (or within RING_SLACK of its size beyond it: a hand circling
    cuts corners), together at least RING_INSIDE of its size. Whether it is a ring, or a
    digit with strokes inside (a slashed 0), the models say (group_strokes)."""
    if len(ring) < 8 or not others:
        return []
    size = float(np.ptp(ring, axis=0).max())
    if size <= 0 or np.hypot(*(ring[0] - ring[-1])) > size / 3:
        return []
    outline = ring.astype(np.float32)[:, None, :]
    inside = [k for k, s in enumerate(others)
              if all(cv2.pointPolygonTest(outline, (float(x), float(y)), True) > -RING_SLACK * size
                     for x, y in s[::max(1, len(s) // 16)])]
    if not inside or float(np.ptp(np.concatenate([others[k] for k in inside]), axis=0).max()) < RING_INSIDE * size:
        return []
    return inside


def _rings(strokes: list[np.ndarray], classify: Classify) -> list[int]:
    """The strokes drawn round others that are no digit with them: a ring round a digit reads,
    with the digit, as no digit; a slashed 0 reads as a 0."""
    candidates = []
    for i, stroke in enumerate(strokes):
        others = [k for k in range(len(strokes)) if k != i]
        inside = _inside(stroke, [strokes[k] for k in others])
        if inside:
            candidates.append((i, [stroke, *(strokes[others[k]] for k in inside)]))
    if not candidates:
        return []
    together = [group for _, group in candidates]
    probs = classify(np.stack([render_strokes(group) for group in together]), together)
    return [i for (i, _), p in zip(candidates, probs) if len(p) > 10 and p.argmax() == 10]


def simplify(stroke: np.ndarray, tolerance: float) -> np.ndarray:
    """The path with points dropped where it runs straight to within `tolerance` pixels
    (a mouse stroke has hundreds of points; its shape needs a few dozen)."""
    if len(stroke) < 3:
        return stroke
    return cv2.approxPolyDP(stroke.astype(np.float32)[:, None, :], tolerance, False)[:, 0, :].astype(np.float64)


def as_mark(probs: np.ndarray) -> float:
    """What a run of strokes is worth in the grouping as one mark that is no digit."""
    return CLASSIFIER_WEIGHT * mark_score(probs, STROKE_MARK_COST)


def group_strokes(strokes: list[np.ndarray], classify: Classify, pen: float = 0.0,
                  canvas_shape: tuple[int, int] | None = None) -> list[Reading]:
    """The digits among `strokes` (checked, in drawing order), left to right; each reading's
    box holds the ink a `pen`-wide pen leaves along its strokes, on a canvas of `canvas_shape`.

    Each cut of the strokes into runs of consecutive strokes is scored by the boundary model
    (does each stroke start a digit or continue one?), plus how surely the classifier reads
    each run and how digit-like its shape is; dynamic programming finds the best cut. A run
    may also be one mark that is no digit: any run of strokes that lie together (a letter, a
    star, hatching; up to MARK_STROKES), worth what the models give it as such (mark_score),
    whatever the boundary model, made for digits, says of its strokes."""
    if not strokes:
        return []
    boxes = stroke_boxes(strokes)
    height = digit_height(boxes)
    # specks (a stray touch of the pen) are no digit and no part of one, as in the ink
    kept = [i for i, b in enumerate(boxes) if max(b[2] - b[0], b[3] - b[1]) >= SPECK_FRACTION * height]
    if len(kept) < len(strokes):
        return [dataclasses.replace(r, strokes=tuple(kept[i] for i in r.strokes))
                for r in group_strokes([strokes[i] for i in kept], classify, pen, canvas_shape)]
    rings = _rings(strokes, classify) if len(strokes) > 1 else []
    if rings:  # a ring drawn round digits is no digit, and the digits inside are read as if it were not there
        inside = [i for i in range(len(strokes)) if i not in rings]
        found = [dataclasses.replace(r, strokes=tuple(inside[i] for i in r.strokes))
                 for r in group_strokes([strokes[i] for i in inside], classify, pen, canvas_shape)]
        images = [render_strokes([strokes[i]]) for i in rings]
        classes = classify(np.stack(images)[:1]).shape[1]
        found += [Reading.no_digit(ink_box(_around(boxes[[i]]), pen / 2, canvas_shape), image, classes, (i,))
                  for i, image in zip(rings, images)]
        return sorted(found, key=lambda r: r.box[0] + r.box[2] / 2)
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
                box = union(box, box_of[stop - 1])
            if stop - start > 1 and (log_p < UNLIKELY or box[2] - box[0] > 2.0 * max(box[3] - box[1], height)):
                break  # longer runs are less likely still, and wider; one stroke, however wide, is a run
            runs.append((start, stop))
            shape[(start, stop)] = log_p + piece_prior(box, height)
    # The classifier only lowers a run's score (log p ≤ 0), so read the cut that scores best
    # without it first: a run whose best cut without the classifier scores below that cut's
    # full score cannot be in the best cut, and is never drawn or read.
    leading = _best_path(_forward(runs, shape, link), n)
    read = dict(zip(leading, _read_runs(leading, strokes, classify)))  # run: (image, probs)
    bound = shape
    if len(read[leading[0]][1]) > 10:  # a model that can say "not a digit": runs may be marks too,
        runs = sorted(runs + _mark_runs(box_of, height, set(runs)))
        bound = {run: max(shape.get(run, -np.inf), as_mark(np.ones(11))) for run in runs}  # a mark's best
    forward, after = _forward(runs, bound, link), _backward(runs, bound, link, n)

    def as_digit(run):  # a dot, the pen put down and lifted, is no digit however it reads
        if run not in shape or _longer_side(_around(boxes[run[0]:run[1]])) < max(pen, MIN_DIGIT_PATH):
            return -np.inf
        return shape[run] + CLASSIFIER_WEIGHT * digit_score(read[run][1])

    def full_score(run):
        return max(as_digit(run), as_mark(read[run][1]))

    bar = sum(map(full_score, leading)) + sum(link(a, b[0]) for a, b in zip(leading, leading[1:]))
    contenders = [run for run in runs if run not in read and run in forward
                  and forward[run][0] + after[run] >= bar]
    read.update(zip(contenders, _read_runs(contenders, strokes, classify)))
    best = _forward([run for run in runs if run in read], {run: full_score(run) for run in read}, link)
    groups = []  # [stroke indices, image, probs, a mark that is no digit], in drawing order
    for run in _best_path(best, n):
        groups.append([list(range(*run)), *read[run], as_digit(run) < full_score(run)])
    groups = _join_late_fragments(_return_strays(groups, boxes), boxes, height)
    changed = [g for g in groups if g[1] is None]  # read again, in one call
    if changed:
        their_strokes = [[strokes[k] for k in g[0]] for g in changed]
        redrawn = np.stack([render_strokes(digit) for digit in their_strokes])
        for g, image, p in zip(changed, redrawn, classify(redrawn, their_strokes)):
            g[1], g[2], g[3] = image, p, is_mark(p, STROKE_MARK_COST)
    found = sorted(((_around(boxes[g[0]]), g) for g in groups), key=lambda found: found[0][0] + found[0][2])
    return [Reading.of(probs, ink_box(box, pen / 2, canvas_shape), image, tuple(members), mark)
            for box, (members, image, probs, mark) in found]


def _mark_runs(box_of: list, height: float, taken: set) -> list[tuple[int, int]]:
    """Runs of consecutive strokes, besides those in `taken`, that may be one mark that is no
    digit: up to MARK_STROKES strokes whose boxes hold together, each within MARK_NEAR digit
    heights of another (the strokes of a letter or of hatching lie together, in whatever
    order they were drawn: an H's crossbar joins its uprights; the digits of a number lie
    apart)."""
    near = MARK_NEAR * height
    found = []
    for start in range(len(box_of)):
        parts = [[start]]  # the run's strokes, in groups that hold together
        for stop in range(start + 2, min(len(box_of), start + MARK_STROKES) + 1):
            new = box_of[stop - 1]
            touching = [part for part in parts if any(_gap(box_of[k], new) <= near for k in part)]
            parts = [part for part in parts if part not in touching] + [[k for part in touching for k in part] + [stop - 1]]
            if len(parts) == 1 and (start, stop) not in taken:
                found.append((start, stop))
    return found


def _gap(a, b) -> float:
    """How far apart two boxes (x0, y0, x1, y1) are: the larger of their gaps across and down
    (negative where they overlap)."""
    return max(b[0] - a[2], a[0] - b[2], b[1] - a[3], a[1] - b[3])


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
            if not others or _overlap(_around(boxes[others]), boxes[k]) > 0:
                continue
            overlap, host = max(((_overlap(_around(boxes[h[0]]), boxes[k]), h) for h in groups if h is not group),
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
        box = _around(boxes[group[0]])
        if len(groups) < 2 or max(box[2] - box[0], box[3] - box[1]) >= FRAGMENT * height:
            continue
        overlap, host = max(((_overlap(_around(boxes[h[0]]), box), h) for h in groups if h is not group),
                            key=lambda option: option[0])
        if overlap > 0.5 * (box[2] - box[0]):
            host[0][:] = sorted(host[0] + group[0])
            host[1] = host[2] = None
            groups.remove(group)
    return groups
