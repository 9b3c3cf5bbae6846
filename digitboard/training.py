"""Fitting a classifier: run settings, augmentation, callbacks, atomic checkpoints and the model card."""

from __future__ import annotations

import csv
import difflib
import json
import os
import platform
import sys
import time
import tomllib
from dataclasses import dataclass, fields
from datetime import datetime, timezone
from pathlib import Path
from typing import Callable

import numpy as np

from .data import Dataset
from .model import ARCHITECTURES, read_network, tf_device
from .errors import UserError

SCHEDULES = ("cosine", "exponential", "constant")
OPTIMIZERS = ("adam", "sgd")


@dataclass
class TrainConfig:
    """The hyper-parameters of one training; train.py's options default to these."""

    arch: str = "cnn"                  # a built-in architecture or a JSON network file
    epochs: int = 20
    batch_size: int | None = None     # None: by the data's size (auto_batch_size)
    learning_rate: float = 3e-3        # peak (cosine), initial (exponential) or fixed rate
    schedule: str = "cosine"           # one epoch of warm-up, then cosine decay
    decay_steps: int | None = None     # None: the whole run (cosine), one epoch (exponential)
    decay_rate: float = 0.9            # exponential: the rate's factor every decay_steps
    optimizer: str = "adam"
    momentum: float = 0.9              # sgd only
    filters: int | None = None         # None: the built-in architecture's own
    kernel_size: int | None = None
    units: int | None = None
    patience: int = 5
    validation_split: float = 0.05
    augment: bool = True
    dropout: float = 0.3
    seed: int = 42
    mixed_precision: bool = False


# Settings a grid may search over: the hyper-parameters, not where data comes from or goes.
GRID_KEYS = tuple(f.name for f in fields(TrainConfig) if f.name != "mixed_precision")
# Settings holding paths, which a config file gives relative to its own folder.
PATH_KEYS = ("data", "extra", "init_from", "out", "arch")
NOT_PATHS = ("mnist", *ARCHITECTURES)
KIND_WORDS = {int: "an integer", float: "a number", bool: "true or false", str: "a string",
              list: "a list of strings"}


# ---------------------------------------------------------------- config files

def read_config(path: Path) -> dict:
    """A JSON or TOML file of train.py settings: keys as options (learning_rate or
    learning-rate), relative paths taken from the file's own folder."""
    path = Path(path)
    try:
        text = path.read_text()
    except (OSError, UnicodeDecodeError) as err:
        raise UserError(f"cannot read the config {path}: {getattr(err, 'strerror', None) or err}") from None
    try:
        if path.suffix == ".toml":
            values = tomllib.loads(text)
        elif path.suffix == ".json":
            values = json.loads(text)
        else:
            raise UserError(f"{path}: a config is a .json or .toml file")
    except (tomllib.TOMLDecodeError, json.JSONDecodeError) as err:
        raise UserError(f"{path}: not valid {path.suffix[1:].upper()} ({err})") from None
    if not isinstance(values, dict):
        raise UserError(f"{path}: a config holds settings by name, e.g. {{\"epochs\": 5}}")
    values = {key.replace("-", "_"): value for key, value in values.items()}
    for key in PATH_KEYS:
        if key in values:
            values[key] = _from_folder(values[key], path.parent)
    return values


def _from_folder(value, folder: Path):
    if isinstance(value, list):
        return [_from_folder(v, folder) for v in value]
    if isinstance(value, str) and value not in NOT_PATHS and not Path(value).is_absolute():
        return os.path.normpath(folder / value)
    return value


def write_config(path: Path, settings: dict) -> None:
    """Settings as a JSON config that read_config reads back the same: paths relative to the
    file's folder. (--limit is not among them: a grid's subset is not what a full run wants.)"""
    settings = dict(settings)
    for key in PATH_KEYS:
        if key in settings:
            settings[key] = _relative(settings[key], path.parent)
    atomic_write_text(path, json.dumps(settings, indent=2) + "\n")


def _relative(value, folder: Path):
    if isinstance(value, list):
        return [_relative(v, folder) for v in value]
    if value is None or value in NOT_PATHS:
        return value
    return os.path.relpath(Path(value).resolve(), folder.resolve())


def check_config(values: dict, kinds: dict[str, type], source: str) -> tuple[dict, dict]:
    """(settings, grid): plain values, and the lists of values to search over.

    `kinds` gives each valid key's type (int, float, bool, str, or list for repeatable
    options); a list of values for a non-list key becomes a grid axis when the key is a
    hyper-parameter. None (JSON null) leaves the option at its default."""
    settings, grid = {}, {}
    for key, value in values.items():
        if key not in kinds:
            close = difflib.get_close_matches(key, kinds, n=1)
            hint = f"did you mean '{close[0]}'?" if close else f"valid keys: {', '.join(sorted(kinds))}"
            raise UserError(f"{source}: unknown key '{key}' ({hint})")
        kind = kinds[key]
        if value is None:
            continue
        if kind is list and isinstance(value, str):  # one --extra needs no brackets
            value = [value]
        if isinstance(value, list) and kind is not list:
            if key not in GRID_KEYS:
                raise UserError(f"{source}: '{key}' cannot be a list of values: only "
                                f"hyper-parameters ({', '.join(GRID_KEYS)}) can be grid axes")
            if not value:
                raise UserError(f"{source}: '{key}' is an empty list: a grid axis needs at least one value")
            for item in value:
                _check_type(key, item, kind, source)
            grid[key] = value
        else:
            _check_type(key, value, kind, source)
            settings[key] = value
    return settings, grid


def _check_type(key: str, value, kind: type, source: str) -> None:
    if kind is list:
        ok = isinstance(value, list) and all(isinstance(v, str) for v in value)
    elif kind is float:
        ok = isinstance(value, (int, float)) and not isinstance(value, bool)
    elif kind is int:
        ok = isinstance(value, int) and not isinstance(value, bool)
    else:
        ok = isinstance(value, kind)
    if not ok:
        raise UserError(f"{source}: '{key}' must be {KIND_WORDS[kind]}, got {json.dumps(value, default=str)}")


def split_validation(x: np.ndarray, y: np.ndarray, fraction: float, seed: int,
                     groups: np.ndarray | None = None):
    """A seeded random (train, validation) split; images of one group (copies of one sample)
    all land on the same side."""
    groups = np.arange(len(x)) if groups is None else np.asarray(groups)
    unique = np.unique(groups)
    n_val = max(1, int(round(len(unique) * fraction)))
    held_out = np.random.default_rng(seed).permutation(unique)[:n_val]
    is_val = np.isin(groups, held_out)
    return (x[~is_val], y[~is_val]), (x[is_val], y[is_val])


def subset(x: np.ndarray, y: np.ndarray, limit: int, seed: int):
    """`limit` random samples, seeded; everything when limit is larger."""
    if limit >= len(x):
        return x, y
    pick = np.random.default_rng(seed).choice(len(x), limit, replace=False)
    return x[pick], y[pick]


def as_model_input(images: np.ndarray) -> np.ndarray:
    """(n, h, w) → (n, h, w, 1); colour images are left as they are."""
    return images[..., None] if images.ndim == 3 else images


def make_augmenter(seed: int, size: tuple[int, int] = (28, 28)):
    """Random changes that mouse- and pen-drawn digits show: slant, size, position, stroke width.

    The geometric changes are composed into one affine map and applied in one resampling,
    since chaining Keras' RandomRotation/Shear/Zoom/Translation blurs 28×28 digits. `size`
    (h, w) of other image sets moves the centre and scales the shift."""
    import tensorflow as tf

    generator = tf.random.Generator.from_seed(seed)
    height, width = size
    centre_x, centre_y = (width - 1) / 2, (height - 1) / 2  # 13.5 for 28×28
    max_shift = 2.5 * min(height, width) / 28

    def random_affine(n):  # (n, 8) projective-transform rows mapping output to input pixels
        angle = generator.uniform([n], -0.2, 0.2)            # ±11°
        shear = generator.uniform([n], -0.2, 0.2)
        scale = generator.uniform([n], 0.85, 1.12)           # < 1 draws the digit larger
        aspect = generator.uniform([n], 0.9, 1.1)
        shift = generator.uniform([n, 2], -max_shift, max_shift)  # pixels
        cos, sin = tf.cos(angle) * scale, tf.sin(angle) * scale
        a0, a1 = cos * aspect, -sin + shear * cos
        b0, b1 = sin * aspect, cos + shear * sin
        # rotate, shear and zoom about the image centre
        a2 = centre_x - a0 * centre_x - a1 * centre_y + shift[:, 0]
        b2 = centre_y - b0 * centre_x - b1 * centre_y + shift[:, 1]
        zeros = tf.zeros([n])
        return tf.stack([a0, a1, a2, b0, b1, b2, zeros, zeros], axis=1)

    def vary_stroke_width(images):  # blend towards a 3×3 dilation or erosion, per image
        amount = generator.uniform([tf.shape(images)[0], 1, 1, 1], -0.5, 0.5)
        dilated = tf.nn.max_pool2d(images, 3, 1, "SAME")
        eroded = -tf.nn.max_pool2d(-images, 3, 1, "SAME")
        return images + tf.where(amount > 0, amount * (dilated - images), -amount * (eroded - images))

    def augment(images, labels):
        images = tf.cast(images, tf.float32)
        images = tf.raw_ops.ImageProjectiveTransformV3(
            images=images, transforms=random_affine(tf.shape(images)[0]),
            output_shape=tf.shape(images)[1:3], fill_value=0.0, interpolation="BILINEAR",
            fill_mode="CONSTANT")
        return tf.clip_by_value(vary_stroke_width(images), 0.0, 255.0), labels

    return augment


def make_datasets(x_train, y_train, x_val, y_val, batch_size: int, augment: bool, seed: int):
    import tensorflow as tf

    train = (tf.data.Dataset.from_tensor_slices((x_train, y_train))
             .shuffle(len(x_train), seed=seed, reshuffle_each_iteration=True)
             .batch(batch_size))
    if augment:
        train = train.map(make_augmenter(seed, x_train.shape[1:3]), num_parallel_calls=tf.data.AUTOTUNE)
    val = tf.data.Dataset.from_tensor_slices((x_val, y_val)).batch(512)
    return train.prefetch(tf.data.AUTOTUNE), val.prefetch(tf.data.AUTOTUNE)


def check_init_model(model, input_shape: tuple, n_classes: int, path: Path) -> None:
    got_in, got_out = tuple(model.input_shape[1:]), model.output_shape[-1]
    if got_in != tuple(input_shape) or got_out != n_classes:
        raise UserError(f"--init-from {path}: model takes {got_in} → {got_out} classes, "
                        f"but the data is {tuple(input_shape)} → {n_classes} classes")


def load_init_model(path: Path, input_shape: tuple, n_classes: int):
    from .model import load_model_file

    try:
        model = load_model_file(path)
    except UserError as err:
        raise UserError(f"--init-from: {err}") from None
    check_init_model(model, input_shape, n_classes, path)
    return model


def atomic_write_text(path: Path, text: str) -> None:
    partial = path.with_name(path.name + ".partial")
    partial.write_text(text)
    os.replace(partial, path)


# Checkpointing and early stopping follow validation loss: accuracy on a few thousand
# validation digits moves in steps of 0.03 % and stopped cosine-decayed runs too early.
MONITOR = "val_loss"


def _atomic_checkpoint_callbacks(out: Path, monitor: str):
    """ModelCheckpoint writes a side file; the next callback renames it over `out` in one step,
    so an interrupted save can never leave a half-written model at `out`."""
    import keras

    partial = out.with_name(out.stem + ".partial" + out.suffix)

    class PublishCheckpoint(keras.callbacks.Callback):
        published = False

        def on_epoch_end(self, epoch, logs=None):
            if partial.exists():
                os.replace(partial, out)
                PublishCheckpoint.published = True

    checkpoint = keras.callbacks.ModelCheckpoint(partial, monitor=monitor, mode="min",
                                                 save_best_only=True)
    return [checkpoint, PublishCheckpoint()], PublishCheckpoint


def versions() -> dict:
    import cv2
    import keras
    import tensorflow as tf

    return {"python": platform.python_version(), "tensorflow": tf.__version__,
            "keras": keras.__version__, "numpy": np.__version__, "opencv": cv2.__version__}


def auto_batch_size(n_images: int) -> int:
    """128 for large sets; smaller (down to 16) so a small set still gives ~150 steps an epoch."""
    return int(np.clip(2 ** int(np.log2(max(1, n_images / 150))), 16, 128))


def warmup_steps(steps_per_epoch: int, epochs: int) -> int:
    """One epoch of warm-up, but never more than a tenth of the run."""
    return max(1, min(steps_per_epoch, steps_per_epoch * epochs // 10))


def stop_from_epoch(rate, steps_per_epoch: int, epochs: int, low: float = 0.3) -> int:
    """The first epoch whose learning rate is at most `low` of the peak: validation loss wobbles
    while the rate is high, so early stopping must not end a run before the rate has decayed."""
    if not callable(rate):
        return 0
    rates = [float(rate(e * steps_per_epoch)) for e in range(epochs)]
    peak = int(np.argmax(rates))  # after the warm-up
    return next((e for e in range(peak, epochs) if rates[e] <= low * rates[peak]), epochs)


def learning_rate(config: TrainConfig, steps_per_epoch: int):
    """The learning-rate schedule (or the fixed rate) for a run of config.epochs epochs."""
    import keras

    total = steps_per_epoch * config.epochs
    if config.schedule == "cosine":  # warm up from a tenth of the peak, then decay to the end
        warmup = warmup_steps(steps_per_epoch, config.epochs)
        return keras.optimizers.schedules.CosineDecay(
            config.learning_rate / 10, decay_steps=config.decay_steps or max(1, total - warmup),
            alpha=0.01, warmup_target=config.learning_rate, warmup_steps=warmup)
    if config.schedule == "exponential":
        return keras.optimizers.schedules.ExponentialDecay(
            config.learning_rate, decay_steps=config.decay_steps or steps_per_epoch,
            decay_rate=config.decay_rate)
    if config.schedule == "constant":
        return config.learning_rate
    raise UserError(f"unknown schedule {config.schedule!r}; choose from {', '.join(SCHEDULES)}")


def make_optimizer(config: TrainConfig, rate):
    """Adam or SGD at `rate` (a schedule or a number)."""
    import keras

    if config.optimizer == "sgd":
        return keras.optimizers.SGD(rate, momentum=config.momentum)
    if config.optimizer != "adam":
        raise UserError(f"unknown optimizer {config.optimizer!r}; choose from {', '.join(OPTIMIZERS)}")
    return keras.optimizers.Adam(rate)


def _prepare(data: Dataset, config: TrainConfig, init_from: Path | None,
             echo: Callable[[str], None]):
    """Seed, split, build and compile: what a training and a grid trial share.
    Returns (model, device, training images, (x_train, y_train), (x_val, y_val))."""
    import keras

    keras.utils.set_random_seed(config.seed)
    device = tf_device()
    if config.mixed_precision and device != "CPU":
        keras.mixed_precision.set_global_policy("mixed_float16")
    echo(f"training on {device}")

    x = as_model_input(data.x_train)
    (x_train, y_train), (x_val, y_val) = split_validation(x, data.y_train, config.validation_split,
                                                          config.seed, data.groups)
    if len(x_train) == 0:
        raise UserError(f"{len(x)} training image(s) leave nothing to train on after the "
                        "validation split: use more data")
    n_classes = len(data.class_names)
    if init_from is not None:
        model = load_init_model(init_from, x.shape[1:], n_classes)
    else:
        from .model import build_model
        model = build_model(config.arch, x.shape[1:], n_classes, config.dropout, config.filters,
                            config.kernel_size, config.units)
    if config.batch_size is None:
        config.batch_size = auto_batch_size(len(x_train))
    steps = int(np.ceil(len(x_train) / config.batch_size))
    model.compile(optimizer=make_optimizer(config, learning_rate(config, steps)),
                  loss="sparse_categorical_crossentropy", metrics=["accuracy"],
                  jit_compile=False)  # XLA makes these convolutions ~4× slower on CPU
    return model, device, x, (x_train, y_train), (x_val, y_val)


def fit_trial(data: Dataset, config: TrainConfig) -> dict:
    """Train one grid combination, saving nothing; its best validation scores and time."""
    import keras

    model, _, _, (x_train, y_train), (x_val, y_val) = _prepare(data, config, None, echo=lambda _: None)
    train_ds, val_ds = make_datasets(x_train, y_train, x_val, y_val, config.batch_size,
                                     config.augment, config.seed)
    started = time.time()
    stop = keras.callbacks.EarlyStopping(monitor="val_accuracy", mode="max", patience=config.patience)
    history = model.fit(train_ds, validation_data=val_ds, epochs=config.epochs, callbacks=[stop],
                        shuffle=False, verbose=0).history
    best = int(np.argmax(history["val_accuracy"]))
    return {"val_accuracy": round(float(history["val_accuracy"][best]), 5),
            "val_loss": round(float(history["val_loss"][best]), 5),
            "best_epoch": best + 1, "epochs_run": len(history["val_accuracy"]),
            "seconds": round(time.time() - started, 1)}


def train(data: Dataset, config: TrainConfig, out: Path, init_from: Path | None = None,
          extra_sources: list[str] = (), command: str = "", config_file: str | None = None,
          echo: Callable[[str], None] = print) -> dict:
    """Fit, checkpoint the best epoch to `out`, write history, curves and card; return the card."""
    import keras

    from .plots import plot_curves

    model, device, x, (x_train, y_train), (x_val, y_val) = _prepare(data, config, init_from, echo)

    out.parent.mkdir(parents=True, exist_ok=True)
    history_path = out.parent / "history.csv"
    history_partial = history_path.with_name(history_path.name + ".partial")  # published with the model
    checkpoint_callbacks, publisher = _atomic_checkpoint_callbacks(out, MONITOR)
    steps = int(np.ceil(len(x_train) / config.batch_size))
    callbacks = [*checkpoint_callbacks,
                 keras.callbacks.EarlyStopping(monitor=MONITOR, mode="min",
                                               patience=config.patience, restore_best_weights=True,
                                               start_from_epoch=stop_from_epoch(learning_rate(config, steps), steps, config.epochs)),
                 keras.callbacks.CSVLogger(history_partial)]
    train_ds, val_ds = make_datasets(x_train, y_train, x_val, y_val, config.batch_size,
                                     config.augment, config.seed)
    started = time.time()
    interrupted = False
    try:
        history = model.fit(train_ds, validation_data=val_ds, epochs=config.epochs,
                            callbacks=callbacks, shuffle=False, verbose=1 if sys.stdout.isatty() else 2).history
    except KeyboardInterrupt:
        interrupted = True
        history = _read_history(history_partial)
        echo("\ninterrupted: keeping the best checkpoint so far")
    wall_time = time.time() - started
    if not publisher.published:
        history_partial.unlink(missing_ok=True)
        raise UserError("stopped before the first epoch finished: nothing was written")
    os.replace(history_partial, history_path)

    best = keras.models.load_model(out)  # the card describes the file on disk
    test = {}
    if len(data.x_test):
        loss, accuracy = best.evaluate(as_model_input(data.x_test), data.y_test, batch_size=512,
                                       verbose=0)
        test = {"test_accuracy": round(float(accuracy), 5), "test_loss": round(float(loss), 5),
                "test_samples": int(len(data.x_test))}
    val_loss, val_acc = history.get("val_loss", []), history.get("val_accuracy", [])
    best_epoch = int(np.argmin(val_loss)) if val_loss else None
    card = {
        "model": out.name, **test,
        "best_epoch": best_epoch + 1 if val_loss else None,
        "best_val_loss": round(float(val_loss[best_epoch]), 5) if val_loss else None,
        "best_val_accuracy": round(float(val_acc[best_epoch]), 5) if val_loss else None,
        "epochs_run": len(val_loss), "interrupted": interrupted,
        "wall_time_s": round(wall_time, 1),
        "command": command, "seed": config.seed, "config": vars(config),
        **({"config_file": config_file} if config_file else {}),
        **({"network": read_network(config.arch)}
           if config.arch not in ARCHITECTURES and init_from is None else {}),
        "data": data.source, "extra": list(extra_sources),
        "train_samples": int(len(x_train)), "validation_samples": int(len(x_val)),
        "class_names": list(data.class_names), "input_shape": list(x.shape[1:]),
        "parameters": int(best.count_params()), "size_bytes": out.stat().st_size,
        "device": device, "versions": versions(),
        "date": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "platform": f"{platform.system()} {platform.machine()}, {os.cpu_count()} cores",
    }
    atomic_write_text(out.with_suffix(".json"), json.dumps(card, indent=2) + "\n")
    if history:
        plot_curves(history, out.parent / "curves.png")
    return card


def read_card(model_path: Path) -> dict:
    """The model card train() wrote beside a model; {} when there is none."""
    path = Path(model_path).with_suffix(".json")
    try:
        return json.loads(path.read_text()) if path.is_file() else {}
    except (OSError, json.JSONDecodeError) as err:
        raise UserError(f"cannot read the model card {path}: {err}") from None


def _read_history(path: Path) -> dict:
    if not path.exists():
        return {}
    with open(path) as f:
        rows = list(csv.DictReader(f))
    return {k: [float(r[k]) for r in rows] for k in (rows[0] if rows else {}) if k != "epoch"}


def command_line() -> str:
    return " ".join(["python", Path(sys.argv[0]).name, *sys.argv[1:]])
