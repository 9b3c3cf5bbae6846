"""evaluate.py through click: mnist, strokes, numbers and bench, their reports and their errors;
benchmarks/split_unipen.py, which holds out writers and sites to measure on."""

import json
from types import SimpleNamespace

import numpy as np
import pytest
from click.testing import CliRunner

from digitboard.cli import evaluate
from digitboard.data.pen import read_unipen
from digitboard.read.model_files import read_card
from digitboard.common.paths import DEFAULT_MODEL, SHARED_PENDIGITS

from conftest import assert_one_line_error, unipen_text

# Two digits in UNIPEN text, tablet y growing upwards: a "1" and a two-stroke "7".
UNIPEN = """.LEXICON "0" "1" "2" "3" "4" "5" "6" "7" "8" "9"
.SEGMENT DIGIT 0 ? "1"
.PEN_DOWN
 100 400
 100 300
 100 200
 100 100
.PEN_UP
.SEGMENT DIGIT 1 ? "7"
.PEN_DOWN
 0 400
 200 400
 120 0
.PEN_UP
.DT 120
.PEN_DOWN
 60 200
 180 200
.PEN_UP
"""


def run(*args):
    result = CliRunner().invoke(evaluate.cli, [str(a) for a in args])
    return result, (json.loads(result.output.strip().splitlines()[-1]) if result.exit_code == 0 else None)


def test_mnist_report(tmp_path, tiny_model):
    result, summary = run("--model", tiny_model, "--out", tmp_path, "--json", "mnist", "--limit", 300)
    assert result.exit_code == 0, result.output
    assert summary["n"] == 300 and 0.3 < summary["accuracy"] <= 1 and summary["loss"] > 0
    assert [row["class"] for row in summary["per_class"]][:10] == [str(d) for d in range(10)]
    if len(summary["per_class"]) == 11:  # a model that can say "not a digit"
        assert summary["per_class"][10]["class"] == "not a digit" and 0 <= summary["rejected"] <= 1
    assert (tmp_path / "mnist-confusion.png").stat().st_size > 1000
    assert (tmp_path / "mnist-errors.png").exists()


def test_mnist_agrees_with_model_card(tmp_path, tiny_model):
    card = read_card(tiny_model)  # in the model's companion folder
    assert card, "the tiny model has a card"
    _, summary = run("--model", tiny_model, "--out", tmp_path, "--json", "mnist")
    assert summary["accuracy"] == pytest.approx(card["test_accuracy"], abs=2e-4)
    assert summary["loss"] == pytest.approx(card["test_loss"], rel=1e-2)


def test_strokes_on_own_unipen_fixture(tmp_path, tiny_model):
    pen = tmp_path / "two.tra"
    pen.write_text(UNIPEN)
    result, summary = run("--model", tiny_model, "--out", tmp_path, "--json", "strokes", pen,
                          "--size", 120, "--brush", 4, "--off-centre")
    assert result.exit_code == 0, result.output
    assert summary["n"] == 2 and summary["size"] == 120 and summary["off_centre"]
    assert (tmp_path / "strokes-errors.png").exists()


@pytest.mark.shipped  # evaluate.py reads with the shipped model by default
@pytest.mark.skipif(not SHARED_PENDIGITS.exists(), reason="../shared/pendigits is not here")
@pytest.mark.skipif(not DEFAULT_MODEL.exists(), reason="no shipped model yet")
def test_strokes_on_shared_pen_data(tmp_path):
    result, summary = run("--out", tmp_path, "--json", "strokes", SHARED_PENDIGITS, "--limit", 300)
    assert result.exit_code == 0, result.output
    assert summary["n"] == 300 and summary["accuracy"] >= 0.97
    # what a confidence is worth, read with strokes and from the pixels alone
    assert summary["sure_accuracy"] >= 0.97 and summary["canvas_only_sure_accuracy"] >= 0.97
    assert 0 <= summary["canvas_only_unsure_shown"] <= 1 - summary["canvas_only_sure_share"]


def test_bench_reports_latency(tmp_path, tiny_model):
    result, summary = run("--model", tiny_model, "--out", tmp_path, "--json", "bench",
                          "--repeats", 20, "--predict-repeats", 5)
    assert result.exit_code == 0, result.output
    assert 0 < summary["read_ms_p50"] <= summary["read_ms_p99"]
    assert summary["predict_ms_p50"] > 0
    # the speed-up is the seed path's time over read()'s (both rounded once more in the JSON)
    assert summary["speedup"] == pytest.approx(summary["predict_ms_p50"] / summary["read_ms_p50"],
                                               rel=0.01, abs=0.06)
    assert summary["digits_per_s"] == pytest.approx(1000 / summary["read_ms_p50"], rel=0.01)


def test_numbers_reads_with_strokes_and_from_pixels_and_times_both(tmp_path, tiny_model):
    pen = tmp_path / "two.tra"
    pen.write_text(UNIPEN)
    result, summary = run("--model", tiny_model, "--out", tmp_path, "--json", "numbers", pen,
                          "--gap", 0.25, "--gap", 0, "--count", 4, "--digits", 2)
    assert result.exit_code == 0, result.output
    assert [row["gap"] for row in summary["numbers"]] == [0.25, 0.0]
    for row in summary["numbers"]:
        assert row["n"] == 4 and 0 <= row["with_strokes"] <= 1 and 0 <= row["canvas_only"] <= 1
    assert 0 < summary["read_ms_p50"] <= summary["read_ms_p99"]
    assert 0 < summary["canvas_only_ms_p50"] <= summary["canvas_only_ms_p99"]


@pytest.mark.parametrize("text, line", [
    ('.SEGMENT DIGIT 0 ? "1"\n.PEN_DOWN\n 1 2\n oops here\n.PEN_UP\n', 4),
    ('.SEGMENT DIGIT 0 ? "1"\n 1 2\n', 2),
    ('.SEGMENT DIGIT 0 ? "x"\n', 1),
    ('.PEN_DOWN\n', 1),
])
def test_malformed_unipen_names_the_line(tmp_path, tiny_model, text, line):
    bad = tmp_path / "bad.tra"
    bad.write_text(text)
    result, _ = run("--model", tiny_model, "strokes", bad)
    assert_one_line_error(result, f"bad.tra:{line}:")


@pytest.mark.parametrize("args, message", [
    (["--model", "missing.keras", "mnist"], "no model at missing.keras: train one with `python train.py`"),
    (["mnist", "--model", "missing.keras"], "no model at missing.keras"),
    (["strokes", "no-such-file.tra"], "no-such-file.tra: no such file"),
    (["images", "no-such-folder"], "no-such-folder: no such folder"),
    (["strokes", "/dev/null"], "/dev/null: not a file (a device or a pipe)"),
])
def test_user_errors_are_one_line(tmp_path, args, message):
    assert_one_line_error(CliRunner().invoke(evaluate.cli, args), message)


@pytest.mark.parametrize("damage, why", [
    (lambda model: b"", "the file is empty"),
    (lambda model: b"<html>not found</html>", "neither a .keras (zip) nor an .h5 file"),
    (lambda model: model[:len(model) // 3], "a damaged or cut-off .keras file"),
], ids=["empty", "not a zip", "cut off"])
@pytest.mark.parametrize("command", [["mnist", "--limit", 5], ["strokes", "two.tra"]])
def test_a_file_that_is_not_a_model_is_one_line_naming_it(tmp_path, tiny_model, monkeypatch, damage, why, command):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "two.tra").write_text(UNIPEN)
    bad = tmp_path / "bad.keras"
    bad.write_bytes(damage(tiny_model.read_bytes()))
    result = CliRunner().invoke(evaluate.cli, ["--model", str(bad), *map(str, command)])
    assert_one_line_error(result, f"Error: not a Keras model: {bad}: {why}")  # Keras says "File not found"


def test_a_bad_size_is_a_bad_option_and_shows_the_usage():
    result = CliRunner().invoke(evaluate.cli, ["strokes", "--canvas", "big", "x.tra"])
    assert result.exit_code == 2 and result.output.startswith("Usage: ")
    assert result.output.rstrip().endswith(
        "Error: Invalid value for '--canvas': size must look like WIDTHxHEIGHT, e.g. 1024x720, got 'big'")


def test_model_out_and_json_go_before_or_after_the_command(tmp_path, tiny_model):
    missing = tmp_path / "no.keras"
    for args in (["--model", tiny_model, "--out", tmp_path / "a", "--json", "mnist", "--limit", 20],
                 ["mnist", "--limit", 20, "--model", tiny_model, "--out", tmp_path / "b", "--json"],
                 # given on both sides, the value after the command wins
                 ["--model", missing, "--out", tmp_path / "c", "mnist", "--limit", 20, "--json",
                  "--model", tiny_model, "--out", tmp_path / "d"]):
        result, summary = run(*args)
        assert result.exit_code == 0, result.output
        assert summary["n"] == 20
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a", "b", "d"]
    assert (tmp_path / "d" / "mnist-confusion.png").is_file()
    result = CliRunner().invoke(evaluate.cli, ["mnist", "--limit", 20, "--model", str(tiny_model),
                                               "--out", str(tmp_path / "e")])
    assert result.exit_code == 0 and "{" not in result.output  # no --json on either side: none


# ---------------------------------------------------------------- split and rejected digits

class StrokeCounter:
    """A fake recognizer: with strokes, one "1" for each stroke but the first (a one-stroke
    digit is rejected, a three-stroke one split in two); from the pixels alone, nothing."""

    def read(self, canvas, strokes=None):
        count = len(strokes) - 1 if strokes is not None else 0
        return [SimpleNamespace(digit=1, confidence=0.9, image=np.zeros((28, 28), np.uint8))] * count


@pytest.fixture
def stroke_counter(monkeypatch):
    monkeypatch.setattr(evaluate, "Recognizer", SimpleNamespace(load=lambda path=None: StrokeCounter()))


def pen_file(path, digits):
    """A UNIPEN file of (label, number of strokes) digits, each stroke a short upright line."""
    path.write_text(unipen_text([(label, [[(100 * k, 300), (100 * k, 0)] for k in range(n)])
                                 for label, n in digits]))
    return path


def test_strokes_reports_split_and_rejected_digits(tmp_path, stroke_counter):
    pen = pen_file(tmp_path / "four.tra", [("1", 1), ("7", 2), ("4", 3), ("1", 2)])
    result, summary = run("--out", tmp_path, "--json", "strokes", pen)
    assert result.exit_code == 0, result.output
    assert summary["accuracy"] == 0.25 and summary["split"] == 0.25 and summary["rejected"] == 0.25
    assert summary["canvas_only_rejected"] == 1.0 and summary["canvas_only_split"] == 0.0
    assert "split into several readings: 25.00% with strokes" in result.output


def test_numbers_reports_more_and_fewer_digits_than_written(tmp_path, stroke_counter):
    ones = pen_file(tmp_path / "ones.tra", [("1", 1)] * 3)       # "11" written, "1" read
    fours = pen_file(tmp_path / "fours.tra", [("4", 3)] * 3)     # "44" written, "11111" read
    for pen, more, fewer in ((ones, 0.0, 1.0), (fours, 1.0, 0.0)):
        result, summary = run("--out", tmp_path, "--json", "numbers", pen, "--gap", 0.25, "--count", 5,
                              "--digits", 2)
        assert result.exit_code == 0, result.output
        (row,) = summary["numbers"]
        assert (row["more_digits"], row["fewer_digits"]) == (more, fewer)
        assert row["canvas_only_fewer_digits"] == 1.0 and row["canvas_only_more_digits"] == 0.0


# Values no run can use (issue 27): each is click's usage block and one line naming the option,
# before the model loads; before, NaN and inf gaps, a negative seed and a huge brush were tracebacks.
BAD_NUMBERS = [("numbers", "--gap", "nan"), ("numbers", "--gap", "inf"), ("numbers", "--gap", "1e308"),
               ("numbers", "--gap", "-5"), ("numbers", "--height", "5000"), ("numbers", "--seed", "-1"),
               ("numbers", "--brush", "100000"), ("numbers", "--canvas", "100000x100000"),
               ("numbers", "--count", "99999999999999999999"), ("strokes", "--seed", "-1"),
               ("strokes", "--brush", "100000"), ("strokes", "--canvas", "10000x10000"),
               ("junk", "--brush", "100000"), ("bench", "--repeats", "99999999999999999999")]


@pytest.mark.parametrize("command, option, value", BAD_NUMBERS, ids=[f"{c} {o}={v}" for c, o, v in BAD_NUMBERS])
def test_a_number_no_run_can_use_is_refused_before_any_work(tmp_path, command, option, value, monkeypatch):
    monkeypatch.setattr(evaluate, "Recognizer", None)  # nothing may load a model
    pen = tmp_path / "two.tra"
    pen.write_text(UNIPEN)
    result = CliRunner().invoke(evaluate.cli, [command, *([str(pen)] if command in ("numbers", "strokes") else []),
                                               option, value, "--out", str(tmp_path / "out")])
    assert result.exit_code == 2 and "Traceback" not in result.output, result.output
    assert result.output.startswith("Usage: ") and f"\nError: Invalid value for '{option}': " in result.output
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize("command", [["mnist", "--limit", 5], ["strokes", "two.tra"], ["junk"], ["images", "."]])
def test_a_reports_folder_that_cannot_be_made_is_one_line_before_any_work(tmp_path, monkeypatch, command):
    """It was a traceback (NotADirectoryError) once all the reading was done."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(evaluate, "Recognizer", None)  # nothing may load a model
    monkeypatch.setattr(evaluate, "load_classifier", None)
    (tmp_path / "two.tra").write_text(UNIPEN)
    (tmp_path / "notes.txt").write_text("a file, not a folder")
    result = CliRunner().invoke(evaluate.cli, ["--out", "notes.txt/reports", *map(str, command)])
    assert_one_line_error(result, "Error: --out notes.txt/reports: cannot write the reports there: Not a directory")


@pytest.mark.parametrize("args, size", [(["--gap", 5], "2"), (["--digits", 8, "--gap", 2], "8"),
                                        (["--height", 590], "2")])
def test_numbers_that_do_not_fit_the_canvas_are_named_so(tmp_path, stroke_counter, args, size):
    pen = pen_file(tmp_path / "sevens.tra", [("7", 2)] * 3)
    result, _ = run("--out", tmp_path, "numbers", pen, "--count", 2, "--digits", 2, *args)
    # it blamed "stroke 0 leaves the 1024×600 canvas"
    assert_one_line_error(result, f"Error: a number of {size} digits, ")
    assert "does not fit the 1024×600 canvas: lower the height or the gap, or widen the canvas" in result.output


# ---------------------------------------------------------------- held-out UNIPEN writers and sites

def unipen_with_writers(digits) -> str:
    """The UNIPEN 1a file's layout for (label, writer, donor) digits: header, then each digit
    with its `.COMMENT <label> <writer> <donor>`."""
    lines = [".COMMENT a test file", ".VERSION 1.0", '.LEXICON "0" "1" "2" "3" "4" "5" "6" "7" "8" "9"',
             ".HIERARCHY DIGIT", ""]
    for index, (label, writer, donor) in enumerate(digits):
        lines += [f'.SEGMENT DIGIT {index} ? "{label}"', f".COMMENT {label} {writer} {donor}",
                  ".PEN_DOWN", f" {index} 10", f" {index} 200", ".PEN_UP", ""]
    return "\n".join(lines) + "\n"


def test_split_unipen_keeps_writers_and_sites_apart(tmp_path):
    from benchmarks import split_unipen

    writers = {"aga": 6, "apa": 2, "apb": 1, "imp": 2, "tos": 1}
    digits = [(str(k % 10), f"{donor}-w{w}", donor) for donor, n in writers.items() for w in range(n)
              for k in range(3)]
    source = tmp_path / "unipen.txt"
    source.write_text(unipen_with_writers(digits))
    out = tmp_path / "runs"
    result = CliRunner().invoke(split_unipen.main, [str(source), "--sites", "imp,app", "--holdout", 0.5,
                                                    "--out", str(out)])
    assert result.exit_code == 0, result.output
    names = ("train", "holdout-writers", "holdout-sites")
    read = {name: split_unipen.read_segments((out / f"unipen-{name}.tra").read_text())[1] for name in names}
    who = {name: {writer for _, writer, _ in segments} for name, segments in read.items()}
    donors = {name: {donor for _, _, donor in segments} for name, segments in read.items()}
    assert sum(len(read_unipen(out / f"unipen-{name}.tra")) for name in names) == len(digits)
    assert donors["holdout-sites"] == {"imp", "apa", "apb"}        # app names Apple's whole site
    assert donors["train"] | donors["holdout-writers"] == {"aga", "tos"}
    assert len(who["holdout-writers"]) == round(0.5 * 7)            # of the other sites' 7 writers
    assert not who["train"] & who["holdout-writers"] and not who["train"] & who["holdout-sites"]
    assert all(len([s for s in read["train"] if s[1] == w]) == 3 for w in who["train"])   # whole writers
    assert (out / "unipen-train.tra").read_text().startswith(".COMMENT a test file\n.VERSION 1.0\n")


def test_split_unipen_names_an_unknown_site(tmp_path):
    from benchmarks import split_unipen

    source = tmp_path / "unipen.txt"
    source.write_text(unipen_with_writers([("1", "aga-w0", "aga")]))
    result = CliRunner().invoke(split_unipen.main, [str(source), "--sites", "xyz", "--out", str(tmp_path)])
    assert result.exit_code == 2 and "no digits from xyz" in result.output


class Classifier:
    """A fake recognizer for `mnist`: classifies the first half of the images as "not a digit"
    (an 11th class) and the rest as 1; read() finds `found` on any canvas."""

    def __init__(self, found: str = "1"):
        self.found = found

    def classify(self, images):
        probs = np.zeros((len(images), 11), np.float32)
        probs[: len(images) // 2, 10] = 1
        probs[len(images) // 2:, 1] = 1
        return probs

    def read(self, canvas, strokes=None):
        return [SimpleNamespace(digit=int(d), confidence=0.9, image=np.zeros((28, 28), np.uint8)) for d in self.found]


def test_mnist_counts_not_a_digit(tmp_path, monkeypatch, mnist):
    monkeypatch.setattr(evaluate, "Recognizer", SimpleNamespace(load=lambda path=None: Classifier()))
    result, summary = run("--out", tmp_path, "--json", "mnist", "--limit", 40)
    assert result.exit_code == 0, result.output
    assert summary["rejected"] == 0.5 and summary["per_class"][10]["class"] == "not a digit"
    assert summary["accuracy"] == pytest.approx(float(np.mean(mnist.y_test[20:40] == 1)) / 2)
    assert "50.00% read as not a digit" in result.output


@pytest.mark.parametrize("found", ["1", "11", ""])
def test_mnist_reads_through_read(tmp_path, monkeypatch, mnist, found):
    monkeypatch.setattr(evaluate, "Recognizer", SimpleNamespace(load=lambda path=None: Classifier(found)))
    ones = float(np.mean(mnist.y_test[:40] == 1))
    result, summary = run("--out", tmp_path, "--json", "mnist", "--limit", 40, "--read")
    assert result.exit_code == 0, result.output
    assert summary["read"] and summary["n"] == 40 and len(summary["per_class"]) == 10
    assert summary["accuracy"] == pytest.approx(ones if found == "1" else 0.0)
    assert (summary["split"], summary["rejected"]) == ((1.0, 0.0) if found == "11" else (0.0, 1.0) if not found
                                                       else (0.0, 0.0))
    assert (tmp_path / "mnist-read-errors.png").exists()
