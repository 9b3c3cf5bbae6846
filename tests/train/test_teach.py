"""Teaching a personal model: `train.py teach` and its bad inputs (the board's T: board/test_teacher.py)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import keras
import numpy as np
import pytest

from digitboard.data.drawings import load_drawings
from digitboard.train.teach import PROGRESS_EVERY, STEPS, SURE, hold_back, personalise, reading_probs, replay_data, unseen_by_base
from digitboard.read.recognizer import Recognizer
from digitboard.data.pen import PenDigit
from digitboard.read.model_files import REPLAY, STROKES, companion, companions_dir, copy_unit, read_card
from digitboard.train.fit import train_stroke_model

from conftest import PEN_DIGITS, assert_one_line_error, make_drawings, run_train, write_image


@pytest.fixture(scope="module")
def tiny_with_strokes(tmp_path_factory, tiny_model) -> Path:
    """The tiny model with a stroke model among its companions (2 epochs on the pen 0, 1 and 7).
    Shared by the module: the teaches read it and write elsewhere."""
    folder = tmp_path_factory.mktemp("base")
    model = folder / "tiny.keras"
    shutil.copy(tiny_model, model)
    companions = companions_dir(model)
    shutil.copytree(companions_dir(tiny_model), companions)
    digits = [PenDigit(label, [np.array(s, np.float64) * (1, -1) for s in strokes]) for label, strokes in PEN_DIGITS]
    card = read_card(model)
    scribbles = [[np.c_[np.linspace(0, 90, 30), 50 + 40 * np.sin(np.linspace(0, 9 + k, 30))]] for k in range(4)]
    marks = scribbles if len(card["class_names"]) == 11 else []  # as many classes as the image model
    card["stroke_model"] = train_stroke_model(digits * 4, companions, epochs=2, copies=2, marks=marks)
    (companions / "card.json").write_text(json.dumps(card))
    return model


def teach(drawn, base, out, *more):
    return run_train("teach", drawn, "--base", base, "--out", out, *more)


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


def test_teaching_writes_the_personal_model_and_its_card(tmp_path, tiny_with_strokes, mnist):
    """Drawings without strokes: the image model is taught them, and the personal model reads
    with the base's stroke model, copied (a unit stands alone)."""
    drawn = make_drawings(tmp_path / "drawn", mnist)
    (drawn / "1" / "broken.png").write_bytes(b"not a png")
    out = tmp_path / "models" / "mine.keras"
    result = teach(drawn, tiny_with_strokes, out)
    assert result.exit_code == 0, result.output
    lines = result.output.strip().splitlines()
    assert "skipped 1: 1/broken.png" in lines[0]
    assert f"step {STEPS}/{STEPS}" in result.output and lines[-1].startswith("taught in ")
    card = read_card(out)
    assert card["kind"] == "personal" and card["base_model"] == str(tiny_with_strokes)
    assert card["drawings_used"] == 18 and card["drawings_per_digit"] == {"0": 6, "1": 6, "7": 6}
    assert card["held_back"] == 3 and card["taught_on"] == 15 and card["skipped_files"] == ["1/broken.png"]
    assert 0 <= card["held_back_accuracy_before"] <= 1 and 0 <= card["held_back_accuracy_after"] <= 1
    assert card["test_samples"] == 10000 and card["test_accuracy"] > 0.5  # the tiny model still reads MNIST
    assert card["stroke_model"] == {"base": str(tiny_with_strokes), "taught_on": 0}
    assert companion(out, STROKES).read_bytes() == companion(tiny_with_strokes, STROKES).read_bytes()
    recognizer = Recognizer.load(out)
    assert recognizer.stroke_model and recognizer.read(np.pad(mnist.x_test[0], 20))  # a working model


def test_the_stroke_model_is_taught_the_drawings_strokes(tmp_path, tiny_with_strokes, mnist):
    pen = {int(label): [np.array(s, np.float64) * (1, -1) + (100, 400) for s in strokes] for label, strokes in PEN_DIGITS}
    drawn = make_drawings(tmp_path / "drawn", mnist, strokes=pen)
    (drawn / "7" / "s5" / "strokes.json").write_text("{not json")  # its image still teaches
    out = tmp_path / "models" / "mine.keras"
    result = teach(drawn, tiny_with_strokes, out)
    assert result.exit_code == 0, result.output
    card = read_card(out)
    assert card["skipped_files"] == ["7/s5/strokes.json"] and card["taught_on"] == 15
    taught = card["stroke_model"]
    assert taught == {"taught_on": 15, "replayed": True}  # s5, held back, has none
    assert companion(out, REPLAY) is not None  # what a teach of the personal model would replay
    before = keras.models.load_model(companion(tiny_with_strokes, STROKES))
    after = keras.models.load_model(companion(out, STROKES))
    assert not np.allclose(before.layers[-1].get_weights()[0], after.layers[-1].get_weights()[0])
    assert Recognizer.load(out).stroke_model


def test_a_model_that_reads_every_drawing_surely_is_left_as_it_is(tmp_path, tiny_model, mnist):
    # a person whose drawings the tiny model reads surely right: five of each of three digits
    # (one each held back), chosen by how a teach reads them (SURE), with room to spare
    probs = reading_probs(keras.models.load_model(tiny_model), mnist.x_test)
    sure = probs[np.arange(len(probs)), mnist.y_test] >= SURE + 0.02
    chosen = {d: mnist.x_test[sure & (mnist.y_test == d)][:5] for d in range(10)}
    drawn = tmp_path / "drawn"
    for digit in [d for d in chosen if len(chosen[d]) == 5][:3]:
        for i, image in enumerate(chosen[digit]):
            write_image(drawn / str(digit) / f"s{i}.png", image)
    out = tmp_path / "mine.keras"
    result = teach(drawn, tiny_model, out)
    assert result.exit_code == 0, result.output
    assert "all 12 drawings are read surely right already: nothing to teach" in result.output
    card = read_card(out)
    assert card["taught_on"] == 0 and card["read_unsurely"] == 0 and card["recipe"]["steps"] == 0
    taught, base = keras.models.load_model(out), keras.models.load_model(tiny_model)
    assert all(np.array_equal(a, b) for a, b in zip(taught.get_weights(), base.get_weights()))


def test_a_taught_image_model_that_forgets_the_base_data_is_not_kept(tmp_path, tiny_model, mnist):
    drawn = tmp_path / "drawn"
    for i, image in enumerate(mnist.x_test[mnist.y_test == 1][:12]):  # a "person" whose 1s are labelled 8
        write_image(drawn / "8" / f"s{i}.png", image)
    for i, image in enumerate(mnist.x_test[mnist.y_test == 0][:6]):
        write_image(drawn / "0" / f"s{i}.png", image)
    out = tmp_path / "mine.keras"
    result = teach(drawn, tiny_model, out)
    assert result.exit_code == 0, result.output
    assert "base digits (before: " in result.output and "keeping it as it was" in result.output
    check = read_card(out)["base_check"]
    assert check["digits"] == 3000 and check["after"] < check["before"] - 0.002 and check["image_model"] == "base"
    taught, base = keras.models.load_model(out), keras.models.load_model(tiny_model)
    assert all(np.array_equal(a, b) for a, b in zip(taught.get_weights(), base.get_weights()))


@pytest.mark.parametrize("layout, message", [
    ({}, "no labelled drawings in"),
    ({"7": 3}, "all 3 drawings in"),
    ({"7": 1}, "the one drawing in"),
])
def test_too_few_drawings_are_one_line(tmp_path, tiny_model, mnist, layout, message):
    drawn = tmp_path / "drawn"
    drawn.mkdir()
    for digit, count in layout.items():
        make_drawings(drawn, mnist, digits=(int(digit),), per_digit=count)
    out = tmp_path / "mine.keras"
    assert_one_line_error(teach(drawn, tiny_model, out), message)
    assert not out.exists()


def test_a_missing_folder_and_a_bad_out_are_one_line(tmp_path, tiny_model, mnist):
    assert_one_line_error(teach(tmp_path / "nowhere", tiny_model, tmp_path / "mine.keras"),
                          "no labelled drawings yet")
    drawn = make_drawings(tmp_path / "drawn", mnist)
    assert_one_line_error(teach(drawn, tiny_model, tiny_model), "is the model being taught")
    assert_one_line_error(run_train("--epochs", 3, "teach", drawn), "--epochs is for training")
    assert_one_line_error(run_train("--personalise", drawn), "python train.py teach")
    (tmp_path / "blocker").write_text("a file where the models folder should be")
    assert_one_line_error(teach(drawn, tiny_model, tmp_path / "blocker" / "mine.keras"), "cannot make its folder")


def test_a_teach_stopped_while_it_installs_leaves_the_old_unit_whole(tmp_path, tiny_model, mnist, monkeypatch):
    drawn = make_drawings(tmp_path / "drawn", mnist)
    mine = tmp_path / "models" / "mine.keras"
    copy_unit(tiny_model, mine)
    old_model, old_card = mine.read_bytes(), read_card(mine)
    real_copy = shutil.copyfile

    def interrupted_at_the_last_step(source, dest, *args, **kwargs):
        if ".partial-" in Path(dest).name and Path(dest).suffix == ".keras":  # the model, after its companions
            raise KeyboardInterrupt
        return real_copy(source, dest, *args, **kwargs)

    monkeypatch.setattr(shutil, "copyfile", interrupted_at_the_last_step)
    with pytest.raises(KeyboardInterrupt):
        personalise(tiny_model, load_drawings(drawn), mine, replay_data(tiny_model, mnist), steps=PROGRESS_EVERY,
                    echo=lambda _: None)  # a short teach: what is stopped is its install
    assert mine.read_bytes() == old_model and read_card(mine) == old_card  # the old unit, whole
    assert not list(mine.parent.glob("*.partial-*"))
    assert Recognizer.load(mine).read(np.pad(mnist.x_test[0], 20))


def test_the_personalise_benchmark_teaches_each_writer_and_reads_their_other_digits(tmp_path, tiny_model):
    from click.testing import CliRunner

    from benchmarks import personalise as benchmark

    lines = ['.LEXICON "0" "1" "2" "3" "4" "5" "6" "7" "8" "9"', ".HIERARCHY DIGIT", ""]
    for index, (label, strokes) in enumerate(PEN_DIGITS * 3):  # each digit three times, by one writer
        lines += [f'.SEGMENT DIGIT {index} ? "{label}"', f".COMMENT {label} w1 {index}"]
        for stroke in strokes:
            lines += [".PEN_DOWN", *(f" {x} {y}" for x, y in stroke), ".PEN_UP"]
    pen_file = tmp_path / "pen.tra"
    pen_file.write_text("\n".join(lines) + "\n")
    result = CliRunner().invoke(benchmark.main, [str(pen_file), "--model", str(tiny_model), "--k", "2",
                                                 "--steps", str(PROGRESS_EVERY), "--json"])
    assert result.exit_code == 0, result.output
    summary = json.loads(result.output.strip().splitlines()[-1])
    [writer] = summary["writers"]
    assert writer["writer"] == "w1" and writer["taught"] == 6 and writer["others"] == 3
    assert 0 <= writer["after"] <= 1 and 0 <= writer["mnist_after"] <= 1
