"""Teaching a model one person's handwriting from a few dozen of their labelled drawings.

A few hundred drawings are lost among 60,000 MNIST digits in a normal training run, so
the recipe is made for them: every batch is half the person's drawings (oversampled, each
copy augmented anew) and half a replay of MNIST training digits, so that nothing already
known is forgotten; a few hundred steps at a low learning rate, with the normalisation
statistics frozen (they were settled on far more data than a person draws). A share of
each digit's drawings is held back to say how much better the new model reads them. A taught
image model that reads a check sample of the base data worse than the base did is not kept:
one writer's 8s can look like MNIST's 1s, and the stroke model tells those apart anyway.

Where the base model has a stroke model (trajectory.py) and the drawings their strokes (the
board saves them beside each image), the stroke model is taught the same way: the person's
pen paths, each copy written anew by another hand, against a replay of the base's pen digits.
"""

from __future__ import annotations

import shutil
import time
import weakref
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import numpy as np

from ..common.errors import UserError
from ..common.files import partial_name
from ..common.quiet import import_keras, import_tensorflow
from ..data.drawings import Drawings

STEPS = 200               # optimizer steps of one teach
BATCH = 32                # images a step: half the person's, half replayed MNIST
PEAK_RATE = 3e-4          # Adam; decays to nothing over the steps
PERSON_SHARE = 0.5        # of each batch: the person's drawings; the rest replays the base data
SURE = 0.9                # a model reading every drawing right at least this surely is not taught
HOLD_BACK = 0.2           # of each digit's drawings (when it has 5 or more), to measure on
PROGRESS_EVERY = 25       # steps between progress lines
STEPS_AT_ONCE = 5         # optimizer steps in one call from Python (PROGRESS_EVERY is a multiple)
WRITTEN_ANEW = 8          # copies of each of the person's pen paths, each written anew by another hand
BASE_CHECK = 3000         # base digits kept out of the replay, read before and after a teach…
FORGET_TOLERANCE = 0.002  # …the taught image model is kept only if it reads no more of them wrong than this share


MARK_REPLAY = 1000  # marks that are no digit replayed to a model that can say so
PEN_REPLAY = 2000  # pen digits of the base model's own training data replayed, when it has them


@dataclass
class Replay:
    """What a teach replays so that the base model forgets nothing (replay_data)."""

    images: np.ndarray        # (n, 28, 28) uint8
    labels: np.ndarray
    description: str
    check_images: np.ndarray  # base digits kept out of the replay, read before and after a teach
    check_labels: np.ndarray


def replay_data(base: Path, mnist, seed: int = 0) -> Replay:
    """What a teach replays so that the base model forgets nothing: MNIST's training digits,
    and a sample of the pen files its card says it was trained on (when they are here). Up to
    BASE_CHECK MNIST digits are kept out of it to check a teach on: those the base model was
    validated on and never trained on, when its card says which (unseen_by_base), else a
    random sample."""
    from ..common.paths import ROOT
    from ..data.pen import read_unipen
    from ..read.model_files import read_card
    from .augment import drawn_anew, pen_renderings
    from .data import plausible
    from .marks import negatives

    card = read_card(base)
    rng = np.random.default_rng(seed)
    pen_files = [Path(extra) if Path(extra).is_absolute() else ROOT / extra for extra in card.get("extra", [])]
    pen = [[d for d in read_unipen(path) if plausible(d)] if path.is_file() else None for path in pen_files]
    marks = card.get("not_a_digit_marks", 0)
    unseen = None if None in pen else unseen_by_base(card, len(mnist.y_train), sum(map(len, pen)), marks)
    check = rng.permutation(unseen if unseen is not None else np.arange(len(mnist.y_train)))[:BASE_CHECK]
    kept = np.setdiff1d(np.arange(len(mnist.y_train)), check)
    images, labels = [mnist.x_train[kept]], [mnist.y_train[kept]]
    sources = [f"MNIST train ({len(kept)}; {len(check)} more kept out to check on, "
               f"{'never' if unseen is not None else 'also'} trained on by the base)"]
    for path, digits in zip(pen_files, pen):
        if digits is None:
            continue
        chosen = [digits[i] for i in rng.choice(len(digits), min(PEN_REPLAY, len(digits)), replace=False)]
        images.append(np.stack([pen_renderings(d.strokes, 1, rng, d.label)[0] for d in chosen]))
        labels.append(np.array([int(d.label) for d in chosen], np.int64))
        sources.append(f"{path.name} ({len(chosen)} drawn)")
    if len(card.get("class_names", [])) == 11:  # and marks that are no digit, lest it forget them
        made = negatives(MARK_REPLAY, rng, [d for digits in pen if digits for d in digits])
        images.append(np.stack([drawn_anew(strokes, rng) for _, strokes in made]))
        labels.append(np.full(len(made), 10, np.int64))
        sources.append(f"{len(made)} marks that are not digits")
    return Replay(np.concatenate(images), np.concatenate(labels), ", ".join(sources),
                  mnist.x_train[check], mnist.y_train[check])


def unseen_by_base(card: dict, n_mnist: int, n_pen: int, n_marks: int = 0) -> np.ndarray | None:
    """The MNIST training digits a base model was validated on and never trained on: its
    card's validation split made again (training.py splits by group: each MNIST digit, then
    each pen digit, all copies of one on the same side, then each mark that is no digit). None
    when the card does not say
    enough, or the split made again does not give its card's validation_samples."""
    config = card.get("config") or {}
    if not {"seed", "validation_split"} <= config.keys() or "validation_samples" not in card:
        return None
    groups = n_mnist + n_pen + n_marks
    held = np.random.default_rng(config["seed"]).permutation(np.arange(groups))[
        :max(1, int(round(groups * config["validation_split"])))]
    mnist_held = np.sort(held[held < n_mnist])
    pen_held = int(np.sum((held >= n_mnist) & (held < n_mnist + n_pen)))
    marks_held = int(np.sum(held >= n_mnist + n_pen))
    copies = card["validation_samples"] - len(mnist_held) - marks_held  # pen digits: `extra_repeat` each
    fits = copies == 0 if pen_held == 0 else copies > 0 and copies % pen_held == 0
    return mnist_held if fits else None


def hold_back(labels: np.ndarray, fraction: float = HOLD_BACK) -> tuple[np.ndarray, np.ndarray]:
    """(taught, held back) indices: the newest `fraction` of each digit that has 5 or more
    drawings is held back; digits with fewer are all taught."""
    taught, held = [], []
    for digit in np.unique(labels):
        where = np.flatnonzero(labels == digit)
        keep = int(len(where) * fraction) if len(where) >= 5 else 0
        taught.extend(where[:len(where) - keep])
        held.extend(where[len(where) - keep:])
    return np.array(sorted(taught), np.int64), np.array(sorted(held), np.int64)


def teaching_batches(person: tuple[np.ndarray, np.ndarray], replay: tuple[np.ndarray, np.ndarray],
                     steps: int, batch: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """steps × batch images, each batch half the person's drawings (drawn with replacement)
    and half replayed base digits, in an order the batches keep."""
    rng = np.random.default_rng(seed)
    half = int(batch * PERSON_SHARE)
    mine = rng.integers(0, len(person[0]), (steps, half))
    theirs = rng.integers(0, len(replay[0]), (steps, batch - half))
    images = np.concatenate([person[0][mine], replay[0][theirs]], axis=1)
    labels = np.concatenate([person[1][mine], replay[1][theirs]], axis=1)
    return images.reshape(-1, *images.shape[2:]), labels.reshape(-1)


def reading_probs(model, images: np.ndarray, stroke_model=None, strokes=None) -> np.ndarray:
    """(n, 10) probabilities of `images` as read() reads them: by the image model, and where
    there is a stroke model and an image has its strokes, by both combined."""
    from ..data.images import as_model_input
    from ..read.trajectory import combine, path_features

    probs = _called(model, as_model_input(images))
    drawn = [i for i, s in enumerate(strokes or []) if s is not None]
    if stroke_model is not None and drawn:
        paths = np.stack([path_features(strokes[i]) for i in drawn])
        probs[drawn] = combine(probs[drawn], _called(stroke_model, paths))
    return probs


def _called(model, inputs: np.ndarray, batch: int = 512) -> np.ndarray:
    """The model's outputs for `inputs`, in batches, through one concrete function a model
    (recognizer.compiled_call on TensorFlow): model.predict would trace itself anew after each
    compile and for each new last-batch size (~7 s of a teach, with retracing warnings), while
    the concrete function reads the model's variables, so a model taught in place needs none."""
    from ..read.lite import compiled_call

    if not len(inputs):
        return np.zeros((0, model.output_shape[-1]), np.float32)
    if model not in _CALLS:
        _CALLS[model] = compiled_call(model, on_cpu=False)
    call = _CALLS[model]
    return np.concatenate([call(inputs[i:i + batch].astype(np.float32)) for i in range(0, len(inputs), batch)])


_CALLS: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()  # model → its concrete call (_called)


def accuracy(model, images: np.ndarray, labels: np.ndarray, stroke_model=None, strokes=None) -> float | None:
    """Share of `images` read right, as read() reads them (reading_probs)."""
    if len(images) == 0:
        return None
    return round(float(np.mean(reading_probs(model, images, stroke_model, strokes).argmax(axis=1) == labels)), 5)


def personalise(base: Path, drawings: Drawings, out: Path, replay, test=None, steps: int = STEPS,
                seed: int = 42, command: str = "", on_step: Callable[[int, int], None] = lambda step, steps: None,
                echo: Callable[[str], None] = print) -> dict:
    """Teach the model at `base` the person's `drawings`, replaying `replay` (replay_data) of
    the base data, and save it atomically at `out` with its card; `test` (images, labels),
    e.g. MNIST's test set, is scored after. The base's stroke model, when it has one, is
    taught the drawings' strokes (`out`'s stroke model), or kept as it is when they have none.
    `on_step(step, steps)` hears of every PROGRESS_EVERY optimizer steps, `echo` of what
    happened. Returns the card."""
    keras = import_keras()

    from ..read.lite import write_lite_files
    from ..read.model_files import (REPLAY, STROKES, companion, install_unit, load_model_file, model_card,
                                    staging_dir, tf_device, tidy, write_card)
    from .fit import check_init_model

    started = time.time()
    keras.utils.set_random_seed(seed)
    model = load_model_file(base)
    check_init_model(model, (28, 28, 1), 11 if model.output_shape[-1] == 11 else 10, base)
    taught, held = hold_back(drawings.labels)
    held_images, held_labels = drawings.images[held], drawings.labels[held]
    held_strokes = [drawings.strokes[i] for i in held] if drawings.strokes else None
    base_strokes = companion(base, STROKES)
    stroke_model = load_model_file(base_strokes) if base_strokes else None
    before = accuracy(model, held_images, held_labels, stroke_model, held_strokes)

    # A model that reads every drawing surely right already is left as it is: teaching it
    # could only pull it towards one person's style (a writer's thin slanted 8s, taught, made
    # MNIST's 1s read as 8: 98.9 % on its test set instead of 99.5 %). Otherwise it learns
    # them all: the ones it reads right keep it from bending to the few it does not (taught
    # those alone, 300 steps on one drawing left a writer's other digits at 89 %).
    strokes = [drawings.strokes[i] for i in taught] if drawings.strokes else None
    sureness = reading_probs(model, drawings.images[taught], stroke_model, strokes)[
        np.arange(len(taught)), drawings.labels[taught]]
    unsure = int(np.sum(sureness < SURE))
    base_check = None
    if unsure:
        base_check = {"digits": int(len(replay.check_labels)),
                      "before": accuracy(model, replay.check_images, replay.check_labels)}
        base_weights = model.get_weights()  # the model is trained in place
        teach_image_model(model, (drawings.images[taught], drawings.labels[taught]), replay, steps, seed, on_step)
        base_check["after"] = accuracy(model, replay.check_images, replay.check_labels)
        base_check["image_model"] = "taught" if base_check["after"] >= base_check["before"] - FORGET_TOLERANCE else "base"
        if base_check["image_model"] == "base":
            echo(f"taught, the image model read {base_check['after']:.2%} of {base_check['digits']} base digits "
                     f"(before: {base_check['before']:.2%}): keeping it as it was")
            model.set_weights(base_weights)
    else:
        echo(f"{_drawings(len(taught))} read surely right already: nothing to teach")
    person_strokes = [(drawings.strokes[i], int(drawings.labels[i])) for i in taught
                      if unsure and drawings.strokes and drawings.strokes[i] is not None]
    tidy(out)
    stage, saved = staging_dir(out), out.parent / partial_name(out.stem, out.suffix)
    try:
        strokes_card = None
        if stroke_model is not None and person_strokes:
            strokes_card = teach_stroke_model(stroke_model, companion(base, REPLAY), person_strokes,
                                              stage / STROKES, steps, seed)
        elif base_strokes is not None:  # nothing to teach it: read with the base's as it is
            shutil.copyfile(base_strokes, stage / STROKES)
            strokes_card = {"base": str(base), "taught_on": 0}
        if companion(base, REPLAY) is not None:  # what a teach of this model would replay
            shutil.copyfile(companion(base, REPLAY), stage / REPLAY)
        after = accuracy(model, held_images, held_labels, stroke_model, held_strokes)
        test_accuracy = accuracy(model, *test) if test is not None else None
        model.save(saved)
        card = model_card(
            saved, model, tf_device(), kind="personal", base_model=str(base), drawings=drawings.source,
            drawings_used=int(len(drawings.labels)), drawings_per_digit=drawings.counts(),
            skipped_files=drawings.skipped, taught_on=int(len(taught)) if unsure else 0, read_unsurely=unsure,
            held_back=int(len(held)),
            held_back_accuracy_before=before, held_back_accuracy_after=after, base_check=base_check,
            **({"test_accuracy": test_accuracy, "test_samples": int(len(test[1]))} if test is not None else {}),
            recipe={"steps": steps if unsure else 0, "batch": BATCH, "person_share": PERSON_SHARE,
                    "taught": f"all, unless every drawing is read right at least {SURE:.0%} surely",
                    "peak_learning_rate": PEAK_RATE, "forget_tolerance": FORGET_TOLERANCE,
                    "stroke_copies_each": WRITTEN_ANEW,
                    "schedule": "cosine to 0", "batch_norm": "frozen", "augment": True,
                    "replay": replay.description},
            **({"stroke_model": strokes_card} if strokes_card else {}),
            seed=seed, command=command, wall_time_s=round(time.time() - started, 1))
        card["model"] = out.name
        write_card(stage, card)
        write_lite_files(saved, stage)
        install_unit(saved, stage, out)
    except OSError as err:
        raise UserError(f"cannot write {out}: {err.strerror or err}") from None
    finally:
        saved.unlink(missing_ok=True)
        shutil.rmtree(stage, ignore_errors=True)
    return card


def teach_image_model(model, person: tuple[np.ndarray, np.ndarray], replay: Replay, steps: int, seed: int,
                      on_step: Callable[[int, int], None]) -> None:
    """Teach an image model in place the person's (images, labels): `steps` batches of BATCH,
    PERSON_SHARE of each the person's drawings and the rest `replay`'s, every copy augmented
    anew; Adam decaying from PEAK_RATE to nothing, normalisation statistics frozen (settled on
    far more data than a few dozen drawings). Calls `on_step(i, steps)` as it goes."""
    tf = import_tensorflow()

    from .augment import make_augmenter

    images, labels = teaching_batches(person, (replay.images, replay.labels), steps, BATCH, seed)
    batches = (tf.data.Dataset.from_tensor_slices((images[..., None], labels)).batch(BATCH)
               .map(make_augmenter(seed), num_parallel_calls=tf.data.AUTOTUNE)
               .prefetch(tf.data.AUTOTUNE))
    _compile_for_teaching(model, steps)
    model.fit(batches, epochs=1, verbose=0, shuffle=False, callbacks=[_progress(steps, on_step)])


def teach_stroke_model(model, replay: Path | None, person: list[tuple[list, int]], out: Path, steps: int,
                       seed: int) -> dict:
    """Teach a stroke model one person's pen digits, (strokes, label) pairs, as
    teach_image_model teaches the image model: batches of the person's paths, each written
    anew by another hand WRITTEN_ANEW times (augment.vary_hand, vary_order), and of the
    `replay` paths of its own training (teaching_batches), when it has them. Saves it at
    `out` and returns what the card records."""
    from ..read.trajectory import path_features
    from .augment import vary_hand, vary_order

    rng = np.random.default_rng(seed)
    per_step = int(BATCH * PERSON_SHARE)  # the person's paths in a batch
    written = rng.integers(0, len(person), min(steps * per_step, len(person) * WRITTEN_ANEW))
    mine = (np.stack([path_features(vary_order(vary_hand(person[i][0], rng), rng)) for i in written]),
            np.array([person[i][1] for i in written], np.int64))
    if replay is not None:
        with np.load(replay) as kept:
            paths, labels = teaching_batches(mine, (kept["paths"].astype(np.float32), kept["labels"]),
                                             steps, BATCH, seed)
    else:  # nothing of the base's to replay: the person's paths alone, as many a step
        pick = rng.integers(0, len(written), steps * per_step)
        paths, labels = mine[0][pick], mine[1][pick]
    _compile_for_teaching(model, steps)
    model.fit(paths, labels, batch_size=len(labels) // steps, epochs=1, shuffle=False, verbose=0)
    model.save(out)
    return {"taught_on": len(person), "replayed": replay is not None}


def _compile_for_teaching(model, steps: int) -> None:
    """Normalisation statistics frozen (settled on far more data than a person draws); Adam
    decaying from PEAK_RATE to nothing over `steps`, STEPS_AT_ONCE steps a call."""
    keras = import_keras()

    from .networks import all_layers

    for layer in all_layers(model):
        if isinstance(layer, keras.layers.BatchNormalization):
            layer.trainable = False
    rate = keras.optimizers.schedules.CosineDecay(PEAK_RATE, decay_steps=steps, alpha=0.0)
    model.compile(optimizer=keras.optimizers.Adam(rate), loss="sparse_categorical_crossentropy",
                  jit_compile=False, steps_per_execution=STEPS_AT_ONCE)


def _progress(steps: int, on_step: Callable[[int, int], None]):
    """A Keras callback calling `on_step(i, steps)` every PROGRESS_EVERY steps and at the end."""
    keras = import_keras()

    class Progress(keras.callbacks.Callback):
        def on_train_batch_end(self, batch, logs=None):
            if (batch + 1) % PROGRESS_EVERY == 0 or batch + 1 == steps:
                on_step(batch + 1, steps)

    return Progress()


def _drawings(count: int) -> str:
    return "the one drawing is" if count == 1 else f"all {count} drawings are"
