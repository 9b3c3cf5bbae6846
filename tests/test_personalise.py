"""Teaching a personal model: `train.py --personalise`, its bad inputs, and the board's T."""

from __future__ import annotations

import json
import shutil
import time
from pathlib import Path

import keras
import numpy as np
import pygame
import pytest

from digitboard.board import loop as board
from digitboard.board.loop import BoardOptions
from digitboard.board.state import new_board
from digitboard.train.teach import hold_back, STEPS, unseen_by_base
from digitboard.read.recognizer import load_recognizer
from digitboard.data.pen import PenDigit, stroke_json
from digitboard.board.teacher import start_teacher, stop_teacher
from digitboard.train.fit import train_stroke_model
from digitboard.read.model_files import replay_path, stroke_model_path

from conftest import PEN_DIGITS, assert_one_line_error, run_train, snapshot, write_image


def make_drawings(folder: Path, mnist, digits=(0, 1, 7), per_digit: int = 6, strokes: dict | None = None) -> Path:
    """A person's drawings as the board saves them: DIR/<digit>/<stamp>.png, with the board's
    extras one folder down (the image of the strokes alone, which the loader must leave alone,
    and with `strokes` {digit: its strokes}, strokes.json)."""
    for digit in digits:
        images = mnist.x_test[mnist.y_test == digit][:per_digit]
        for i, image in enumerate(images):
            write_image(folder / str(digit) / f"s{i}.png", image)
            write_image(folder / str(digit) / f"s{i}" / "canvas.png", np.zeros((30, 40), np.uint8))
            if strokes and digit in strokes:
                wobbled = [s + i for s in strokes[digit]]  # each drawing a little different
                (folder / str(digit) / f"s{i}" / "strokes.json").write_text(
                    stroke_json([PenDigit(str(digit), wobbled)], (400, 300)))
    return folder


@pytest.fixture
def tiny_with_strokes(tmp_path, tiny_model) -> Path:
    """The tiny model with a stroke model beside it (2 epochs on the pen 0, 1 and 7), named in its card."""
    folder = tmp_path / "base"
    folder.mkdir()
    model = folder / "tiny.keras"
    shutil.copy(tiny_model, model)
    card = json.loads(tiny_model.with_suffix(".json").read_text())
    digits = [PenDigit(label, [np.array(s, np.float64) * (1, -1) for s in strokes]) for label, strokes in PEN_DIGITS]
    card["stroke_model"] = train_stroke_model(digits * 4, stroke_model_path(model), epochs=2, copies=2)
    model.with_suffix(".json").write_text(json.dumps(card))
    return model


def test_the_newest_fifth_of_each_digit_is_held_back():
    labels = np.array([0] * 5 + [1] * 10 + [2] * 3)
    taught, held = hold_back(labels)
    assert held.tolist() == [4, 13, 14] and len(taught) == 15  # 2s: too few to hold any back


def test_the_base_models_validation_digits_are_found_again_from_its_card():
    card = {"config": {"seed": 42, "validation_split": 0.05}, "validation_samples": 4179}  # the shipped model's
    unseen = unseen_by_base(card, 60000, 7494)  # 3,375 groups held out: 2,973 MNIST digits, 402 pen digits × 3
    assert len(unseen) == 2973 and unseen.max() < 60000 and np.all(np.diff(unseen) > 0)
    assert unseen_by_base({**card, "validation_samples": 4180}, 60000, 7494) is None  # not the split it was
    assert unseen_by_base({"validation_samples": 4179}, 60000, 7494) is None  # a card without its config


def test_teaching_writes_the_personal_model_and_its_card(tmp_path, tiny_model, mnist):
    drawn = make_drawings(tmp_path / "drawn", mnist)
    (drawn / "1" / "broken.png").write_bytes(b"not a png")
    out = tmp_path / "models" / "mine.keras"
    result = run_train("--personalise", drawn, "--init-from", tiny_model, "--out", out)
    assert result.exit_code == 0, result.output
    lines = result.output.strip().splitlines()
    assert "skipped 1 unreadable: 1/broken.png" in lines[0]
    assert f"step {STEPS}/{STEPS}" in result.output and lines[-1].startswith("taught in ")
    card = json.loads(out.with_suffix(".json").read_text())
    assert card["kind"] == "personal" and card["base_model"] == str(tiny_model)
    assert card["drawings_used"] == 18 and card["drawings_per_digit"] == {"0": 6, "1": 6, "7": 6}
    assert card["held_back"] == 3 and card["taught_on"] == 15 and card["skipped_files"] == ["1/broken.png"]
    assert 0 <= card["held_back_accuracy_before"] <= 1 and 0 <= card["held_back_accuracy_after"] <= 1
    assert card["test_samples"] == 10000 and card["test_accuracy"] > 0.5  # the tiny model still reads MNIST
    assert load_recognizer(out).read(np.pad(mnist.x_test[0], 20))  # a working model


def test_the_stroke_model_is_taught_the_drawings_strokes(tmp_path, tiny_with_strokes, mnist):
    pen = {int(label): [np.array(s, np.float64) * (1, -1) + (100, 400) for s in strokes] for label, strokes in PEN_DIGITS}
    drawn = make_drawings(tmp_path / "drawn", mnist, strokes=pen)
    (drawn / "7" / "s5" / "strokes.json").write_text("{not json")  # its image still teaches
    out = tmp_path / "models" / "mine.keras"
    result = run_train("--personalise", drawn, "--init-from", tiny_with_strokes, "--out", out)
    assert result.exit_code == 0, result.output
    card = json.loads(out.with_suffix(".json").read_text())
    assert card["skipped_files"] == ["7/s5/strokes.json"] and card["taught_on"] == 15
    taught = card["stroke_model"]
    assert taught["file"] == "mine.strokes.keras" and taught["taught_on"] == 15  # s5, held back, has none
    assert taught["replayed"] == replay_path(stroke_model_path(tiny_with_strokes)).name
    before = keras.models.load_model(stroke_model_path(tiny_with_strokes))
    after = keras.models.load_model(stroke_model_path(out))
    assert not np.allclose(before.layers[-1].get_weights()[0], after.layers[-1].get_weights()[0])
    recognizer = load_recognizer(out)
    assert recognizer.stroke_model is not None


def test_a_model_that_reads_every_drawing_surely_is_left_as_it_is(tmp_path, shipped, mnist):
    drawn = make_drawings(tmp_path / "drawn", mnist, per_digit=5)
    out = tmp_path / "mine.keras"
    result = run_train("--personalise", drawn, "--init-from", shipped.path, "--out", out)
    assert result.exit_code == 0, result.output
    assert "all 12 drawings are read surely right already: nothing to teach" in result.output
    card = json.loads(out.with_suffix(".json").read_text())
    assert card["taught_on"] == 0 and card["read_unsurely"] == 0 and card["recipe"]["steps"] == 0
    taught, base = keras.models.load_model(out), keras.models.load_model(shipped.path)
    assert all(np.array_equal(a, b) for a, b in zip(taught.get_weights(), base.get_weights()))


def test_a_taught_image_model_that_forgets_the_base_data_is_not_kept(tmp_path, tiny_model, mnist):
    drawn = tmp_path / "drawn"
    for i, image in enumerate(mnist.x_test[mnist.y_test == 1][:12]):  # a "person" whose 1s are labelled 8
        write_image(drawn / "8" / f"s{i}.png", image)
    for i, image in enumerate(mnist.x_test[mnist.y_test == 0][:6]):
        write_image(drawn / "0" / f"s{i}.png", image)
    out = tmp_path / "mine.keras"
    result = run_train("--personalise", drawn, "--init-from", tiny_model, "--out", out)
    assert result.exit_code == 0, result.output
    assert "base digits (before: " in result.output and "keeping it as it was" in result.output
    check = json.loads(out.with_suffix(".json").read_text())["base_check"]
    assert check["digits"] == 3000 and check["after"] < check["before"] - 0.002 and check["image_model"] == "base"
    taught, base = keras.models.load_model(out), keras.models.load_model(tiny_model)
    assert all(np.array_equal(a, b) for a, b in zip(taught.get_weights(), base.get_weights()))


def test_without_strokes_the_personal_model_reads_with_the_base_stroke_model(tmp_path, tiny_with_strokes, mnist):
    out = tmp_path / "models" / "mine.keras"
    result = run_train("--personalise", make_drawings(tmp_path / "drawn", mnist), "--init-from", tiny_with_strokes,
                       "--out", out)
    assert result.exit_code == 0, result.output
    card = json.loads(out.with_suffix(".json").read_text())
    assert card["stroke_model"] == {"file": "../base/tiny.strokes.keras", "taught_on": 0}
    assert not stroke_model_path(out).exists() and load_recognizer(out).stroke_model is not None


@pytest.mark.parametrize("layout, message", [
    ({}, "no drawings in"),
    ({"7": 3}, "all 3 drawings in"),
])
def test_too_few_drawings_are_one_line(tmp_path, tiny_model, mnist, layout, message):
    drawn = tmp_path / "drawn"
    drawn.mkdir()
    for digit, count in layout.items():
        make_drawings(drawn, mnist, digits=(int(digit),), per_digit=count)
    out = tmp_path / "mine.keras"
    assert_one_line_error(run_train("--personalise", drawn, "--init-from", tiny_model, "--out", out), message)
    assert not out.exists()


def test_a_missing_folder_and_a_bad_out_are_one_line(tmp_path, tiny_model, mnist):
    assert_one_line_error(run_train("--personalise", tmp_path / "nowhere"), "no such folder")
    drawn = make_drawings(tmp_path / "drawn", mnist)
    assert_one_line_error(run_train("--personalise", drawn, "--init-from", tiny_model, "--out", tiny_model),
                          "is the model being taught")
    assert_one_line_error(run_train("--personalise", drawn, "--epochs", 3), "--personalise has its own recipe")
    (tmp_path / "blocker").write_text("a file where the models folder should be")
    assert_one_line_error(run_train("--personalise", drawn, "--init-from", tiny_model,
                                    "--out", tmp_path / "blocker" / "mine.keras"), "cannot write")


def test_a_teach_stopped_midway_leaves_the_old_model(tmp_path, tiny_model, mnist):
    drawn = make_drawings(tmp_path / "drawn", mnist)
    models = tmp_path / "models"
    models.mkdir()
    (models / "mine.keras").write_bytes(b"the model from last time")
    before = snapshot(models)
    teacher = start_teacher(new_board((400, 300)), drawn, tiny_model, models / "mine.keras", 0.0)
    time.sleep(2)  # importing TensorFlow: well before the model is written
    stop_teacher(teacher)
    assert teacher.process.returncode is not None and snapshot(models) == before


def test_the_board_teaches_in_the_background_and_swaps_the_model_in(tmp_path, tiny_model, mnist, monkeypatch):
    monkeypatch.setenv("SDL_VIDEODRIVER", "dummy")
    drawn = make_drawings(tmp_path / "drawn", mnist)
    personal = tmp_path / "mine.keras"
    pressed = []

    def press_t_then_wait(state, layout) -> bool:
        if state.model_state == "ready" and not pressed:
            pygame.event.post(pygame.event.Event(pygame.KEYDOWN, key=pygame.K_t, mod=0, unicode="t"))
            pressed.append(True)
        return state.model_kind != "personal" and not (state.banner and state.banner.error)

    options = BoardOptions(lambda: load_recognizer(tiny_model), "tiny.keras", (640, 480), drawn_dir=drawn,
                           model=tiny_model, personal_model=personal, max_seconds=240, headless=True)
    state, timings = board.run_board(options, on_frame=press_t_then_wait)
    assert state.model_kind == "personal" and state.model_name == "mine.keras", state.banner
    assert personal.is_file() and json.loads(personal.with_suffix(".json").read_text())["drawings_used"] == 18
    assert state.teaching is None and state.banner.text.startswith("taught in")
    assert len(timings.frame_ms) > 100  # the board kept drawing while it taught
