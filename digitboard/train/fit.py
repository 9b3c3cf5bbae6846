"""Fitting a classifier: hyper-parameters, augmentation, the learning-rate schedule, early
stopping and checkpoints written in one step; train() leaves the model card beside the model."""

from __future__ import annotations

import csv
import math
import shutil
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Callable

import numpy as np

from ..common.errors import UserError
from ..common.files import replacing
from ..common.quiet import import_keras, import_tensorflow
from ..data.pen import pen_source
from ..read.lite import write_lite_files
from ..read.model_files import (CURVES, HISTORY, REPLAY, STROKES, install_unit, load_model_file, model_card,
                                staging_dir, tf_device, tidy, write_card)
from .marks import MARK_SOURCE
from .networks import ARCHITECTURES, build_model, read_network

if TYPE_CHECKING:  # .data loads OpenCV, which `train.py --help` can do without
    from ..data.images import Dataset

SCHEDULES = ("cosine", "exponential", "constant")
OPTIMIZERS = ("adam", "sgd")


@dataclass
class TrainConfig:
    """The hyper-parameters of one training; train.py's options default to these."""

    arch: str = "cnn"                  # a built-in architecture or a JSON network file
    epochs: int = 16
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
    stroke_epochs: int = 20            # of the stroke model trained beside on pen data (0: none)
    members: int = 1                   # image models from seeds seed, seed + 1, …, read as one


def make_datasets(x_train, y_train, x_val, y_val, batch_size: int, augment: bool, seed: int):
    tf = import_tensorflow()

    from .augment import make_augmenter

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
    try:
        model = load_model_file(path)
    except UserError as err:
        raise UserError(f"--init-from: {err}") from None
    check_init_model(model, input_shape, n_classes, path)
    return model


# Checkpointing and early stopping follow validation loss: accuracy on a few thousand
# validation digits moves in steps of 0.03 % and stopped cosine-decayed runs too early.
MONITOR = "val_loss"


def _atomic_checkpoint_callbacks(out: Path, monitor: str, decayed_from: int):
    """([callbacks], saver): the model goes to `out` whenever the epoch just ended is the one
    kept_epoch keeps so far (by `monitor`), each time written beside it and renamed over it in
    one step, so an interrupted save can never leave a half-written model at `out`;
    `saver.published` says whether it was saved at all. Epochs before `decayed_from` are
    saved too, so that a Ctrl-C there keeps something."""
    keras = import_keras()

    class SaveBest(keras.callbacks.Callback):
        def __init__(self):
            super().__init__()
            self.losses, self.published = [], False

        def on_epoch_end(self, epoch, logs=None):
            current = (logs or {}).get(monitor)
            self.losses.append(math.inf if current is None else current)
            if current is not None and kept_epoch(self.losses, decayed_from) == epoch:
                with replacing(out) as partial:
                    self.model.save(partial)
                self.published = True

    saver = SaveBest()
    return [saver], saver


def auto_batch_size(n_images: int) -> int:
    """128 for large sets; smaller (down to 16) so a small set still gives ~150 steps an epoch."""
    return int(np.clip(2 ** int(np.log2(max(1, n_images / 150))), 16, 128))


def warmup_steps(steps_per_epoch: int, epochs: int) -> int:
    """One epoch of warm-up, but never more than a tenth of the run."""
    return max(1, min(steps_per_epoch, steps_per_epoch * epochs // 10))


# A run's scores are "too short to trust" (said on train.py's last line and in the card) when:
MIN_STEPS = 500        # fewer optimizer steps: one epoch of full MNIST (446) still counts as short;
                       # weights and BatchNormalization's averages are far from settled
MIN_VALIDATION = 500   # fewer validation images: the epoch kept is picked on a handful of digits
                       # (accuracy moves in steps of 0.2 % or more)
DECAYED = 0.3          # or it ended (Ctrl-C, or a slow exponential decay) with a scheduled rate
                       # still above this share of its peak


def too_short_to_trust(steps: int, validation_samples: int, rate_left: float | None = None) -> str | None:
    """Why a run's scores would differ in a longer or larger run, or None when they can be
    trusted: too few optimizer `steps`, too few `validation_samples`, or a scheduled rate
    that had not decayed (`rate_left`, its share of the peak when the run ended; None for a
    constant rate)."""
    reasons = []
    if steps < MIN_STEPS:
        reasons.append(f"{steps} optimizer steps (under {MIN_STEPS})")
    if validation_samples < MIN_VALIDATION:
        reasons.append(f"{validation_samples} validation images (under {MIN_VALIDATION})")
    if rate_left is not None and rate_left > DECAYED:
        reasons.append(f"ended with the learning rate at {rate_left:.0%} of its peak")
    return ", ".join(reasons) or None


def stop_from_epoch(rate, steps_per_epoch: int, epochs: int, low: float = DECAYED) -> int:
    """The first epoch whose learning rate is at most `low` of the peak: validation loss wobbles
    while the rate is high, so early stopping must not end a run before the rate has decayed."""
    if not callable(rate):
        return 0
    rates = [float(rate(e * steps_per_epoch)) for e in range(epochs)]
    peak = int(np.argmax(rates))  # after the warm-up
    return next((e for e in range(peak, epochs) if rates[e] <= low * rates[peak]), epochs)


def first_decayed_epoch(config: TrainConfig, steps_per_epoch: int) -> int:
    """stop_from_epoch of this run's schedule."""
    return stop_from_epoch(learning_rate(config, steps_per_epoch), steps_per_epoch, config.epochs)


def kept_epoch(val_losses: list[float], decayed_from: int) -> int | None:
    """The epoch (0-based) a run keeps: the lowest validation loss among the epochs from
    `decayed_from` on, or among all of them in a run that ended sooner (Ctrl-C); None for
    none. An epoch before the rate has decayed can dip once on a few thousand validation
    digits: plain `train.py --seed 2` kept its 10th of 16 epochs on such a dip (99.49 % on
    MNIST test), where the lowest after the decay, the 12th, reads 99.64 %."""
    losses = np.array(val_losses, np.float64)
    losses[~np.isfinite(losses)] = np.inf  # a diverged epoch is never kept
    if not len(losses) or np.isinf(losses).all():
        return None
    start = decayed_from if len(losses) > decayed_from and not np.isinf(losses[decayed_from:]).all() else 0
    return start + int(np.argmin(losses[start:]))


def learning_rate(config: TrainConfig, steps_per_epoch: int):
    """The learning-rate schedule (or the fixed rate) for a run of config.epochs epochs."""
    keras = import_keras()

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
    keras = import_keras()

    if config.optimizer == "sgd":
        return keras.optimizers.SGD(rate, momentum=config.momentum)
    if config.optimizer != "adam":
        raise UserError(f"unknown optimizer {config.optimizer!r}; choose from {', '.join(OPTIMIZERS)}")
    return keras.optimizers.Adam(rate)


def _prepare(data: Dataset, config: TrainConfig, init_from: Path | None,
             echo: Callable[[str], None], member: int = 0):
    """Seed, split, build and compile: what a training and a grid trial share. Member k of
    an ensemble is seeded seed + k, on the validation split of `config.seed`.
    Returns (model, device, training images, (x_train, y_train), (x_val, y_val))."""
    keras = import_keras()

    from ..data.images import as_model_input
    from .data import split_validation

    keras.utils.set_random_seed(config.seed + member)
    device = tf_device()
    if config.mixed_precision and device != "CPU":
        keras.mixed_precision.set_global_policy("mixed_float16")

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
        model = build_model(config.arch, x.shape[1:], n_classes, config.dropout, config.filters,
                            config.kernel_size, config.units)
    if config.batch_size is None:
        config.batch_size = auto_batch_size(len(x_train))
    steps = int(np.ceil(len(x_train) / config.batch_size))
    model.compile(optimizer=make_optimizer(config, learning_rate(config, steps)),
                  loss="sparse_categorical_crossentropy", metrics=["accuracy"],
                  jit_compile=False)  # XLA makes these convolutions ~4× slower on CPU
    echo(f"training on {device}")  # once the data and the network are known to be good
    return model, device, x, (x_train, y_train), (x_val, y_val)


def early_stopping(config: TrainConfig, decayed_from: int):
    """Stop after config.patience epochs without a new low of MONITOR, counted only from epoch
    `decayed_from` (first_decayed_epoch), once the learning rate has decayed."""
    keras = import_keras()

    return keras.callbacks.EarlyStopping(monitor=MONITOR, mode="min", patience=config.patience,
                                         start_from_epoch=decayed_from)


def _epoch_lines(epochs: int, echo: Callable[[str], None]):
    """A callback echoing one line per epoch (Keras' own log without a terminal takes two):
    `epoch 3/16 - 41s - accuracy: 0.9712 - loss: 0.0934 - val_accuracy: … - val_loss: …`."""
    keras = import_keras()

    class EpochLine(keras.callbacks.Callback):
        def on_epoch_begin(self, epoch, logs=None):
            self.started = time.time()

        def on_epoch_end(self, epoch, logs=None):
            scores = "".join(f" - {key}: {value:.4f}" for key, value in (logs or {}).items()
                             if key != "learning_rate")
            echo(f"epoch {epoch + 1}/{epochs} - {time.time() - self.started:.0f}s{scores}")

    return EpochLine()


def fit_trial(data: Dataset, config: TrainConfig) -> dict:
    """Train one grid combination, saving nothing; its scores at the epoch a training would
    keep (kept_epoch), and its time."""
    model, _, _, (x_train, y_train), (x_val, y_val) = _prepare(data, config, None, echo=lambda _: None)
    train_ds, val_ds = make_datasets(x_train, y_train, x_val, y_val, config.batch_size,
                                     config.augment, config.seed)
    start = first_decayed_epoch(config, int(np.ceil(len(x_train) / config.batch_size)))
    started = time.time()
    history = model.fit(train_ds, validation_data=val_ds, epochs=config.epochs,
                        callbacks=[early_stopping(config, start)], shuffle=False, verbose=0).history
    best = kept_epoch(history[MONITOR], start)
    return {"val_accuracy": round(float(history["val_accuracy"][best]), 5),
            "val_loss": round(float(history["val_loss"][best]), 5),
            "best_epoch": best + 1, "epochs_run": len(history["val_loss"]),
            "seconds": round(time.time() - started, 1)}


class NothingSaved(UserError):
    """A run stopped before its first checkpoint."""


@dataclass
class Fitted:
    """One fitted image model: its file, how its run went and what it scored on validation."""

    path: Path
    history: dict
    interrupted: bool
    wall_time_s: float
    steps: int
    rate_left: float | None
    validation_samples: int
    decayed_from: int  # the first epoch (0-based) whose rate had decayed (stop_from_epoch)

    @property
    def best_epoch(self) -> int | None:
        return kept_epoch(self.history.get("val_loss", []), self.decayed_from)

    def scores(self) -> dict:
        """Its kept epoch's validation loss and accuracy, and which epoch of how many it is."""
        best = self.best_epoch
        if best is None:
            return {"best_epoch": None, "best_val_loss": None, "best_val_accuracy": None, "epochs_run": 0}
        return {"best_epoch": best + 1, "best_val_loss": round(float(self.history["val_loss"][best]), 5),
                "best_val_accuracy": round(float(self.history["val_accuracy"][best]), 5),
                "epochs_run": len(self.history["val_loss"])}


def fit(data: Dataset, config: TrainConfig, out: Path, history: Path, init_from: Path | None = None,
        member: int = 0, echo: Callable[[str], None] = print) -> Fitted:
    """Fit one image model, checkpointing its best epoch to `out` and logging each epoch to
    `history` (CSV). `member` k of an ensemble starts from seed + k (its weights, shuffling
    and augmentation) on the same validation split as the others. A loss that is no longer
    a number ends the run: the epochs before it are kept, or if there are none, a UserError."""
    keras = import_keras()

    model, _, _, (x_train, y_train), (x_val, y_val) = _prepare(data, config, init_from, echo, member)
    out.parent.mkdir(parents=True, exist_ok=True)
    history.parent.mkdir(parents=True, exist_ok=True)
    steps = int(np.ceil(len(x_train) / config.batch_size))
    start = first_decayed_epoch(config, steps)
    checkpoint_callbacks, saver = _atomic_checkpoint_callbacks(out, MONITOR, start)
    train_ds, val_ds = make_datasets(x_train, y_train, x_val, y_val, config.batch_size,
                                     config.augment, config.seed + member)
    terminal = sys.stdout.isatty()  # a progress bar; in a log, one line per epoch
    diverged = keras.callbacks.TerminateOnNaN()
    callbacks = [diverged, *checkpoint_callbacks, early_stopping(config, start),
                 keras.callbacks.CSVLogger(history),
                 *([] if terminal else [_epoch_lines(config.epochs, echo)])]
    started = time.time()
    interrupted = False
    try:
        logs = model.fit(train_ds, validation_data=val_ds, epochs=config.epochs,
                         callbacks=callbacks, shuffle=False, verbose=1 if terminal else 0).history
    except KeyboardInterrupt:
        interrupted = True
        logs = _read_history(history)
        echo("\ninterrupted: keeping the best checkpoint so far")
    wall_time = time.time() - started
    if diverged_at := _first_unfinite(logs):
        if not saver.published:
            raise UserError(f"training diverged in epoch {diverged_at} (the loss is no longer a number): "
                            "nothing was written; try a lower --learning-rate")
        echo(f"training diverged in epoch {diverged_at} (the loss is no longer a number): "
             "keeping the best epoch before it")
        interrupted = True
    if not saver.published:
        raise NothingSaved("stopped before the first epoch finished: nothing was written")
    steps_run = int(model.optimizer.iterations)
    rate = learning_rate(config, steps)
    rate_left = float(rate(steps_run)) / config.learning_rate if callable(rate) else None
    return Fitted(out, logs, interrupted, wall_time, steps_run, rate_left, len(x_val), start)


def _first_unfinite(logs: dict) -> int | None:
    """The first epoch (1-based) whose training or validation loss is NaN or infinite, or
    whose logs stop short of the others (TerminateOnNaN ends an epoch without logging it)."""
    losses = [logs.get(key, []) for key in ("loss", "val_loss")]
    for epoch, values in enumerate(zip(*losses), start=1):
        if not all(math.isfinite(v) for v in values):
            return epoch
    lengths = {len(values) for values in losses}
    return max(lengths) if len(lengths) > 1 else None


def train(data: Dataset, config: TrainConfig, out: Path, init_from: Path | None = None,
          extra_sources: list[str] = (), command: str = "", config_file: str | None = None,
          pen_digits: list = (), marks: list = (), echo: Callable[[str], None] = print) -> dict:
    """Fit, and put the best epoch at `out` as a model unit (model_files) with its card,
    history, curves, fast-runtime files and, with `pen_digits` (data.pen.PenDigit), a stroke
    model that learned them too (read.trajectory), and `marks` (strokes that are no digit, which
    the data holds as an 11th class) as its 11th class; return the card.

    Everything is made in a staging folder beside `out` and installed at the end in one step,
    so a model already at `out` stays as it was until then (and if the run fails or is
    killed). Ctrl+C keeps the best epoch so far. With config.members > 1, that many models
    are fitted (from seeds seed, seed + 1, …) and saved as one (networks.ensemble: one call
    reads with all)."""
    if config.members > 1 and init_from is not None:
        raise UserError("--members trains each member from scratch: drop --init-from")
    tidy(out)
    stage = staging_dir(out)
    work, unit = stage / out.name, stage / "unit"
    try:
        unit.mkdir()
        fitted, members = _fit_all(data, config, work, unit, init_from, echo)
        card = _card(data, config, work, fitted, members, init_from, extra_sources, command, config_file)
        card["model"] = out.name
        card["sources"] = {Path(extra).name: pen_source(extra) for extra in extra_sources if pen_source(extra)}
        if len(data.class_names) == 11:
            card["not_a_digit_marks"] = len(marks)
            card["sources"]["marks"] = MARK_SOURCE
        if pen_digits and config.stroke_epochs and not card["interrupted"]:
            card["stroke_model"] = train_stroke_model(pen_digits, unit, config.stroke_epochs, seed=config.seed,
                                                      marks=marks if len(data.class_names) == 11 else (),
                                                      echo=echo)
        write_card(unit, card)
        if fitted[-1].history:
            from ..measure.plots import plot_curves

            plot_curves(fitted[-1].history, unit / CURVES)
        write_lite_files(work, unit)
        install_unit(work, unit, out)
    finally:
        shutil.rmtree(stage, ignore_errors=True)
    return card


def _fit_all(data: Dataset, config: TrainConfig, out: Path, unit: Path, init_from: Path | None,
             echo: Callable[[str], None]) -> tuple[list[Fitted], list]:
    """Fit the run's image model at `out`, or each member of an ensemble (then saved as one
    at `out`); the history goes into the companion folder `unit`. Returns what each fit did,
    and the members' models."""
    keras = import_keras()

    from .networks import ensemble

    if config.members == 1:
        return [fit(data, config, out, unit / HISTORY, init_from, echo=echo)], []
    fitted = []
    for member in range(config.members):
        echo(f"member {member + 1}/{config.members} (seed {config.seed + member})")
        folder = out.parent / "members" / f"member{member}"
        try:
            fitted.append(fit(data, config, folder / out.name, folder / HISTORY, echo=echo, member=member))
        except NothingSaved:
            if not fitted:
                raise
            fitted[-1].interrupted = True  # the run was, between members
            echo("interrupted: keeping the members fitted so far")
        if fitted[-1].interrupted:
            break
    members = [keras.models.load_model(f.path) for f in fitted]
    with replacing(out) as partial:  # the members fitted so far, as one model
        ensemble(members).save(partial)
    _write_histories([f.path.parent / HISTORY for f in fitted], unit / HISTORY)
    shutil.rmtree(out.parent / "members")
    return fitted, members


def _card(data: Dataset, config: TrainConfig, out: Path, fitted: list[Fitted], members: list,
          init_from: Path | None, extra_sources: list[str], command: str, config_file: str | None) -> dict:
    """The card of the model at `out`, scored on the data's test split."""
    keras = import_keras()

    from ..data.images import as_model_input

    x_test = as_model_input(data.x_test)
    member_scores = []  # of each member, for the card of an ensemble
    for k, (f, member) in enumerate(zip(fitted, members)):
        tested = dict(zip(("test_loss", "test_accuracy"), _evaluate(member, x_test, data.y_test))) \
            if len(x_test) else {}
        member_scores.append({"seed": config.seed + k, **f.scores(), **tested})
    best = keras.models.load_model(out)  # the card describes the file on disk
    test = {}
    if len(data.x_test):
        loss, accuracy = _evaluate(best, x_test, data.y_test)
        test = {"test_accuracy": accuracy, "test_loss": loss, "test_samples": int(len(data.x_test))}
    return model_card(
        out, best, tf_device(), **test, **_ensemble_scores(best, data, config, fitted),
        optimizer_steps=sum(f.steps for f in fitted), interrupted=any(f.interrupted for f in fitted),
        too_short_to_trust=too_short_to_trust(min(f.steps for f in fitted), fitted[0].validation_samples,
                                              max((f.rate_left for f in fitted if f.rate_left is not None),
                                                  default=None)),
        wall_time_s=round(sum(f.wall_time_s for f in fitted), 1),
        command=command, seed=config.seed, config=vars(config),
        **({"members": member_scores} if member_scores else {}),
        **({"config_file": config_file} if config_file else {}),
        **({"network": read_network(config.arch)}
           if config.arch not in ARCHITECTURES and init_from is None else {}),
        data=data.source, extra=list(extra_sources),
        train_samples=int(len(data.x_train)) - fitted[0].validation_samples,
        validation_samples=fitted[0].validation_samples,
        class_names=list(data.class_names), input_shape=list(as_model_input(data.x_train[:1]).shape[1:]))


def _evaluate(model, images: np.ndarray, labels: np.ndarray) -> tuple[float, float]:
    """(loss, accuracy) of a classifier on a labelled set, rounded for a card."""
    keras = import_keras()

    probs = model.predict(images, batch_size=512, verbose=0)
    loss = float(np.mean(keras.losses.sparse_categorical_crossentropy(labels, probs)))
    return round(loss, 5), round(float(np.mean(probs.argmax(axis=1) == labels)), 5)


def _ensemble_scores(model, data: Dataset, config: TrainConfig, fitted: list[Fitted]) -> dict:
    """The card's validation scores: the run's own, or for several members those of the
    ensemble on their shared validation split (with the epochs of the first member)."""
    if len(fitted) == 1:
        return fitted[0].scores()
    from ..data.images import as_model_input
    from .data import split_validation

    _, (x_val, y_val) = split_validation(as_model_input(data.x_train), data.y_train, config.validation_split,
                                         config.seed, data.groups)
    loss, accuracy = _evaluate(model, x_val, y_val)
    return {**fitted[0].scores(), "best_val_loss": loss, "best_val_accuracy": accuracy}


def _write_histories(paths: list[Path], out: Path) -> None:
    """The members' history.csv files as one, with a `member` column first."""
    rows = []
    for member, path in enumerate(paths):
        with open(path) as f:
            rows += [{"member": member, **row} for row in csv.DictReader(f)]
    with open(out, "w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=list(rows[0]) if rows else ["member"])
        writer.writeheader()
        writer.writerows(rows)


# ---------------------------------------------------------------- the stroke model

STROKE_PATHS = 140_000     # paths the stroke model learns from: each pen digit as written and as other
                           # hands might write it, 4 to 10 times (pendigits' 7,494 digits: 10 each)
STROKE_REPLAY = 2000       # pen paths kept beside the stroke model for teaching it
MARK_COPIES = 2            # each mark that is no digit as drawn and as one other hand might draw it


def stroke_training_set(digits: list, copies: int, rng: np.random.Generator,
                        marks: list = ()) -> tuple[np.ndarray, np.ndarray]:
    """(paths (n, PATH_POINTS, PATH_FEATURES), labels): each pen digit as written and `copies` − 1
    times as another hand might write it (augment.vary_hand, half the time vary_style, and
    vary_order); and each of `marks` (strokes that are no digit) MARK_COPIES times, labelled
    10, not a digit."""
    from ..read.trajectory import path_features
    from .augment import vary_hand, vary_order, vary_style

    paths, labels = [], []
    for digit in digits:
        paths.append(path_features(digit.strokes))
        for _ in range(copies - 1):
            styled = vary_style(digit.strokes, digit.label, rng) if rng.random() < 0.5 else digit.strokes
            paths.append(path_features(vary_order(vary_hand(styled, rng), rng)))
        labels += [int(digit.label)] * copies
    for strokes in marks:
        paths.append(path_features(strokes))
        paths += [path_features(vary_order(vary_hand(strokes, rng), rng)) for _ in range(MARK_COPIES - 1)]
        labels += [10] * MARK_COPIES
    return np.stack(paths), np.array(labels, np.int64)


def train_stroke_model(digits: list, folder: Path, epochs: int, copies: int | None = None,
                       seed: int = 42, marks: list = (), echo: Callable[[str], None] = print) -> dict:
    """Train the stroke model on pen digits (data.pen.PenDigit), and on `marks` (strokes that
    are no digit) as an 11th class when there are any, and save it, and a sample of its
    training paths to teach it with later, into a unit's companion `folder`; returns what
    the model card records of it."""
    keras = import_keras()

    from ..read.trajectory import STROKE_WEIGHT
    from .networks import build_stroke_model

    started = time.time()
    keras.utils.set_random_seed(seed)
    copies = copies or int(np.clip(STROKE_PATHS // max(len(digits), 1), 4, 10))
    paths, labels = stroke_training_set(digits, copies, np.random.default_rng(seed), marks)
    model = build_stroke_model(11 if len(marks) else 10)
    batch = 128
    steps = int(np.ceil(len(paths) / batch)) * epochs
    model.compile(optimizer=keras.optimizers.Adam(keras.optimizers.schedules.CosineDecay(3e-3, steps)),
                  loss="sparse_categorical_crossentropy", metrics=["accuracy"], jit_compile=False)
    echo(f"stroke model: {len(digits)} pen digits, {len(marks)} marks, {len(paths)} paths, {epochs} epochs")
    history = model.fit(paths, labels, batch_size=batch, epochs=epochs, shuffle=True, verbose=0,
                        callbacks=[_epoch_lines(epochs, lambda line: echo(f"stroke model {line}"))]).history
    kept = np.random.default_rng(seed).choice(len(digits), min(STROKE_REPLAY, len(digits)), replace=False) * copies
    if len(marks):  # and marks, so that a teach does not forget them
        first_mark = len(digits) * copies
        kept = np.r_[kept, first_mark + MARK_COPIES * np.random.default_rng(seed).choice(
            len(marks), min(STROKE_REPLAY // 5, len(marks)), replace=False)]
    with replacing(Path(folder) / REPLAY) as partial:
        np.savez_compressed(partial, paths=paths[kept].astype(np.float16), labels=labels[kept])
    with replacing(Path(folder) / STROKES) as partial:
        model.save(partial)
    return {"pen_digits": len(digits), "marks": len(marks), "paths": int(len(paths)), "epochs": epochs,
            "copies": copies, "final_train_accuracy": round(float(history["accuracy"][-1]), 5),
            "parameters": int(model.count_params()), "weight": STROKE_WEIGHT,
            "wall_time_s": round(time.time() - started, 1)}


def _read_history(path: Path) -> dict:
    if not path.exists():
        return {}
    with open(path) as f:
        rows = list(csv.DictReader(f))
    return {k: [float(r[k]) for r in rows] for k in (rows[0] if rows else {}) if k != "epoch"}

