"""train.py through CliRunner: what a run writes, early stopping, interrupts, extras, bad input."""

from __future__ import annotations

import csv
import json
import shutil
from pathlib import Path

import cv2
import keras
import numpy as np
import pytest

from digitboard import Recognizer
from digitboard.train import fit as training
from digitboard.train.augment import make_augmenter
from digitboard.train.networks import build_model

from conftest import (QUICK, TINY_MODEL_ARGS, assert_one_line_error, run_train, snapshot, write_idx,
                      write_image)


def history_rows(folder: Path) -> list[dict]:
    with open(folder / "history.csv") as f:
        return list(csv.DictReader(f))


class Interrupt(keras.callbacks.Callback):
    """Raises KeyboardInterrupt (as Ctrl-C would) at the first batch of epoch `at_epoch` (0-based)."""

    def __init__(self, at_epoch: int, across_runs: bool = False):
        super().__init__()
        self.at_epoch, self.epoch, self.fired = at_epoch, 0, False
        self.across_runs, self.begun = across_runs, 0  # count the epochs of every run (an ensemble's members)

    def on_epoch_begin(self, epoch, logs=None):
        self.epoch = self.begun if self.across_runs else epoch
        self.begun += 1

    def on_train_batch_begin(self, batch, logs=None):
        if self.epoch == self.at_epoch:
            self.fired = True
            raise KeyboardInterrupt


@pytest.fixture
def interrupt_at(monkeypatch):
    """interrupt_at(epoch, across_runs=False) → the callback that train() will run right after
    its checkpoint ones."""

    def install(epoch: int, across_runs: bool = False) -> Interrupt:
        interrupter = Interrupt(epoch, across_runs)
        real = training._atomic_checkpoint_callbacks

        def with_interrupt(*args):
            callbacks, publisher = real(*args)
            return [*callbacks, interrupter], publisher

        monkeypatch.setattr(training, "_atomic_checkpoint_callbacks", with_interrupt)
        return interrupter

    return install


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


def test_one_epoch_run_writes_model_history_curves_and_card(tiny_model, mnist):
    folder = tiny_model.parent
    model = keras.models.load_model(tiny_model)
    assert model.input_shape == (None, 28, 28, 1) and model.output_shape == (None, 10)

    rows = history_rows(folder)
    assert len(rows) == 1 and {"accuracy", "loss", "val_accuracy", "val_loss"} <= rows[0].keys()
    curves = cv2.imread(str(folder / "curves.png"))
    assert curves is not None and curves.shape[0] > 200 and curves.shape[1] > 400
    assert not list(folder.glob("*.partial*"))

    card = json.loads((folder / "tiny.json").read_text())
    assert card["model"] == "tiny.keras"
    assert card["epochs_run"] == 1 and card["best_epoch"] == 1 and card["interrupted"] is False
    assert card["command"] == "python train.py " + " ".join([*TINY_MODEL_ARGS, "--out", str(tiny_model)])
    assert card["seed"] == 0 and card["config"]["arch"] == "small"
    assert card["train_samples"] + card["validation_samples"] == 1000
    assert card["class_names"] == [str(d) for d in range(10)] and card["input_shape"] == [28, 28, 1]
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


@pytest.fixture(scope="module")
def quick_run(tmp_path_factory, mnist):
    """`train.py --limit 1000 --epochs 1` as a user would type it (the default cnn and recipe,
    real MNIST): (its output, its card). About 20 s on a 2-core CPU."""
    out = tmp_path_factory.mktemp("quick") / "best.keras"
    result = run_train("--limit", 1000, "--epochs", 1, "--out", out)
    assert result.exit_code == 0, result.output
    return result.output, json.loads(out.with_suffix(".json").read_text())


def test_a_one_epoch_run_on_1000_images_scores_well_above_chance(quick_run):
    _, card = quick_run
    assert card["config"]["arch"] == "cnn" and card["epochs_run"] == 1
    assert card["test_samples"] == 10000
    assert card["test_accuracy"] >= 0.5  # chance is 0.1; measured 0.86-0.87


def test_a_tiny_run_says_it_is_too_short_to_trust_in_its_last_line_and_card(quick_run):
    output, card = quick_run
    # 950 training images at the auto batch size of 16: 60 steps; 5 % of 1000 validate
    assert card["optimizer_steps"] == 60 and card["validation_samples"] == 50
    assert card["too_short_to_trust"] == "60 optimizer steps (under 500), 50 validation images (under 500)"
    last = output.splitlines()[-1]
    assert last.startswith("best epoch 1/1: ") and last.endswith(f"; too short to trust: {card['too_short_to_trust']}")


def test_too_short_to_trust_names_every_reason_and_none_for_a_long_enough_run():
    assert training.too_short_to_trust(7134, 3000, 0.01) is None  # python train.py: 16 epochs of 446 steps
    assert training.too_short_to_trust(500, 500) is None          # a constant rate never decays
    assert training.too_short_to_trust(499, 3000, 0.01) == "499 optimizer steps (under 500)"
    assert training.too_short_to_trust(7134, 300, 0.01) == "300 validation images (under 500)"
    assert training.too_short_to_trust(2000, 3000, 0.65) == "ended with the learning rate at 65% of its peak"


def test_a_long_enough_run_has_no_warning_in_its_last_line_or_card(make_class_folder, tmp_path, monkeypatch):
    # the thresholds lowered, as a run long enough for the real ones takes minutes
    monkeypatch.setattr(training, "MIN_STEPS", 1)
    monkeypatch.setattr(training, "MIN_VALIDATION", 1)
    out = tmp_path / "long.keras"
    result = run_train("--data", make_class_folder(), *QUICK, "--out", out)
    assert result.exit_code == 0, result.output
    assert "too short" not in result.output
    assert json.loads(out.with_suffix(".json").read_text())["too_short_to_trust"] is None


def test_without_a_terminal_the_log_has_one_line_per_epoch(make_class_folder, tmp_path):
    out = tmp_path / "log.keras"
    result = run_train("--data", make_class_folder(), *QUICK, "--epochs", 3, "--out", out)  # CliRunner: no TTY
    assert result.exit_code == 0, result.output
    assert "\r" not in result.output and "\b" not in result.output  # no progress bar
    lines = result.output.splitlines()
    epochs = [line for line in lines if "val_loss" in line]
    assert [line.split(" - ")[0] for line in epochs] == ["epoch 1/3", "epoch 2/3", "epoch 3/3"]
    assert lines[0].startswith("training on ") and lines[1:-1] == epochs
    assert lines[-1].startswith("best epoch ")


def test_class_folder_run_keeps_class_names(make_class_folder, tmp_path):
    data = make_class_folder(classes=("circle", "cross", "line"), n_train=6, n_test=2)
    out = tmp_path / "run" / "shapes.keras"
    result = run_train("--data", data, *QUICK, "--out", out)
    assert result.exit_code == 0, result.output
    assert f"→ {out}" in result.output.splitlines()[-1]  # the one-line summary
    card = json.loads(out.with_suffix(".json").read_text())
    assert card["class_names"] == ["circle", "cross", "line"]
    assert card["test_samples"] == 6 and card["data"] == str(data)
    assert keras.models.load_model(out).output_shape == (None, 3)


def test_idx_run_without_a_test_split(make_idx_dir, tmp_path):
    data, _ = make_idx_dir(n_train=20, n_test=0, size=16, gz=True)
    out = tmp_path / "idx.keras"
    result = run_train("--data", data, *QUICK, "--out", out)
    assert result.exit_code == 0, result.output
    assert "no test set" in result.output
    card = json.loads(out.with_suffix(".json").read_text())
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
    card = json.loads(out.with_suffix(".json").read_text())
    # a constant rate may stop at once; a decaying one only once it has fallen to 30 % of its peak
    start = training.stop_from_epoch(training.learning_rate(training.TrainConfig(
        **card["config"]), steps_per_epoch=1), 1, 20)
    assert start == 0 if schedule == "constant" else 10 <= start <= 15
    # the loss is flat, so the first epoch counted is kept: none before the rate has decayed
    assert card["epochs_run"] == start + 3 and card["best_epoch"] == start + 1
    assert len(history_rows(tmp_path)) == start + 3


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


def test_fine_tuning_in_place(tiny_model, tmp_path):
    model = tmp_path / "mine.keras"
    shutil.copy(tiny_model, model)
    before = keras.models.load_model(model).get_weights()
    result = run_train("--init-from", model, "--limit", 64, *QUICK, "--out", model)
    assert result.exit_code == 0, result.output
    after = keras.models.load_model(model).get_weights()
    assert [w.shape for w in after] == [w.shape for w in before]
    assert any(not np.array_equal(a, b) for a, b in zip(after, before))


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
    card = json.loads(out.with_suffix(".json").read_text())
    assert card["extra"] == [str(tmp_path / "drawn"), str(pen)]
    assert card["train_samples"] + card["validation_samples"] == 12 + 2 * (5 + 3)


# ---------------------------------------------------------------- interrupts


def test_interrupt_after_the_first_checkpoint_leaves_a_loadable_model(
        make_class_folder, previous_run, interrupt_at):
    out = previous_run
    interrupter = interrupt_at(1)
    data = make_class_folder(n_train=6, n_test=1)
    result = run_train("--data", data, *QUICK, "--epochs", 3, "--out", out)
    assert interrupter.fired
    assert result.exit_code == 0, result.output
    assert "interrupted: keeping the best checkpoint so far" in result.output
    model = keras.models.load_model(out)  # the first epoch's checkpoint, whole
    assert model.output_shape == (None, 3)
    card = json.loads(out.with_suffix(".json").read_text())
    assert card["interrupted"] is True and card["epochs_run"] == 1
    assert "ended with the learning rate at " in card["too_short_to_trust"]  # stopped before it decayed
    assert len(history_rows(out.parent)) == 1
    assert not list(out.parent.glob("*.partial*"))


def test_interrupt_before_the_first_checkpoint_overwrites_nothing(
        make_class_folder, previous_run, interrupt_at):
    before = snapshot(previous_run.parent)
    interrupter = interrupt_at(0)
    result = run_train("--data", make_class_folder(), *QUICK, "--out", previous_run)
    assert interrupter.fired
    assert result.exit_code == 2
    assert "Error: stopped before the first epoch finished: nothing was written" in result.output
    assert snapshot(previous_run.parent) == before


def test_an_interrupted_ensemble_keeps_the_members_fitted_so_far(make_class_folder, previous_run, interrupt_at):
    interrupter = interrupt_at(2, across_runs=True)  # the second member's first epoch (each runs two)
    result = run_train("--data", make_class_folder(n_train=6, n_test=1), *QUICK, "--epochs", 2,
                       "--members", 3, "--out", previous_run)
    assert interrupter.fired and result.exit_code == 0, result.output
    assert "interrupted: keeping the members fitted so far" in result.output
    card = json.loads(previous_run.with_suffix(".json").read_text())
    assert card["interrupted"] is True and len(card["members"]) == 1
    assert keras.models.load_model(previous_run).output_shape == (None, 3)
    assert not [p for p in previous_run.parent.iterdir() if "members" in p.name or ".partial" in p.name]


# ---------------------------------------------------------------- ensembles


def test_members_are_trained_apart_and_read_as_one_model(mnist, tmp_path):
    out = tmp_path / "ensemble.keras"
    result = run_train("--limit", 400, "--arch", "small", "--epochs", 1, "--members", 2, "--out", out)
    assert result.exit_code == 0, result.output
    assert "member 2/2 (seed 43)" in result.output and "2 members, best epochs 1/1, 1/1" in result.output
    card = json.loads(out.with_suffix(".json").read_text())
    assert [m["seed"] for m in card["members"]] == [42, 43] and card["config"]["members"] == 2
    assert all(0 <= m["test_accuracy"] <= 1 and m["test_loss"] > 0 and m["best_epoch"] == 1 for m in card["members"])
    assert len(history_rows(tmp_path)) == 2  # one epoch of each member
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
    assert not list(tmp_path.glob("*members*"))


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
    "init-from not a model": (_not_a_model, "cannot load the model"),
    "extra missing": (lambda tmp, mcf, _: ["--data", mcf(), "--extra", tmp / "no"],
                      "inputs/no: no such file or folder"),
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
    before = snapshot(previous_run.parent)
    result = run_train(*args, *QUICK, "--out", previous_run)
    assert_one_line_error(result, message)
    assert snapshot(previous_run.parent) == before


def test_a_bad_option_value_shows_the_usage(previous_run):
    """A value click itself refuses (out of range, not a number) is a mistake in the command
    line: the usage block comes with the error."""
    before = snapshot(previous_run.parent)
    result = run_train("--limit", 0, *QUICK, "--out", previous_run)
    assert result.exit_code == 2, result.output
    assert result.output.startswith("Usage: ") and "--help" in result.output
    assert result.output.rstrip().endswith("Error: Invalid value for '--limit': 0 is not in the range x>=1.")
    assert snapshot(previous_run.parent) == before


@pytest.mark.parametrize("name", ["model", "model.h5.txt"])
def test_out_must_be_a_keras_file(make_class_folder, tmp_path, name):
    result = run_train("--data", make_class_folder(), *QUICK, "--out", tmp_path / "models" / name)
    assert_one_line_error(result, f"Error: --out {tmp_path / 'models' / name}: the model file must end in .keras")
    assert not (tmp_path / "models").exists()
