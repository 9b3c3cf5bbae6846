"""The pen path of a digit, and the stroke model that reads it.

An image shows where the ink is; the strokes also say how it got there. A 1 written with a
long flag and a 7 leave much the same ink, but the flag of a 1 rises to the top while a 7's
bar runs along it; the open top of a 4 and of a 9 differ in the order their strokes were
drawn. The stroke model reads the path itself: all strokes, in the order drawn, resampled to
PATH_POINTS points evenly spaced along the pen's way (the jumps between strokes included,
flagged pen-up), each point its position in the digit's box and the pen's direction there.

Its probabilities are combined with the image classifier's (`combine`) wherever read() has
strokes, so they complement each other: writers the image classifier misreads are often read
right from their strokes, and the other way round. train.fit.train_stroke_model fits it on pen
data beside an image model; train.teach teaches it a person's strokes.
"""

from __future__ import annotations

import numpy as np

PATH_POINTS = 64           # points a path is resampled to
PATH_FEATURES = 5          # x, y, direction x, direction y, pen down (1) or moving between strokes (0)
# How much the stroke model's log-probabilities count against the image model's. Chosen on pen
# writers 25-30 (1,498 digits) with models trained without them: a single image model alone
# misread 8, with a first stroke model 2 at any weight from 0.75 to 1.0 (3 at 0.5 and 1.5); the
# shipped recipe's ensemble and stroke model misread 3 at 0.5-1.0 (4 at 1.5).
STROKE_WEIGHT = 0.75


def path_features(strokes: list[np.ndarray], points: int = PATH_POINTS) -> np.ndarray:
    """(points, PATH_FEATURES) float32: the strokes (x, y arrays, in the order drawn) as one path
    resampled evenly along its length, in a box of side 1 centred on the digit."""
    path = np.concatenate(strokes).astype(np.float64)
    low, high = path.min(axis=0), path.max(axis=0)
    size = max(float((high - low).max()), 1e-6)
    # each segment of the path: drawn (within a stroke) or a jump to the next stroke
    drawn = np.ones(len(path) - 1)
    drawn[np.cumsum([len(s) for s in strokes[:-1]], dtype=np.int64) - 1] = 0.0
    steps = np.sqrt(np.square(np.diff(path, axis=0)).sum(axis=1))
    along = np.concatenate(([0.0], np.cumsum(steps)))
    if along[-1] <= 0:  # a dot
        along = np.linspace(0.0, 1.0, len(path))
    at = np.linspace(0.0, along[-1], points)
    xy = np.stack([np.interp(at, along, path[:, 0]), np.interp(at, along, path[:, 1])], axis=1)
    xy = (xy - (low + high) / 2) / size
    segment = np.minimum(np.maximum(np.searchsorted(along, at, side="right") - 1, 0), max(len(drawn) - 1, 0))
    pen_down = drawn[segment] if len(drawn) else np.ones(points)
    heading = np.diff(xy, axis=0, append=2 * xy[-1:] - xy[-2:-1])
    heading /= np.sqrt(np.square(heading).sum(axis=1, keepdims=True)) + 1e-9
    return np.concatenate([xy, heading, pen_down[:, None]], axis=1).astype(np.float32)


def combine(image_probs: np.ndarray, stroke_probs: np.ndarray, weight: float = STROKE_WEIGHT) -> np.ndarray:
    """(n, 10) probabilities of both readers → (n, 10): a product of the two, the stroke model's
    raised to `weight`, renormalised."""
    log = np.log(image_probs + 1e-7) + weight * np.log(stroke_probs + 1e-7)
    probs = np.exp(log - log.max(axis=1, keepdims=True))
    return (probs / probs.sum(axis=1, keepdims=True)).astype(np.float32)
