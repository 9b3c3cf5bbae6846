"""The stroke model: pen paths as features, combining its reading with the image's, training
it beside an image model (into the model's companion folder) and reading with both."""

import numpy as np
import pytest

from digitboard import Recognizer
from digitboard.data.pen import read_unipen
from digitboard.read.model_files import (REPLAY, STROKES, STROKES_LITE, companion, companions_dir, model_tag,
                                         read_card)
from digitboard.read.trajectory import combine, PATH_FEATURES, path_features, PATH_POINTS

from conftest import PEN_DIGITS, run_train, unipen_text

SEVEN = [np.array([[0.0, 0.0], [100.0, 0.0]]), np.array([[100.0, 0.0], [40.0, 150.0]])]


class TestPathFeatures:
    def test_shape_and_box(self):
        features = path_features(SEVEN)
        assert features.shape == (PATH_POINTS, PATH_FEATURES) and features.dtype == np.float32
        xy = features[:, :2]
        assert xy.min() >= -0.5 - 1e-6 and xy.max() <= 0.5 + 1e-6
        assert np.allclose(xy.max(axis=0) - xy.min(axis=0), [100 / 150, 1.0], atol=0.02)  # the longer side is 1

    def test_the_path_follows_the_drawing_order_and_direction(self):
        features = path_features(SEVEN)
        assert features[0, :2] == pytest.approx([-100 / 300, -0.5], abs=1e-6)   # starts at the bar's left end
        assert features[-1, :2] == pytest.approx([-10 / 150, 0.5], abs=0.02)  # ends at the stem's foot
        assert features[1, 2:4] == pytest.approx([1.0, 0.0], abs=1e-3)          # first heading right
        assert np.allclose(np.linalg.norm(features[:, 2:4], axis=1), 1.0, atol=1e-3)

    def test_jumps_between_strokes_are_flagged_pen_up(self):
        lifted = [np.array([[0.0, 0.0], [0.0, 100.0]]), np.array([[50.0, 0.0], [50.0, 100.0]])]
        pen_down = path_features(lifted)[:, 4]
        assert set(np.unique(pen_down)) == {0.0, 1.0}
        # the jump from the first stroke's end to the second's start is about a third of the way
        assert 0.2 < np.flatnonzero(pen_down == 0).mean() / PATH_POINTS < 0.6
        assert path_features(SEVEN)[:, 4].min() == 1.0  # the 7's stem starts where its bar ended

    def test_scale_and_position_do_not_matter(self):
        moved = [s * 3.5 + (400, 120) for s in SEVEN]
        assert np.allclose(path_features(SEVEN), path_features(moved), atol=1e-5)

    @pytest.mark.parametrize("strokes", [[np.array([[5.0, 5.0]])], [np.array([[5.0, 5.0]] * 4)],
                                         [np.array([[0.0, 0.0], [0.0, 0.0]]), np.array([[3.0, 3.0]])]])
    def test_dots_and_repeated_points_are_finite(self, strokes):
        assert np.isfinite(path_features(strokes)).all()


def test_combine_is_a_weighted_product_of_the_two_readings():
    image = np.array([[0.6, 0.4, 0, 0, 0, 0, 0, 0, 0, 0]], np.float32)
    pen = np.array([[0.1, 0.9, 0, 0, 0, 0, 0, 0, 0, 0]], np.float32)
    both = combine(image, pen, weight=1.0)
    assert both.sum() == pytest.approx(1.0) and both.argmax() == 1
    assert both[0, 1] / both[0, 0] == pytest.approx((0.4 * 0.9) / (0.6 * 0.1), rel=1e-3)
    assert combine(image, pen, weight=0.0) == pytest.approx(image, abs=1e-5)


def test_the_stroke_model_is_found_through_the_image_models_own_bytes(tmp_path):
    model = tmp_path / "best.keras"
    model.write_bytes(b"a model")
    assert companion(model, STROKES) is None  # no companions: the images alone are read
    companions_dir(model).mkdir()
    (companions_dir(model) / STROKES).write_bytes(b"a stroke model")
    assert companion(model, STROKES) == tmp_path / f"best.{model_tag(model)}" / STROKES
    model.write_bytes(b"another model")  # a model put there by hand: the old stroke model is not its
    assert companion(model, STROKES) is None
    assert companion(tmp_path / "none.keras", STROKES) is None


def test_training_on_pen_digits_writes_a_stroke_model_that_read_uses(mnist, tmp_path):
    """A quick run with pen data: the stroke model, its replay sample and its flatbuffer go
    into the model's companion folder, the card says how it was trained, and Recognizer.load
    reads a digit's strokes with it (its probabilities change)."""
    pen = tmp_path / "pen.txt"
    pen.write_text(unipen_text(PEN_DIGITS * 4))
    out = tmp_path / "run" / "best.keras"
    result = run_train("--limit", 300, "--extra", pen, "--arch", "small", "--epochs", "1",
                       "--stroke-epochs", 2, "--out", out)
    assert result.exit_code == 0, result.output
    card = read_card(out)
    assert card["stroke_model"]["pen_digits"] == 12 and card["config"]["stroke_epochs"] == 2
    assert "stroke model epoch 2/2" in result.output
    assert companion(out, STROKES) and companion(out, STROKES_LITE)
    replay = np.load(companion(out, REPLAY))
    assert replay["paths"].shape[1:] == (PATH_POINTS, PATH_FEATURES) and len(replay["labels"]) == len(replay["paths"])
    recognizer = Recognizer.load(out)
    assert recognizer.stroke_model is True
    seven = read_unipen(pen)[1]
    strokes = [s - s.min(axis=0) + 20 for s in seven.strokes]
    image = np.zeros((1, 28, 28), np.uint8)
    alone, with_strokes = recognizer.classify(image), recognizer.classify(image, [strokes])
    assert with_strokes.shape == (1, recognizer.classes) and with_strokes.sum() == pytest.approx(1.0, abs=1e-4)
    assert not np.allclose(alone, with_strokes)


def test_no_stroke_model_without_pen_data_or_when_asked(tiny_model, make_unipen, tmp_path):
    assert "stroke_model" not in read_card(tiny_model) and companion(tiny_model, STROKES) is None  # no pen data
    out = tmp_path / "pen.keras"
    result = run_train("--limit", 200, "--extra", make_unipen(), "--arch", "small", "--epochs", "1",
                       "--stroke-epochs", 0, "--out", out)
    assert result.exit_code == 0, result.output
    assert "stroke_model" not in read_card(out)
    assert companion(out, STROKES) is None and companion(out, REPLAY) is None
    assert Recognizer.load(out).stroke_model is False
