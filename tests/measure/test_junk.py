"""The benchmark of marks that are not digits: the committed set, the script that makes it,
reading and counting marks (with a fake recognizer), and `evaluate.py junk`."""

import json
from types import SimpleNamespace

import numpy as np
import pytest
from click.testing import CliRunner

from digitboard.cli import evaluate
from digitboard.common.paths import SHARED_PENDIGITS
from digitboard.data.pen import read_stroke_json
from digitboard.measure.evaluation import (GROUPS, JUNK_SET, RING, Mark, first_of_each_kind, group_of,
                                           junk_figures, load_marks, misread_marks, read_junk, thumbnail)

from conftest import assert_one_line_error

# Characters written like a digit (train.marks.DIGIT_LIKE): never in the set.
DIGIT_LIKE = set("OoIli|!/ZzSsbGBgq")


class FakeRecognizer:
    """Reads, with strokes, one "1" for each stroke but the first (a one-stroke mark is
    rejected); from the pixels alone, one "8" for each full 2,000 inked pixels."""

    def read(self, canvas, strokes=None):
        count = len(strokes) - 1 if strokes is not None else int(np.count_nonzero(canvas)) // 2000
        digit = 1 if strokes is not None else 8
        return [SimpleNamespace(digit=digit, confidence=0.9, image=np.zeros((28, 28), np.uint8))] * count


def line(x0, y0, x1, y1, n=20):
    return np.stack([np.linspace(x0, x1, n), np.linspace(y0, y1, n)], axis=1)


def fake_set() -> list[Mark]:
    """Two one-stroke dashes, a three-stroke hatching, a one-stroke letter, and rings around a
    one-stroke 1 (read "1": right) and around a two-stroke 7 (read "11": wrong)."""
    canvas = (400, 300)
    ring = [np.array([[200 + 90 * np.cos(t), 150 + 120 * np.sin(t)] for t in np.linspace(0, 6.5, 60)])]
    return [Mark("dash", [line(10, 10, 60, 12)], canvas, 5),
            Mark("dash", [line(100, 200, 180, 205)], canvas, 5),
            Mark("hatching", [line(50, y, 250, y + 10) for y in (50, 90, 130)], canvas, 12),
            Mark("letter", [line(300, 50, 320, 250)], canvas, 8, text="X"),
            Mark(RING, [line(200, 60, 200, 240)] + ring, canvas, 8, label="1", ring=1),
            Mark(RING, [line(160, 60, 240, 60), line(240, 60, 190, 240)] + ring, canvas, 8, label="7", ring=2)]


def stroke_document(marks: list[Mark]) -> dict:
    return {"digits": [{"kind": m.kind, "label": m.label, "canvas_size": list(m.canvas_size), "pen": m.pen,
                        "strokes": [s.tolist() for s in m.strokes], **({"ring": m.ring} if m.ring is not None else {}),
                        **({"text": m.text} if m.text else {})} for m in marks]}


# ---------------------------------------------------------------- the committed set

@pytest.fixture(scope="module")
def committed():
    return load_marks(JUNK_SET)


def test_the_committed_set_is_large_and_varied_enough(committed):
    kinds = {m.kind for m in committed}
    made = [m for m in committed if group_of(m.kind) == GROUPS[0]]
    written = [m for m in committed if group_of(m.kind) == GROUPS[1]]
    rings = [m for m in committed if m.kind == RING]
    assert len(committed) >= 300 and len(kinds) >= 12
    assert len(made) >= 200 and len({m.kind for m in made}) >= 12
    assert len(written) >= 100 and len(rings) >= 30
    assert {m.label for m in rings} == set("0123456789")
    assert JUNK_SET.stat().st_size < 2e6


def test_the_committed_marks_are_junk_on_board_sized_canvases(committed):
    for mark in committed:
        width, height = mark.canvas_size
        assert 400 <= width <= 1024 and 300 <= height <= 600 and 4 <= mark.pen <= 20
        points = np.concatenate(mark.strokes)
        assert points.min() >= 0 and (points.max(axis=0) < (width, height)).all()
        if mark.kind == RING:
            assert mark.label.isdigit() and 0 <= mark.ring < len(mark.strokes) >= 2
        else:
            assert mark.label == ""
        if group_of(mark.kind) == GROUPS[1]:
            assert mark.text and mark.text not in DIGIT_LIKE
        assert mark.kind not in ("ring", "vertical_line")  # alone they are a 0 and a 1


def test_the_committed_set_is_the_boards_stroke_json_and_says_how_it_differs_from_training(committed):
    digits, _ = read_stroke_json(JUNK_SET)
    assert len(digits) == len(committed)
    about = json.loads(JUNK_SET.read_text())["about"]
    assert about["made_by"] == "python benchmarks/make_junk_set.py" and about["unlike_training"]
    assert sum(about["counts"].values()) == len(committed)


def test_make_junk_set_is_deterministic_and_unlike_training(tmp_path):
    marks = pytest.importorskip("digitboard.train.marks")
    if not SHARED_PENDIGITS.exists():
        pytest.skip("../shared/pendigits is not here")
    from benchmarks import make_junk_set

    first, second = make_junk_set.junk_set(), make_junk_set.junk_set()
    assert json.dumps(first) == json.dumps(second)
    assert not set(make_junk_set.FONTS) & set(marks.FONTS)
    assert make_junk_set.SEED != 0
    make_junk_set.write_set(first, tmp_path / "set.json")
    assert len(load_marks(tmp_path / "set.json")) == len(first["digits"])


# ---------------------------------------------------------------- reading and counting

def test_read_junk_counts_rejected_digits_and_rings_per_kind():
    result = read_junk(FakeRecognizer(), fake_set())
    assert result.with_strokes == ["", "", "11", "", "1", "11"]
    rows = {row["kind"]: row for row in junk_figures(result)}
    assert rows["dash"]["rejected"] == 1.0 and rows["dash"]["digits"] == 0.0
    assert rows["hatching"]["rejected"] == 0.0 and rows["hatching"]["digits"] == 2.0
    assert rows[GROUPS[0]]["n"] == 3 and rows[GROUPS[0]]["rejected"] == pytest.approx(2 / 3, abs=1e-5)
    assert rows[GROUPS[1]]["n"] == 1 and rows[GROUPS[1]]["rejected"] == 1.0
    assert rows["all junk"]["n"] == 4 and rows["all junk"]["rejected"] == 0.75  # rings are not junk
    assert rows[RING]["digit_read"] == 0.5 and rows[RING]["rejected"] == 0.0
    assert "digit_read" not in rows["dash"]
    # from the pixels alone the fake reads by the amount of ink: the hatching's fat lines read
    assert rows["hatching"]["canvas_only_digits"] >= 1 and rows["dash"]["canvas_only_rejected"] == 1.0
    assert [result.marks[i].kind for i in misread_marks(result)] == ["hatching", RING]


def test_marks_keep_their_place_and_size_on_their_canvas():
    result = read_junk(FakeRecognizer(), fake_set()[:1], brush=3)
    thumb = result.thumbnails[0]
    assert thumb.shape == (64, 64) and thumb.max() > 0
    assert thumbnail(np.zeros((30, 40), np.uint8)).max() == 0


def test_first_of_each_kind():
    marks = fake_set()
    assert [m.kind for m in first_of_each_kind(marks, 1)] == ["dash", "hatching", "letter", RING]


def test_a_board_drawing_reads_as_marks_of_kind_drawn(tmp_path):
    path = tmp_path / "board.json"
    path.write_text(json.dumps({"canvas_size": [960, 600], "digits": [{"label": "", "strokes": [[[1, 2], [30, 40]]]}]}))
    (mark,) = load_marks(path)
    assert mark.kind == "drawn" and mark.canvas_size == (960, 600) and mark.pen == 17


# ---------------------------------------------------------------- evaluate.py junk

@pytest.fixture
def fake_recognizer(monkeypatch):
    monkeypatch.setattr(evaluate, "Recognizer", SimpleNamespace(load=lambda path=None: FakeRecognizer()))


def test_junk_command_reports_per_kind_and_ends_with_json(tmp_path, fake_recognizer):
    path = tmp_path / "junk.json"
    path.write_text(json.dumps(stroke_document(fake_set())))
    result = CliRunner().invoke(evaluate.cli, ["--out", str(tmp_path / "out"), "junk", str(path), "--json"])
    assert result.exit_code == 0, result.output
    summary = json.loads(result.output.strip().splitlines()[-1])
    assert summary["n"] == 6 and summary["rejected"] == 0.75 and summary["made_rejected"] == pytest.approx(0.66667)
    assert summary["written_rejected"] == 1.0 and summary["ring_digit_read"] == 0.5
    assert "the circled digit read alone: 50.0% with strokes" in result.output
    assert (tmp_path / "out" / "junk-read.png").stat().st_size > 1000


def test_junk_command_reads_the_committed_set_by_default(tmp_path, fake_recognizer):
    result = CliRunner().invoke(evaluate.cli, ["junk", "--per-kind", 1, "--out", str(tmp_path), "--json"])
    assert result.exit_code == 0, result.output
    summary = json.loads(result.output.strip().splitlines()[-1])
    kinds = [row["kind"] for row in summary["kinds"] if row["kind"] not in (*GROUPS, "all junk")]
    assert summary["n"] == len(kinds) >= 12 and summary["files"] == ["benchmarks/data/junk-marks.json"]


@pytest.mark.parametrize("item, message", [
    ({"kind": RING, "label": "", "strokes": [[[1, 2], [3, 4]]]}, "mark 0 has a ring around a digit without"),
    ({"kind": "dot", "pen": 0, "strokes": [[[1, 2]]]}, "mark 0 has a canvas of (960, 600) and a pen of 0 px"),
    ({"kind": "dot", "strokes": []}, "mark 0 has no strokes"),
    ({"kind": "dot", "strokes": [[[1, 2], [3, 1e7]]]}, "mark 0 has NaN, infinite or far-off points"),
    ({"kind": "dot", "strokes": [[[1, 2, 3]]]}, "not stroke JSON"),
])
def test_a_broken_junk_file_is_one_line(tmp_path, fake_recognizer, item, message):
    path = tmp_path / "bad.json"
    path.write_text(json.dumps({"digits": [item]}))
    assert_one_line_error(CliRunner().invoke(evaluate.cli, ["junk", str(path)]), message)
