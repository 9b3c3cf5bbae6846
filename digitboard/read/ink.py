"""Digits from the ink alone, when there are no strokes. Pure numpy/OpenCV; the classifier
that judges is passed in.

Digits are connected ink (find_digits): specks are dropped and the parts of one digit joined
(a 5's cap, the two strokes of an open 4). A blob wide enough to hold two touching digits is
searched for cuts, unless it holds pen path for one digit only and reads surely as one:
seams, top-to-bottom paths through the least ink, and, where the blob holds pen path enough
for two digits and does not read surely as one, straight vertical cuts across it. It is cut
along the one a fitted cut model favours most, if it favours any (from how much ink the cut
crosses, the shapes of the pieces, and how surely the classifier reads the whole blob and
each piece); each piece is searched again.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import NamedTuple

import cv2
import numpy as np

from ..common.errors import UserError
from .image import INK_THRESHOLD, SPECK_FRACTION, normalize_digit, stroke_width
from .reading import Classify, Reading, fitted_model, union

WIDE = 0.8                 # a blob narrower than this share of the digit height is one digit
MAX_SEAMS = 4              # candidate cuts tried in one blob
MIN_PIECE = 0.12           # narrowest piece, as a share of the digit height (an inked "1")
MIN_TALL = 3.0             # brush widths: a blob less tall is a dash or a stroke, not touching digits
SEAM_SLOPE_COST = 0.3      # cost of a seam's sideways step, against 1 per ink pixel crossed
SEARCH_BRUSH = 17.0        # px: the widest pen, and…
SEARCH_HEIGHT = 80.0       # …the least digit height, of the numbers the cut model was fitted on
STRAIGHT_INK = 3.5         # digit heights of pen path: one digit rarely has more, two touching digits do
ONE_PATH = 3.0             # digit heights of pen path: a blob with less, read surely (ONE_SURE), is one digit
ONE_SURE = 8.0             # log-odds of the whole blob's reading (p ≈ 0.9997)
STRAIGHT_UNSURE = 9.0      # log-odds: a blob read less surely than this as one digit may be two
STRAIGHT_STEP = 0.1        # spacing of straight cuts, as a share of the digit height
STRAIGHT_WIDEST = 4.0      # digit heights: a wider blob (a scribble, a line) and its pieces get seams alone
MAX_INK_PARTS = 500        # separate pieces of ink on a canvas, or holes in them: more is noise, a photo or a
                           # pattern (40,000 specks of noise read in 72 s; a 4000 px checkerboard, in 33 s)
MAX_SEARCH_SIDE = 1024     # px: a blob is searched for cuts shrunk to at most this (two 4000 px rings: 2.4 s)
MAX_BOXED = 4 * 4096 ** 2  # px: the boxes of the pieces of ink, all together; more is marks drawn round marks
                           # many times over (24 rings, one inside the next, on a 4000 px canvas: 8 s)
CUT_FEATURE_NAMES = ("ink crossed", "strokes crossed", "cut position", "left width", "right width",
                     "left height", "right height", "smaller ink share", "blob width", "blob aspect",
                     "tops apart", "bottoms apart", "seam sway", "whole read", "left read", "right read",
                     "whole margin", "left margin", "right margin", "whole sure", "left sure", "right sure",
                     "straight")
# The cut model (fitted.json ["cut"]): a logistic regression on cut_features, the log-odds
# that a cut separates two touching digits. Fitted by `python benchmarks/fit_segmentation.py cuts runs/pendigits-train.tra --numbers 5000`
# (UCI pen digits of writers 1-24, written as numbers with touching digits); its bias is the
# fitted -2.799 lowered by 0.5 (bias_shift), which cuts no more single digits than the model before straight
# cuts (7 of MNIST test digits 3,000-6,000 pasted 300 px tall; 10 at the fitted bias) and
# keeps most of the gain (writers 1-24, 200 numbers a gap, canvas only, at gaps 0.1 / 0 / -0.05:
# 99 / 71 / 57 % before, 99 / 82 / 66 % now, 99 / 84 / 71 % at the fitted bias).
# Log-probabilities and margins saturate near 1, so the "sure" features (log-odds of each
# reading) tell a blob read at 0.99999 (one digit) from one read at 0.99 (often two).
# Against the fit without them, on writers 1-24 (200 numbers a gap, 1,200 pen digits, 3,000
# MNIST test digits pasted 300 px tall), read from the canvas alone: numbers at gaps 0.1 / 0 /
# -0.05 read 97.5 / 67 / 53 % → 99 / 71 / 55 %, single pen digits 99.0 → 99.58 %, MNIST
# digits 99.0 → 99.17 % (14 → 9 cut in two). Bias +0.5: 98 / 72 / 55.5 %, 99.5 %, 99.13 %.


@dataclass(frozen=True)
class Blob:
    """Ink that may hold a digit (or several touching): its corner box on the canvas
    (x0, y0, x1, y1) and its ink alone, other blobs reaching into the box masked; a ring is
    ink drawn round other ink (a digit circled), which is no digit whatever it looks like."""

    box: tuple[int, int, int, int]
    ink: np.ndarray
    ring: bool = False


def _belong_together(part: tuple, other: tuple) -> bool:
    """Whether two ink parts (corner boxes) are strokes of one digit: a small part (a 5's cap,
    a 7's bar) over or beside a taller one; a shorter part all but touching a taller one but
    ending well above its bottom (the L of an open 4: neighbouring digits share a baseline);
    or parts lying over each other by most of the narrower one's width."""
    small, tall = sorted((part, other), key=lambda b: b[3] - b[1])
    small_h, tall_h = small[3] - small[1], tall[3] - tall[1]
    overlap = min(small[2], tall[2]) - max(small[0], tall[0])
    if small_h < 0.6 * tall_h:
        near_vertically = small[3] > tall[1] - 0.3 * tall_h and small[1] < tall[1] + 1.3 * tall_h
        return overlap > -0.08 * tall_h and near_vertically
    above_baseline = tall[3] - small[3] > 0.25 * tall_h
    if small_h < 0.9 * tall_h and overlap > -0.06 * tall_h and above_baseline:
        return True
    return overlap > 0.5 * min(small[2] - small[0], tall[2] - tall[0]) and overlap > 0.1 * tall_h


def find_digits(canvas: np.ndarray) -> list[Blob]:
    """The blobs of ink on a canvas that hold digits, left to right: specks are dropped, the
    parts of one digit joined."""
    binary = (canvas >= INK_THRESHOLD).view(np.uint8)
    left, top, width, height = cv2.boundingRect(binary)
    if width == 0:
        return []
    # Labelling only the inked region is ~15× faster than labelling a whole board canvas.
    canvas, ink = canvas[top:top + height, left:left + width], binary[top:top + height, left:left + width]
    count, labels, stats, _ = cv2.connectedComponentsWithStats(ink, connectivity=8)
    if count - 1 > MAX_INK_PARTS:
        raise UserError(f"the canvas holds {count - 1:,} separate pieces of ink; read() takes at most "
                        f"{MAX_INK_PARTS} (noise or a photo, not writing)")
    boxed = int((stats[1:, cv2.CC_STAT_WIDTH].astype(np.int64) * stats[1:, cv2.CC_STAT_HEIGHT]).sum())
    if boxed > MAX_BOXED:
        raise UserError(f"the canvas's marks lie round each other {boxed / (width * height):.0f} times over "
                        f"({boxed / 1e6:.0f} megapixels of boxes; read() takes at most {MAX_BOXED / 1e6:.0f}): "
                        "a pattern, not writing")
    holes = cv2.connectedComponents(1 - ink, connectivity=4)[0] - 1  # holes, and the background round the ink
    if holes > MAX_INK_PARTS:
        raise UserError(f"the ink on the canvas has {holes:,} holes; read() takes at most "
                        f"{MAX_INK_PARTS} (a pattern or a photo, not writing)")
    parts = _without_specks([((x, y, x + w, y + h), [i]) for i, (x, y, w, h) in
                             enumerate(stats[:, :4].tolist()) if i > 0])
    rings = _rings(parts, labels) if len(parts) > 1 else []
    parts = [part for part in parts if part not in rings]
    groups: list[tuple[tuple, list[int]]] = []
    for box, members in sorted(parts, key=lambda p: -_area(p[0])):
        groups.append((box, members))
        merged = True
        while merged:  # joining two groups can make a third belong, so repeat until stable
            merged = False
            for i in range(len(groups) - 1):
                if _belong_together(groups[i][0], groups[-1][0]):
                    box_i, members_i = groups.pop(i)
                    box_last, members_last = groups.pop()
                    groups.append((union(box_i, box_last), members_i + members_last))
                    merged = True
                    break
    if len(groups) > 1:
        groups = _without_stray_marks(groups, ink)
    blobs = []
    for (x0, y0, x1, y1), members in sorted(groups + rings, key=lambda g: (g[0][0] + g[0][2]) / 2):
        crop = canvas[y0:y1, x0:x1]
        if count > 2:  # other digits may reach into this box: keep this digit's ink alone
            crop = np.where(np.isin(labels[y0:y1, x0:x1], members), crop, 0).astype(np.uint8)
        blobs.append(Blob((x0 + left, y0 + top, x1 + left, y1 + top), crop, ((x0, y0, x1, y1), members) in rings))
    return blobs


RING_INSIDE = 0.3    # a part drawn round others at least this share of its size may be a ring…
RING_THIN = 0.35     # …when its ink covers at most this share of the hull it draws (a filled blob is no ring)


def _rings(parts: list[tuple[tuple, list[int]]], labels: np.ndarray) -> list[tuple[tuple, list[int]]]:
    """The parts (corner box, label numbers) that may be drawn round other parts, as someone
    circles a digit: a thin line whose hull holds nine tenths of another part's ink, that part
    at least RING_INSIDE of its size. Whether it is a ring, or a digit with a part inside (a
    slashed 0 whose slash does not touch it), the models say (read_ink)."""
    found = []
    for box, members in parts:
        others = [(b, m) for b, m in parts if m is not members and b[0] >= box[0] and b[1] >= box[1]
                  and b[2] <= box[2] and b[3] <= box[3]
                  and _longer_side(b) >= RING_INSIDE * _longer_side(box)]
        if not others:
            continue
        x0, y0, x1, y1 = box
        own = np.isin(labels[y0:y1, x0:x1], members)
        hull = cv2.convexHull(cv2.findNonZero(own.view(np.uint8)))
        inside = np.zeros(own.shape, np.uint8)
        cv2.fillConvexPoly(inside, hull, 1)
        if own.sum() > RING_THIN * inside.sum():
            continue
        for (bx0, by0, bx1, by1), other in others:
            theirs = np.isin(labels[by0:by1, bx0:bx1], other)
            if inside[by0 - y0:by1 - y0, bx0 - x0:bx1 - x0][theirs].mean() >= 0.9:
                found.append((box, members))
                break
    return found


def _area(box: tuple) -> int:
    return (box[2] - box[0]) * (box[3] - box[1])


def _longer_side(box: tuple) -> int:
    return max(box[2] - box[0], box[3] - box[1])


def _without_specks(marks: list[tuple[tuple, list[int]]], pen: float = 0.0) -> list:
    """The marks (corner box, label numbers) less the specks: those whose box's longer side,
    less `pen`, is under SPECK_FRACTION of the largest one's, less `pen`."""
    sides = [_longer_side(box) for box, _ in marks]
    tallest = max(sides)
    return [m for m, side in zip(marks, sides) if side - pen >= SPECK_FRACTION * (tallest - pen)]


def _without_stray_marks(groups: list[tuple[tuple, list[int]]], ink: np.ndarray) -> list:
    """The groups of ink parts less the lone marks whose pen path, their box less the pen
    width, is a speck's, as group_strokes drops a stray touch of the pen: a fat pen makes a
    dot's box far taller than its path (a 17 px pen, a dot a quarter as tall as a 0)."""
    sides = [_longer_side(box) for box, _ in groups]
    if min(sides) >= 0.5 * max(sides):  # no mark small enough (the pen width is only measured if one is)
        return groups
    return _without_specks(groups, pen=stroke_width(ink))


def _narrowest_piece(height: float) -> int:
    """Pixels: the narrowest piece a cut may leave (MIN_PIECE of the digit height)."""
    return max(2, int(MIN_PIECE * height))


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
    margin = _narrowest_piece(height)
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
    left_of = np.arange(ink.shape[1])[None, :] <= path[:, None]
    return ink[:, :reach] * left_of[:, :reach], ink[:, start:] * ~left_of[:, start:], start


def _ink_box(ink: np.ndarray) -> tuple[int, int, int, int]:
    """(x0, y0, x1, y1) of the ink in an image."""
    x, y, w, h = cv2.boundingRect((ink >= INK_THRESHOLD).view(np.uint8))
    return x, y, x + w, y + h


def _ink_area(ink: np.ndarray) -> int:
    return cv2.countNonZero((ink >= INK_THRESHOLD).view(np.uint8))


def _pen_path(ink: np.ndarray, height: float, brush: float) -> float:
    """How much pen path a blob holds, in digit heights: its ink area over the brush width."""
    return _ink_area(ink) / max(brush, 1.0) / height


def _without_slivers(ink: np.ndarray) -> np.ndarray:
    """The ink without the small bits a cut leaves of a neighbour."""
    count, labels, stats, _ = cv2.connectedComponentsWithStats((ink >= INK_THRESHOLD).view(np.uint8), connectivity=8)
    if count <= 2:
        return ink
    keep = [i for i in range(1, count) if stats[i, cv2.CC_STAT_AREA] >= 0.15 * stats[1:, cv2.CC_STAT_AREA].max()]
    return np.where(np.isin(labels, keep), ink, 0).astype(np.uint8)


def _pieces(ink: np.ndarray, path: np.ndarray) -> tuple[np.ndarray, np.ndarray, int]:
    """split_along the seam, each side without the slivers the cut leaves of its neighbour."""
    left, right, start = split_along(ink, path)
    return _without_slivers(left), _without_slivers(right), start


def _log_odds(probability):
    return np.log(probability + 1e-9) - np.log(1 - probability + 1e-9)


def cut_features(ink: np.ndarray, path: np.ndarray, left: np.ndarray, right: np.ndarray,
                 probs: np.ndarray, height: float, brush: float, straight: bool) -> np.ndarray:
    """The evidence that a cut separates two digits in a blob of `ink`: how much ink it goes
    through (in brush widths, and in strokes), where and how straight it runs, the shapes of
    the two pieces (ink boxes, in digit heights) and whether they stand side by side as digits
    of a number do, how surely the classifier reads the whole and each piece (`probs`:
    (3, 10) for the whole, left and right), and whether it is a straight cut or a seam."""
    on_seam = ink[np.arange(len(path)), path] >= INK_THRESHOLD
    strokes_crossed = int(np.count_nonzero(np.diff(on_seam.astype(np.int8)) == 1) + on_seam[0])
    (l0, t0, l1, b0), (r0, t1, r1, b1) = _ink_box(left), _ink_box(right)
    areas = _ink_area(left), _ink_area(right)
    ranked = np.sort(probs, axis=1)
    return np.array([on_seam.sum() / max(brush, 1.0), strokes_crossed, path.mean() / ink.shape[1],
                     (l1 - l0) / height, (r1 - r0) / height, (b0 - t0) / height, (b1 - t1) / height,
                     min(areas) / max(sum(areas), 1), ink.shape[1] / height, ink.shape[1] / ink.shape[0],
                     abs(t0 - t1) / height, abs(b0 - b1) / height, np.ptp(path) / height,
                     *np.log(ranked[:, -1] + 1e-6), *(ranked[:, -1] - ranked[:, -2]),
                     *np.clip(_log_odds(ranked[:, -1]), -5, 12), float(straight)])


def straight_cuts(ink: np.ndarray, height: float, brush: float, whole_probs: np.ndarray) -> list[np.ndarray]:
    """Vertical cuts every STRAIGHT_STEP of the digit height across a blob that holds pen path
    enough for two digits (its ink over the brush width, in digit heights) and that the
    classifier (`whole_probs`) does not read surely as one; none elsewhere. Seams cross the
    least ink, so they miss digits that touch along a stroke: between two 0s side by side a
    seam slips into one 0 and crosses it top and bottom. A straight cut through the shared
    stroke leaves each digit whole, and the readings of its pieces tell it from the rest."""
    if _pen_path(ink, height, brush) < STRAIGHT_INK or _log_odds(float(whole_probs.max())) >= STRAIGHT_UNSURE:
        return []
    margin, step = _narrowest_piece(height), max(1, int(STRAIGHT_STEP * height))
    return [np.full(ink.shape[0], column, np.int64) for column in range(margin, ink.shape[1] - margin, step)]


def search_scale(height: float, brush: float) -> float:
    """How much a blob is shrunk before it is searched for cuts: to strokes at most
    SEARCH_BRUSH wide, but digits at least SEARCH_HEIGHT tall, the range the cut model was
    fitted on; never grown. Searched at full size, a wide MNIST digit enlarged to 300 px (25-50
    px strokes) took 6-7 ms to read, for detail the search does not need: its strokes, and
    the gaps between touching digits, are many pixels wide."""
    return min(1.0, max(SEARCH_BRUSH / max(brush, 1e-6), SEARCH_HEIGHT / height))


class Cut(NamedTuple):
    """A seam or straight cut through a blob, the two pieces of ink it leaves (without slivers
    of the neighbour), the blob column where the right piece starts, what the classifier sees
    of each piece and reads there ((image, probs), None for a cut remade at another size), and
    the cut_features the cut model weighs."""

    path: np.ndarray
    left: np.ndarray
    right: np.ndarray
    right_start: int
    left_reading: tuple | None
    right_reading: tuple | None
    features: np.ndarray


def cut_candidates(ink: np.ndarray, height: float, brush: float, classify: Classify,
                   whole_probs: np.ndarray, straight: bool = True) -> list[Cut]:
    """Each seam and (if `straight`) straight cut of a blob as a Cut, its pieces read in one
    call; `whole_probs`: how the classifier reads the whole blob as one digit."""
    paths = seams(ink, height)
    seam_count = len(paths)
    if straight:
        paths += straight_cuts(ink, height, brush, whole_probs)
    if not paths:
        return []
    pieces = [_pieces(ink, path) for path in paths]
    images = np.stack([normalize_digit(piece) for left, right, _ in pieces for piece in (left, right)])
    probs = classify(images)
    return [Cut(path, left, right, start, (images[2 * i], probs[2 * i]), (images[2 * i + 1], probs[2 * i + 1]),
                cut_features(ink, path, left, right, np.stack([whole_probs, probs[2 * i], probs[2 * i + 1]]),
                             height, brush, straight=i >= seam_count))
            for i, (path, (left, right, start)) in enumerate(zip(paths, pieces))]


def best_cut(ink: np.ndarray, height: float, brush: float, classify: Classify,
             whole_probs: np.ndarray, straight: bool = True) -> Cut | None:
    """The likeliest cut of a blob into two digits, when the cut model favours it; None when
    it does not, or the blob is too narrow, too flat (a dash), surely one digit (_one_digit)
    or has no candidate cut. The search runs on the blob shrunk by search_scale; the cut is
    made at full size."""
    if ink.shape[1] < WIDE * height or ink.shape[0] < MIN_TALL * brush or _one_digit(ink, height, brush, whole_probs):
        return None
    shrink = min(search_scale(height, brush), MAX_SEARCH_SIDE / max(ink.shape))
    searched = ink if shrink == 1 else cv2.resize(ink, None, fx=shrink, fy=shrink, interpolation=cv2.INTER_AREA)
    candidates = [cut for cut in cut_candidates(searched, height * shrink, brush * shrink, classify, whole_probs,
                                                straight)
                  if _a_digit(cut.left_reading[1]) and _a_digit(cut.right_reading[1])]
    if not candidates:
        return None
    weights, bias = fitted_model("cut", CUT_FEATURE_NAMES)
    odds = [float(cut.features @ weights + bias) for cut in candidates]
    if max(odds) <= 0:
        return None
    best = candidates[int(np.argmax(odds))]
    if shrink == 1:
        return best
    path = _grown(best.path, searched.shape, ink.shape)
    return Cut(path, *_pieces(ink, path), None, None, best.features)


def _a_digit(probs: np.ndarray) -> bool:
    """Whether a piece reads as a digit: a cut that leaves a piece that is no digit (a scribble
    cut in two) parts no touching digits."""
    return int(probs.argmax()) < 10


def _one_digit(ink: np.ndarray, height: float, brush: float, whole_probs: np.ndarray) -> bool:
    """Whether a wide blob is surely one digit, without a search: it holds pen path enough for
    one digit only (wide single digits: 2.2-3.3 digit heights for MNIST's, two touching digits
    3.6-5.4) and the classifier reads it as one at log-odds ONE_SURE or more. 14 of the 18
    wide digits among the bench's 50 MNIST digits are; searched, they took 2-5 ms each. The
    bar is high because touching pairs can read fairly surely as one digit: at log-odds 4,
    "77" and "17" (writers 25-30), read as 7, went unsearched."""
    return _pen_path(ink, height, brush) < ONE_PATH and _log_odds(float(whole_probs.max())) >= ONE_SURE


def _grown(path: np.ndarray, small: tuple[int, int], full: tuple[int, int]) -> np.ndarray:
    """A cut's path found in a blob shrunk to `small` (rows, columns), in the blob at `full`
    size: each full row takes the path of the small row it lies in, and the last full column
    of the small column the path holds (its pixels go left)."""
    rows = np.minimum(((np.arange(full[0]) + 0.5) * small[0] / full[0]).astype(np.int64), small[0] - 1)
    return np.clip(np.round((path[rows] + 1) * full[1] / small[1]).astype(np.int64) - 1, 0, full[1] - 1)


def _split_blob(ink: np.ndarray, height: float, brush: float, classify: Classify,
                reading: tuple | None, straight: bool, offset: int = 0) -> list[tuple[int, np.ndarray, tuple]]:
    """The digits in one blob of ink as (column offset in the blob, ink, (image, probs)), left
    to right: cut where the cut model is surest, while it favours a cut, then look again in
    each piece. `reading`: the blob's (image, probs) as one digit, None when not yet read;
    `straight`: whether straight cuts are tried, in the blob and its pieces."""
    if reading is None:
        image = normalize_digit(ink)
        reading = image, classify(image[None])[0]
    cut = best_cut(ink, height, brush, classify, reading[1], straight)
    if cut is None:
        return [(offset, ink, reading)]
    pieces = []
    for part, part_offset, part_reading in ((cut.left, offset, cut.left_reading),
                                            (cut.right, offset + cut.right_start, cut.right_reading)):
        part, part_offset = _crop_columns(part, part_offset)  # the same image: normalize_digit crops to the ink
        pieces += _split_blob(part, height, brush, classify, part_reading, straight, part_offset)
    return pieces


def _crop_columns(ink: np.ndarray, offset: int) -> tuple[np.ndarray, int]:
    """The ink without its empty columns on either side, and its new column offset (rows are
    kept, so a piece keeps its place)."""
    columns = np.flatnonzero((ink >= INK_THRESHOLD).any(axis=0))
    return ink[:, columns[0]:columns[-1] + 1], offset + int(columns[0])


def read_ink(blobs: list[Blob], classify: Classify) -> list[Reading]:
    """The marks in blobs of ink (find_digits), left to right: each blob is one digit, or one
    mark that is none, unless the cut model finds touching digits in it. Every blob is read
    whole first, in one call: most are one digit, and the cut model weighs that reading too.
    Straight cuts are tried only in a blob at most STRAIGHT_WIDEST digit heights wide, and its
    pieces: in a scribble 23 heights long, cut into 93 pieces, they took 16-18 s."""
    if not blobs:
        return []
    if any(blob.ring for blob in blobs):
        blobs = _settle_rings(blobs, classify)
    heights = np.array([b.box[3] - b.box[1] for b in blobs if not b.ring], np.float64)
    height = float(np.median(heights[heights >= 0.5 * heights.max()])) if len(heights) else 1.0
    images = np.stack([normalize_digit(blob.ink) for blob in blobs])
    readings = []
    for blob, image, probs in zip(blobs, images, classify(images)):
        x, y = blob.box[:2]
        if blob.ring:
            readings.append(Reading.no_digit((x, y, blob.box[2] - x, blob.box[3] - y), image, len(probs)))
            continue
        brush = stroke_width((blob.ink >= INK_THRESHOLD).view(np.uint8))
        straight = blob.box[2] - blob.box[0] <= STRAIGHT_WIDEST * height
        for offset, ink, (piece, piece_probs) in _split_blob(blob.ink, height, brush, classify, (image, probs),
                                                              straight):
            x0, y0, x1, y1 = _ink_box(ink)
            readings.append(Reading.of(piece_probs, (x + offset + x0, y + y0, x1 - x0, y1 - y0), piece))
    readings.sort(key=lambda r: r.box[0] + r.box[2] / 2)  # a cut piece's ink box moves its centre
    return readings


def _settle_rings(blobs: list[Blob], classify: Classify) -> list[Blob]:
    """The blobs with each ring (find_digits) settled by the models: the ring with the blobs
    inside it, read as one, is no digit (a circled digit: the ring stays a ring, the digit is
    read alone) or a digit (a slashed 0: they become one blob again)."""
    rings = [blob for blob in blobs if blob.ring]
    inside = [[b for b in blobs if not b.ring and b.box[0] >= r.box[0] and b.box[1] >= r.box[1]
               and b.box[2] <= r.box[2] and b.box[3] <= r.box[3]] for r in rings]
    together = []
    for ring, held in zip(rings, inside):
        ink = ring.ink.copy()
        for blob in held:
            x, y = blob.box[0] - ring.box[0], blob.box[1] - ring.box[1]
            area = ink[y:y + blob.ink.shape[0], x:x + blob.ink.shape[1]]
            np.maximum(area, blob.ink, out=area)
        together.append(ink)
    probs = classify(np.stack([normalize_digit(ink) for ink in together]))
    settled = list(blobs)
    for ring, held, ink, p in zip(rings, inside, together, probs):
        if _a_digit(p):
            settled = [b for b in settled if b is not ring and all(b is not h for h in held)]
            settled.append(Blob(ring.box, ink))
    return sorted(settled, key=lambda b: (b.box[0] + b.box[2]) / 2)
