"""Train a digit reader on MNIST (or another image set) and save the best model.

`python train.py` with no options trains the shipped model's architecture on
MNIST and writes models/best.keras with its model card, history and curves.
`--config FILE` takes options from a JSON or TOML file (the command line wins);
with `--grid`, every list of values in it is searched.
"""

from __future__ import annotations

import sys
from dataclasses import asdict, fields, replace
from pathlib import Path

import click
import numpy as np
from click.core import ParameterSource

from digitboard.errors import UserError
from digitboard.model import ARCHITECTURES
from digitboard.paths import DEFAULT_MODEL
from digitboard.training import (OPTIMIZERS, SCHEDULES, TrainConfig, check_config, command_line,
                                 read_config, subset, train, write_config)

DEFAULTS = TrainConfig()  # the CLI's defaults are the library's
GRID_LIMIT = 5000         # images per grid combination when --limit is not given
GRID = "digitboard.grid"  # where --config leaves its lists of values in ctx.meta


def option_kinds(command: click.Command) -> dict[str, type]:
    """What each option's value must be in a config file: int, float, bool, str or list."""
    kinds = {}
    for param in command.params:
        if param.name == "config":
            continue
        if param.multiple:
            kind = list
        elif isinstance(param.type, click.Choice):
            kind = type(param.type.choices[0])
        elif isinstance(param.type, click.types.BoolParamType):
            kind = bool
        elif isinstance(param.type, click.types.IntParamType):  # IntRange too
            kind = int
        elif isinstance(param.type, click.types.FloatParamType):
            kind = float
        else:
            kind = str
        kinds[param.name] = kind
    return kinds


def load_config(ctx, param, path):
    """--config FILE: its settings become the options' defaults (so the command line wins);
    its lists of values, each checked as the option checks one value, wait for --grid."""
    if path is None:
        return None
    try:
        settings, grid = check_config(read_config(path), option_kinds(ctx.command), str(path))
    except UserError as err:
        raise click.BadParameter(str(err), ctx, param) from None
    options = {p.name: p for p in ctx.command.params}
    ctx.meta[GRID] = {key: [options[key].process_value(ctx, v) for v in values]
                      for key, values in grid.items()}
    ctx.default_map = {**(ctx.default_map or {}), **settings}
    return path


def check_arch(ctx, param, value):
    if value in ARCHITECTURES or (value.endswith(".json") and Path(value).is_file()):
        return value
    if value.endswith(".json"):
        raise click.BadParameter(f"no network file {value}")
    raise click.BadParameter(f"{value!r} is neither a built-in architecture "
                             f"({', '.join(ARCHITECTURES)}) nor a JSON network file")


@click.command(context_settings={"show_default": True})
@click.option("--config", type=click.Path(exists=True, dir_okay=False, path_type=Path),
              is_eager=True, callback=load_config,
              help="A JSON or TOML file of these options (learning_rate = 0.001, …); "
                   "options on the command line win.")
@click.option("--grid", is_flag=True,
              help=f"Search every list of values in --config: each combination trains on --limit "
                   f"images ({GRID_LIMIT} if not given) and is scored on its validation split; "
                   "writes grid.csv and grid-best.json beside --out.")
@click.option("--data", default="mnist",
              help="'mnist', a folder of IDX files, or a folder with one sub-folder per class.")
@click.option("--image-size", type=click.IntRange(8, 1024), default=None, show_default="28",
              help="Side that class-folder images are resized to (MNIST and IDX keep their own).")
@click.option("--channels", type=click.Choice([1, 3]), default=1,
              help="Class-folder images as grayscale (1) or colour (3).")
@click.option("--extra", multiple=True, type=click.Path(),
              help="More training data (repeatable): a class-folder set such as datasets/drawn, "
                   "or pen data in UNIPEN text format.")
@click.option("--extra-repeat", type=click.IntRange(1), default=3,
              help="Copies of each --extra sample in training: pen digits drawn anew at random "
                   "sizes and brushes, images repeated (each copy augmented anew).")
@click.option("--init-from", type=click.Path(dir_okay=False, path_type=Path),
              help="Fine-tune this model instead of starting from scratch.")
@click.option("--arch", default=DEFAULTS.arch, callback=check_arch, metavar="cnn|small|FILE.json",
              help="Network architecture: built-in, or a JSON list of Keras layers.")
@click.option("--filters", type=click.IntRange(1), default=None, show_default="32 for cnn, 16 for small",
              help="Filters of the first convolutions (later ones have twice as many).")
@click.option("--kernel-size", type=click.IntRange(1), default=None, show_default="3",
              help="Side of the convolution kernels.")
@click.option("--units", type=click.IntRange(0), default=None, show_default="128 for cnn, 0 for small",
              help="Units of the hidden Dense layer (0: none).")
@click.option("--dropout", type=click.FloatRange(0, 0.9), default=DEFAULTS.dropout,
              help="Dropout before the classifier (built-in architectures).")
@click.option("--epochs", type=click.IntRange(1), default=DEFAULTS.epochs,
              help="Upper bound on epochs; early stopping may end sooner.")
@click.option("--batch-size", type=click.IntRange(1), default=DEFAULTS.batch_size,
              show_default="128; smaller for small sets, for ~150 steps an epoch",
              help="Images per step.")
@click.option("--learning-rate", type=click.FloatRange(0, min_open=True),
              default=DEFAULTS.learning_rate,
              help="Peak (cosine), initial (exponential) or fixed (constant) learning rate.")
@click.option("--schedule", type=click.Choice(SCHEDULES), default=DEFAULTS.schedule,
              help="cosine: one epoch of warm-up, then cosine decay; exponential: times "
                   "--decay-rate every --decay-steps.")
@click.option("--decay-steps", type=click.IntRange(1), default=None,
              show_default="the whole run for cosine, one epoch for exponential",
              help="Steps the learning rate decays over.")
@click.option("--decay-rate", type=click.FloatRange(0, 1, min_open=True), default=DEFAULTS.decay_rate,
              help="Exponential schedule: the rate's factor every --decay-steps.")
@click.option("--optimizer", type=click.Choice(OPTIMIZERS), default=DEFAULTS.optimizer,
              help="Adam, or SGD with --momentum.")
@click.option("--momentum", type=click.FloatRange(0, 1, max_open=True), default=DEFAULTS.momentum,
              help="SGD momentum.")
@click.option("--patience", type=click.IntRange(1), default=DEFAULTS.patience,
              help="Epochs without a lower validation loss before stopping.")
@click.option("--validation-split", type=click.FloatRange(0, 0.5, min_open=True),
              default=DEFAULTS.validation_split, help="Fraction of training data held out for validation.")
@click.option("--augment/--no-augment", default=DEFAULTS.augment,
              help="Random rotation, shear, zoom, shift and stroke-width changes.")
@click.option("--seed", type=int, default=DEFAULTS.seed, help="Random seed.")
@click.option("--limit", type=click.IntRange(1), default=None,
              help="Train on this many random images only (quick runs).")
@click.option("--mixed-precision/--no-mixed-precision", default=False,
              help="float16 compute on a GPU (ignored on the CPU).")
@click.option("--out", type=click.Path(dir_okay=False, path_type=Path), default=DEFAULT_MODEL,
              help="Where the best model goes; history.csv, curves.png and the card go beside it.")
def main(**options):
    """Train a digit reader; EarlyStopping and ModelCheckpoint keep the best epoch in --out."""
    config = TrainConfig(**{f.name: options[f.name] for f in fields(TrainConfig)})
    out, grid = options["out"], options["grid"]
    try:
        axes = grid_axes(click.get_current_context(), grid, options["config"])
        if out.suffix != ".keras":  # ModelCheckpoint saves whole models only as .keras
            raise UserError(f"--out {out}: the model file must end in .keras")
        if options["init_from"] is not None and not options["init_from"].is_file():
            raise UserError(f"--init-from {options['init_from']}: no such file")
        if grid and options["init_from"] is not None:
            raise UserError("--grid trains every combination from scratch: drop --init-from")
        limit = GRID_LIMIT if grid and options["limit"] is None else options["limit"]
        dataset = load_training_data(options["data"], options["image_size"], options["channels"],
                                     options["extra"], options["extra_repeat"], limit, config.seed)
        if grid:
            return search(dataset, config, axes, out, options)
        card = train(dataset, config, out, init_from=options["init_from"],
                     extra_sources=list(options["extra"]), command=command_line(),
                     config_file=str(options["config"]) if options["config"] else None,
                     echo=click.echo)
    except UserError as err:
        raise click.UsageError(str(err)) from None
    test = (f"test accuracy {card['test_accuracy']:.4f}, loss {card['test_loss']:.4f}"
            if "test_accuracy" in card else "no test set")
    click.echo(f"best epoch {card['best_epoch']}/{card['epochs_run']}: "
               f"val accuracy {card['best_val_accuracy']:.4f}, {test}, "
               f"{card['wall_time_s'] / 60:.1f} min on {card['device']} → {out}")


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


def load_training_data(data: str, image_size, channels: int, extra, extra_repeat: int, limit,
                       seed: int):
    """The data set (a seeded subset with --limit) with every --extra source mixed in."""
    from digitboard.data import load_data, load_extra

    dataset = load_data(data, image_size, channels, echo=click.echo)
    if limit is not None:
        dataset.x_train, dataset.y_train = subset(dataset.x_train, dataset.y_train, limit, seed)
    groups = [np.arange(len(dataset.x_train))]
    for path in extra:
        x_extra, y_extra, extra_groups = load_extra(Path(path), dataset.class_names, extra_repeat,
                                                    seed, echo=click.echo)
        if x_extra.shape[1:] != dataset.x_train.shape[1:]:
            raise UserError(f"--extra {path}: images are {x_extra.shape[1:]}, "
                            f"but the data's are {dataset.x_train.shape[1:]}")
        click.echo(f"extra: {len(x_extra)} images from {path} ({extra_repeat} per sample)")
        groups.append(extra_groups + sum(len(g) for g in groups))
        dataset.x_train = np.concatenate([dataset.x_train, x_extra])
        dataset.y_train = np.concatenate([dataset.y_train, y_extra])
    dataset.groups = np.concatenate(groups)
    return dataset


def search(dataset, config: TrainConfig, axes: dict[str, list], out: Path, options: dict) -> None:
    """Train every combination of the axes; print and save the table, best first, and the
    best combination as a config for a full training."""
    from digitboard.tuning import check_points, grid_points, run_grid, table_text, write_csv

    points = grid_points(axes)
    check_points(dataset, config, points)
    names = list(axes)
    table_path, best_path = out.parent / "grid.csv", out.parent / "grid-best.json"
    click.echo(f"grid: {len(points)} combinations of {', '.join(names)} on "
               f"{len(dataset.x_train)} images, up to {config.epochs} epochs each")

    def save(rows):
        out.parent.mkdir(parents=True, exist_ok=True)
        write_csv(rows, names, table_path)

    with click.progressbar(points, label="grid", file=sys.stderr,
                           item_show_func=lambda p: p and " ".join(f"{k}={v}" for k, v in p.items())) as bar:
        result = run_grid(dataset, config, bar, len(points), on_row=save)
    if not result.rows:
        raise UserError("stopped before the first combination finished: nothing was written")
    click.echo(table_text(result.rows, names))
    if result.interrupted:
        click.echo(f"interrupted: {len(result.rows)} of {result.total} combinations done")
    best = {key: result.rows[0][key] for key in names}
    write_config(best_path, {"data": options["data"], "image_size": options["image_size"],
                             "channels": options["channels"], "extra": list(options["extra"]),
                             "extra_repeat": options["extra_repeat"],
                             **asdict(replace(config, **best)), "out": str(options["out"])})
    flags = " ".join(f"--{k.replace('_', '-')} {v}" if not isinstance(v, bool)
                     else f"--{'' if v else 'no-'}{k.replace('_', '-')}" for k, v in best.items())
    click.echo(f"best: {flags} (val accuracy {result.rows[0]['val_accuracy']:.4f}) → {table_path}\n"
               f"train it on all the data (the command line wins, e.g. --epochs 20):\n"
               f"  python train.py --config {best_path}")


if __name__ == "__main__":
    main()
