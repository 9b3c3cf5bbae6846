"""Measure a digit reader: on the MNIST test set, on replayed pen data, on marks that are not
digits, and for speed; and any classifier train.py made on a class-folder set, on that set's
test split.

Every command prints a readable report, writes its PNGs to --out, and with --json
ends with one JSON line for scripts. --model, --out and --json go before or after the
command (`evaluate.py --json mnist` or `evaluate.py mnist --json`); after wins.
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

import click
import numpy as np
from click.core import ParameterSource

from .options import ExistingPath, Group, Number, Size
from ..common.errors import UserError
from ..common.paths import DEFAULT_MODEL, REPORTS_DIR, ROOT
from ..data.pen import MAX_BRUSH
from ..read.recognizer import MAX_CANVAS_PIXELS, Recognizer

SURE = 0.9  # confidence at which a reading should be right
SEED = click.IntRange(0, 2**32 - 1)           # what numpy takes as a seed
CANVAS = Size(most_pixels=MAX_CANVAS_PIXELS)  # what read() takes


def reports_to(ctx) -> Path:
    """--out, made and shown to take files before any work (a folder that cannot be made was
    a traceback once all the reading was done)."""
    out = ctx.obj["out"]
    probe = out / f".{os.getpid()}.write-test"
    try:
        out.mkdir(parents=True, exist_ok=True)
        probe.touch()
        probe.unlink()
    except OSError as err:
        raise UserError(f"--out {out}: cannot write the reports there: {err.strerror or err}") from None
    return out


def finish(ctx, summary: dict, text: str) -> None:
    click.echo(text)
    if ctx.obj["as_json"]:
        click.echo(json.dumps(summary))


def write_report(out: Path, name: str, labels, predictions, class_names, inputs, title: str) -> dict:
    """Confusion matrix and failure gallery PNGs; returns per-class scores."""
    from ..measure.evaluation import confusion_matrix, per_class_scores
    from ..measure.plots import plot_confusion, plot_gallery

    out.mkdir(parents=True, exist_ok=True)
    n = len(class_names)
    index = {c: i for i, c in enumerate(class_names)}
    # Predictions outside the classes (nothing found, several digits) get an extra "other" column.
    predicted = [index.get(p, n) for p in predictions]
    matrix = confusion_matrix([index[t] for t in labels], predicted, n + 1)[:n]
    names = list(class_names) + (["other"] if matrix[:, n].any() else [])
    plot_confusion(matrix[:, :len(names)], names, out / f"{name}-confusion.png", title)
    wrong = [i for i, (t, p) in enumerate(zip(labels, predictions)) if t != p]
    plot_gallery(np.stack([inputs[i] for i in wrong]) if wrong else np.zeros((0, 28, 28)),
                 [f"{labels[i]}:{predictions[i] or '-'}" for i in wrong],
                 out / f"{name}-errors.png", f"{title}: misread (true:read)")
    return {"per_class": per_class_scores(matrix[:, :n], class_names), "misread": len(wrong)}


def report_classification(ctx, name: str, title: str, counted: str, probs: np.ndarray,
                          labels: np.ndarray, class_names: list[str], inputs: np.ndarray,
                          summary: dict | None = None) -> None:
    """Accuracy, loss, per-class scores and the report PNGs for a labelled test set."""
    from ..measure.evaluation import cross_entropy

    predicted = probs.argmax(axis=1)
    accuracy = float(np.mean(predicted == labels))
    loss = cross_entropy(probs, labels)
    report = write_report(ctx.obj["out"], name, [class_names[i] for i in labels],
                          [class_names[i] for i in predicted], class_names, inputs, title)
    finish(ctx, {"accuracy": round(accuracy, 5), "loss": round(loss, 5), "n": int(len(labels)),
                 **(summary or {}), "per_class": report["per_class"]},
           f"{title} ({counted}): accuracy {accuracy:.4f}, loss {loss:.4f}, "
           f"{report['misread']} misread\n{score_table(report['per_class'])}\n"
           f"reports: {ctx.obj['out']}/{name}-confusion.png, {name}-errors.png")


def score_table(per_class: list[dict]) -> str:
    rows = [f"  {'class':>6} {'precision':>9} {'recall':>7} {'f1':>7} {'n':>6}"]
    rows += [f"  {r['class']:>6} {r['precision']:9.4f} {r['recall']:7.4f} {r['f1']:7.4f} {r['support']:6d}"
             for r in per_class]
    return "\n".join(rows)


def report_options(after_the_command: bool = False):
    """--model, --out and --json: on the group, and again on each command, where a value
    given replaces the group's."""
    here = {"callback": _replace_the_groups, "expose_value": False} if after_the_command else {}
    options = [
        click.option("--model", type=click.Path(dir_okay=False, path_type=Path),
                     default=DEFAULT_MODEL, help="The .keras or .h5 model to measure.", **here),
        click.option("--out", type=click.Path(file_okay=False, path_type=Path), default=REPORTS_DIR,
                     help="Folder for the report PNGs.", **here),
        click.option("--json", "as_json", is_flag=True,
                     help="End with one JSON line of the key figures.", **here),
    ]

    def decorate(command):
        for option in reversed(options):
            command = option(command)
        return command

    return decorate


def _replace_the_groups(ctx, param, value):
    if ctx.get_parameter_source(param.name) is ParameterSource.COMMANDLINE:
        ctx.obj[param.name] = value


@click.group(cls=Group, context_settings={"show_default": True})
@report_options()
@click.pass_context
def cli(ctx, model, out, as_json):
    """Measure a digit reader (default: the shipped model)."""
    ctx.obj = {"model": model, "out": out, "as_json": as_json}


@cli.command()
@click.option("--limit", type=click.IntRange(1), default=None, help="Use only the first N test digits.")
@click.option("--read", "through_read", is_flag=True,
              help="Paste each digit 300 px tall on a 960x600 canvas and read it with read(), as the board "
                   "reads a canvas, instead of classifying its 28×28 image.")
@report_options(after_the_command=True)
@click.pass_context
def mnist(ctx, limit, through_read):
    """Accuracy, loss and per-class scores on the official MNIST test set, and the share read
    as "not a digit" by a model that can say it; with --read, each digit pasted on a board
    canvas and read with read(): the share read exactly, split and rejected."""
    from ..data.images import load_mnist
    from ..measure.evaluation import classify_all
    from ..read.reading import NOT_A_DIGIT

    reports_to(ctx)
    recognizer = Recognizer.load(ctx.obj["model"])
    data = load_mnist(echo=lambda m: click.echo(m, err=True))
    images, labels = data.x_test[:limit], data.y_test[:limit].astype(np.int64)
    if through_read:
        return report_mnist_read(ctx, recognizer, images, labels)
    probs = classify_all(recognizer, images)  # (n, 10), or (n, 11) with "not a digit" last
    rejected = float(np.mean(probs.argmax(axis=1) >= 10))
    can_reject = probs.shape[1] > 10
    report_classification(ctx, "mnist", "MNIST test",
                          f"{len(labels)} digits" + (f", {rejected:.2%} read as not a digit" if can_reject else ""),
                          probs, labels, [str(d) for d in range(10)] + [NOT_A_DIGIT] * (probs.shape[1] - 10),
                          images, {"rejected": round(rejected, 5)} if can_reject else None)


def report_mnist_read(ctx, recognizer, images: np.ndarray, labels: np.ndarray) -> None:
    """`mnist --read`: each digit pasted 300 px tall on a 960x600 canvas and read with read()
    (no strokes: MNIST has none), as the board reads a canvas."""
    from ..measure.evaluation import digits_read, more_and_fewer

    with click.progressbar(images, label="reading", file=sys.stderr) as bar:
        predictions = [digits_read(recognizer.read(board_canvas_with(image))) for image in bar]
    truth = [str(label) for label in labels]
    accuracy = float(np.mean([t == p for t, p in zip(truth, predictions)]))
    split, rejected = more_and_fewer(truth, predictions)
    report = write_report(ctx.obj["out"], "mnist-read", truth, predictions, [str(d) for d in range(10)], images,
                          "MNIST test through read()")
    finish(ctx, {"accuracy": round(accuracy, 5), "split": round(split, 5), "rejected": round(rejected, 5),
                 "n": len(truth), "read": True, "per_class": report["per_class"]},
           f"MNIST test through read() ({len(truth)} digits, each pasted 300 px tall on a 960x600 canvas): "
           f"accuracy {accuracy:.4f}, split into several readings {split:.2%}, rejected (no digit read) "
           f"{rejected:.2%}; {report['misread']} misread\n{score_table(report['per_class'])}\n"
           f"reports: {ctx.obj['out']}/mnist-read-confusion.png, mnist-read-errors.png")


@cli.command()
@click.argument("directory", type=ExistingPath(file_okay=False, path_type=Path))
@click.option("--limit", type=click.IntRange(1), default=None, help="Use only N random test images.")
@report_options(after_the_command=True)
@click.pass_context
def images(ctx, directory, limit):
    """Accuracy and per-class scores on a class-folder set's test split (DIR/test/, DIR/testing/,
    or DIR/<class>/ itself), with the image size of --model and the class names of its card."""
    from ..data.images import load_test_split
    from ..measure.evaluation import predict_images
    from ..data.images import subset

    reports_to(ctx)
    model, class_names = load_classifier(ctx.obj["model"])
    height, width, channels = model.input_shape[1:]
    if height != width:
        raise UserError(f"{ctx.obj['model']} takes {height}×{width} images; class folders are square")
    inputs, labels = load_test_split(directory, class_names, height, channels,
                                     echo=lambda m: click.echo(m, err=True))
    if limit is not None:
        inputs, labels = subset(inputs, labels, limit, seed=0)
    report_classification(ctx, "images", f"{directory.name} test",
                          f"{len(labels)} images, {len(class_names)} classes",
                          predict_images(model, inputs), labels, class_names, inputs,
                          {"class_names": class_names})


def load_classifier(path: Path):
    """(model, class names) for a classifier of any input: names from the model card beside
    it, else "0", "1", … as for digits."""
    from ..read.model_files import load_model_file, read_card

    model = load_model_file(path)
    n_outputs = model.output_shape[-1]
    class_names = read_card(path).get("class_names") or [str(i) for i in range(n_outputs)]
    if len(class_names) != n_outputs or len(model.input_shape) != 4:
        raise UserError(f"{path} takes {model.input_shape[1:]} → {n_outputs} classes, but its card "
                        f"names {len(class_names)}: not a train.py image classifier")
    return model, class_names


@cli.command()
@click.argument("files", nargs=-1, required=True, type=ExistingPath(dir_okay=False, path_type=Path))
@click.option("--size", type=click.IntRange(8), default=360, help="Digit height on the canvas, pixels.")
@click.option("--brush", type=click.IntRange(1, MAX_BRUSH), default=None,
              help="Brush width in pixels [default: the board's brush for the canvas].")
@click.option("--canvas", type=CANVAS, default="960x600", help="Canvas size WxH, as on the board.")
@click.option("--off-centre", is_flag=True, help="Place each digit at a random spot.")
@click.option("--limit", type=click.IntRange(1), default=None, help="Replay only the first N digits.")
@click.option("--seed", type=SEED, default=0, help="Seed for --off-centre positions.")
@report_options(after_the_command=True)
@click.pass_context
def strokes(ctx, files, size, brush, canvas, off_centre, limit, seed):
    """Replay pen data (UNIPEN text or stroke JSON) through the board's drawing and read(): the
    share read right, split into several readings and rejected (no digit read), with strokes
    (as the board reads) and from the pixels alone."""
    from ..read.reading import UNSURE_BELOW
    from ..measure.evaluation import confidence_figures, DrawingStyle, more_and_fewer, replay
    from ..data.pen import brush_for, read_strokes

    width, height = canvas
    reports_to(ctx)
    digits = [d for path in files for d in read_strokes(path)][:limit]
    recognizer = Recognizer.load(ctx.obj["model"])
    style = DrawingStyle((width, height), size, brush, off_centre)
    with click.progressbar(length=len(digits), label="reading", file=sys.stderr) as bar:
        def progress(items):
            for item in items:
                yield item
                bar.update(1)
        result = replay(recognizer, digits, style, seed, progress)
    names = [str(d) for d in range(10)]
    report = write_report(ctx.obj["out"], "strokes", result.labels, result.predictions, names,
                          result.inputs, "pen digits")
    brush_used = brush if brush is not None else f"{brush_for(height)} (board default)"
    with_strokes = confidence_figures(result.labels, result.predictions, result.confidences, SURE, UNSURE_BELOW)
    canvas_only = confidence_figures(result.labels, result.canvas_only, result.canvas_only_confidences, SURE,
                                     UNSURE_BELOW)
    split, rejected = more_and_fewer(result.labels, result.predictions)
    canvas_split, canvas_rejected = more_and_fewer(result.labels, result.canvas_only)
    finish(ctx, {"accuracy": round(result.accuracy, 5),
                 "canvas_only_accuracy": round(result.canvas_only_accuracy, 5),
                 "split": round(split, 5), "rejected": round(rejected, 5),
                 "canvas_only_split": round(canvas_split, 5), "canvas_only_rejected": round(canvas_rejected, 5),
                 **with_strokes, **{f"canvas_only_{key}": value for key, value in canvas_only.items()},
                 "n": len(digits), "size": size, "brush": brush, "off_centre": off_centre,
                 "read_ms_p50": round(float(np.percentile(result.read_ms, 50)), 3),
                 "read_ms_p99": round(float(np.percentile(result.read_ms, 99)), 3)},
           f"pen digits ({len(digits)}, height {size} px, brush {brush_used}, "
           f"{'off-centre' if off_centre else 'centred'}): accuracy {result.accuracy:.4f} read with "
           f"their strokes as the board reads, {result.canvas_only_accuracy:.4f} from the pixels "
           f"alone; {report['misread']} misread with strokes\n"
           f"split into several readings: {split:.2%} with strokes, {canvas_split:.2%} from the pixels alone; "
           f"rejected (no digit read): {rejected:.2%} with strokes, {canvas_rejected:.2%} from the pixels alone\n"
           f"{confidence_line('with strokes', with_strokes, UNSURE_BELOW)}\n"
           f"{confidence_line('from the pixels alone', canvas_only, UNSURE_BELOW)}\n"
           f"read() with strokes, one digit: p50 {np.percentile(result.read_ms, 50):.2f} ms, "
           f"p99 {np.percentile(result.read_ms, 99):.2f} ms\n"
           f"{score_table(report['per_class'])}\n"
           f"reports: {ctx.obj['out']}/strokes-confusion.png, strokes-errors.png")


@cli.command()
@click.argument("files", nargs=-1, required=True, type=ExistingPath(dir_okay=False, path_type=Path))
@click.option("--gap", "gaps", type=Number(-1, 10), multiple=True, default=(0.25, 0.1, 0.0, -0.05),
              help="Space between neighbouring digits' boxes, as a share of the digit height "
                   "(0: the boxes touch; below 0: they overlap); repeatable.")
@click.option("--digits", "length", type=click.IntRange(1, 8), default=3, help="Digits in a number.")
@click.option("--count", type=click.IntRange(1, 1_000_000), default=300, help="Numbers written at each gap.")
@click.option("--height", type=click.IntRange(16, 4096), default=180,
              help="Digit height in pixels; each digit varies by ±15 %, as does the baseline by ±5 %.")
@click.option("--brush", type=click.IntRange(1, MAX_BRUSH), default=12, help="Brush width in pixels.")
@click.option("--canvas", type=CANVAS, default="1024x600", help="Canvas size WxH, as on the board.")
@click.option("--seed", type=SEED, default=0, help="Seed for choosing and placing the digits.")
@report_options(after_the_command=True)
@click.pass_context
def numbers(ctx, files, gaps, length, count, height, brush, canvas, seed):
    """Write numbers from pen digits at each gap and read them back: the share read exactly,
    and the shares read as more or fewer digits than written, with strokes (as the board
    reads) and from the pixels alone."""
    from ..measure.evaluation import check_numbers_fit, more_and_fewer, read_numbers
    from ..data.pen import read_strokes

    digits = [d for path in files for d in read_strokes(path)]
    check_numbers_fit(digits, gaps, count, length, seed, canvas, height)
    recognizer = Recognizer.load(ctx.obj["model"])
    rows, times, canvas_times = [], [], []
    with click.progressbar(gaps, label="writing and reading", file=sys.stderr) as bar:
        for gap in bar:
            result = read_numbers(recognizer, digits, gap, count, length, seed, canvas_size=canvas,
                                  height=height, brush=brush)
            more, fewer = more_and_fewer(result.labels, result.with_strokes)
            canvas_more, canvas_fewer = more_and_fewer(result.labels, result.canvas_only)
            rows.append({"gap": gap, "with_strokes": round(result.accuracy, 5),
                         "canvas_only": round(result.canvas_only_accuracy, 5), "n": count,
                         "more_digits": round(more, 5), "fewer_digits": round(fewer, 5),
                         "canvas_only_more_digits": round(canvas_more, 5),
                         "canvas_only_fewer_digits": round(canvas_fewer, 5)})
            times += result.read_ms
            canvas_times += result.canvas_only_ms
    p50, p99 = float(np.percentile(times, 50)), float(np.percentile(times, 99))
    canvas_p50, canvas_p99 = float(np.percentile(canvas_times, 50)), float(np.percentile(canvas_times, 99))
    table = "\n".join(f"  {r['gap']:>+6.2f}  {r['with_strokes']:>12.1%} {r['canvas_only']:>11.1%}"
                      f"  {r['more_digits']:>7.1%} {r['canvas_only_more_digits']:>6.1%}"
                      f"  {r['fewer_digits']:>7.1%} {r['canvas_only_fewer_digits']:>6.1%}" for r in rows)
    finish(ctx, {"numbers": rows, "digits": length, "height": height, "brush": brush,
                 "read_ms_p50": round(p50, 3), "read_ms_p99": round(p99, 3),
                 "canvas_only_ms_p50": round(canvas_p50, 3), "canvas_only_ms_p99": round(canvas_p99, 3)},
           f"{length}-digit numbers ({count} per gap, {height} px ± 15 %, brush {brush}): read exactly; read as more "
           f"digits than written (a digit split, or a piece read); as fewer (one rejected, or two joined):\n"
           f"  {'':>6}  {'read exactly':^24}  {'more digits':^14}  {'fewer digits':^14}\n"
           f"  {'gap':>6}  {'with strokes':>12} {'canvas only':>11}  {'strokes':>7} {'pixels':>6}"
           f"  {'strokes':>7} {'pixels':>6}\n{table}\n"
           f"read() with strokes: p50 {p50:.2f} ms, p99 {p99:.2f} ms; "
           f"from the pixels alone: p50 {canvas_p50:.2f} ms, p99 {canvas_p99:.2f} ms")


@cli.command()
@click.argument("files", nargs=-1, type=ExistingPath(dir_okay=False, path_type=Path))
@click.option("--brush", type=click.IntRange(1, MAX_BRUSH), default=None,
              help="Pen width in pixels [default: each mark's own pen].")
@click.option("--per-kind", type=click.IntRange(1), default=None, help="Read only the first N marks of each kind.")
@report_options(after_the_command=True)
@click.pass_context
def junk(ctx, files, brush, per_kind):
    """Read marks that are not digits (stroke JSON; default: the committed set,
    benchmarks/data/junk-marks.json), each alone on its canvas where and as large as it was
    drawn: per kind, the share rejected (no digit read) and the digits read, with strokes (as
    the board reads) and from the pixels alone; for a ring around a digit, the share where
    exactly that digit is read."""
    from ..measure.evaluation import (JUNK_SET, RING, first_of_each_kind, junk_figures, load_marks, misread_marks,
                                      read_junk)
    from ..measure.plots import plot_gallery

    reports_to(ctx)
    files = files or (JUNK_SET,)
    marks = [m for path in files for m in load_marks(path)]
    if per_kind is not None:
        marks = first_of_each_kind(marks, per_kind)
    recognizer = Recognizer.load(ctx.obj["model"])
    with click.progressbar(length=len(marks), label="reading", file=sys.stderr) as bar:
        def progress(items):
            for item in items:
                yield item
                bar.update(1)
        result = read_junk(recognizer, marks, brush, progress)
    rows = junk_figures(result)
    out = ctx.obj["out"]
    shown = misread_marks(result)
    captions = [f"ring {m.label}" if m.kind == RING else m.text or m.kind[:7]
                for m in (result.marks[i] for i in shown)]
    plot_gallery(np.stack([result.thumbnails[i] for i in shown]) if shown else np.zeros((0, 64, 64)),
                 [f"{c}:{result.with_strokes[i][:4] or '-'}" for c, i in zip(captions, shown)],
                 out / "junk-read.png", "read wrong with strokes (mark:read)")
    figures = {row["kind"]: row for row in rows}
    named = [str(p.resolve().relative_to(ROOT)) if p.resolve().is_relative_to(ROOT) else str(p) for p in files]
    summary = {"n": len(marks), "files": named, "brush": brush}
    for key, name in (("", "all junk"), ("made_", "made marks"), ("written_", "letters and symbols")):
        if name in figures:
            summary[f"{key}rejected"] = figures[name]["rejected"]
            summary[f"{key}canvas_only_rejected"] = figures[name]["canvas_only_rejected"]
    if RING in figures:
        summary["ring_digit_read"] = figures[RING]["digit_read"]
        summary["ring_canvas_only_digit_read"] = figures[RING]["canvas_only_digit_read"]
    finish(ctx, {**summary, "kinds": rows},
           f"marks that are not digits ({len(marks)}, each on its own canvas with its own pen"
           f"{'' if brush is None else f', here a {brush} px brush'}), read as the board reads:\n"
           f"{junk_table(rows)}\nreport: {out}/junk-read.png")


def junk_table(rows: list[dict]) -> str:
    """junk_figures' rows as `evaluate.py junk` prints them."""
    lines = [f"  {'kind':<20} {'n':>4}  {'rejected: strokes':>17} {'pixels':>7}  {'digits: strokes':>15} {'pixels':>7}"]
    for row in rows:
        lines.append(f"  {row['kind']:<20} {row['n']:>4}  {row['rejected']:>17.1%} {row['canvas_only_rejected']:>7.1%}"
                     f"  {row['digits']:>15.2f} {row['canvas_only_digits']:>7.2f}")
        if "digit_read" in row:
            lines.append(f"  {'':<20} {'':>4}  the circled digit read alone: {row['digit_read']:.1%} with strokes, "
                         f"{row['canvas_only_digit_read']:.1%} from the pixels alone")
    return "\n".join(lines)


@cli.command()
@click.option("--repeats", type=click.IntRange(10, 1_000_000), default=500, help="Timed read() calls.")
@click.option("--predict-repeats", type=click.IntRange(5, 100_000), default=50,
              help="Timed calls of the seed's model.predict path.")
@report_options(after_the_command=True)
@click.pass_context
def bench(ctx, repeats, predict_repeats):
    """Latency of read() on one-digit board canvases, against the seed's model.predict path."""
    from ..data.images import load_mnist
    from ..measure.evaluation import seed_read, time_calls

    recognizer = Recognizer.load(ctx.obj["model"])
    data = load_mnist(echo=lambda m: click.echo(m, err=True))
    canvases = [board_canvas_with(digit) for digit in data.x_test[:50]]
    for canvas in canvases[:5]:  # warm both paths before timing
        recognizer.read(canvas)
        seed_read(recognizer.model, canvas)
    read_ms = time_calls(recognizer.read, canvases, repeats)
    predict_ms = time_calls(lambda c: seed_read(recognizer.model, c), canvases, predict_repeats)
    p50, p99, seed_p50 = (float(np.percentile(read_ms, 50)), float(np.percentile(read_ms, 99)),
                          float(np.percentile(predict_ms, 50)))
    finish(ctx, {"read_ms_p50": round(p50, 3), "read_ms_p99": round(p99, 3),
                 "predict_ms_p50": round(seed_p50, 3), "speedup": round(seed_p50 / p50, 1),
                 "digits_per_s": round(1000 / p50, 1), "device": recognizer.device},
           f"read() on a one-digit 960x600 canvas ({repeats} calls, {recognizer.device}): "
           f"p50 {p50:.2f} ms, p99 {p99:.2f} ms, {1000 / p50:.0f} digits/s\n"
           f"seed model.predict path: p50 {seed_p50:.2f} ms → read() is {seed_p50 / p50:.1f}× faster")


def confidence_line(how: str, figures: dict, unsure_below: float) -> str:
    """One line of confidence_figures, as `evaluate.py strokes` prints it."""
    right = f"{figures['sure_accuracy']:.2%}" if figures["sure_accuracy"] is not None else "none"
    return (f"{how}, readings at confidence ≥ {SURE}: {figures['sure_share']:.1%} of them, right {right};"
            f" shown as \"?\" (< {unsure_below}): {figures['unsure_shown']:.2%}")


def board_canvas_with(digit: np.ndarray, size: tuple[int, int] = (960, 600)) -> np.ndarray:
    """An MNIST digit enlarged to 300 px and pasted in the middle of a board-sized canvas."""
    import cv2

    width, height = size
    canvas = np.zeros((height, width), np.uint8)
    big = cv2.resize(digit, (300, 300), interpolation=cv2.INTER_LINEAR)
    top, left = (height - 300) // 2, (width - 300) // 2
    canvas[top:top + 300, left:left + 300] = big
    return canvas


if __name__ == "__main__":
    cli()
