"""`python train.py`: train a digit reader; `train.py teach`: teach one your handwriting;
`train.py publish`: make a finished run the board's model.

`python train.py` with no options trains the shipped model's architecture on MNIST into a
fresh folder runs/<date>-<time>/ (the model, and beside it its card, history and curves:
read.model_files); it never touches the shipped model unless asked to (--out, publish).
`--config FILE` takes options from a JSON or TOML file (the command line wins); with
`--grid`, every list of values in it is searched.
"""

from __future__ import annotations

import sys
import time
from contextlib import contextmanager
from dataclasses import fields
from pathlib import Path

import click
from click.core import ParameterSource

from .options import Command, ExistingPath, Group, Number, command_line, interrupt_on_terminate
from ..train.config import check_config, read_config, RunSettings
from ..common.errors import UserError
from ..common.paths import DEFAULT_MODEL, DRAWN_DIR, PERSONAL_MODEL, RUNS_DIR
from ..train.networks import ARCHITECTURES
from ..train.fit import OPTIMIZERS, SCHEDULES, TrainConfig

DEFAULTS = TrainConfig()  # the CLI's defaults are the library's
RUN = RunSettings()
MNIST_TRAIN = 60_000  # MNIST's training images
GRID_LIMIT = 5000         # images per grid combination when --limit is not given
GRID = "digitboard.grid"  # where --config leaves its lists of values in ctx.meta


def load_config(ctx, param, path):
    """--config FILE: its settings become the options' defaults (so the command line wins);
    its lists of values wait for --grid. Every value is checked now, as its option checks a
    value on the command line."""
    if path is None:
        return None
    settings, grid = check_config(read_config(path), str(path))
    options = {p.name: p for p in ctx.command.params}
    for key, value in settings.items():
        _as_option_takes_it(ctx, options[key], value, path)
    ctx.meta[GRID] = {key: [_as_option_takes_it(ctx, options[key], v, path) for v in values]
                      for key, values in grid.items()}
    ctx.default_map = {**(ctx.default_map or {}), **settings}
    return path


def _as_option_takes_it(ctx, option: click.Option, value, path: Path):
    try:
        return option.process_value(ctx, value)
    except click.BadParameter as err:  # a bad value in a file is bad data: one line
        raise UserError(f"{path}: {err.format_message()}") from None


def check_arch(ctx, param, value):
    if value in ARCHITECTURES or (value.endswith(".json") and Path(value).is_file()):
        return value
    if value.endswith(".json"):
        raise UserError(f"--arch {value}: no network file")
    raise UserError(f"--arch: {value!r} is neither a built-in architecture "
                    f"({', '.join(ARCHITECTURES)}) nor a JSON network file")


def moved_to_teach(ctx, param, value):
    if value is not None:
        raise UserError(f"teaching is now its own command: python train.py teach {value}")


@click.group(cls=Group, invoke_without_command=True, context_settings={"show_default": True})
@click.option("--config", type=ExistingPath(dir_okay=False, path_type=Path),
              is_eager=True, callback=load_config,
              help="A JSON or TOML file of these options (learning_rate = 0.001, …); "
                   "options on the command line win.")
@click.option("--grid", is_flag=True, default=RUN.grid,
              help=f"Search every list of values in --config: each combination trains on --limit "
                   f"images ({GRID_LIMIT} if not given) and is scored on its validation split; "
                   "writes grid.csv and grid-best.json beside --out (or into a new run's folder).")
@click.option("--data", default=RUN.data,
              help="'mnist', a folder of IDX files, or a folder with one sub-folder per class.")
@click.option("--image-size", type=click.IntRange(8, 1024), default=RUN.image_size, show_default="28",
              help="Side that class-folder images are resized to (MNIST and IDX keep their own).")
@click.option("--channels", type=click.Choice([1, 3]), default=RUN.channels,
              help="Class-folder images as grayscale (1) or colour (3).")
@click.option("--extra", multiple=True, type=ExistingPath(), default=RUN.extra,
              help="More training data (repeatable): a class-folder set such as datasets/drawn, "
                   "or pen data (UNIPEN text, or the board's stroke JSON).")
@click.option("--extra-repeat", type=click.IntRange(1, 1000), default=RUN.extra_repeat,
              help="Copies of each --extra sample in training: pen digits drawn anew at random "
                   "sizes and brushes, images repeated (each copy augmented anew).")
@click.option("--junk", type=Number(0, 0.5), default=RUN.junk,
              help="Share of the training images that are marks that are not digits (scribbles, "
                   "shapes, letters, parts of multi-stroke digits from --extra's pen data): "
                   "the models learn to say 'not a digit' (0: they do not).")
@click.option("--init-from", type=ExistingPath(dir_okay=False, path_type=Path), default=RUN.init_from,
              help="Fine-tune this model instead of starting from scratch.")
@click.option("--arch", default=DEFAULTS.arch, callback=check_arch, metavar="cnn|small|FILE.json",
              help="Network architecture: built-in, or a JSON list of Keras layers.")
@click.option("--filters", type=click.IntRange(1, 4096), default=DEFAULTS.filters, show_default="32 for cnn, 16 for small",
              help="Filters of the first convolutions (later ones have twice as many).")
@click.option("--kernel-size", type=click.IntRange(1, 64), default=DEFAULTS.kernel_size, show_default="3",
              help="Side of the convolution kernels.")
@click.option("--units", type=click.IntRange(0, 65536), default=DEFAULTS.units, show_default="128 for cnn, 0 for small",
              help="Units of the hidden Dense layer (0: none).")
@click.option("--dropout", type=Number(0, 0.9), default=DEFAULTS.dropout,
              help="Dropout before the classifier (built-in architectures).")
@click.option("--epochs", type=click.IntRange(1, 10_000), default=DEFAULTS.epochs,
              help="Upper bound on epochs; early stopping may end sooner.")
@click.option("--batch-size", type=click.IntRange(1, 65_536), default=DEFAULTS.batch_size,
              show_default="128; smaller for small sets, for ~150 steps an epoch",
              help="Images per step.")
@click.option("--learning-rate", type=Number(0, 10, min_open=True),
              default=DEFAULTS.learning_rate,
              help="Peak (cosine), initial (exponential) or fixed (constant) learning rate.")
@click.option("--schedule", type=click.Choice(SCHEDULES), default=DEFAULTS.schedule,
              help="cosine: one epoch of warm-up, then cosine decay; exponential: times "
                   "--decay-rate every --decay-steps.")
@click.option("--decay-steps", type=click.IntRange(1, 10**9), default=DEFAULTS.decay_steps,
              show_default="the whole run for cosine, one epoch for exponential",
              help="Steps the learning rate decays over.")
@click.option("--decay-rate", type=Number(0, 1, min_open=True), default=DEFAULTS.decay_rate,
              help="Exponential schedule: the rate's factor every --decay-steps.")
@click.option("--optimizer", type=click.Choice(OPTIMIZERS), default=DEFAULTS.optimizer,
              help="Adam, or SGD with --momentum.")
@click.option("--momentum", type=Number(0, 1, max_open=True), default=DEFAULTS.momentum,
              help="SGD momentum.")
@click.option("--patience", type=click.IntRange(1, 10_000), default=DEFAULTS.patience,
              help="Epochs without a lower validation loss before stopping.")
@click.option("--validation-split", type=Number(0, 0.5, min_open=True),
              default=DEFAULTS.validation_split, help="Fraction of training data held out for validation.")
@click.option("--augment/--no-augment", default=DEFAULTS.augment,
              help="Random rotation, shear, zoom, shift and stroke-width changes.")
@click.option("--stroke-epochs", type=click.IntRange(0, 10_000), default=DEFAULTS.stroke_epochs,
              help="With pen data in --extra: epochs of the stroke model trained on its pen paths, "
                   "which read() combines with the image model where it has strokes (0: none).")
@click.option("--members", type=click.IntRange(1, 8), default=DEFAULTS.members,
              help="Image models to train, from seeds --seed, --seed + 1, …; saved as one model that "
                   "averages their probabilities (an ensemble: fewer misreads, one call to read).")
@click.option("--seed", type=click.IntRange(0, 2**32 - 1), default=DEFAULTS.seed, help="Random seed.")
@click.option("--limit", type=click.IntRange(1, 10**9), default=RUN.limit,
              help="Train on this many random images only (quick runs).")
@click.option("--mixed-precision/--no-mixed-precision", default=DEFAULTS.mixed_precision,
              help="float16 compute on a GPU (ignored on the CPU).")
@click.option("--out", type=click.Path(path_type=Path), default=RUN.out,  # a folder: check_writable says so
              show_default="runs/<date>-<time>/best.keras, a new folder",
              help="Where the model goes, with its card and companions, as one unit, replacing the "
                   "model there at the end (models/best.keras is the one the board reads).")
@click.option("--personalise", hidden=True, expose_value=False, callback=moved_to_teach)
@click.pass_context
def main(ctx, **options):
    """Train a digit reader (the epoch with the lowest validation loss is kept) into a new
    folder runs/<date>-<time>/, or --out. `train.py teach` teaches a model your handwriting;
    `train.py publish` makes a finished run the board's model."""
    if ctx.invoked_subcommand is not None:
        given = [name for name in options if ctx.get_parameter_source(name) == ParameterSource.COMMANDLINE]
        if given:
            flags = ", ".join("--" + name.replace("_", "-") for name in given)
            raise UserError(f"{flags} {'is' if len(given) == 1 else 'are'} for training: "
                            f"`train.py {ctx.invoked_subcommand}` has options of its own (see its --help)")
        return
    with interrupt_on_terminate():
        _train(ctx, options)


def _train(ctx, options: dict) -> None:
    from ..data.images import DIGIT_NAMES
    from ..read.model_files import check_writable
    from ..train.data import load_training_data, pen_digits
    from ..train.fit import train

    out, grid = options["out"], options["grid"]
    if out is not None and out.suffix != ".keras":  # the checkpoint saves whole models only as .keras
        raise UserError(f"--out {out}: the model file must end in .keras")
    config = TrainConfig(**{f.name: options[f.name] for f in fields(TrainConfig)})
    axes = grid_axes(ctx, grid, options["config"])
    if grid and options["init_from"] is not None:
        raise UserError("--grid trains every combination from scratch: drop --init-from")
    if config.members > 1 and options["init_from"] is not None:  # before the data loads
        raise UserError("--members trains each member from scratch: drop --init-from")
    if out is not None:
        check_writable(out)
    out = out or new_run_folder() / "best.keras"
    limit = GRID_LIMIT if grid and options["limit"] is None else options["limit"]
    pen = pen_digits(options["extra"])
    digits = options["data"] == "mnist" or ctx.get_parameter_source("junk") == ParameterSource.COMMANDLINE
    marks = marks_for(options["junk"], limit, options["extra_repeat"], pen, config.seed) if digits else []
    dataset = load_training_data(options["data"], options["image_size"], options["channels"],
                                 options["extra"], options["extra_repeat"], limit, config.seed,
                                 marks=[strokes for _, strokes in marks], echo=click.echo)
    if grid:
        return grid_search(dataset, config, axes, out, options)
    with unwritten(out):
        card = train(dataset, config, out, init_from=options["init_from"],
                     extra_sources=list(options["extra"]), command=command_line(),
                     config_file=str(options["config"]) if options["config"] else None,
                     pen_digits=pen if dataset.class_names[:10] == DIGIT_NAMES else [],
                     marks=[strokes for _, strokes in marks], echo=click.echo)
    test = (f"test accuracy {card['test_accuracy']:.4f}, loss {card['test_loss']:.4f}"
            if "test_accuracy" in card else "no test set")
    short = card["too_short_to_trust"]
    epochs = (f"best epoch {card['best_epoch']}/{card['epochs_run']}" if "members" not in card else
              f"{len(card['members'])} members, best epochs "
              + ", ".join(f"{m['best_epoch']}/{m['epochs_run']}" for m in card["members"]))
    click.echo(f"{epochs}: val accuracy {card['best_val_accuracy']:.4f}, {test}, "
               f"{card['wall_time_s'] / 60:.1f} min on {card['device']} → {out}"
               + (f"; too short to trust: {short}" if short else ""))


@contextmanager
def unwritten(out: Path):
    """A file that cannot be written while a unit is made (a full disk, a folder gone) is one
    line: the unit is installed in one step at the end, so the model at `out` is as it was."""
    try:
        yield
    except OSError as err:
        where = f" ({err.filename})" if err.filename else ""
        raise UserError(f"cannot write the model {out}: {err.strerror or err}{where}; "
                        "the model there is as it was") from None


def marks_for(share: float, limit: int | None, repeat: int, pen: list, seed: int) -> list:
    """The marks that are not digits a run learns from: `share` of its training images (the
    data's, at most `limit`, and its pen digits' `repeat` copies each), made by train.marks."""
    import numpy as np

    from ..train.marks import negatives

    if share <= 0:
        return []
    images = min(limit or MNIST_TRAIN, MNIST_TRAIN) + repeat * len(pen)
    return negatives(int(round(share / (1 - share) * images)), np.random.default_rng(seed), pen)


def new_run_folder() -> Path:
    """A new folder for a run under runs/, named for the time it starts."""
    stamp = time.strftime("%Y%m%d-%H%M%S")
    for attempt in range(1, 1000):
        folder = RUNS_DIR / (stamp if attempt == 1 else f"{stamp}-{attempt}")
        try:
            folder.mkdir(parents=True)
        except FileExistsError:
            continue
        except OSError as err:
            raise UserError(f"cannot make a run folder in {RUNS_DIR}: {err.strerror or err}") from None
        return folder
    raise UserError(f"{RUNS_DIR} holds a thousand runs started this second")


@main.command(cls=Command, context_settings={"show_default": True})
@click.argument("drawings", type=click.Path(file_okay=False, path_type=Path), default=DRAWN_DIR,
                required=False)
@click.option("--base", type=ExistingPath(dir_okay=False, path_type=Path), default=DEFAULT_MODEL,
              help="The model to teach (it is left as it is).")
@click.option("--out", type=click.Path(dir_okay=False, path_type=Path), default=PERSONAL_MODEL,
              help="Where the personal model goes, with its card and stroke model, as one unit.")
@click.option("--seed", type=click.IntRange(0, 2**32 - 1), default=DEFAULTS.seed, help="Random seed.")
def teach(drawings, base, out, seed):
    """Teach a model your handwriting in seconds: the drawings in DRAWINGS/<digit>/ (the board
    saves them in datasets/drawn when you type the digits you drew) teach --base; the board's
    T does the same, and M switches to the result."""
    from ..data.drawings import load_drawings
    from ..data.images import load_mnist
    from ..read.model_files import check_writable
    from ..train.teach import personalise, replay_data

    if out.suffix != ".keras":
        raise UserError(f"--out {out}: the model file must end in .keras")
    if out.resolve() == base.resolve():
        raise UserError(f"--out {out} is the model being taught: write the personal model elsewhere")
    check_writable(out)
    loaded = load_drawings(drawings)
    counts = ", ".join(f"{digit}: {n}" for digit, n in loaded.counts().items())
    click.echo(f"teaching {base} {len(loaded.labels)} drawing{'s' if len(loaded.labels) != 1 else ''} "
               f"({counts})" + (f"; skipped {len(loaded.skipped)}: {', '.join(loaded.skipped[:3])}"
                                 if loaded.skipped else ""))
    with interrupt_on_terminate():
        mnist = load_mnist(echo=click.echo)
        card = personalise(base, loaded, out, replay_data(base, mnist, seed), test=(mnist.x_test, mnist.y_test),
                           seed=seed, command=command_line(), echo=click.echo,
                           on_step=lambda step, steps: click.echo(f"step {step}/{steps}"))
    held = (f"its {card['held_back']} held-back drawings read {card['held_back_accuracy_before']:.1%} → "
            f"{card['held_back_accuracy_after']:.1%}" if card["held_back"] else "no drawings held back to measure")
    click.echo(f"taught in {card['wall_time_s']:.0f} s: {held}; MNIST test {card['test_accuracy']:.2%}; saved {out}")


@main.command(cls=Command, context_settings={"show_default": True})
@click.argument("model", type=ExistingPath(dir_okay=False, path_type=Path))
@click.option("--to", "dest", type=click.Path(path_type=Path), default=DEFAULT_MODEL,
              help="Where the model goes, with its card and companions, as one unit.")
def publish(model, dest):
    """Make a finished run's MODEL (runs/<run>/best.keras) the board's model: copy it and its
    card, stroke model and other companions over --to as one unit (a reader, or a crash,
    sees the old model or the new one, whole)."""
    from ..read.model_files import check_writable, copy_unit, read_card, tidy

    if dest.suffix != ".keras":
        raise UserError(f"--to {dest}: the model file must end in .keras")
    if not read_card(model):
        raise UserError(f"{model} has no card: publish a model that train.py finished")
    if dest.exists() and dest.resolve() == model.resolve():
        raise UserError(f"{model} is already at {dest}")
    check_writable(dest, "--to")
    with unwritten(dest):
        tidy(dest)
        copy_unit(model, dest)
    click.echo(f"published {model} → {dest}")


def grid_axes(ctx, grid: bool, config_path) -> dict[str, list]:
    """The config's lists of values, less those the command line sets to one value."""
    axes = {key: values for key, values in ctx.meta.get(GRID, {}).items()
            if ctx.get_parameter_source(key) != ParameterSource.COMMANDLINE}
    if axes and not grid:
        raise UserError(f"{config_path}: {', '.join(axes)} hold lists of values: add --grid to "
                        "search over them, or give one value")
    if grid and not axes:
        raise UserError("--grid searches the lists of values in --config "
                        "(e.g. learning_rate = [0.001, 0.003]) and found none")
    return axes


def grid_search(dataset, config: TrainConfig, axes: dict[str, list], out: Path, options: dict) -> None:
    """--grid: train every combination, then print the table, best first, and how to train the
    best one for real."""
    from ..train.grid import as_flags, BEST_NAME, search, TABLE_NAME, table_text

    sources = {"data": options["data"], "image_size": options["image_size"],
               "channels": options["channels"], "extra": list(options["extra"]),
               "extra_repeat": options["extra_repeat"]}
    result = search(dataset, config, axes, out, sources, progress=progress_bar, echo=click.echo)
    click.echo(table_text(result.rows, list(axes)))
    if result.interrupted:
        click.echo(f"interrupted: {len(result.rows)} of {result.total} combinations done")
    best = result.rows[0]
    click.echo(f"best: {as_flags({key: best[key] for key in axes})} (val loss {best['val_loss']:.4f}, "
               f"val accuracy {best['val_accuracy']:.4f}) → {out.parent / TABLE_NAME}\n"
               f"train it on all the data (the command line wins, e.g. --epochs 20):\n"
               f"  python train.py --config {out.parent / BEST_NAME}")


def progress_bar(points: list[dict]):
    """The grid's combinations, counted on stderr as they are reached."""
    with click.progressbar(points, label="grid", file=sys.stderr,
                           item_show_func=lambda p: p and " ".join(f"{k}={v}" for k, v in p.items())) as bar:
        yield from bar


if __name__ == "__main__":
    main()
