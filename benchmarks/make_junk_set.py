"""Make the committed set of marks that are not digits, benchmarks/data/junk-marks.json, which
`evaluate.py junk` reads by default.

    python benchmarks/make_junk_set.py          # the same file, byte for byte, every time

It holds, in the board's stroke JSON (one mark per item, in canvas pixels on its own canvas):

* made marks of every kind digitboard.train.marks draws that is not a digit's shape alone
  (its JUNK_KINDS less ring and vertical_line, a 0 and a 1 when alone, and less ring_around),
  12 of each: dots, dashes, long lines, scribbles, hatching, spirals, stars, zig-zags, ...;
* letters and symbols from Hershey fonts, none written like a digit (marks.digit_like) or
  close to one in some hands (marks.NEAR_DIGIT: C, D, T, y, (, [, ?, &, ...);
* a ring drawn around a real digit of pendigits' writers 25-30 (held out of training by
  benchmarks/split_pendigits.py), 4 of each digit; the item keeps the digit's label and the
  ring's stroke index.

It uses training's generators (digitboard.train.marks), but it must not be training's
distribution, so where the generators allow it differs:

* its own seed (SEED), and each mark on its own canvas of 400x300 to 1024x600 with a pen of
  4 to 20 px (training places marks on 400x300 and draws them at its own sizes and brushes);
* over each made mark and letter a second, milder hand (marks.hand_vary: turned up to 0.06
  rad, slanted up to 0.1, 0.9-1.1 as wide; letters up to 0.08, 0.15 and 0.85-1.2);
* letters from Hershey fonts training does not use (training: futural, scripts, cursive,
  futuram): rowmans (Roman simplex, whose letters are mostly futural's: the same shapes by
  another hand), timesr and timesi (Times Roman and italic, serifs, lines drawn twice) and
  gothiceng (English gothic); cap heights 20-60 % of the canvas height;
* the digits in rings come from writers no training of ours sees.
"""

from __future__ import annotations

import json
from pathlib import Path

import click
import numpy as np

from digitboard.cli.options import Command
from digitboard.common.paths import SHARED_PENDIGITS
from digitboard.data.pen import read_unipen
from digitboard.measure.evaluation import JUNK_SET
from digitboard.train import marks

SEED = 2424
PER_KIND = 12                      # made marks of each kind
LETTERS, SYMBOLS = 90, 30          # letters, symbols
RINGS_PER_DIGIT = 4                # rings around a digit, for each digit 0-9
RING_WRITERS = {str(w) for w in range(25, 31)}
NOT_ALONE = ("ring", "vertical_line", "ring_around")   # a 0 and a 1 when alone; rings go round a digit
FONTS = {"rowmans": 0.4, "timesi": 0.3, "timesr": 0.2, "gothiceng": 0.1}   # none of them training's
CAP_HEIGHT = (0.2, 0.6)            # a letter's cap height, as a share of its canvas height


def canvas_and_pen(rng: np.random.Generator) -> tuple[tuple[int, int], int]:
    """A board-sized canvas (w, h) between 400x300 and 1024x600, never taller than wide, and a
    pen of 4-20 px."""
    height = int(rng.integers(300, 601))
    width = int(rng.integers(max(400, round(1.25 * height)), 1025))
    return (width, height), int(rng.integers(4, 21))


def item(kind: str, strokes: list[np.ndarray], canvas: tuple[int, int], pen: int, **extra) -> dict:
    """One mark as the set stores it: coordinates to 0.1 px (whole pixels written as integers)."""
    rounded = []
    for stroke in strokes:
        points = np.round(np.asarray(stroke, np.float64), 1)
        rounded.append(points.astype(int).tolist() if np.all(points == np.round(points)) else points.tolist())
    return {"kind": kind, "label": "", **extra, "canvas_size": list(canvas), "pen": pen, "strokes": rounded}


def made_marks(rng: np.random.Generator) -> list[dict]:
    kinds = [kind for kind in marks.JUNK_KINDS if kind not in NOT_ALONE]
    items = []
    for kind in kinds:
        for _ in range(PER_KIND):
            canvas, pen = canvas_and_pen(rng)
            strokes = marks.junk_marks(kind, rng, canvas)
            strokes = marks.hand_vary(strokes, rng, turn=0.06, slant=0.1, aspect=(0.9, 1.1), wobble=0.01)
            items.append(item(kind, marks.place_on_canvas(strokes, rng, canvas), canvas, pen))
    return items


def written(rng: np.random.Generator, kind: str, characters: str, count: int) -> list[dict]:
    """`count` letters or symbols, each a character of `characters` neither written like a
    digit in its font nor close to one in some hands (a C, a "(": marks.NEAR_DIGIT), the font
    drawn by FONTS' weights."""
    fonts, weights = list(FONTS), np.array(list(FONTS.values()))
    items = []
    while len(items) < count:
        font = str(rng.choice(fonts, p=weights / weights.sum()))
        char = str(rng.choice(list(characters)))
        if marks.digit_like(char, font) or char in marks.NEAR_DIGIT:
            continue
        canvas, pen = canvas_and_pen(rng)
        strokes = marks.letter_strokes(char, font, rng)
        strokes = marks.hand_vary(strokes, rng, turn=0.08, slant=0.15, aspect=(0.85, 1.2), wobble=0.01)
        cap = rng.uniform(*CAP_HEIGHT) * canvas[1]
        items.append(item(kind, marks.place_on_canvas(strokes, rng, canvas, scale=cap), canvas, pen,
                          text=char, font=font))
    return items


def pendigits_writers(path: Path) -> list[str]:
    """The writer of each digit of pendigits' file, in order: `.COMMENT <label> <writer> <n>`
    follows each `.SEGMENT`."""
    writers = []
    for line in path.read_text().splitlines():
        if line.startswith(".SEGMENT"):
            writers.append("")
        elif line.startswith(".COMMENT") and writers and not writers[-1]:
            writers[-1] = line.split()[2]
    return writers


def rings(rng: np.random.Generator, source: Path) -> list[dict]:
    digits, writers = read_unipen(source), pendigits_writers(source)
    assert len(digits) == len(writers), "every digit of pendigits has its writer's comment"
    items = []
    for label in "0123456789":
        chosen = [i for i, (d, w) in enumerate(zip(digits, writers)) if d.label == label and w in RING_WRITERS]
        for index in rng.choice(chosen, RINGS_PER_DIGIT, replace=False):
            canvas, pen = canvas_and_pen(rng)
            strokes, ring = marks.ring_around(digits[index].strokes, rng, canvas)
            items.append(item("ring_around", strokes, canvas, pen, label=label, ring=int(ring),
                              source=f"pendigits writer {writers[index]}, digit {int(index)}"))
    return items


def junk_set(source: Path = SHARED_PENDIGITS, seed: int = SEED) -> dict:
    """The whole set as a stroke JSON document."""
    rng = np.random.default_rng(seed)
    items = made_marks(rng) + written(rng, "letter", marks.LETTERS, LETTERS) + \
        written(rng, "symbol", marks.SYMBOLS, SYMBOLS) + rings(rng, source)
    counts = {}
    for entry in items:
        counts[entry["kind"]] = counts.get(entry["kind"], 0) + 1
    about = {
        "what": "marks that are not digits, each drawn alone on its own board-sized canvas (canvas_size, "
                "pen); a ring_around item circles a real digit: label is that digit, ring the ring's stroke",
        "made_by": "python benchmarks/make_junk_set.py",
        "seed": seed,
        "unlike_training": [
            "its own seed; each mark on its own canvas of 400x300 to 1024x600 with a 4-20 px pen",
            "a second, milder hand (marks.hand_vary) over each made mark and letter",
            f"letters from Hershey fonts training does not use: {', '.join(FONTS)} "
            "(rowmans shares most shapes with training's futural); none like a digit or near one",
            "rings around digits of pendigits writers 25-30, held out of training",
        ],
        "sources": "shapes from digitboard.train.marks; Hershey fonts through the Hershey-Fonts package (MIT); "
                   "ringed digits from UCI pendigits (Alpaydin and Alimoglu, CC BY 4.0)",
        "counts": counts,
    }
    return {"about": about, "digits": items}


def write_set(document: dict, path: Path) -> None:
    """The document with one mark per line: readable, and a changed mark is a changed line."""
    head = json.dumps({key: value for key, value in document.items() if key != "digits"}, indent=1)
    lines = ",\n".join(json.dumps(entry) for entry in document["digits"])
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(head[:-2] + ',\n "digits": [\n' + lines + "\n]}\n")


@click.command(cls=Command, context_settings={"show_default": True})
@click.option("--out", type=click.Path(dir_okay=False, path_type=Path), default=JUNK_SET, help="The file to write.")
def main(out):
    """Write the set of marks that are not digits that `evaluate.py junk` reads."""
    document = junk_set()
    write_set(document, out)
    click.echo(f"{out}: {len(document['digits'])} marks, {out.stat().st_size / 1e6:.2f} MB: "
               + ", ".join(f"{kind} {n}" for kind, n in document["about"]["counts"].items()))


if __name__ == "__main__":
    main()
