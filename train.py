"""Train a digit reader on MNIST (or another image set) and save the best model.

`python train.py` with no options trains the shipped model's architecture on
MNIST and writes models/best.keras with its model card, history and curves.
"""

from __future__ import annotations

from pathlib import Path

import click
import numpy as np

from digitboard.errors import UserError
from digitboard.paths import DEFAULT_MODEL
from digitboard.training import TrainConfig, command_line, subset, train

DEFAULTS = TrainConfig()  # the CLI's defaults are the library's


@click.command(context_settings={"show_default": True})
@click.option("--data", default="mnist",
              help="'mnist', a folder of IDX files, or a folder with one sub-folder per class.")
@click.option("--extra", multiple=True, type=click.Path(),
              help="More training data (repeatable): a class-folder set such as datasets/drawn, "
                   "or pen data in UNIPEN text format.")
@click.option("--extra-repeat", type=click.IntRange(1), default=3,
              help="Copies of each --extra sample in training: pen digits drawn anew at random "
                   "sizes and brushes, images repeated (each copy augmented anew).")
@click.option("--init-from", type=click.Path(dir_okay=False, path_type=Path),
              help="Fine-tune this model instead of starting from scratch.")
@click.option("--arch", type=click.Choice(["cnn", "small"]), default=DEFAULTS.arch,
              help="Network architecture.")
@click.option("--epochs", type=click.IntRange(1), default=DEFAULTS.epochs,
              help="Upper bound on epochs; early stopping may end sooner.")
@click.option("--batch-size", type=click.IntRange(1), default=DEFAULTS.batch_size,
              help="Images per step.")
@click.option("--learning-rate", type=click.FloatRange(0, min_open=True),
              default=DEFAULTS.learning_rate, help="Peak learning rate (warm-up, then cosine decay).")
@click.option("--patience", type=click.IntRange(1), default=DEFAULTS.patience,
              help="Epochs without a better validation accuracy before stopping.")
@click.option("--validation-split", type=click.FloatRange(0, 0.5, min_open=True),
              default=DEFAULTS.validation_split, help="Fraction of training data held out for validation.")
@click.option("--augment/--no-augment", default=DEFAULTS.augment,
              help="Random rotation, shear, zoom, shift and stroke-width changes.")
@click.option("--dropout", type=click.FloatRange(0, 0.9), default=DEFAULTS.dropout,
              help="Dropout before the classifier.")
@click.option("--seed", type=int, default=DEFAULTS.seed, help="Random seed.")
@click.option("--limit", type=click.IntRange(1), default=None,
              help="Train on this many random images only (quick runs).")
@click.option("--mixed-precision/--no-mixed-precision", default=False,
              help="float16 compute on a GPU (ignored on the CPU).")
@click.option("--out", type=click.Path(dir_okay=False, path_type=Path), default=DEFAULT_MODEL,
              help="Where the best model goes; history.csv, curves.png and the card go beside it.")
def main(data, extra, extra_repeat, init_from, arch, epochs, batch_size, learning_rate, patience,
         validation_split, augment, dropout, seed, limit, mixed_precision, out):
    """Train a digit reader; EarlyStopping and ModelCheckpoint keep the best epoch in --out."""
    from digitboard.data import load_data, load_extra

    config = TrainConfig(arch=arch, epochs=epochs, batch_size=batch_size,
                         learning_rate=learning_rate, patience=patience,
                         validation_split=validation_split, augment=augment, dropout=dropout,
                         seed=seed, mixed_precision=mixed_precision)
    try:
        if out.suffix != ".keras":  # ModelCheckpoint saves whole models only as .keras
            raise UserError(f"--out {out}: the model file must end in .keras")
        if init_from is not None and not init_from.is_file():
            raise UserError(f"--init-from {init_from}: no such file")
        dataset = load_data(data, echo=click.echo)
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
        card = train(dataset, config, out, init_from=init_from, extra_sources=list(extra),
                     command=command_line(), echo=click.echo)
    except UserError as err:
        raise click.UsageError(str(err)) from None
    test = (f"test accuracy {card['test_accuracy']:.4f}, loss {card['test_loss']:.4f}"
            if "test_accuracy" in card else "no test set")
    click.echo(f"best epoch {card['best_epoch']}/{card['epochs_run']}: "
               f"val accuracy {card['best_val_accuracy']:.4f}, {test}, "
               f"{card['wall_time_s'] / 60:.1f} min on {card['device']} → {out}")


if __name__ == "__main__":
    main()
