"""train.py through CliRunner: the model unit a run writes, early stopping, interrupts, a loss
that diverges, extras, bad input, runs/ and publish."""

from __future__ import annotations

import csv
import errno
import os
import re
import shutil
import signal
import subprocess
import time
from pathlib import Path

import cv2
import keras
import numpy as np
import pytest

from digitboard import Recognizer
from digitboard.cli import train
from digitboard.read import model_files
from digitboard.read.model_files import companion, companions_dir, read_card
from digitboard.train import data as train_data
from digitboard.train import fit as training
from digitboard.train.augment import make_augmenter
from digitboard.train.networks import build_model

from conftest import (QUICK, ROOT, TINY_MODEL_ARGS, assert_one_line_error, class_folder, run_train, snapshot,
                      write_idx, write_image)


def history_rows(model: Path) -> list[dict]:
    with open(companion(model, model_files.HISTORY)) as f:
        return list(csv.DictReader(f))


def entries(folder: Path) -> list[str]:
    """Every file and folder under `folder` (snapshot shows files only, not an empty folder left over)."""
    return sorted(str(p.relative_to(folder)) for p in folder.rglob("*"))


class AtEpoch(keras.callbacks.Callback):
    """Does `act` (Ctrl-C, SIGTERM, weights that are no longer numbers) at the first batch of
    epoch `at_epoch` (0-based)."""

    def __init__(self, at_epoch: int, act, across_runs: bool = False):
        super().__init__()
        self.at_epoch, self.act, self.epoch, self.fired = at_epoch, act, 0, False
        self.across_runs, self.begun = across_runs, 0  # count the epochs of every run (an ensemble's members)

    def on_epoch_begin(self, epoch, logs=None):
        self.epoch = self.begun if self.across_runs else epoch
        self.begun += 1

    def on_train_batch_begin(self, batch, logs=None):
        if self.epoch == self.at_epoch and not self.fired:
            self.fired = True
            self.act(self.model)


def ctrl_c(model):
    raise KeyboardInterrupt


def sigterm(model):
    """`kill` (and the board stopping a teach): train.py must take it as Ctrl-C, not die mid-write."""
    assert signal.getsignal(signal.SIGTERM) not in (signal.SIG_DFL, signal.SIG_IGN, None), \
        "SIGTERM is not handled: it would kill the run (and this test session)"
    os.kill(os.getpid(), signal.SIGTERM)
    time.sleep(5)  # the handler raises in here
    raise AssertionError("SIGTERM did not stop the run")


def poison(model):
    """Every weight NaN: the loss is no longer a number from this batch on."""
    for weight in model.trainable_weights:
        weight.assign(np.full(weight.shape, np.nan, weight.dtype))


@pytest.fixture
def at_epoch(monkeypatch):
    """at_epoch(epoch, act=ctrl_c, across_runs=False) → the callback that train() will run right
    after its checkpoint ones."""

    def install(epoch: int, act=ctrl_c, across_runs: bool = False) -> AtEpoch:
        callback = AtEpoch(epoch, act, across_runs)
        real = training._atomic_checkpoint_callbacks

        def with_callback(*args):
            callbacks, publisher = real(*args)
            return [*callbacks, callback], publisher

        monkeypatch.setattr(training, "_atomic_checkpoint_callbacks", with_callback)
        return callback

    return install


@pytest.fixture
def no_data_loaded(monkeypatch):
    """Fails the run if train.py gets as far as loading its data."""

    def refuse(*args, **kwargs):
        raise AssertionError("the data was loaded")

    monkeypatch.setattr(train_data, "load_training_data", refuse)


# ---------------------------------------------------------------- a normal run


@pytest.mark.parametrize("shape", [(130, 28, 28, 1), (3, 40, 32, 3)])
def test_the_augmenter_moves_each_image_and_keeps_its_ink(shape):
    import tensorflow as tf

    images = np.zeros(shape, np.float32)
    height, width = shape[1:3]
    images[:, height // 4:3 * height // 4, width // 2 - 2:width // 2 + 2] = 255.0  # a bar in the middle
    varied, labels = make_augmenter(0, (height, width))(tf.constant(images), tf.range(shape[0]))
    varied = varied.numpy()
    assert varied.shape == images.shape and varied.dtype == np.float32
    assert varied.min() >= 0 and varied.max() <= 255 and list(labels.numpy()) == list(range(shape[0]))
    assert not np.any(np.all(varied == images, axis=(1, 2, 3)))  # every image changes…
    mass = varied.sum(axis=(1, 2, 3)) / images.sum(axis=(1, 2, 3))
    assert np.all((mass > 0.5) & (mass < 2.0))  # … and keeps about its ink


def test_one_epoch_run_writes_a_model_unit(tiny_model, mnist):
    """The model, and beside it one folder named for its content: card, history, curves and
    the fast runtime's flatbuffer (no stroke model without pen data)."""
    folder = tiny_model.parent
    card = read_card(tiny_model)
    model = keras.models.load_model(tiny_model)
    assert card["class_names"][:10] == [str(d) for d in range(10)]  # and "not a digit", trained with marks
    assert model.input_shape == (None, 28, 28, 1) and model.output_shape == (None, len(card["class_names"]))
    companions = companions_dir(tiny_model)
    assert companions.name == f"tiny.{model_files.model_tag(tiny_model)}" and len(companions.suffix) == 13
    assert sorted(p.name for p in folder.iterdir()) == sorted(["tiny.keras", companions.name])
    inside = {p.name for p in companions.iterdir()}
    assert {model_files.CARD, model_files.HISTORY, model_files.CURVES, model_files.LITE} <= inside
    assert not inside & {model_files.STROKES, model_files.REPLAY, model_files.STROKES_LITE}  # no pen data

    rows = history_rows(tiny_model)
    assert len(rows) == 1 and {"accuracy", "loss", "val_accuracy", "val_loss"} <= rows[0].keys()
    curves = cv2.imread(str(companion(tiny_model, model_files.CURVES)))
    assert curves is not None and curves.shape[0] > 200 and curves.shape[1] > 400

    assert card["model"] == "tiny.keras"
    assert card["epochs_run"] == 1 and card["best_epoch"] == 1 and card["interrupted"] is False
    assert card["command"] == "python train.py " + " ".join([*TINY_MODEL_ARGS, "--out", str(tiny_model)])
    assert card["seed"] == 0 and card["config"]["arch"] == "small"
    assert 1000 <= card["train_samples"] + card["validation_samples"] <= 1200  # with its marks
    assert card["input_shape"] == [28, 28, 1]
    assert set(card["versions"]) >= {"python", "tensorflow", "keras", "numpy", "opencv"}
    assert card["versions"]["keras"] == keras.__version__
    assert card["device"] == "CPU" or card["device"].startswith("GPU")
    assert card["size_bytes"] == tiny_model.stat().st_size
    assert card["best_val_accuracy"] == pytest.approx(float(rows[0]["val_accuracy"]), abs=1e-5)
    # the card describes the file on disk, measured on the official test set
    assert card["test_samples"] == 10000
    loss, accuracy = model.evaluate(mnist.x_test[..., None], mnist.y_test, batch_size=1000, verbose=0)
    assert card["test_accuracy"] == pytest.approx(accuracy, abs=1e-4)
    assert card["test_loss"] == pytest.approx(loss, abs=1e-3)
    assert card["test_accuracy"] > 0.5  # it learned something in its one epoch


def test_a_one_epoch_run_on_1000_images_scores_well_above_chance(plain_run):
    card = read_card(plain_run[1])
    assert card["config"]["arch"] == "cnn" and card["epochs_run"] == 1
    assert card["test_samples"] == 10000
    assert card["test_accuracy"] >= 0.5  # chance is 0.1; measured 0.86-0.87


def test_a_tiny_run_says_it_is_too_short_to_trust_in_its_last_line_and_card(plain_run):
    output, card = plain_run[0].stdout, read_card(plain_run[1])
    # 1000 images and the marks that are no digit among them; 5 % validate, the rest train
    # at the auto batch size of 16: 68 steps
    images = card["train_samples"] + card["validation_samples"]
    assert 1000 <= images <= 1200 and card["validation_samples"] == round(0.05 * images)
    steps = -(-card["train_samples"] // 16)
    assert card["optimizer_steps"] == steps
    assert card["too_short_to_trust"] == \
        f"{steps} optimizer steps (under 500), {card['validation_samples']} validation images (under 500)"
    last = output.splitlines()[-1]
    assert last.startswith("best epoch 1/1: ") and last.endswith(f"; too short to trust: {card['too_short_to_trust']}")


def test_too_short_to_trust_names_every_reason_and_none_for_a_long_enough_run():
    assert training.too_short_to_trust(7134, 3000, 0.01) is None  # python train.py: 16 epochs of 446 steps
    assert training.too_short_to_trust(500, 500) is None          # a constant rate never decays
    assert training.too_short_to_trust(499, 3000, 0.01) == "499 optimizer steps (under 500)"
    assert training.too_short_to_trust(7134, 300, 0.01) == "300 validation images (under 500)"
    assert training.too_short_to_trust(2000, 3000, 0.65) == "ended with the learning rate at 65% of its peak"


@pytest.fixture(scope="module")
def class_run(tmp_path_factory) -> tuple[str, Path, Path, Path]:
    """A 3-epoch run without --out on a class folder of shapes (circle, cross, line), through
    CliRunner (no terminal), the too-short-to-trust thresholds lowered, as a run long enough for
    the real ones takes minutes: (its output, its model, its data, the runs/ folder it went to)."""
    folder = tmp_path_factory.mktemp("class_run")
    data = class_folder(folder / "shapes", classes=("circle", "cross", "line"), n_train=6, n_test=2)
    runs = folder / "runs"
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(training, "MIN_STEPS", 1)
        patch.setattr(training, "MIN_VALIDATION", 1)
        patch.setattr(train, "RUNS_DIR", runs)
        result = run_train("--data", data, *QUICK, "--epochs", 3)
    assert result.exit_code == 0, result.output
    [run] = runs.iterdir()
    return result.output, run / "best.keras", data, runs


def test_without_a_terminal_the_log_has_one_line_per_epoch_and_a_long_run_no_warning(class_run):
    output, out, _, _ = class_run
    assert "\r" not in output and "\b" not in output  # no progress bar
    lines = output.splitlines()
    epochs = [line for line in lines if "val_loss" in line]
    assert [line.split(" - ")[0] for line in epochs] == ["epoch 1/3", "epoch 2/3", "epoch 3/3"]
    assert lines[0].startswith("training on ") and lines[1:-1] == epochs
    assert lines[-1].startswith("best epoch ") and "too short" not in output
    assert read_card(out)["too_short_to_trust"] is None


def test_class_folder_run_keeps_class_names(class_run):
    output, out, data, _ = class_run
    assert f"→ {out}" in output.splitlines()[-1]  # the one-line summary
    card = read_card(out)
    assert card["class_names"] == ["circle", "cross", "line"]
    assert card["test_samples"] == 6 and card["data"] == str(data)
    assert keras.models.load_model(out).output_shape == (None, 3)


def test_idx_run_without_a_test_split(make_idx_dir, tmp_path):
    data, _ = make_idx_dir(n_train=20, n_test=0, size=16, gz=True)
    out = tmp_path / "idx.keras"
    result = run_train("--data", data, *QUICK, "--out", out)
    assert result.exit_code == 0, result.output
    assert "no test set" in result.output
    card = read_card(out)
    assert "test_accuracy" not in card and card["input_shape"] == [16, 16, 1]
    assert keras.models.load_model(out).input_shape == (None, 16, 16, 1)


@pytest.mark.parametrize("schedule", ["constant", "cosine"])
def test_early_stopping_stops_after_patience_epochs(make_class_folder, tmp_path, schedule):
    # a learning rate this small leaves validation loss exactly flat after epoch 1
    data = make_class_folder(n_train=6, n_test=0)
    out = tmp_path / "es.keras"
    result = run_train("--data", data, "--arch", "small", "--epochs", 20, "--patience", 2,
                       "--learning-rate", 1e-9, "--validation-split", 0.25, "--no-augment",
                       "--schedule", schedule, "--out", out)
    assert result.exit_code == 0, result.output
    card = read_card(out)
    # a constant rate may stop at once; a decaying one only once it has fallen to 30 % of its peak
    start = training.stop_from_epoch(training.learning_rate(training.TrainConfig(
        **card["config"]), steps_per_epoch=1), 1, 20)
    assert start == 0 if schedule == "constant" else 10 <= start <= 15
    # the loss is flat, so the first epoch counted is kept: none before the rate has decayed
    assert card["epochs_run"] == start + 3 and card["best_epoch"] == start + 1
    assert len(history_rows(out)) == start + 3


def test_the_epoch_kept_is_the_lowest_loss_once_the_rate_has_decayed(tmp_path):
    model = keras.Sequential([keras.Input((1,)), keras.layers.Dense(1)])
    out = tmp_path / "kept.keras"
    [saver], _ = training._atomic_checkpoint_callbacks(out, "val_loss", decayed_from=2)
    saver.set_model(model)
    losses = [0.10, 0.05, 0.20, 0.30, 0.15, 0.16]  # a dip at epoch 1, before the rate has decayed
    saved = []
    for epoch, loss in enumerate(losses):
        model.layers[0].bias.assign([float(epoch)])  # marks which epoch a saved model is
        saver.on_epoch_end(epoch, {"val_loss": loss})
        saved.append(int(keras.models.load_model(out).layers[0].bias.numpy()[0]))
    assert saved == [0, 1, 2, 2, 4, 4]  # the dip is kept only until the decayed epochs begin
    assert training.kept_epoch(losses, decayed_from=2) == 4
    assert training.kept_epoch(losses[:2], decayed_from=2) == 1  # a run stopped before the decay
    assert training.kept_epoch([], decayed_from=2) is None


def test_an_epoch_whose_loss_is_not_a_number_is_never_kept(tmp_path):
    nan, inf = float("nan"), float("inf")
    assert training.kept_epoch([0.3, nan, 0.2, inf], decayed_from=0) == 2
    assert training.kept_epoch([nan, 0.4, 0.5], decayed_from=0) == 1
    assert training.kept_epoch([0.3, 0.2, nan, nan], decayed_from=2) == 1  # every decayed epoch diverged
    assert training.kept_epoch([nan, inf, -inf], decayed_from=0) is None
    # nor saved over the epoch kept before it
    model = keras.Sequential([keras.Input((1,)), keras.layers.Dense(1)])
    out = tmp_path / "kept.keras"
    [saver], _ = training._atomic_checkpoint_callbacks(out, "val_loss", decayed_from=0)
    saver.set_model(model)
    for epoch, loss in enumerate([0.3, nan, inf]):
        model.layers[0].bias.assign([float(epoch)])
        saver.on_epoch_end(epoch, {"val_loss": loss})
    assert keras.models.load_model(out).layers[0].bias.numpy()[0] == 0


def test_fine_tuning_in_place(tiny_model, tmp_path):
    model = tmp_path / "mine.keras"
    shutil.copy(tiny_model, model)
    before = keras.models.load_model(model).get_weights()
    result = run_train("--init-from", model, "--limit", 64, *QUICK, "--out", model)
    assert result.exit_code == 0, result.output
    after = keras.models.load_model(model).get_weights()
    assert [w.shape for w in after] == [w.shape for w in before]
    assert any(not np.array_equal(a, b) for a, b in zip(after, before))
    assert read_card(model)["model"] == "mine.keras"


# ---------------------------------------------------------------- extra data


def test_extra_class_folder_and_unipen_are_mixed_in(make_class_folder, make_unipen, tmp_path):
    data = make_class_folder(classes=("0", "1", "7"), n_train=4, n_test=1)
    for i in range(5):  # the board saves drawings of one digit, say a user's 7s
        write_image(tmp_path / "drawn" / "7" / f"{i}.png", np.eye(28, dtype=np.uint8)[::-1] * 255)
    pen = make_unipen()
    out = tmp_path / "extra.keras"
    result = run_train("--data", data, "--extra", tmp_path / "drawn", "--extra", pen,
                       "--extra-repeat", 2, *QUICK, "--out", out)
    assert result.exit_code == 0, result.output
    assert f"extra: 10 images from {tmp_path / 'drawn'} (2 per sample)" in result.output
    assert f"extra: 6 images from {pen} (2 per sample)" in result.output
    card = read_card(out)
    assert card["extra"] == [str(tmp_path / "drawn"), str(pen)]
    assert card["train_samples"] + card["validation_samples"] == 12 + 2 * (5 + 3)


# ---------------------------------------------------------------- interrupts


def test_interrupt_after_the_first_checkpoint_replaces_the_unit_with_it(make_class_folder, previous_run, at_epoch):
    out = previous_run
    old_companions = companions_dir(out)
    theirs = {name: (out.parent / name).read_bytes() for name in ("best.json", "grid.csv")}
    interrupter = at_epoch(1)
    data = make_class_folder(n_train=6, n_test=1)
    result = run_train("--data", data, *QUICK, "--epochs", 3, "--out", out)
    assert interrupter.fired
    assert result.exit_code == 0, result.output
    assert "interrupted: keeping the best checkpoint so far" in result.output
    model = keras.models.load_model(out)  # the first epoch's checkpoint, whole
    assert model.output_shape == (None, 3)
    card = read_card(out)
    assert card["interrupted"] is True and card["epochs_run"] == 1 and card["model"] == "best.keras"
    assert "ended with the learning rate at " in card["too_short_to_trust"]  # stopped before it decayed
    assert len(history_rows(out)) == 1
    # the new unit replaced the old one whole (its stroke model too); the user's files stay
    assert not old_companions.exists() and companion(out, model_files.STROKES) is None
    assert {name: (out.parent / name).read_bytes() for name in theirs} == theirs
    assert [p for p in entries(out.parent) if "/" not in p] == sorted(
        ["best.keras", companions_dir(out).name, "best.json", "grid.csv"])


@pytest.mark.parametrize("act", [ctrl_c, sigterm], ids=["ctrl-c", "sigterm"])
def test_interrupt_before_the_first_checkpoint_overwrites_nothing(make_class_folder, previous_run, at_epoch, act):
    before, listed = snapshot(previous_run.parent), entries(previous_run.parent)
    handler = signal.getsignal(signal.SIGTERM)
    interrupter = at_epoch(0, act)
    result = run_train("--data", make_class_folder(), *QUICK, "--out", previous_run)
    assert interrupter.fired
    assert result.exit_code == 2
    assert "Error: stopped before the first epoch finished: nothing was written" in result.output
    assert snapshot(previous_run.parent) == before and entries(previous_run.parent) == listed
    assert signal.getsignal(signal.SIGTERM) == handler  # put back as it was


def test_an_interrupted_ensemble_keeps_the_members_fitted_so_far(make_class_folder, previous_run, at_epoch):
    interrupter = at_epoch(2, across_runs=True)  # the second member's first epoch (each runs two)
    result = run_train("--data", make_class_folder(n_train=6, n_test=1), *QUICK, "--epochs", 2,
                       "--members", 3, "--out", previous_run)
    assert interrupter.fired and result.exit_code == 0, result.output
    assert "interrupted: keeping the members fitted so far" in result.output
    card = read_card(previous_run)
    assert card["interrupted"] is True and len(card["members"]) == 1
    assert keras.models.load_model(previous_run).output_shape == (None, 3)
    assert not [p for p in previous_run.parent.iterdir() if "members" in p.name or ".partial" in p.name]


# ---------------------------------------------------------------- a loss that is no longer a number


def test_a_loss_that_is_nan_from_the_start_is_one_line_and_writes_nothing(
        make_class_folder, previous_run, at_epoch):
    # (NaN pixels would not do: ReLU turns NaN into 0, and the loss stays a number)
    poisoned = at_epoch(0, poison)
    before, listed = snapshot(previous_run.parent), entries(previous_run.parent)
    result = run_train("--data", make_class_folder(), *QUICK, "--epochs", 3, "--out", previous_run)
    assert poisoned.fired and result.output.startswith("training on ")
    assert result.output.splitlines()[-1].startswith("Error: training diverged in epoch 1 ")
    assert result.exit_code == 2 and "nothing was written" in result.output
    assert snapshot(previous_run.parent) == before and entries(previous_run.parent) == listed


def test_a_loss_that_turns_nan_keeps_the_epochs_before_it(make_class_folder, tmp_path, at_epoch):
    poisoned = at_epoch(1, poison)
    out = tmp_path / "diverged.keras"
    result = run_train("--data", make_class_folder(n_train=6, n_test=1), *QUICK, "--epochs", 3, "--out", out)
    assert poisoned.fired and result.exit_code == 0, result.output
    assert "training diverged in epoch 2 (the loss is no longer a number): keeping the best epoch before it" \
        in result.output
    card = read_card(out)
    assert card["best_epoch"] == 1 and card["interrupted"] is True and np.isfinite(card["best_val_loss"])
    assert all(np.isfinite(w).all() for w in keras.models.load_model(out).get_weights())


# ---------------------------------------------------------------- ensembles


def test_members_are_trained_apart_and_read_as_one_model(mnist, tmp_path):
    out = tmp_path / "ensemble.keras"
    result = run_train("--limit", 400, "--arch", "small", "--epochs", 1, "--members", 2, "--out", out)
    assert result.exit_code == 0, result.output
    assert "member 2/2 (seed 43)" in result.output and "2 members, best epochs 1/1, 1/1" in result.output
    card = read_card(out)
    assert [m["seed"] for m in card["members"]] == [42, 43] and card["config"]["members"] == 2
    assert all(0 <= m["test_accuracy"] <= 1 and m["test_loss"] > 0 and m["best_epoch"] == 1 for m in card["members"])
    assert len(history_rows(out)) == 2  # one epoch of each member
    model = keras.models.load_model(out)
    members = [layer for layer in model.layers if hasattr(layer, "layers")]
    assert len(members) == 2
    images = mnist.x_test[:64, :, :, None].astype("float32")
    assert np.allclose(model.predict(images, verbose=0),
                       np.mean([m.predict(images, verbose=0) for m in members], axis=0), atol=1e-5)
    recognizer = Recognizer.load(out)
    canvas = np.zeros((300, 300), np.uint8)
    canvas[50:250, 50:250] = cv2.resize(mnist.x_test[0], (200, 200))
    [reading] = recognizer.read(canvas)
    assert reading.probs == pytest.approx(recognizer.classify(reading.image[None])[0])
    assert not list(tmp_path.glob("*members*")) and not list(tmp_path.glob("*.partial*"))


def test_members_with_init_from_is_one_line(tiny_model, tmp_path):
    result = run_train("--init-from", tiny_model, "--members", 2, "--limit", 100, "--out", tmp_path / "x.keras")
    assert_one_line_error(result, "--members trains each member from scratch: drop --init-from")


# ---------------------------------------------------------------- bad input


def _one_class(tmp, make_class_folder, make_unipen):
    return ["--data", make_class_folder(classes=("3",))]


def _empty(tmp, make_class_folder, make_unipen):
    (tmp / "empty").mkdir()
    return ["--data", tmp / "empty"]


def _unreadable(tmp, make_class_folder, make_unipen):
    for label in ("0", "1"):
        (tmp / "junk" / label).mkdir(parents=True)
        (tmp / "junk" / label / "x.png").write_text("not a png")
    return ["--data", tmp / "junk"]


def _idx_wrong_magic(tmp, make_class_folder, make_unipen):
    write_idx(tmp / "train-images-idx3-ubyte", np.zeros((4, 28, 28)), magic=0x0803 + 1)
    write_idx(tmp / "train-labels-idx1-ubyte", np.zeros(4))
    return ["--data", tmp]


def _idx_counts(tmp, make_class_folder, make_unipen):
    write_idx(tmp / "train-images-idx3-ubyte.gz", np.zeros((4, 28, 28)))
    write_idx(tmp / "train-labels-idx1-ubyte.gz", np.zeros(5))
    return ["--data", tmp]


def _idx_corrupt_gzip(tmp, make_class_folder, make_unipen):
    write_idx(tmp / "train-images-idx3-ubyte.gz", np.zeros((4, 28, 28)))
    (tmp / "train-labels-idx1-ubyte.gz").write_bytes(b"\x1f\x8b\x08\x00" + bytes(20))
    return ["--data", tmp]


def _wrong_input_shape(tmp, make_class_folder, make_unipen):
    build_model("small", (32, 32, 1), 3).save(tmp / "big.keras")
    return ["--data", make_class_folder(), "--init-from", tmp / "big.keras"]


def _wrong_class_count(tmp, make_class_folder, make_unipen):
    build_model("small", (28, 28, 1), 10).save(tmp / "ten.keras")
    return ["--data", make_class_folder(), "--init-from", tmp / "ten.keras"]


def _not_a_model(tmp, make_class_folder, make_unipen):
    (tmp / "fake.keras").write_bytes(b"not a zip")
    return ["--data", make_class_folder(), "--init-from", tmp / "fake.keras"]


def _extra_unknown_class(tmp, make_class_folder, make_unipen):
    write_image(tmp / "drawn" / "4" / "a.png", np.zeros((28, 28), np.uint8))
    return ["--data", make_class_folder(), "--extra", tmp / "drawn"]


def _extra_bad_unipen(tmp, make_class_folder, make_unipen):
    (tmp / "pen.txt").write_text('.SEGMENT DIGIT 0 ? "7"\n.PEN_DOWN\n 1 2\n')
    return ["--data", make_class_folder(), "--extra", tmp / "pen.txt"]


def _extra_other_size(tmp, make_class_folder, make_unipen):
    write_idx(tmp / "train-images-idx3-ubyte", np.zeros((4, 16, 16)))
    write_idx(tmp / "train-labels-idx1-ubyte", np.arange(4) % 2)
    return ["--data", tmp, "--extra", make_unipen(digits=[("1", [[(0, 0), (0, 9)]])])]


BAD_INPUTS = {
    "missing path": (lambda tmp, *_: ["--data", tmp / "nowhere"], "data path does not exist"),
    "empty folder": (_empty, "data folder is empty"),
    "one class": (_one_class, "needs at least 2 class folders, found 1"),
    "only unreadable files": (_unreadable, "no readable images"),
    "IDX wrong magic": (_idx_wrong_magic, "wrong IDX magic number 2052, expected 2051"),
    "IDX mismatched counts": (_idx_counts, "4 train images but 5 labels"),
    "IDX corrupt gzip": (_idx_corrupt_gzip, "cannot read"),
    "limit 1": (lambda tmp, mcf, _: ["--data", mcf(), "--limit", 1], "nothing to train on"),
    "init-from missing": (lambda tmp, *_: ["--init-from", tmp / "no.keras"], "no.keras: no such file"),
    "init-from a folder": (lambda tmp, *_: ["--init-from", tmp], "--init-from: File '"),
    "init-from wrong input shape": (_wrong_input_shape, "model takes (32, 32, 1) → 3 classes, "
                                                        "but the data is (28, 28, 1) → 3 classes"),
    "init-from wrong class count": (_wrong_class_count, "→ 10 classes, but the data is"),
    "init-from not a model": (_not_a_model, "--init-from: not a Keras model: "),
    "extra missing": (lambda tmp, mcf, _: ["--data", mcf(), "--extra", tmp / "no"],
                      "inputs/no: no such file or folder"),
    "extra a device": (lambda tmp, mcf, _: ["--data", mcf(), "--extra", "/dev/null"],
                       "--extra /dev/null: not a file or folder (a device or a pipe)"),
    "extra unknown class": (_extra_unknown_class, "classes ['4'] are not among"),
    "extra bad UNIPEN": (_extra_bad_unipen, "ends inside a stroke"),
    "extra other image size": (_extra_other_size, "images are (28, 28), but the data's are (16, 16)"),
}


@pytest.mark.parametrize("case", BAD_INPUTS)
def test_bad_input_is_one_clear_line_exit_2_and_overwrites_nothing(
        case, tmp_path, make_class_folder, make_unipen, previous_run):
    make_args, message = BAD_INPUTS[case]
    inputs = tmp_path / "inputs"
    inputs.mkdir()
    args = make_args(inputs, make_class_folder, make_unipen)
    before, listed = snapshot(previous_run.parent), entries(previous_run.parent)
    result = run_train(*args, *QUICK, "--out", previous_run)
    assert_one_line_error(result, message)
    assert snapshot(previous_run.parent) == before and entries(previous_run.parent) == listed


def test_a_bad_option_value_shows_the_usage(previous_run):
    """A value click itself refuses (out of range, not a number) is a mistake in the command
    line: the usage block comes with the error."""
    before = snapshot(previous_run.parent)
    result = run_train("--limit", 0, *QUICK, "--out", previous_run)
    assert result.exit_code == 2, result.output
    assert result.output.startswith("Usage: ") and "--help" in result.output
    assert result.output.rstrip().endswith(
        "Error: Invalid value for '--limit': 0 is not in the range 1<=x<=1000000000.")
    assert snapshot(previous_run.parent) == before


@pytest.mark.parametrize("name", ["model", "model.h5.txt"])
def test_out_must_be_a_keras_file(make_class_folder, tmp_path, name):
    result = run_train("--data", make_class_folder(), *QUICK, "--out", tmp_path / "models" / name)
    assert_one_line_error(result, f"Error: --out {tmp_path / 'models' / name}: the model file must end in .keras")
    assert not (tmp_path / "models").exists()


# Values no run can use, each on the command line and in a config file (JSON, as Python reads
# it: NaN, Infinity and integers of any size).
OUT_OF_RANGE = [("seed", "-1", "-1"), ("seed", "4294967296", "4294967296"), ("seed", "1e23", "1e23"),
                ("epochs", "99999999999999999999", "99999999999999999999"),
                ("batch-size", "99999999999999999999", "99999999999999999999"),
                ("decay-steps", "99999999999999999999", "99999999999999999999"),
                ("extra-repeat", "99999999999999999999", "99999999999999999999"),
                ("learning-rate", "nan", "NaN"), ("learning-rate", "inf", "Infinity"),
                ("learning-rate", "0", "0"), ("learning-rate", "100", "100"),
                ("decay-rate", "-inf", "-Infinity"), ("dropout", "nan", "NaN"), ("momentum", "nan", "NaN"),
                ("validation-split", "inf", "Infinity"), ("limit", "0", "0")]


@pytest.mark.parametrize("option, value, in_json", OUT_OF_RANGE, ids=[f"{o}={v}" for o, v, _ in OUT_OF_RANGE])
def test_a_number_out_of_range_is_refused_before_any_work(option, value, in_json, tmp_path, no_data_loaded):
    out = tmp_path / "m.keras"
    # on the command line: click's usage block, then one line naming the option; no traceback
    result = run_train(f"--{option}", value, "--out", out)
    assert result.exit_code == 2 and "Traceback" not in result.output, result.output
    assert result.output.startswith("Usage: ") and f"\nError: Invalid value for '--{option}': " in result.output
    assert result.output.endswith("\n") and result.output.count("Error") == 1, result.output
    # in a config file: one line naming the file and the option
    config = tmp_path / "bad.json"
    config.write_text(f'{{"{option.replace("-", "_")}": {in_json}}}')
    result = run_train("--config", config, "--out", out)
    assert_one_line_error(result, f"Error: {config}: ")
    assert f"'--{option}'" in result.output or f"'{option.replace('-', '_')}'" in result.output
    assert not tmp_path.joinpath("m.keras").exists() and entries(tmp_path) == ["bad.json"]


def test_nan_in_a_toml_config_is_refused(tmp_path, no_data_loaded):
    config = tmp_path / "bad.toml"
    config.write_text("learning_rate = nan\n")
    assert_one_line_error(run_train("--config", config, "--out", tmp_path / "m.keras"),
                          f"{config}: Invalid value for '--learning-rate': nan is not a finite number")


def _a_file_as_folder(tmp: Path):
    (tmp / "README.md").write_text("not a folder")
    return tmp / "README.md" / "x.keras", "cannot make its folder"


def _a_folder(tmp: Path):
    (tmp / "models").mkdir()
    return tmp / "models", "the model file must end in .keras"


def _a_folder_named_like_a_model(tmp: Path):
    (tmp / "m.keras").mkdir()
    return tmp / "m.keras", f"is a folder; name the model file, e.g. {tmp / 'm.keras' / 'best.keras'}"


def _read_only(tmp: Path):
    (tmp / "locked").mkdir()
    (tmp / "locked").chmod(0o555)
    return tmp / "locked" / "m.keras", "cannot write in"


@pytest.mark.parametrize("make", [_a_file_as_folder, _a_folder, _a_folder_named_like_a_model, pytest.param(
    _read_only, marks=pytest.mark.skipif(os.geteuid() == 0, reason="root writes in read-only folders"))])
def test_an_out_that_cannot_be_written_is_one_line_before_the_data_loads(make, tmp_path, no_data_loaded):
    out, message = make(tmp_path)
    before = snapshot(tmp_path)
    assert_one_line_error(run_train("--out", out), message)
    assert snapshot(tmp_path) == before


def test_a_full_disk_while_the_unit_is_written_is_one_line_and_leaves_the_old_unit(
        make_class_folder, previous_run, monkeypatch):
    def full(*args):
        raise OSError(errno.ENOSPC, "No space left on device", str(previous_run.parent / "x.tflite"))

    monkeypatch.setattr(training, "write_lite_files", full)  # after the checkpoint, card and curves
    before, listed = snapshot(previous_run.parent), entries(previous_run.parent)
    result = run_train("--data", make_class_folder(), *QUICK, "--out", previous_run)
    assert result.exit_code == 2 and "Traceback" not in result.output, result.output
    assert result.output.splitlines()[-1].startswith(
        f"Error: cannot write the model {previous_run}: No space left on device")
    assert snapshot(previous_run.parent) == before and entries(previous_run.parent) == listed


# ---------------------------------------------------------------- a model unit beside other files


def test_a_run_touches_only_its_unit_and_sweeps_what_crashed_runs_left(make_class_folder, tmp_path):
    """`--config models/convnet.toml --out models/convnet.keras` once wrote its card over
    convnet.json, the network that run had just read; and every killed run left its partial
    files for good."""
    models = tmp_path / "models"
    models.mkdir()
    for name in ("convnet.toml", "convnet.json"):
        shutil.copy(ROOT / "models" / name, models / name)
    ended = subprocess.Popen(["true"])
    ended.wait()  # a process that has ended: partials with its pid are a crashed run's
    left = [models / f"convnet.partial-{ended.pid}-0123abcd.keras",  # a checkpoint half-written
            models / f"convnet.partial-{ended.pid}-89abcdef",         # a staging folder
            models / "convnet.0123456789ab"]                          # the companions of no model
    left[0].write_bytes(b"half a model")
    for folder in left[1:]:
        (folder / "unit").mkdir(parents=True)
        (folder / "unit" / model_files.CARD).write_text("{}")
    (models / f"convnet.partial-{os.getppid()}-0123abcd.keras").write_bytes(b"another run's, being written")
    (models / "convnet.notes").mkdir()  # not a companion folder
    before = snapshot(models)
    out = models / "convnet.keras"
    result = run_train("--config", models / "convnet.toml", "--data", make_class_folder(),
                       "--epochs", 1, "--batch-size", 8, "--no-augment", "--out", out)
    assert result.exit_code == 0, result.output
    card = read_card(out)
    assert card["config"]["arch"] == str(models / "convnet.json") and card["network"]
    assert not [path for path in left if path.exists()]
    theirs = {key: value for key, value in before.items() if not key.startswith(tuple(p.name for p in left))}
    after = snapshot(models)
    assert {key: after.get(key) for key in theirs} == theirs  # convnet.json above all
    assert sorted(p.name for p in models.iterdir()) == sorted(
        ["convnet.toml", "convnet.json", f"convnet.partial-{os.getppid()}-0123abcd.keras", "convnet.notes",
         "convnet.keras", companions_dir(out).name])


# ---------------------------------------------------------------- runs/ and publish


def test_without_out_a_run_goes_to_a_new_folder_under_runs(class_run):
    output, _, _, runs = class_run
    [run] = runs.iterdir()
    assert re.fullmatch(r"\d{8}-\d{6}", run.name)
    model = run / "best.keras"
    assert output.splitlines()[-1].endswith(f"→ {model}")  # the summary names where it went
    assert sorted(p.name for p in run.iterdir()) == sorted(["best.keras", companions_dir(model).name])
    assert read_card(model)["model"] == "best.keras"


def test_runs_started_in_the_same_second_get_folders_of_their_own(tmp_path, monkeypatch):
    monkeypatch.setattr(train, "RUNS_DIR", tmp_path / "runs")
    monkeypatch.setattr(time, "strftime", lambda *_: "20260102-030405")
    assert [train.new_run_folder().name for _ in range(3)] == \
        ["20260102-030405", "20260102-030405-2", "20260102-030405-3"]


def run_publish(*args):
    return run_train("publish", *args)


def test_publish_copies_the_unit_over_the_one_there(tiny_model, previous_run):
    source = snapshot(tiny_model.parent)
    old_companions = companions_dir(previous_run)
    result = run_publish(tiny_model, "--to", previous_run)
    assert result.exit_code == 0, result.output
    assert result.output == f"published {tiny_model} → {previous_run}\n"
    assert previous_run.read_bytes() == tiny_model.read_bytes()
    assert snapshot(companions_dir(previous_run)) == snapshot(companions_dir(tiny_model))
    assert not old_companions.exists() and read_card(previous_run) == read_card(tiny_model)
    assert sorted(p.name for p in previous_run.parent.iterdir()) == sorted(
        ["best.keras", companions_dir(previous_run).name, "best.json", "grid.csv"])
    assert snapshot(tiny_model.parent) == source  # the run stays as it was
    recognizer = Recognizer.load(previous_run)
    assert recognizer.classify(np.zeros((1, 28, 28), np.uint8)).shape == (1, recognizer.classes)


def test_publish_refuses_a_model_without_a_card(tiny_model, previous_run, tmp_path):
    bare = tmp_path / "bare.keras"
    shutil.copy(tiny_model, bare)  # the model alone: its companions stay with the original
    before = snapshot(previous_run.parent)
    assert_one_line_error(run_publish(bare, "--to", previous_run),
                          f"{bare} has no card: publish a model that train.py finished")
    assert_one_line_error(run_publish(previous_run, "--to", previous_run), "is already at")
    assert_one_line_error(run_train("--epochs", 3, "publish", tiny_model, "--to", previous_run),
                          "--epochs is for training: `train.py publish` has options of its own")
    assert snapshot(previous_run.parent) == before


def test_a_publish_that_fails_half_way_leaves_the_unit_there_whole(tiny_model, previous_run, monkeypatch):
    real = shutil.copyfile

    def full_at_the_model(source, dest, **kwargs):  # the companions fit; the model does not
        if Path(source) == tiny_model:
            raise OSError(errno.ENOSPC, "No space left on device")
        return real(source, dest, **kwargs)

    monkeypatch.setattr(shutil, "copyfile", full_at_the_model)
    before = snapshot(previous_run.parent)
    assert_one_line_error(run_publish(tiny_model, "--to", previous_run), "No space left on device")
    assert snapshot(previous_run.parent) == before
    assert not list(previous_run.parent.glob("*.partial*"))
