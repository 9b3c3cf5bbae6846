"""What reading finds and what it weighs: a Reading per digit, the classifier that judges
candidate digits, and the small fitted models that say where digits part (fitted.json).

Boxes: a Reading's box is (x, y, w, h) on the canvas, as OpenCV and pygame take it; inside
the search, boxes are corners (x0, y0, x1, y1), which join and overlap without arithmetic.
"""

from __future__ import annotations

import functools
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import numpy as np

# (n, 28, 28) uint8 images [, the strokes each was drawn from] → (n, 10) probabilities
Classify = Callable[..., np.ndarray]

FITTED = Path(__file__).with_name("fitted.json")
UNSURE_BELOW = 0.6  # a reading less sure than this is shown as unsure ("?")
NOT_A_DIGIT = "not a digit"  # the class after the ten digits, in models that have it
# Calling ink "not a digit" costs this much log-probability: from the canvas alone it is so
# only where the models find that e^MARK_COST (7.4) times likelier than its likeliest digit.
# Most ink a person writes on the board is digits. (With strokes: strokes.STROKE_MARK_COST.)
MARK_COST = 2.0


@dataclass(frozen=True)
class Reading:
    """One mark found on a canvas: a digit, or (digit None) a mark that is not a digit."""

    digit: int | None                                   # None: not a digit
    confidence: float                                   # how sure: of the digit, or that it is none
    box: tuple[int, int, int, int]                      # x, y, w, h on the canvas
    probs: np.ndarray = field(repr=False)               # (10,) probabilities of the digits [, (11,) and of none]
    image: np.ndarray = field(repr=False)               # (28, 28) uint8: what the model saw
    strokes: tuple[int, ...] = ()                       # indices of its strokes, when read from strokes

    @classmethod
    def of(cls, probs: np.ndarray, box, image: np.ndarray, strokes: tuple[int, ...] = (),
           mark: bool | None = None) -> "Reading":
        """The reading the probabilities give: the likeliest digit and how likely it is, or
        none (`mark`) when "not a digit" (the 11th class, in models that have it) outweighs
        it by MARK_COST (is_mark), or (`mark`) as the grouping of strokes decided."""
        if is_mark(probs) if mark is None else mark:
            return cls(None, float(probs[10]) if len(probs) > 10 else 1.0, tuple(int(v) for v in box), probs,
                       image, tuple(strokes))
        best = int(probs[:10].argmax())
        return cls(best, float(probs[best]), tuple(int(v) for v in box), probs, image, tuple(strokes))

    @classmethod
    def no_digit(cls, box, image: np.ndarray, classes: int, strokes: tuple[int, ...] = ()) -> "Reading":
        """A mark that is surely no digit (a ring drawn around others), whatever it looks like."""
        probs = np.zeros(classes, np.float32)
        if classes > 10:
            probs[10] = 1.0
        return cls(None, 1.0, tuple(int(v) for v in box), probs, image, tuple(strokes))


def digit_score(probs: np.ndarray) -> float:
    """log of how likely the likeliest digit is: what a piece of ink is worth as a digit."""
    return float(np.log(probs[:10].max() + 1e-9))


def mark_score(probs: np.ndarray, cost: float = MARK_COST) -> float:
    """What a piece of ink is worth as a mark that is no digit: the log of how likely that is,
    less `cost` (-inf for models that cannot say)."""
    return float(np.log(probs[10] + 1e-9)) - cost if len(probs) > 10 else -np.inf


def is_mark(probs: np.ndarray, cost: float = MARK_COST) -> bool:
    """Whether the models read a piece of ink as no digit (mark_score beats digit_score)."""
    return mark_score(probs, cost) > digit_score(probs)


def union(a: tuple, b: tuple) -> tuple:
    """The corner box (x0, y0, x1, y1) around two corner boxes."""
    return min(a[0], b[0]), min(a[1], b[1]), max(a[2], b[2]), max(a[3], b[3])


@functools.cache
def fitted_model(name: str, feature_names: tuple[str, ...]) -> tuple[np.ndarray, float]:
    """(weights in the order of `feature_names`, bias) of the logistic model `name` in
    fitted.json, whose weights are keyed by feature name; a feature the file does not weigh,
    or weighs but the code no longer makes, is an error here rather than a silent misfit."""
    model = json.loads(FITTED.read_text(encoding="utf-8"))[name]
    weights = model["weights"]
    if set(weights) != set(feature_names):
        raise ValueError(f"{FITTED.name} [{name}] weighs {sorted(set(weights) ^ set(feature_names))}, "
                         "which the code does not make (or the other way round): refit it")
    return np.array([weights[f] for f in feature_names]), float(model["bias"] + model.get("bias_shift", 0.0))
