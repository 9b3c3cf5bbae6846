"""How much teaching helps writers the model never saw.

    python benchmarks/personalise.py runs/pendigits-holdout.tra --model runs/split/best.keras

For each writer in the pen file: the first K drawings of each digit are drawn on a
board-sized canvas and read as the board reads them (their 28×28 inputs are what the board
saves when a person labels them); the model is taught them as the board's T does
(`train.py --personalise`), and the writer's other digits are read before and after.
Prints one line per writer (before, after, teach seconds, MNIST test after) and the mean.
Drawings are saved by the board's own code, strokes and all, so the base's stroke model
(when it has one) is taught too.
"""

from __future__ import annotations

import json
import sys
import tempfile
import time
from pathlib import Path

import click
import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from digitboard.cli.options import Command, ExistingPath  # noqa: E402
from digitboard.data.images import load_mnist  # noqa: E402
from digitboard.data.drawings import save_digits  # noqa: E402
from digitboard.measure.evaluation import digits_read, draw_on_canvas, DrawingStyle  # noqa: E402
from digitboard.common.paths import DEFAULT_MODEL  # noqa: E402
from digitboard.data.drawings import load_drawings  # noqa: E402
from digitboard.train.teach import personalise, replay_data, STEPS  # noqa: E402
from digitboard.read.recognizer import Recognizer  # noqa: E402
from digitboard.data.pen import brush_for, PenDigit, read_unipen  # noqa: E402


def writers(path: Path) -> list[str]:
    """The writer of each digit, in file order (`.COMMENT <label> <writer> <n>` after `.SEGMENT`)."""
    names, waiting = [], False
    for line in path.read_text(errors="replace").splitlines():
        if line.startswith(".SEGMENT"):
            waiting = True
        elif waiting and line.startswith(".COMMENT"):
            names.append(line.split()[2])
            waiting = False
    return names


def read_back(recognizer: Recognizer, digits: list[PenDigit], seed: int) -> float:
    """Share of `digits` read right, each drawn alone on a board-sized canvas and read with its strokes."""
    rng = np.random.default_rng(seed)
    right = 0
    for digit in digits:
        canvas, strokes = draw_on_canvas(digit, DrawingStyle(), rng)
        right += digits_read(recognizer.read(canvas, strokes=strokes)) == digit.label
    return right / len(digits)


def save_as_the_board_does(recognizer: Recognizer, digits: list[PenDigit], folder: Path, seed: int) -> None:
    """Each digit drawn on a board-sized canvas, read, and saved by the board's own code (its
    28×28 input, and its strokes beside)."""
    rng = np.random.default_rng(seed)
    style = DrawingStyle()
    for i, digit in enumerate(digits):
        canvas, strokes = draw_on_canvas(digit, style, rng)
        readings = recognizer.read(canvas, strokes=strokes)
        if len(readings) != 1:  # the board labels a drawing with one key only when it holds one digit
            continue
        save_digits(readings, digit.label, strokes, style.canvas_size, brush_for(style.canvas_size[1]),
                    folder, f"{i:04d}")


@click.command(cls=Command, context_settings={"show_default": True})
@click.argument("pen_file", type=ExistingPath(dir_okay=False, path_type=Path))
@click.option("--model", type=ExistingPath(dir_okay=False, path_type=Path), default=DEFAULT_MODEL,
              help="The model to teach: one not trained on these writers.")
@click.option("--k", "per_digit", type=click.IntRange(1), default=5, help="Drawings of each digit taught.")
@click.option("--writer", "only", multiple=True, help="Only these writers (repeatable); default all.")
@click.option("--steps", type=click.IntRange(1), default=STEPS, help="Steps of each teach.")
@click.option("--seed", type=int, default=0)
@click.option("--json", "as_json", is_flag=True, help="Print the results as JSON too.")
def main(pen_file, model, per_digit, only, steps, seed, as_json):
    """Teach each writer's first K drawings of each digit; read their other digits before and after."""
    digits, names = read_unipen(pen_file), writers(pen_file)
    if len(names) != len(digits):
        raise click.ClickException(f"{pen_file}: {len(names)} writer comments for {len(digits)} digits")
    base = Recognizer.load(model)
    mnist = load_mnist(echo=lambda _: None)
    replay = replay_data(model, mnist, seed)
    rows = []
    for writer in [w for w in dict.fromkeys(names) if not only or w in only]:
        own = [d for d, w in zip(digits, names) if w == writer]
        taught, others, seen = [], [], {}
        for digit in own:
            seen[digit.label] = seen.get(digit.label, 0) + 1
            (taught if seen[digit.label] <= per_digit else others).append(digit)
        before = read_back(base, others, seed)
        with tempfile.TemporaryDirectory() as folder:
            save_as_the_board_does(base, taught, Path(folder) / "drawn", seed)
            out = Path(folder) / "mine.keras"
            started = time.perf_counter()
            card = personalise(model, load_drawings(Path(folder) / "drawn"), out,
                               replay, test=(mnist.x_test, mnist.y_test), steps=steps,
                               echo=lambda _: None)
            seconds = time.perf_counter() - started
            after = read_back(Recognizer.load(out), others, seed)
        rows.append({"writer": writer, "taught": card["drawings_used"], "others": len(others),
                     "before": round(before, 4), "after": round(after, 4), "teach_s": round(seconds, 1),
                     "mnist_after": card["test_accuracy"]})
        click.echo(f"writer {writer}: taught {card['drawings_used']}, other {len(others)} digits "
                   f"{before:.2%} → {after:.2%}, teach {seconds:.1f} s, MNIST after {card['test_accuracy']:.2%}")
    mean = {key: round(float(np.mean([r[key] for r in rows])), 4) for key in ("before", "after", "mnist_after")}
    click.echo(f"mean: {mean['before']:.2%} → {mean['after']:.2%}, MNIST after {mean['mnist_after']:.2%}; "
               f"worst after {min(r['after'] for r in rows):.2%}; teach {max(r['teach_s'] for r in rows):.1f} s at most")
    if as_json:
        click.echo(json.dumps({"model": str(model), "k": per_digit, "steps": steps, "writers": rows, "mean": mean}))


if __name__ == "__main__":
    main()
