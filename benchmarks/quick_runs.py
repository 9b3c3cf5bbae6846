"""Quick runs at any size: our training recipe against keras-io's mnist_convnet, on the same
N training images for the same E epochs, scored on the data set's test images.

    python benchmarks/quick_runs.py --limit 1000 --limit 6000 --epochs 1 --epochs 3

Ours is trained through `digitboard.training.train`, what `train.py --limit N --epochs E`
runs (the default cnn, augmentation, auto batch size, warm-up and cosine decay, the epoch of
lowest validation loss kept). The reference is https://keras.io/examples/vision/mnist_convnet/
as written there: Conv2D(32, 3) → MaxPool → Conv2D(64, 3) → MaxPool → Flatten → Dropout(0.5)
→ Dense softmax, inputs / 255, Adam at its default rate, categorical cross-entropy, batch
128, validation_split 0.1, its last epoch kept. Both get the N images `--limit N` picks.

Data sets (`--data`, repeatable): `mnist`; `pen`, UCI pen digits of writers 1-24 for training
and 25-30 for testing, each drawn once at the board's size and brush and normalised as the
board does (`data.pen_renderings`), written as IDX files to --pen-idx on first use (the two
UNIPEN files come from benchmarks/split_pendigits.py); or any folder of IDX files.
Prints a markdown table (or JSON with --json); progress goes to stderr.
"""

from __future__ import annotations

import json
import sys
import tempfile
import time
from pathlib import Path

import click
import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from digitboard.cli.options import Command  # noqa: E402
from digitboard.common.errors import UserError  # noqa: E402


def progress(message: str) -> None:
    click.echo(message, err=True)


def pen_idx(train_file: Path, test_file: Path, folder: Path) -> Path:
    """An IDX folder of pen digits (train-… from `train_file`, t10k-… from `test_file`), each
    digit drawn once as written, as `train.py --extra` draws its first copy; built once."""
    from digitboard.data.images import has_idx_files, write_idx
    from digitboard.train.augment import pen_renderings
    from digitboard.data.pen import read_unipen

    if has_idx_files(folder):
        return folder
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(0)  # unused: one copy per digit is drawn as written
    for prefix, source in (("t10k", test_file), ("train", train_file)):  # train last: it marks the folder done
        digits = read_unipen(source)
        images = np.stack([pen_renderings(d.strokes, 1, rng, d.label)[0] for d in digits])  # (n, 28, 28)
        write_idx(folder / f"{prefix}-labels-idx1-ubyte", np.array([int(d.label) for d in digits]))
        write_idx(folder / f"{prefix}-images-idx3-ubyte", images)
        progress(f"{folder}: {len(digits)} {prefix} digits from {source}")
    return folder


def reference_convnet(data, epochs: int, seed: int) -> float:
    """keras-io's mnist_convnet trained on `data` for `epochs`; its test accuracy."""
    import keras
    from keras import layers

    keras.utils.set_random_seed(seed)
    n_classes = len(data.class_names)
    x_train = data.x_train.astype("float32")[..., None] / 255  # (n, 28, 28, 1)
    x_test = data.x_test.astype("float32")[..., None] / 255
    y_train = keras.utils.to_categorical(data.y_train, n_classes)
    y_test = keras.utils.to_categorical(data.y_test, n_classes)
    model = keras.Sequential([
        keras.Input(shape=x_train.shape[1:]),
        layers.Conv2D(32, kernel_size=(3, 3), activation="relu"),
        layers.MaxPooling2D(pool_size=(2, 2)),
        layers.Conv2D(64, kernel_size=(3, 3), activation="relu"),
        layers.MaxPooling2D(pool_size=(2, 2)),
        layers.Flatten(),
        layers.Dropout(0.5),
        layers.Dense(n_classes, activation="softmax"),
    ])
    # jit_compile=False as in our training: XLA only slows these convolutions on a CPU
    model.compile(loss="categorical_crossentropy", optimizer="adam", metrics=["accuracy"],
                  jit_compile=False)
    model.fit(x_train, y_train, batch_size=128, epochs=epochs, validation_split=0.1, verbose=0)
    return float(model.evaluate(x_test, y_test, verbose=0)[1])


def ours(data, epochs: int, seed: int, out: Path) -> dict:
    """Our recipe through the package's training function; its card."""
    from digitboard.train.fit import train, TrainConfig

    return train(data, TrainConfig(epochs=epochs, seed=seed), out, echo=progress)


def data_spec(name: str, pen_train: Path, pen_test: Path, pen_folder: Path) -> str:
    if name == "pen":
        for path in (pen_train, pen_test):
            if not path.is_file():
                raise UserError(f"{path}: no pen digits; make them with "
                                "python benchmarks/split_pendigits.py ../shared/pendigits/pendigits-orig.tra")
        return str(pen_idx(pen_train, pen_test, pen_folder))
    if name != "mnist" and not Path(name).is_dir():
        raise UserError(f"--data {name}: neither mnist, pen nor a folder of IDX files")
    return name


def table(rows: list[dict]) -> str:
    lines = ["| data | N | E | ours: test accuracy | keras-io mnist_convnet | ours − reference "
             "| ours s | reference s | ours: too short to trust |",
             "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- |"]
    for r in rows:
        lines.append(f"| {r['data']} | {r['n']:,} | {r['epochs']} | {r['ours']:.2%} | {r['reference']:.2%} "
                     f"| {100 * (r['ours'] - r['reference']):+.1f} pt | {r['ours_s']:.0f} "
                     f"| {r['reference_s']:.0f} | {r['too_short_to_trust'] or '–'} |")
    return "\n".join(lines)


@click.command(cls=Command, context_settings={"show_default": True})
@click.option("--data", "data_names", multiple=True, default=("mnist", "pen"),
              help="Data sets, repeatable: mnist, pen (writers 1-24 / 25-30) or a folder of IDX files.")
@click.option("--limit", "limits", multiple=True, type=click.IntRange(2), default=(1000, 6000, 60000),
              help="Training images N (repeatable); a set with fewer uses all it has.")
@click.option("--epochs", "epochs_list", multiple=True, type=click.IntRange(1), default=(1, 3),
              help="Epochs E (repeatable).")
@click.option("--seed", type=int, default=42, help="Seed of the subset and of both trainings.")
@click.option("--pen-train", type=click.Path(path_type=Path), default=ROOT / "runs" / "pendigits-train.tra",
              show_default="runs/pendigits-train.tra", help="UNIPEN digits `pen` trains on.")
@click.option("--pen-test", type=click.Path(path_type=Path), default=ROOT / "runs" / "pendigits-holdout.tra",
              show_default="runs/pendigits-holdout.tra", help="UNIPEN digits `pen` is tested on.")
@click.option("--pen-idx", type=click.Path(file_okay=False, path_type=Path), default=ROOT / "runs" / "pen-idx",
              show_default="runs/pen-idx", help="Where `pen` is written as IDX files (built once).")
@click.option("--json", "as_json", is_flag=True, help="Print the rows as JSON instead of a table.")
def main(data_names, limits, epochs_list, seed, pen_train, pen_test, pen_idx, as_json):
    """Test accuracy of our recipe and of keras-io's mnist_convnet for every data × N × E."""
    from digitboard.train.data import load_training_data

    rows = []
    with tempfile.TemporaryDirectory() as models:
        for name in data_names:
            spec = data_spec(name, pen_train, pen_test, pen_idx)
            done = set()
            for limit in sorted(limits):
                data = load_training_data(spec, None, 1, [], 1, limit, seed, echo=progress)
                n = len(data.x_train)
                if n in done:  # a set smaller than two limits: trained once
                    continue
                done.add(n)
                if not len(data.x_test):
                    raise UserError(f"--data {name}: no test images (t10k-…) to score on")
                for epochs in sorted(epochs_list):
                    progress(f"{name}: N {n}, E {epochs}")
                    started = time.time()
                    card = ours(data, epochs, seed, Path(models) / f"{len(rows)}.keras")
                    ours_s = time.time() - started
                    started = time.time()
                    reference = reference_convnet(data, epochs, seed)
                    rows.append({"data": name, "n": n, "epochs": epochs, "ours": card["test_accuracy"],
                                 "reference": round(reference, 5), "ours_s": round(ours_s, 1),
                                 "reference_s": round(time.time() - started, 1),
                                 "test_samples": card["test_samples"],
                                 "too_short_to_trust": card["too_short_to_trust"]})
                    progress(table(rows[-1:]).splitlines()[-1])
    click.echo(json.dumps(rows, indent=2) if as_json else table(rows))


if __name__ == "__main__":
    main()
