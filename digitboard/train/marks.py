"""Marks that are not digits, for teaching the models a "not a digit" outcome.

* `junk_marks(kind, rng)`: made marks (dots, lines, scribbles, hatching, stars, rings, ...)
  as a mouse would leave them on a 400x300 canvas; `ring_around` draws a ring around a digit.
* `letter_strokes(char, font, rng)`: letters and symbols from Hershey single-stroke fonts,
  varied as another hand would write them; `digit_like(char, font)` says which of them are
  shaped like a digit and must not be negatives.
* `stroke_subsets(digit_strokes, rng)`: the partial strokes of a multi-stroke digit (a 4's L,
  a 5's cap) that are no digit; `subset_rule` says why a subset is kept or dropped.
* `negatives(count, rng, pen_digits)`: a mix of all three, as training takes them.

Every stroke is an (n, 2) float array of x, y with y growing downwards, as on a canvas.
Pure numpy; the Hershey glyphs come from the MIT-licensed `Hershey-Fonts` package
(`import HersheyFonts`), read once per font.
"""

from __future__ import annotations

import functools

import numpy as np

from ..read.image import SPECK_FRACTION

CANVAS = (400, 300)           # (w, h): the canvas the marks are placed on unless told otherwise
SPACING = (0.01, 0.03)        # mouse samples: this share of the mark's size apart


# ---------------------------------------------------------------- shaping, varying, sampling

def densify(stroke: np.ndarray, step: float) -> np.ndarray:
    """The polyline with points every `step` along it (its corners kept), so that a smooth
    wobble bends its straight runs too."""
    stroke = np.asarray(stroke, np.float64)
    if len(stroke) < 2:
        return stroke.copy()
    pieces = [stroke[:1]]
    for a, b in zip(stroke[:-1], stroke[1:]):
        count = max(1, int(np.ceil(np.linalg.norm(b - a) / step)))
        pieces.append(a + (b - a) * np.linspace(0, 1, count + 1)[1:, None])
    return np.concatenate(pieces)


def resample(stroke: np.ndarray, spacing: float, rng: np.random.Generator | None = None,
             jitter: float = 0.4) -> np.ndarray:
    """Points along the stroke about `spacing` apart, each step ± `jitter` of it when `rng` is
    given (the hand speeds up and slows down); the first and last point are kept."""
    stroke = np.asarray(stroke, np.float64)
    if len(stroke) > 1:
        moved = np.r_[True, np.any(np.diff(stroke, axis=0) != 0, axis=1)]
        stroke = stroke[moved]
    if len(stroke) < 2:
        return stroke.copy()
    along = np.r_[0.0, np.cumsum(np.sqrt(np.square(np.diff(stroke, axis=0)).sum(axis=1)))]
    total = along[-1]
    count = int(total / (spacing * (1 - jitter))) + 2
    steps = spacing * (rng.uniform(1 - jitter, 1 + jitter, count) if rng is not None else np.ones(count))
    at = np.cumsum(np.r_[0.0, steps])
    at = np.r_[at[at < total - 0.3 * spacing], total]
    return np.stack([np.interp(at, along, stroke[:, 0]), np.interp(at, along, stroke[:, 1])], axis=1)


def hand_vary(strokes: list[np.ndarray], rng: np.random.Generator, turn: float = 0.15,
              slant: float = 0.3, aspect: tuple[float, float] = (0.8, 1.25),
              wobble: float = 0.025, loose: float = 0.0) -> list[np.ndarray]:
    """The strokes as another hand might draw them: turned by up to `turn` radians, slanted by
    up to `slant`, narrower or wider within `aspect`, bent by two smooth random waves of
    `wobble` of the mark's size (augment.vary_hand's recipe), and, past the first
    stroke, each stroke moved by about `loose` of the size (strokes that do not quite meet).
    Densify straight runs first, or the wobble only moves their ends."""
    points = np.concatenate(strokes)
    centre = points.mean(axis=0)
    size = max(float(np.ptp(points, axis=0).max()), 1e-6)
    angle, shear = rng.uniform(-turn, turn), rng.uniform(-slant, slant)
    stretch = float(np.exp(rng.uniform(np.log(aspect[0]), np.log(aspect[1]))))
    cos, sin = np.cos(angle), np.sin(angle)
    transform = np.array([[cos, -sin], [sin, cos]]) @ np.array([[stretch, -shear], [0.0, 1.0]])
    waves = rng.normal(0, 1, (2, 2, 2)) * 2 * np.pi / size
    phases = rng.uniform(0, 2 * np.pi, (2, 2))
    moved = []
    for index, stroke in enumerate(strokes):
        p = (np.asarray(stroke, np.float64) - centre) @ transform.T
        p = p + sum(wobble * size * np.sin(p @ waves[k].T + phases[k]) for k in range(2))
        if index and loose:
            p = p + rng.normal(0, loose * size, 2)
        moved.append(p + centre)
    return moved


def pen_sample(strokes: list[np.ndarray], rng: np.random.Generator,
               spacing: tuple[float, float] = SPACING, min_step: float = 0.0) -> list[np.ndarray]:
    """The strokes as a mouse or pen samples them: each stroke's points `spacing` (a range,
    as a share of the whole mark's size) apart, and at least `min_step` apart (a mouse reports
    whole pixels)."""
    points = np.concatenate(strokes)
    size = float(np.ptp(points, axis=0).max()) if len(points) > 1 else 0.0
    return [resample(s, max(min_step, rng.uniform(*spacing) * size, 1e-9), rng) for s in strokes]


def place_on_canvas(strokes: list[np.ndarray], rng: np.random.Generator, canvas_size=CANVAS,
                    scale: float = 1.0, margin: float = 12.0, whole_pixels: bool = True) -> list[np.ndarray]:
    """The strokes scaled by `scale` and moved to a random place on a canvas of `canvas_size`
    (w, h), at least `margin` pixels from its edges (shrunk to fit when too large), on whole
    pixels as a mouse reports them when `whole_pixels`."""
    strokes = [np.asarray(s, np.float64) * scale for s in strokes]
    points = np.concatenate(strokes)
    low, high = points.min(axis=0), points.max(axis=0)
    room = np.array(canvas_size, np.float64) - 2 * margin
    shrink = min(1.0, float(np.min(room / np.maximum(high - low, 1e-9))))
    extent = (high - low) * shrink
    corner = np.array([rng.uniform(margin, margin + room[0] - extent[0]),
                       rng.uniform(margin, margin + room[1] - extent[1])])
    placed = [(s - low) * shrink + corner for s in strokes]
    if whole_pixels:
        placed = [_without_repeats(np.round(s)) for s in placed]
    return placed


def _without_repeats(stroke: np.ndarray) -> np.ndarray:
    """The stroke less points that repeat the one before (a mouse reports only moves)."""
    keep = np.r_[True, np.any(np.diff(stroke, axis=0) != 0, axis=1)]
    return stroke[keep]


def _turned(points: np.ndarray, angle: float) -> np.ndarray:
    cos, sin = np.cos(angle), np.sin(angle)
    return np.asarray(points, np.float64) @ np.array([[cos, sin], [-sin, cos]])


def _arc(centre, radii, start: float, sweep: float, step: float = 0.01) -> np.ndarray:
    """Points of an elliptic arc (y down) from angle `start`, sweeping `sweep` radians."""
    count = max(8, int(abs(sweep) * max(radii) / step))
    t = start + np.linspace(0, sweep, count)
    return np.stack([centre[0] + radii[0] * np.cos(t), centre[1] + radii[1] * np.sin(t)], axis=1)


def _segment(a, b) -> np.ndarray:
    return densify(np.array([a, b], np.float64), 0.01)


def _chaikin(points: np.ndarray, rounds: int = 4) -> np.ndarray:
    """An open polyline smoothed by corner cutting (Chaikin)."""
    for _ in range(rounds):
        q = 0.75 * points[:-1] + 0.25 * points[1:]
        r = 0.25 * points[:-1] + 0.75 * points[1:]
        points = np.concatenate([points[:1], np.stack([q, r], axis=1).reshape(-1, 2), points[-1:]])
    return points


def _maybe_reversed(stroke: np.ndarray, rng: np.random.Generator, chance: float = 0.5) -> np.ndarray:
    return stroke[::-1].copy() if rng.random() < chance else stroke


def _fit(strokes: list[np.ndarray], size: float) -> list[np.ndarray]:
    """Strokes scaled so the longer side of their box is `size`, centred on the origin."""
    points = np.concatenate(strokes)
    low, high = points.min(axis=0), points.max(axis=0)
    scale = size / max(float((high - low).max()), 1e-9)
    return [(s - (low + high) / 2) * scale for s in strokes]


# ---------------------------------------------------------------- the made marks
# Each _kind(rng) draws one mark in its own units (about 1 across, y down); junk_marks varies,
# sizes, samples and places it.

def _dot(rng):
    """A tiny stroke: a touch of the pen, one point or a few within a pixel or two."""
    return [rng.normal(0, 1.0, (int(rng.integers(1, 5)), 2))]


def _dots(rng):
    """2-6 dots scattered, or in a row as an ellipsis or a colon."""
    count = int(rng.integers(2, 7))
    if rng.random() < 0.35:
        direction = _turned(np.array([[1.0, 0.0]]), rng.uniform(-0.3, 0.3) + (np.pi / 2 if rng.random() < 0.3 else 0))
        centres = np.arange(count)[:, None] * direction * rng.uniform(8, 30)
    else:
        centres = rng.uniform(0, 1, (count, 2)) * rng.uniform(20, 150, 2)
    return [c + rng.normal(0, 0.8, (int(rng.integers(1, 4)), 2)) for c in centres]


def _dash(rng):
    """A short straight stroke within 25 degrees of horizontal (a minus sign)."""
    line = _turned(_segment((-0.5, 0.0), (0.5, 0.0)), rng.uniform(-0.44, 0.44))
    return [_maybe_reversed(line, rng, 0.2)]


def _long_line(rng):
    """A long straight stroke, horizontal (within 12 degrees) or diagonal (20-50 degrees from
    horizontal, never steep enough to be a slanted 1), slightly bowed."""
    angle = rng.uniform(-0.21, 0.21) if rng.random() < 0.5 else rng.choice([-1, 1]) * rng.uniform(0.35, 0.87)
    t = np.linspace(-0.5, 0.5, 200)
    line = np.stack([t, rng.uniform(-0.03, 0.03) * (1 - 4 * t ** 2)], axis=1)
    return [_maybe_reversed(_turned(line, angle), rng, 0.2)]


def _vertical_line(rng):
    """A straight stroke within 12 degrees of vertical. Alone it IS a 1 (see LOOKS_LIKE):
    junk only beside digits it dwarfs."""
    t = np.linspace(-0.5, 0.5, 200)
    line = np.stack([rng.uniform(-0.02, 0.02) * (1 - 4 * t ** 2), t], axis=1)
    return [_maybe_reversed(_turned(line, rng.uniform(-0.21, 0.21)), rng, 0.15)]


def _scribble(rng):
    """A tangled smooth curve through 8-20 random points; a third of the time in 2-3 strokes."""
    stretch = np.exp(rng.uniform(-0.5, 0.5, 2))
    pieces = 1 if rng.random() < 0.67 else int(rng.integers(2, 4))
    strokes = []
    for _ in range(pieces):
        anchors = rng.uniform(-0.5, 0.5, (int(rng.integers(8, 21)), 2)) * stretch
        strokes.append(_chaikin(densify(anchors, 0.05), 3))
    return strokes


def _parallel_lines(rng, angle: float, count: int, zig: bool):
    gap = rng.uniform(0.06, 0.2)
    lines = []
    for k in range(count):
        half = 0.5 * rng.uniform(0.85, 1.15)
        shift = rng.uniform(-0.08, 0.08)
        line = np.array([[shift - half, k * gap], [shift + half, k * gap]])
        lines.append(line[::-1] if zig and k % 2 else line)
    lines = [_turned(line, angle) for line in lines]
    if rng.random() < 0.2:  # back and forth without lifting the pen
        return [densify(np.concatenate(lines), 0.01)]
    return [densify(line, 0.01) for line in lines]


def _hatching(rng):
    """3-10 parallel strokes close together (4-10 when they are near vertical: three tall
    strokes spaced like digits would be "111")."""
    angle = rng.uniform(0, np.pi)
    near_vertical = abs(np.cos(angle)) < 0.5
    count = int(rng.integers(4 if near_vertical else 3, 11))
    return _parallel_lines(rng, angle, count, rng.random() < 0.5)


def _cross_hatching(rng):
    """Two hatchings crossing at 60-90 degrees, one after the other."""
    angle = rng.uniform(0, np.pi)
    other = angle + rng.choice([-1, 1]) * rng.uniform(np.pi / 3, np.pi / 2)
    first = _parallel_lines(rng, angle, int(rng.integers(3, 9)), rng.random() < 0.5)
    second = _parallel_lines(rng, other, int(rng.integers(3, 9)), rng.random() < 0.5)
    centre = lambda ls: np.concatenate(ls).mean(axis=0)
    offset = centre(first) - centre(second)
    return first + [s + offset for s in second]


def _spiral(rng):
    """One stroke winding 1.75-4 turns in or out (fewer turns would be a 0, 6 or 9)."""
    turns = rng.uniform(1.75, 4.0)
    t = np.linspace(0, 1, int(400 * turns))
    radius = rng.uniform(0.02, 0.15) + (0.5 - 0.1) * t
    angle = rng.uniform(0, 2 * np.pi) + rng.choice([-1, 1]) * 2 * np.pi * turns * t
    squash = np.exp(rng.uniform(-0.3, 0.3))
    path = np.stack([radius * np.cos(angle) * squash, radius * np.sin(angle)], axis=1)
    return [_maybe_reversed(path, rng)]


def _star(rng):
    """A five-pointed star in one stroke, its tips 10 % uneven."""
    tips = rng.uniform(-0.3, 0.3) - np.pi / 2 + np.arange(6) * 4 * np.pi / 5
    radius = 0.5 * rng.uniform(0.9, 1.1, 6)
    radius[5] = radius[0]
    corners = np.stack([radius * np.cos(tips), radius * np.sin(tips)], axis=1)
    corners[5] += rng.normal(0, 0.02, 2)
    return [_maybe_reversed(densify(corners, 0.01), rng, 0.5)]


def _asterisk(rng):
    """3-4 straight strokes crossing near one point, in any order and direction."""
    count = int(rng.integers(3, 5))
    start = rng.uniform(0, np.pi)
    strokes = []
    for k in rng.permutation(count):
        angle = start + k * np.pi / count + rng.uniform(-0.12, 0.12)
        half = 0.5 * rng.uniform(0.85, 1.1)
        centre = rng.normal(0, 0.04, 2)
        strokes.append(_maybe_reversed(_turned(_segment((-half, 0), (half, 0)), angle) + centre, rng))
    return strokes


def _zigzag(rng):
    """4-9 straight legs turning sharply back and forth (two or three legs would be a V, an N
    or a Z, that is a 2)."""
    legs = int(rng.integers(4, 10))
    height = rng.uniform(0.15, 0.9)
    x = np.linspace(0, 1, legs + 1) + rng.normal(0, 0.15 / legs, legs + 1)
    y = height * (np.arange(legs + 1) % 2) + rng.normal(0, 0.05 * height, legs + 1)
    angle = rng.uniform(-0.35, 0.35) + (np.pi / 2 if rng.random() < 0.2 else 0)
    return [_maybe_reversed(_turned(densify(np.stack([x, y], axis=1), 0.01), angle), rng, 0.3)]


def _ring(rng):
    """One closed loop, 0.7-2.2 times as wide as tall, left open or overshooting a little.
    Alone it is a 0 (see LOOKS_LIKE)."""
    width = np.exp(rng.uniform(np.log(0.7), np.log(2.2)))
    sweep = rng.choice([-1, 1]) * (2 * np.pi + rng.uniform(-0.35, 0.5))
    return [_arc((0, 0), (0.5 * width, 0.5), rng.uniform(0, 2 * np.pi), sweep)]


def _smiley(rng):
    """A face: a ring, two eyes (dots or short strokes), a smiling mouth; the face drawn first
    most of the time."""
    face = _arc((0, 0), (0.5, 0.5 * rng.uniform(0.85, 1.15)), rng.uniform(0, 2 * np.pi),
                rng.choice([-1, 1]) * (2 * np.pi + rng.uniform(-0.3, 0.3)))
    eye_y, eye_x = rng.uniform(-0.22, -0.08), rng.uniform(0.12, 0.22)
    if rng.random() < 0.7:
        eyes = [np.array([[x, eye_y]]) + rng.normal(0, 0.01, (int(rng.integers(1, 4)), 2)) for x in (-eye_x, eye_x)]
    else:
        eyes = [_segment((x, eye_y - 0.06), (x, eye_y + 0.06)) for x in (-eye_x, eye_x)]
    mouth_radius = rng.uniform(0.18, 0.32)
    mouth = _arc((0, rng.uniform(-0.05, 0.1)), (mouth_radius, mouth_radius * rng.uniform(0.5, 1.0)),
                 rng.uniform(0.2, 0.5), rng.uniform(np.pi - 1.0, np.pi - 0.4))
    parts = [face, *eyes, _maybe_reversed(mouth, rng)]
    return parts if rng.random() < 0.8 else [*eyes, parts[-1], face]


def _arrow(rng):
    """A shaft and a two-barbed head pointing any way: 3 strokes, 2 (the head as one V), or 1
    (shaft, barb, back to the tip, other barb)."""
    barb, spread = rng.uniform(0.15, 0.35), rng.uniform(0.35, 0.8)
    tip = np.array([0.5, 0.0])
    left = tip + barb * np.array([-np.cos(spread), -np.sin(spread)])
    right = tip + barb * np.array([-np.cos(spread), np.sin(spread)])
    shaft = _segment((-0.5, 0.0), tip)
    style = rng.random()
    if style < 0.4:
        parts = [shaft, _segment(tip, left), _segment(tip, right)]
    elif style < 0.8:
        parts = [shaft, densify(np.array([left, tip, right]), 0.01)]
    else:
        parts = [densify(np.array([[-0.5, 0.0], tip, left, tip, right]), 0.01)]
    angle = rng.uniform(0, 2 * np.pi)
    return [_turned(p, angle) for p in parts]


def _check(rng):
    """A check mark: a short leg down to the right, then a long one up to the right."""
    knee = np.array([rng.uniform(0.25, 0.45), 1.0])
    start = np.array([0.0, rng.uniform(0.45, 0.7)])
    end = np.array([1.0, rng.uniform(-0.1, 0.1)])
    return [_turned(densify(np.array([start, knee, end]), 0.01), rng.uniform(-0.26, 0.26))]


def _cross(rng):
    """Two crossing straight strokes: an X (each 30-60 degrees from horizontal), a quarter of
    the time an upright +."""
    if rng.random() < 0.75:
        angles = [rng.uniform(0.52, 1.05), -rng.uniform(0.52, 1.05)]
    else:
        tilt = rng.uniform(-0.17, 0.17)
        angles = [tilt, np.pi / 2 + tilt + rng.uniform(-0.1, 0.1)]
    lines = [_turned(_segment((-0.5, 0), (0.5, 0)), a) + rng.normal(0, 0.04, 2) for a in angles]
    return [_maybe_reversed(lines[k], rng) for k in rng.permutation(2)]


def _wave(rng):
    """A wavy line of 1.5-4 periods, within 20 degrees of horizontal."""
    periods = rng.uniform(1.5, 4.0)
    t = np.linspace(0, 1, 400)
    y = rng.uniform(0.04, 0.15) * np.sin(2 * np.pi * periods * t + rng.uniform(0, 2 * np.pi))
    return [_maybe_reversed(_turned(np.stack([t, y], axis=1), rng.uniform(-0.35, 0.35)), rng, 0.2)]


def _box(rng):
    """A rectangle 0.9-3 times as wide as tall: one stroke round it, two (two corners) or
    four sides."""
    width, height = 1.0, 1.0 / np.exp(rng.uniform(np.log(0.9), np.log(3.0)))
    corners = np.array([[0, 0], [width, 0], [width, height], [0, height], [0, 0]], np.float64)
    corners = np.roll(corners[:4], -int(rng.integers(0, 4)), axis=0)
    corners = np.concatenate([corners, corners[:1] + rng.normal(0, 0.02, 2)])
    if rng.random() < 0.5:
        corners = corners[::-1]
    style = rng.random()
    if style < 0.6:
        parts = [corners]
    elif style < 0.8:
        parts = [corners[:3], corners[2:]]
    else:
        parts = [corners[k:k + 2] for k in range(4)]
    return [densify(p, 0.01) for p in parts]


def _triangle(rng):
    """A triangle, upright most of the time: one closed stroke or three sides."""
    apex = np.array([rng.uniform(0.2, 0.8), -rng.uniform(0.5, 1.2)])
    corners = np.array([[0.0, 0.0], [1.0, 0.0], apex])
    corners = np.roll(corners, -int(rng.integers(0, 3)), axis=0)
    corners = np.concatenate([corners, corners[:1] + rng.normal(0, 0.02, 2)])
    angle = rng.uniform(-0.2, 0.2) if rng.random() < 0.7 else rng.uniform(0, 2 * np.pi)
    parts = [corners] if rng.random() < 0.7 else [corners[k:k + 2] for k in range(3)]
    return [_turned(densify(p, 0.01), angle) for p in parts]


# kind: (its shape, its size as a share of the canvas height (of the width for long lines),
# how much hand_vary bends it)
_KINDS = {
    "dot": (_dot, None, 0.0),
    "dots": (_dots, None, 0.0),
    "dash": (_dash, (0.06, 0.3), 0.02),
    "long_line": (_long_line, (0.6, 0.95), 0.01),
    "vertical_line": (_vertical_line, (0.5, 0.95), 0.01),
    "scribble": (_scribble, (0.25, 0.9), 0.02),
    "hatching": (_hatching, (0.2, 0.8), 0.02),
    "cross_hatching": (_cross_hatching, (0.25, 0.85), 0.02),
    "spiral": (_spiral, (0.2, 0.8), 0.02),
    "star": (_star, (0.2, 0.8), 0.02),
    "asterisk": (_asterisk, (0.15, 0.7), 0.02),
    "zigzag": (_zigzag, (0.2, 0.9), 0.015),
    "ring": (_ring, (0.15, 0.85), 0.025),
    "smiley": (_smiley, (0.3, 0.9), 0.02),
    "arrow": (_arrow, (0.2, 0.9), 0.015),
    "check": (_check, (0.15, 0.7), 0.02),
    "cross": (_cross, (0.15, 0.8), 0.02),
    "wave": (_wave, (0.25, 0.95), 0.01),
    "box": (_box, (0.2, 0.85), 0.02),
    "triangle": (_triangle, (0.2, 0.85), 0.02),
}
JUNK_KINDS = tuple(_KINDS) + ("ring_around",)

# Kinds whose marks, alone on a canvas, are the shape of a digit: read without context (both
# models see a piece scaled to its own box), they ARE that digit and must not be labelled
# junk. Use them as junk only beside digits they dwarf, or not at all.
LOOKS_LIKE = {"ring": "0", "vertical_line": "1"}

# Kinds made to stay clear of a digit, and the digit their nearest variants would become;
# the generators keep them away (the docstrings say how), the risk is what is left.
NEAR_DIGIT_KINDS = {
    "dash": "1 (a few pen files record a 1 as a short flat stroke; in common writing it is a minus)",
    "box": "0 (a narrow box drawn in one stroke is an angular 0: boxes are kept 0.9-3 times as wide as tall)",
    "zigzag": "2 or 7 (two or three legs make a Z, a 7 or a V: 4-9 legs are drawn)",
    "spiral": "0, 6 or 9 (one turn is a loop: 1.75-4 turns are drawn)",
    "check": "7 or 1 (turned far enough, a check is a 7 without its bar or a 1 with a foot; turned only 15 degrees)",
    "wave": "2 or ~ (one period is a 2's tail: 1.5-4 periods, near horizontal)",
    "arrow": "1 (an up arrow is a 1 with a flag and one more barb)",
    "triangle": "4 (a closed triangle is the top of a closed 4)",
    "smiley": "0 (the face is a ring)",
    "ring_around": "0 (the ring alone)",
}


def junk_marks(kind: str, rng: np.random.Generator, canvas_size=CANVAS,
               digit: list[np.ndarray] | None = None) -> list[np.ndarray]:
    """One made mark of `kind` (one of JUNK_KINDS) as a mouse would leave it on a canvas of
    `canvas_size` (w, h): strokes in canvas pixels (x right, y down, whole pixels), points
    1-3 % of the mark's size apart, at a random size, place, slant and wobble.

    `ring_around` needs `digit`, a digit's strokes (any units, y down): they come back with a
    ring drawn round them, the ring the last stroke most of the time (see ring_around for its
    index)."""
    if kind == "ring_around":
        if digit is None:
            raise ValueError("ring_around draws a ring around a digit: pass digit=its strokes")
        strokes, _ = ring_around(digit, rng, canvas_size)
        return strokes
    if kind not in _KINDS:
        raise ValueError(f"unknown kind {kind!r}; one of {', '.join(JUNK_KINDS)}")
    shape, share, bend = _KINDS[kind]
    strokes = shape(rng)
    width, height = canvas_size
    if share is None:  # dots: drawn in pixels, only sampled and placed
        return place_on_canvas(pen_sample(strokes, rng, min_step=1.0), rng, canvas_size)
    strokes = hand_vary(strokes, rng, turn=0.1, slant=0.25, wobble=bend, loose=0.02)
    size = rng.uniform(*share) * (width if kind == "long_line" else height)
    strokes = _fit(strokes, size)
    return place_on_canvas(pen_sample(strokes, rng, min_step=1.0), rng, canvas_size)


def ring_around(digit: list[np.ndarray], rng: np.random.Generator,
                canvas_size=CANVAS) -> tuple[list[np.ndarray], int]:
    """A ring drawn around a digit, as someone circles a digit on the board: (strokes in canvas
    pixels, the index of the ring's stroke). The digit is 30-60 % of the canvas height; the
    ring clears its box by 10-45 %, is left a little open or overshoots, and comes after the
    digit's strokes 85 % of the time (before them otherwise)."""
    digit = [np.asarray(s, np.float64) for s in digit]
    points = np.concatenate(digit)
    low, high = points.min(axis=0), points.max(axis=0)
    scale = rng.uniform(0.3, 0.6) * canvas_size[1] / max(float(high[1] - low[1]), 0.3 * float(high[0] - low[0]), 1e-9)
    digit = [(s - low) * scale for s in digit]
    box = (high - low) * scale
    half = np.maximum(box / 2, 0.3 * box[1]) * rng.uniform(1.1, 1.45, 2) + 8  # clear of a 17 px pen's ink
    centre = box / 2 + rng.normal(0, 0.04, 2) * box[1]
    ring = _arc(centre, half, rng.uniform(0, 2 * np.pi), rng.choice([-1, 1]) * (2 * np.pi + rng.uniform(-0.3, 0.5)),
                step=1.0)
    ring = hand_vary([ring], rng, turn=0.05, slant=0.1, aspect=(0.95, 1.05), wobble=0.02)[0]
    ring = pen_sample([ring], rng, min_step=1.0)[0]
    first = rng.random() < 0.15
    strokes = [ring, *digit] if first else [*digit, ring]
    return place_on_canvas(strokes, rng, canvas_size, margin=10), 0 if first else len(digit)


# ---------------------------------------------------------------- letters and symbols

LETTERS = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
SYMBOLS = "+-=?!#@&%$*/<>()[]{}~^|"
# Hershey fonts drawn with one line per stroke (futural: Roman simplex; scripts: script
# simplex; cursive: a script simplex with other capitals), and a duplex one (futuram: every
# line drawn twice side by side, so its pen paths double back: fine for the image model,
# unnatural for the stroke model). rowmans is futural again in 86 of 94 glyphs.
FONTS = ("futural", "scripts", "cursive", "futuram")
CAP_HEIGHT = 21.0  # Hershey units from cap line (-12) to base line (9)

# Characters the same shape as a digit in common handwriting, with that digit: never negatives.
DIGIT_LIKE = {
    "O": "0", "o": "0",
    "I": "1", "l": "1", "i": "1", "|": "1", "!": "1", "/": "1",   # i's and !'s dot is a speck, dropped by the reader
    "Z": "2", "z": "2",
    "S": "5", "s": "5",
    "b": "6", "G": "6",
    "B": "8",
    "g": "9", "q": "9",
}
# ...in one font only, or not in one font (a clearly different form there)
DIGIT_LIKE_IN_FONT = {("scripts", "Q"): "2", ("cursive", "Q"): "2"}   # script Q is drawn like a 2
NOT_DIGIT_LIKE_IN_FONT = {("scripts", "I"), ("cursive", "I"),        # script I is a looped J
                          ("scripts", "s"), ("cursive", "s")}        # script s is a pointed hook
# Characters close to a digit in some hands: usable negatives, but worth a lower weight and a
# look at what the model reads them as.
NEAR_DIGIT = {
    "D": "0", "Q": "0", "C": "0", "c": "0", "a": "9", "T": "7", "y": "4", "j": "1", "J": "1",
    "(": "1", ")": "1", "[": "1", "]": "1", "?": "2", "&": "8", "$": "5",
}


def digit_like(char: str, font: str = "futural") -> str:
    """The digit `char` is written like in `font` ("" when none): such characters are no
    negatives."""
    if (font, char) in DIGIT_LIKE_IN_FONT:
        return DIGIT_LIKE_IN_FONT[(font, char)]
    if (font, char) in NOT_DIGIT_LIKE_IN_FONT:
        return ""
    return DIGIT_LIKE.get(char, "")


def _hershey_fonts():
    from HersheyFonts import HersheyFonts

    return HersheyFonts()


@functools.lru_cache(maxsize=None)
def font_glyphs(font: str) -> dict[str, tuple[np.ndarray, ...]]:
    """Every printable ASCII character's Hershey strokes in `font`, in Hershey units (y down,
    cap line at -12, base line at 9), as the font stores them."""
    fonts = _hershey_fonts()
    fonts.load_default_font(font)
    return {chr(code): tuple(np.array(s, np.float64) for s in fonts.strokes_for_text(chr(code)))
            for code in range(33, 127)}


def glyph(char: str, font: str) -> tuple[np.ndarray, ...]:
    """The Hershey strokes of one character (font_glyphs)."""
    return font_glyphs(font)[char]


def letter_strokes(char: str, font: str, rng: np.random.Generator) -> list[np.ndarray]:
    """One character as a hand might write it: the font's strokes, turned, slanted, stretched
    and wobbled (hand_vary), their ends a little loose, sampled 1-3 % of its size apart.
    Units: the font's cap height is 1, y down; place it with place_on_canvas(strokes, rng,
    scale=cap height in pixels)."""
    strokes = [densify(s / CAP_HEIGHT, 0.005) for s in glyph(char, font)]
    if not strokes:
        raise ValueError(f"{font} has no strokes for {char!r}")
    strokes = hand_vary(strokes, rng, turn=0.12, slant=0.25, wobble=0.02, loose=0.015)
    return pen_sample(strokes, rng)


# ---------------------------------------------------------------- parts of multi-stroke digits

SUBSET_RULES = ("negative", "speck", "less_small", "less_accent", "one_tall", "one_short", "loop")
ONE_STRAIGHT = 0.1       # a 1: 90 % of its points within this share of its length from one straight line...
ONE_UPRIGHT = np.radians(30)   # ...that leans at most this far from vertical
ONE_TALL = 0.6           # a 1 at least this share of the digit's height reads right in context
LOOP_ENDS = 0.12         # a loop: two points of a stroke this close, as a share of its size...
LOOP_SIZE = 0.4          # ...with the path between them at least this share of its size
LESS_SMALL = 0.25        # strokes under this share of the digit's height may be left off: it is still the digit


def _straightness(points: np.ndarray) -> tuple[float, float]:
    """(how far the points stray from their principal line, over their length along it: the
    90th percentile, so that a small hook at an end does not count; the line's lean from
    vertical in radians)."""
    centred = points - points.mean(axis=0)
    _, _, axes = np.linalg.svd(centred, full_matrices=False)
    along, across = centred @ axes[0], centred @ axes[1]
    lean = float(np.arccos(min(1.0, abs(axes[0][1]))))
    return float(np.percentile(np.abs(across), 90)) / max(float(np.ptp(along)), 1e-9), lean


def _loop_size(stroke: np.ndarray) -> float:
    """The size of the largest loop the stroke closes, over the stroke's size: the path between
    two of its points that come within LOOP_ENDS of its size of each other (touching or
    crossing), measured by its box's longer side, when that box is at least a fifth as wide
    as long (a line drawn back over itself closes nothing); 0 when it closes none."""
    size = float(np.ptp(stroke, axis=0).max())
    if size <= 0:
        return 0.0
    path = resample(stroke, size / 40)
    gaps = np.sqrt(np.square(path[:, None, :] - path[None, :, :]).sum(axis=2))
    best = 0.0
    for i, j in zip(*np.nonzero(np.triu(gaps <= LOOP_ENDS * size, 3))):
        extent = np.ptp(path[i:j + 1], axis=0)
        if extent.min() >= 0.2 * extent.max():
            best = max(best, float(extent.max()) / size)
    return best


def _has_top_bar(points: np.ndarray) -> bool:
    """Whether the top fifth of the points' height spans at least 0.4 of that height across
    (a 7's bar)."""
    low, high = points.min(axis=0), points.max(axis=0)
    top = points[points[:, 1] <= low[1] + 0.2 * (high[1] - low[1])]
    return float(np.ptp(top[:, 0])) >= 0.4 * float(high[1] - low[1])


def subset_rule(digit_strokes: list[np.ndarray], indices, label: str = "") -> str:
    """Why a subset of a digit's strokes is or is not a negative (one of SUBSET_RULES); h is
    the digit's height (the box of all its strokes), each rule tried in this order:

    * speck: the subset's box is under SPECK_FRACTION of h on its longer side: the reader
      drops it before any model sees it.
    * less_small: what is left out are strokes under LESS_SMALL h (specks, ticks, a dot
      from a neighbour): the subset is the digit.
    * less_accent: a subset of a 1 at least 0.75 h tall (a 1 less its flag or foot), or at
      least 0.25 h tall and upright (its principal line within 30 degrees of vertical: a piece
      of its stem, flag and all, when the stem was finished in another stroke); or a subset
      of a 7 at least 0.75 h tall with a bar across its top fifth (a 7 less its crossbar):
      still that digit. A 7's stem without its top bar is not.
    * one_tall / one_short: 90 % of the subset's points lie within ONE_STRAIGHT of its length
      from a straight line leaning at most 30 degrees from vertical: the shape of a 1.
      one_tall (at least ONE_TALL h) reads right as a 1 beside the rest; one_short is a
      fragment there, but a model that sees each piece scaled to its own box cannot tell it
      from a 1 either.
    * loop: one stroke that closes a loop (touching or crossing itself) at least LOOP_SIZE of
      its size: a 0, 6 or 9 shape (an 8's or a 9's loop, a 9 or 6 written in one stroke beside
      a stroke drawn over it again, a slashed 0 less its slash).
    * negative: anything else (a 4's L, a 5's cap or body, a 7's bar, one arc of a 0).
    """
    strokes = [np.asarray(s, np.float64) for s in digit_strokes]
    chosen = sorted(set(indices))
    left_out = [k for k in range(len(strokes)) if k not in chosen]
    digit_height = max(float(np.ptp(np.concatenate(strokes)[:, 1])), 1e-9)
    part = np.concatenate([strokes[k] for k in chosen])
    part_box = np.ptp(part, axis=0)
    if part_box.max() < SPECK_FRACTION * digit_height:
        return "speck"
    if all(float(np.ptp(strokes[k], axis=0).max()) < LESS_SMALL * digit_height for k in left_out):
        return "less_small"
    if label == "1" and (part_box[1] >= 0.75 * digit_height or part_box[1] >= 0.25 * digit_height
                         and len(part) >= 2 and _straightness(part)[1] <= ONE_UPRIGHT):
        return "less_accent"
    if label == "7" and part_box[1] >= 0.75 * digit_height and _has_top_bar(part):
        return "less_accent"
    if len(part) >= 2:
        off_line, lean = _straightness(part)
        if off_line <= ONE_STRAIGHT and lean <= ONE_UPRIGHT:
            return "one_tall" if part_box[1] >= ONE_TALL * digit_height else "one_short"
    if len(chosen) == 1 and len(part) >= 3 and _loop_size(part) >= LOOP_SIZE:
        return "loop"
    return "negative"


def all_subsets(count: int, rng: np.random.Generator | None = None, most: int = 62) -> list[tuple[int, ...]]:
    """The proper non-empty subsets of `count` strokes (index tuples, in drawing order); when
    there are more than `most`, `most` of them drawn at random without repeats."""
    if 2 ** count - 2 <= most:
        return [tuple(i for i in range(count) if mask >> i & 1) for mask in range(1, 2 ** count - 1)]
    rng = rng if rng is not None else np.random.default_rng(0)
    chosen: set[tuple[int, ...]] = set()
    while len(chosen) < most:
        picked = tuple(int(i) for i in np.flatnonzero(rng.random(count) < 0.5))
        if 0 < len(picked) < count:
            chosen.add(picked)
    return sorted(chosen)


def stroke_subsets(digit_strokes: list[np.ndarray], rng: np.random.Generator, label: str = "",
                   most: int = 62) -> list[tuple[tuple[int, ...], list[np.ndarray]]]:
    """Negatives from one digit: each proper non-empty subset of its strokes (at most `most`,
    drawn at random beyond that) that subset_rule calls "negative", as (stroke indices,
    strokes). A one-stroke digit has none. `label` lets a 1 or a 7 lose its flag, foot or
    bar and stay a digit."""
    if len(digit_strokes) < 2:
        return []
    return [(chosen, [digit_strokes[k] for k in chosen])
            for chosen in all_subsets(len(digit_strokes), rng, most)
            if subset_rule(digit_strokes, chosen, label) == "negative"]


# ---------------------------------------------------------------- the mix training takes

MARK_SOURCE = ("made by digitboard.train.marks: 20 kinds of marks, letters and symbols from A. V. Hershey's "
               "single-stroke fonts (the Hershey-Fonts package, MIT licence), parts of the pen digits")

# Shares of the negatives: made marks, letters and symbols, parts of real multi-stroke digits.
MIX = {"marks": 0.45, "letters": 0.3, "parts": 0.25}
TRAINING_KINDS = tuple(kind for kind in JUNK_KINDS if kind not in LOOKS_LIKE)


def negatives(count: int, rng: np.random.Generator, pen_digits: list = ()) -> list[tuple[str, list[np.ndarray]]]:
    """`count` marks that are not digits, as (what it is, strokes y down): made marks of every
    kind that is no digit's shape (a ring around a pen digit among them), letters and symbols
    that are not written like a digit, and the parts of `pen_digits` (data.pen.PenDigit)
    written in several strokes that are no digit themselves, in MIX's shares (the parts' share
    goes to the marks when there are none)."""
    several = [d for d in pen_digits if len(d.strokes) > 1]
    digits = list(pen_digits)
    shares = dict(MIX) if several else {"marks": MIX["marks"] + MIX["parts"], "letters": MIX["letters"]}
    kinds = list(shares)
    found: list[tuple[str, list[np.ndarray]]] = []
    for source in rng.choice(kinds, count, p=np.array([shares[k] for k in kinds]) / sum(shares.values())):
        if source == "marks":
            kind = str(rng.choice([k for k in TRAINING_KINDS if digits or k != "ring_around"]))
            digit = digits[int(rng.integers(len(digits)))].strokes if kind == "ring_around" else None
            found.append((kind, junk_marks(kind, rng, digit=digit)))
        elif source == "letters":
            while True:
                font = str(rng.choice(FONTS[:3]))  # futuram's doubled lines are no pen's paths
                char = str(rng.choice(list(LETTERS + SYMBOLS)))
                if not digit_like(char, font) and glyph(char, font):
                    break
            found.append((f"letter {char}", place_on_canvas(letter_strokes(char, font, rng), rng,
                                                             scale=rng.uniform(60, 240))))
        else:
            while True:
                digit = several[int(rng.integers(len(several)))]
                parts = stroke_subsets(digit.strokes, rng, digit.label)
                if parts:
                    break
            found.append((f"part of a {digit.label}", parts[int(rng.integers(len(parts)))][1]))
    return found
