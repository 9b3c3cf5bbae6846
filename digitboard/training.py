"""Fitting a classifier: augmentation, callbacks, atomic checkpoints and the model card."""

from __future__ import annotations

import csv
import json
import os
import platform
import sys
import time
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Callable

import numpy as np

from .data import Dataset
from .model import tf_device
from .errors import UserError


@dataclass
class TrainConfig:
    arch: str = "cnn"
    epochs: int = 20
    batch_size: int = 128
    learning_rate: float = 3e-3
    patience: int = 5
    validation_split: float = 0.05
    augment: bool = True
    dropout: float = 0.3
    seed: int = 42
    mixed_precision: bool = False


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


def make_augmenter(seed: int):
    """Random changes that mouse- and pen-drawn digits show: slant, size, position, stroke width.

    The geometric changes are composed into one affine map and applied in one resampling,
    since chaining Keras' RandomRotation/Shear/Zoom/Translation blurs 28×28 digits."""
    import tensorflow as tf

    generator = tf.random.Generator.from_seed(seed)

    def random_affine(n):  # (n, 8) projective-transform rows mapping output to input pixels
        angle = generator.uniform([n], -0.2, 0.2)            # ±11°
        shear = generator.uniform([n], -0.2, 0.2)
        scale = generator.uniform([n], 0.85, 1.12)           # < 1 draws the digit larger
        aspect = generator.uniform([n], 0.9, 1.1)
        shift = generator.uniform([n, 2], -2.5, 2.5)         # pixels
        cos, sin = tf.cos(angle) * scale, tf.sin(angle) * scale
        a0, a1 = cos * aspect, -sin + shear * cos
        b0, b1 = sin * aspect, cos + shear * sin
        centre = 13.5  # rotate, shear and zoom about the image centre
        a2 = centre - a0 * centre - a1 * centre + shift[:, 0]
        b2 = centre - b0 * centre - b1 * centre + shift[:, 1]
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
        train = train.map(make_augmenter(seed), num_parallel_calls=tf.data.AUTOTUNE)
    val = tf.data.Dataset.from_tensor_slices((x_val, y_val)).batch(512)
    return train.prefetch(tf.data.AUTOTUNE), val.prefetch(tf.data.AUTOTUNE)


def check_init_model(model, input_shape: tuple, n_classes: int, path: Path) -> None:
    got_in, got_out = tuple(model.input_shape[1:]), model.output_shape[-1]
    if got_in != tuple(input_shape) or got_out != n_classes:
        raise UserError(f"--init-from {path}: model takes {got_in} → {got_out} classes, "
                        f"but the data is {tuple(input_shape)} → {n_classes} classes")


def load_init_model(path: Path, input_shape: tuple, n_classes: int):
    import keras

    try:
        model = keras.models.load_model(path, compile=False)
    except Exception as err:
        raise UserError(f"--init-from {path}: cannot load the model ({str(err).splitlines()[0]})") from None
    check_init_model(model, input_shape, n_classes, path)
    return model


def atomic_write_text(path: Path, text: str) -> None:
    partial = path.with_name(path.name + ".partial")
    partial.write_text(text)
    os.replace(partial, path)


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

    checkpoint = keras.callbacks.ModelCheckpoint(partial, monitor=monitor, mode="max",
                                                 save_best_only=True)
    return [checkpoint, PublishCheckpoint()], PublishCheckpoint


def versions() -> dict:
    import cv2
    import keras
    import tensorflow as tf

    return {"python": platform.python_version(), "tensorflow": tf.__version__,
            "keras": keras.__version__, "numpy": np.__version__, "opencv": cv2.__version__}


def train(data: Dataset, config: TrainConfig, out: Path, init_from: Path | None = None,
          extra_sources: list[str] = (), command: str = "",
          echo: Callable[[str], None] = print) -> dict:
    """Fit, checkpoint the best epoch to `out`, write history, curves and card; return the card."""
    import keras
    import tensorflow as tf

    from .plots import plot_curves

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
        model = build_model(config.arch, x.shape[1:], n_classes, config.dropout)
    steps = int(np.ceil(len(x_train) / config.batch_size))
    schedule = keras.optimizers.schedules.CosineDecay(
        config.learning_rate / 10, decay_steps=steps * config.epochs, alpha=0.01,
        warmup_target=config.learning_rate, warmup_steps=steps)
    model.compile(optimizer=keras.optimizers.Adam(schedule),
                  loss="sparse_categorical_crossentropy", metrics=["accuracy"],
                  jit_compile=False)  # XLA makes these convolutions ~4× slower on CPU

    out.parent.mkdir(parents=True, exist_ok=True)
    history_path = out.parent / "history.csv"
    history_partial = history_path.with_name(history_path.name + ".partial")  # published with the model
    checkpoint_callbacks, publisher = _atomic_checkpoint_callbacks(out, "val_accuracy")
    callbacks = [*checkpoint_callbacks,
                 keras.callbacks.EarlyStopping(monitor="val_accuracy", mode="max",
                                               patience=config.patience, restore_best_weights=True),
                 keras.callbacks.CSVLogger(history_partial)]
    train_ds, val_ds = make_datasets(x_train, y_train, x_val, y_val, config.batch_size,
                                     config.augment, config.seed)
    started = time.time()
    interrupted = False
    try:
        history = model.fit(train_ds, validation_data=val_ds, epochs=config.epochs,
                            callbacks=callbacks, shuffle=False, verbose="auto").history
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
    val_acc = history.get("val_accuracy", [])
    card = {
        "model": out.name, **test,
        "best_val_accuracy": round(float(max(val_acc)), 5) if val_acc else None,
        "best_epoch": int(np.argmax(val_acc)) + 1 if val_acc else None,
        "epochs_run": len(val_acc), "interrupted": interrupted,
        "wall_time_s": round(wall_time, 1),
        "command": command, "seed": config.seed, "config": vars(config),
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


def _read_history(path: Path) -> dict:
    if not path.exists():
        return {}
    with open(path) as f:
        rows = list(csv.DictReader(f))
    return {k: [float(r[k]) for r in rows] for k in (rows[0] if rows else {}) if k != "epoch"}


def command_line() -> str:
    return " ".join(["python", Path(sys.argv[0]).name, *sys.argv[1:]])
