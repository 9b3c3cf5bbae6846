"""Fit the two small models that find digits (`digitboard.segment`, `digitboard.cuts`) from pen
digits of known writers.

    python benchmarks/fit_segmentation.py strokes runs/pendigits-train.tra --check runs/pendigits-holdout.tra
    python benchmarks/fit_segmentation.py cuts runs/pendigits-train.tra --check runs/pendigits-holdout.tra

Both write pen digits side by side as numbers (`evaluation.write_number`) at random sizes,
brushes and gaps, where the truth is known, and fit a logistic regression:

- strokes: does a stroke start a new digit or continue the one being written
  (`segment.transition_features`)? Every stroke after the first of a written pair.
- cuts: does a cut through a blob of touching ink separate two digits (`cuts.cut_features`)?
  Every candidate cut (`cuts.cut_candidates`: seams and straight cuts) of every wide blob
  of 1-3 digits written close together; a cut is right when each digit's ink lies (90 %)
  on one side of it, both sides holding a digit.

Each prints the weights, with --write puts them into digitboard/read/fitted.json (keyed by
feature name), and with --check says how often the model errs on other writers' digits.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import click
import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from digitboard.cli.options import command_line  # noqa: E402
from digitboard.read import strokes as segment  # noqa: E402
from digitboard.read.reading import FITTED  # noqa: E402
from digitboard.read.ink import cut_candidates, CUT_FEATURE_NAMES, WIDE  # noqa: E402
from digitboard.measure.evaluation import write_number  # noqa: E402
from digitboard.read.image import INK_THRESHOLD, normalize_digit, stroke_width  # noqa: E402
from digitboard.read.ink import find_digits  # noqa: E402
from digitboard.data.pen import draw_strokes, PenDigit, read_unipen  # noqa: E402


def lift_pen(digit: PenDigit, rng: np.random.Generator) -> PenDigit:
    """The digit as written by someone who lifts the pen once more: one stroke cut in two at a
    random point, the second half sometimes drawn from its far end (a 0 as two arcs, both
    from the top)."""
    longest = max(range(len(digit.strokes)), key=lambda i: len(digit.strokes[i]))
    stroke = digit.strokes[longest]
    if len(stroke) < 6:
        return digit
    cut = int(rng.integers(2, len(stroke) - 2))
    first, second = stroke[:cut + 1], stroke[cut:]
    if rng.random() < 0.5:
        second = second[::-1]
    return PenDigit(digit.label, [*digit.strokes[:longest], first, second, *digit.strokes[longest + 1:]])


def stroke_transitions(paths: list[Path], pairs: int, seed: int, marks: float = 0.0) -> tuple[np.ndarray, np.ndarray]:
    """(features, starts a new digit) for every stroke after the first in `pairs` written pairs;
    a third of the digits are written with one more pen lift (lift_pen), since the pen data
    has few digits of several strokes that come from pen lifts; a `marks` share of the items
    are marks that are no digit (train.marks: letters, hatching, stars…), whose strokes go on
    one mark as a digit's go on one digit."""
    from digitboard.train.marks import negatives

    digits = [digit for path in paths for digit in read_unipen(path)]
    rng = np.random.default_rng(seed)
    made = [PenDigit("", strokes) for _, strokes in negatives(int(2 * pairs * marks) + 1, rng, digits)]
    rows, labels = [], []
    for _ in range(pairs):
        pair = [digits[i] for i in rng.choice(len(digits), 2, replace=False)]
        pair = [lift_pen(d, rng) if rng.random() < 1 / 3 else d for d in pair]
        pair = [made[int(rng.integers(len(made)))] if rng.random() < marks else d for d in pair]
        number = write_number(pair, rng.uniform(-0.1, 0.4), rng, height=rng.uniform(60, 300),
                              brush=int(rng.integers(2, 18)), canvas_size=(2400, 800))  # wide digits fit
        strokes, first = number.strokes, len(pair[0].strokes)
        height = segment.digit_height(segment.stroke_boxes(strokes))
        for k in range(1, len(strokes)):
            start = first if k > first else 0
            rows.append(segment.transition_features(strokes[start:k], strokes[k], height))
            labels.append(k == first)
    return np.array(rows), np.array(labels, np.float64)


def ink_cuts(path: Path, numbers: int, seed: int, model: Path) -> tuple[np.ndarray, np.ndarray]:
    """(features, separates two digits) for every candidate cut of every wide blob in
    `numbers` numbers of 1-3 digits written close together."""
    from digitboard.read.recognizer import Recognizer

    classify = Recognizer.load(model).classify
    digits = read_unipen(path)
    rng = np.random.default_rng(seed)
    rows, labels = [], []
    for _ in range(numbers):
        chosen = [digits[i] for i in rng.choice(len(digits), int(rng.integers(1, 4)), replace=False)]
        brush = int(rng.integers(4, 18))
        number = write_number(chosen, rng.uniform(-0.05, 0.15), rng, height=rng.uniform(80, 300), brush=brush)
        ends = np.cumsum([len(d.strokes) for d in chosen])
        masks = [draw_strokes(number.strokes[a:b], np.zeros_like(number.canvas), brush) >= INK_THRESHOLD
                 for a, b in zip([0, *ends[:-1]], ends)]
        segments = find_digits(number.canvas)
        heights = np.array([s.box[3] - s.box[1] for s in segments], np.float64)
        height = float(np.median(heights[heights >= 0.5 * heights.max()]))
        for found in segments:
            x, y, x1, y1 = found.box
            w, h = x1 - x, y1 - y
            if w < WIDE * height:
                continue
            inside = [m[y:y + h, x:x + w] & (found.ink >= INK_THRESHOLD) for m in masks]
            present = [k for k, m in enumerate(inside) if m.sum() > 0.5 * masks[k].sum()]
            brush_seen = stroke_width((found.ink >= INK_THRESHOLD).view(np.uint8))
            whole = classify(normalize_digit(found.ink)[None])[0]
            # pen no wider than SEARCH_BRUSH, digits no shorter than SEARCH_HEIGHT: searched at full size
            for cut in cut_candidates(found.ink, height, brush_seen, classify, whole):
                rows.append(cut.features)
                left_side = np.arange(w)[None, :] <= cut.path[:, None]
                # right when every digit in the blob lies (90 % of its ink) on one side, both sides used
                sides = [(inside[k] & left_side).sum() / inside[k].sum() for k in present]
                labels.append(len(present) >= 2 and all(f >= 0.9 or f <= 0.1 for f in sides)
                              and min(sides) <= 0.1 and max(sides) >= 0.9)
    return np.array(rows), np.array(labels, np.float64)


def fit_logistic(x: np.ndarray, y: np.ndarray, l2: float = 1e-3) -> tuple[np.ndarray, float]:
    """Newton's method on class-balanced, standardised features; raw coefficients and bias back."""
    mean, scale = x.mean(axis=0), x.std(axis=0) + 1e-9
    z = np.c_[(x - mean) / scale, np.ones(len(x))]
    weight = np.where(y == 1, 0.5 / y.mean(), 0.5 / (1 - y.mean()))
    w = np.zeros(z.shape[1])
    for _ in range(100):
        p = 1 / (1 + np.exp(-z @ w))
        gradient = z.T @ ((p - y) * weight) / len(y) + l2 * np.r_[w[:-1], 0]
        hessian = (z * (p * (1 - p) * weight)[:, None]).T @ z / len(y) + l2 * np.eye(len(w))
        step = np.linalg.solve(hessian, gradient)
        w -= step
        if np.abs(step).max() < 1e-10:
            break
    coef = w[:-1] / scale
    return coef, float(w[-1] - (coef * mean).sum())


def report(name: str, names: tuple, x, y, check, write: bool, command: str) -> None:
    """Fit, print the weights, and with `write` put them into digitboard/read/fitted.json under
    `name` (its bias_shift, a choice made on numbers, is kept)."""
    coef, bias = fit_logistic(x, y)
    click.echo(f"{len(y)} examples ({int(y.sum())} positive)")
    click.echo("\n".join(f"  {feature:>28}: {c:.4g}" for feature, c in zip(names, coef)) + f"\n  bias: {bias:.4g}")
    if write:
        fitted = json.loads(FITTED.read_text(encoding="utf-8"))
        fitted[name].update({"fitted by": command, "bias": round(bias, 4),
                             "weights": {feature: round(float(c), 4) for feature, c in zip(names, coef)}})
        FITTED.write_text(json.dumps(fitted, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
        click.echo(f"written to {FITTED} [{name}]")
    if check is not None:
        x, y = check()
        said = (x @ coef + bias) > 0
        click.echo(f"other writers: positives missed {np.mean(~said[y == 1]):.3%} of {int(y.sum())}, "
                   f"negatives taken {np.mean(said[y == 0]):.3%} of {int((1 - y).sum())}")


@click.group()
def main():
    """Fit segmentation models from pen digits written as numbers."""


@main.command()
@click.argument("train", nargs=-1, required=True, type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--check", type=click.Path(exists=True, dir_okay=False, path_type=Path), multiple=True,
              help="Other writers' pen digits to measure the fitted model on (repeatable).")
@click.option("--pairs", type=click.IntRange(100), default=8000, show_default=True)
@click.option("--marks", type=click.FloatRange(0, 1), default=0.0, show_default=True,
              help="Share of the written items that are marks that are no digit (train.marks).")
@click.option("--seed", type=int, default=0, show_default=True)
@click.option("--write", is_flag=True, help="Put the fitted weights into digitboard/read/fitted.json.")
def strokes(train, check, pairs, marks, seed, write):
    """Where a new digit (or mark) starts among strokes: fitted.json's "new digit" model."""
    report("new digit", segment.FEATURE_NAMES, *stroke_transitions(train, pairs, seed, marks),
           (lambda: stroke_transitions(check, pairs // 2, seed + 1, marks)) if check else None, write, command_line())


@main.command()
@click.argument("train", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--check", type=click.Path(exists=True, dir_okay=False, path_type=Path), default=None,
              help="Other writers' pen digits to measure the fitted model on.")
@click.option("--numbers", type=click.IntRange(100), default=4000, show_default=True)
@click.option("--model", type=click.Path(exists=True, dir_okay=False, path_type=Path),
              default=Path(__file__).resolve().parent.parent / "models" / "best.keras", show_default=True,
              help="The classifier whose readings of the pieces count as evidence.")
@click.option("--seed", type=int, default=0, show_default=True)
@click.option("--write", is_flag=True, help="Put the fitted weights into digitboard/read/fitted.json.")
def cuts(train, check, numbers, model, seed, write):
    """Where touching digits part in a blob of ink: fitted.json's "cut" model."""
    report("cut", CUT_FEATURE_NAMES, *ink_cuts(train, numbers, seed, model),
           (lambda: ink_cuts(check, numbers // 2, seed + 1, model)) if check else None, write, command_line())


if __name__ == "__main__":
    main()
