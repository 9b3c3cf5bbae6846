"""Digits from the ink alone: blobs of ink found, and touching digits cut apart."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from digitboard.data.pen import PenDigit, draw_strokes, fit_strokes
from digitboard.measure.evaluation import write_number
from digitboard.read import ink as cuts
from digitboard.read.image import stroke_width
from digitboard.read.ink import find_digits, search_scale, seams

from conftest import FOUR, ONE, SEVEN, THREE, ZERO_IN_TWO_ARCS, arc, stand_in, templates_of, write
from test_image import FIVE_CAP, FOUR_STROKES, draw


class TestFindDigits:
    def test_empty_canvas(self):
        assert find_digits(np.zeros((300, 400), np.uint8)) == []

    def test_two_digits_side_by_side_left_to_right(self):
        canvas = draw(FIVE_CAP, (500, 100, 200, 300))
        draw_strokes(fit_strokes(FOUR_STROKES, (100, 100, 200, 300)), canvas, 12)
        segments = find_digits(canvas)
        assert len(segments) == 2
        assert segments[0].box[0] < 300 < segments[1].box[0]

    @pytest.mark.parametrize("strokes", [FOUR_STROKES, FIVE_CAP], ids=["two-stroke 4", "5 with its cap apart"])
    def test_strokes_of_one_digit_stay_one(self, strokes):
        assert len(find_digits(draw(strokes, (100, 100, 250, 350)))) == 1

    def test_separated_four_strokes_stay_one(self):
        # An "L" and a stem that do not touch: the gap is under 6 % of the height.
        strokes = [np.array([[40, 0], [0, 120], [70, 120]]), np.array([[82, 30], [82, 200]])]
        assert len(find_digits(draw(strokes, (100, 100, 250, 350), brush=8))) == 1

    def test_specks_are_ignored(self):
        canvas = draw(FOUR_STROKES, (100, 100, 250, 350))
        canvas[20:24, 600:604] = 255
        canvas[500:503, 30:33] = 255
        segments = find_digits(canvas)
        assert len(segments) == 1 and segments[0].box[0] >= 90

    def test_a_stray_dash_of_a_fat_pen_is_a_speck(self):
        # Its pen path is 13 % of the digit's, a speck as group_strokes counts strokes; the
        # 17 px pen makes its ink 17 % as tall as the digit's.
        canvas = draw(FOUR_STROKES, (100, 100, 250, 350), brush=17)
        draw_strokes([np.array([[600.0, 450.0], [600.0, 495.0]])], canvas, 17)
        segments = find_digits(canvas)
        assert len(segments) == 1 and segments[0].box[0] < 400

    def test_other_digits_ink_is_masked_out(self):
        canvas = draw(FOUR_STROKES, (100, 100, 200, 300))
        draw_strokes(fit_strokes(FIVE_CAP, (500, 100, 200, 300)), canvas, 12)
        first = find_digits(canvas)[0]
        x0, y0, x1, y1 = first.box
        w, h = x1 - x0, y1 - y0
        assert first.ink.shape == (h, w) and first.ink.any()


def stadium(width: float = 100.0, height: float = 200.0) -> list[np.ndarray]:
    """A 0 in one stroke, with straight sides: two side by side touch along a whole stroke."""
    r = width / 2
    return [np.r_[arc(r, r, r, r, -np.pi / 2, -np.pi, 12), [[0.0, r], [0.0, height - r]],
                  arc(r, height - r, r, r, np.pi, 0, 12), [[width, height - r], [width, r]],
                  arc(r, r, r, r, 0, -np.pi / 2 - 0.3, 12)]]


WIDE_ZERO = [arc(100, 100, 100, 100, 0, 2 * np.pi, 48)]
WIDE_SEVEN = [np.array([[0.0, 0], [180, 0], [60, 200]])]
WIDE_FOUR = [np.array([[80.0, 0], [0, 130], [180, 130]]), np.array([[120.0, 40], [120, 200]])]


@pytest.fixture(scope="module")
def reader():
    """A Recognizer that reads with conftest's stand-in, which reads the ten digits the tests
    draw surely, and two touching digits, or a piece of one, less surely: what is cut where is
    the search's doing."""
    return stand_in()


def knowing(*digits):
    """The stand-in, knowing these (label, pen paths) digits besides the ten."""
    return stand_in(*(template for label, digit in digits for template in templates_of(label, digit)))


def three_four(**kwargs):
    """A 3 and a 4 written as a number, touching (write_number at gap 0)."""
    return write_number([PenDigit("3", THREE), PenDigit("4", FOUR)], 0.0, np.random.default_rng(0),
                        size_jitter=0, baseline_jitter=0, **kwargs)


class TestCanvasOnly:
    """Touching digits cut apart (read.ink) around a reader no training changes (conftest's
    TemplateReader); how the shipped model reads a number from the ink: TestShippedModel."""

    def test_digits_a_little_apart_are_not_joined(self, reader):
        canvas, _ = write(FOUR, ONE, SEVEN, gap=0.1)
        assert [r.digit for r in reader.read(canvas)] == [4, 1, 7]

    def test_a_touching_pair_is_cut_apart(self, reader):
        number = three_four()
        assert len(find_digits(number.canvas)) == 1  # one blob of ink
        readings = reader.read(number.canvas)
        assert [r.digit for r in readings] == [3, 4]
        assert readings[0].box[0] + readings[0].box[2] <= readings[1].box[0] + 0.25 * readings[1].box[2]

    def test_a_fat_pen_pair_is_searched_shrunk_and_cut_at_full_size(self, reader):
        number = three_four(height=240, brush=34)
        [blob] = find_digits(number.canvas)
        brush = stroke_width((blob.ink >= 48).view(np.uint8))
        bx0, by0, bx1, by1 = blob.box
        assert search_scale(by1 - by0, brush) < 0.75  # the pair is searched at under 3/4 size
        readings = reader.read(number.canvas)
        assert [r.digit for r in readings] == [3, 4]
        (x0, y0, w0, h0), (x1, y1, w1, h1) = (r.box for r in readings)
        # the pieces, cut at full size, hold the blob's ink between them, side by side
        assert x0 == pytest.approx(bx0, abs=1)
        assert x1 + w1 == pytest.approx(bx1, abs=1)
        assert x1 >= x0 + 0.4 * w0 and x1 + w1 > x0 + w0
        assert min(y0, y1) == pytest.approx(by0, abs=1)
        assert max(y0 + h0, y1 + h1) == pytest.approx(by1, abs=1)

    def test_digits_touching_along_a_stroke_are_cut_straight_where_no_seam_parts_them(self):
        reader = knowing((0, stadium()))
        canvas, strokes = write(stadium(), stadium())  # one 0's right side on the other's left
        [blob] = find_digits(canvas)
        x, y, x1, y1 = blob.box
        w, h = x1 - x, y1 - y
        inks = [draw_strokes([stroke], np.zeros_like(canvas), 14)[y:y + h, x:x + w] >= 48 for stroke in strokes]
        for seam in seams(blob.ink, h):  # each leaves a tenth of one 0 or more on the other's side
            right_of = np.arange(w)[None, :] > seam[:, None]
            astray = (inks[0] & right_of).sum() / inks[0].sum(), (inks[1] & ~right_of).sum() / inks[1].sum()
            assert max(astray) > 0.1
        readings = reader.read(canvas)
        assert [r.digit for r in readings] == [0, 0]
        first_right_edge = x + np.flatnonzero(inks[0].any(axis=0))[-1]
        assert readings[1].box[0] == pytest.approx(first_right_edge, abs=0.1 * h)

    def test_a_long_scribble_gets_no_straight_cuts(self, reader, monkeypatch):
        tried = []
        monkeypatch.setattr(cuts, "straight_cuts", lambda *args: tried.append(args) or [])
        x = np.linspace(50, 950, 400)
        wave = np.c_[x, 300 + 15 * np.sin(x / 9)]  # 24 of its heights long: what a scribble leaves
        canvas = draw_strokes([wave], np.zeros((600, 1024), np.uint8), 8)
        assert reader.read(canvas)  # read, by seams alone
        assert tried == []
        touching_zeros, _ = write(ZERO_IN_TWO_ARCS, ZERO_IN_TWO_ARCS)
        reader.read(touching_zeros)
        assert tried  # a number's touching digits are

    def test_a_wide_digit_read_surely_is_not_searched(self, monkeypatch):
        reader = knowing((7, WIDE_SEVEN), (4, WIDE_FOUR))
        searched = []
        real_candidates = cuts.cut_candidates
        monkeypatch.setattr(cuts, "cut_candidates",
                            lambda *args, **kw: searched.append(args) or real_candidates(*args, **kw))
        for digit, label in ((WIDE_SEVEN, 7), (WIDE_FOUR, 4)):
            canvas, _ = write(digit)
            [blob] = find_digits(canvas)
            x0, y0, x1, y1 = blob.box
            assert x1 - x0 >= cuts.WIDE * (y1 - y0)  # wide enough to hold two digits
            assert [r.digit for r in reader.read(canvas)] == [label]
        assert searched == []  # each holds pen path for one digit and reads surely as one
        touching_zeros, _ = write(ZERO_IN_TWO_ARCS, ZERO_IN_TWO_ARCS)
        assert [r.digit for r in reader.read(touching_zeros)] == [0, 0]
        assert searched

    def test_a_huge_thin_pen_blob_is_searched_shrunk(self, reader, monkeypatch):
        searched = []
        real_seams = cuts.seams
        monkeypatch.setattr(cuts, "seams", lambda ink, height: searched.append(ink.shape) or real_seams(ink, height))
        canvas = np.zeros((3000, 3000), np.uint8)
        for x in (800, 2200):  # two 0s 2,800 px tall, touching, in a 4 px pen
            cv2.ellipse(canvas, (x, 1500), (700, 1400), 0, 0, 360, 255, 4)
        [blob] = find_digits(canvas)
        assert blob.box[2] - blob.box[0] > 2 * cuts.MAX_SEARCH_SIDE
        reader.read(canvas)
        assert searched and max(max(shape) for shape in searched) <= cuts.MAX_SEARCH_SIDE  # it was 2,800: 2.4 s

    def test_a_dash_is_not_cut_into_digits(self, reader):
        canvas = draw_strokes([np.array([[100.0, 300.0], [800.0, 305.0]])], np.zeros((600, 1024), np.uint8), 12)
        assert len(reader.read(canvas)) == 1  # cut by its own height, it was 187 "digits"

    def test_a_wide_single_digit_read_surely_is_not_cut(self):
        reader = knowing((0, WIDE_ZERO))
        canvas, _ = write(WIDE_ZERO)
        [blob] = find_digits(canvas)
        assert blob.box[2] - blob.box[0] >= cuts.WIDE * (blob.box[3] - blob.box[1])
        assert [r.digit for r in reader.read(canvas)] == [0]


@pytest.mark.shipped
class TestShippedModel:
    """The shipped model reading digits a person draws clearly, from the ink alone: what any
    good digit reader does, whatever its training."""

    def test_a_number_written_a_little_apart_reads_as_written(self, shipped):
        canvas, _ = write(FOUR, ONE, SEVEN, gap=0.1)
        assert [r.digit for r in shipped.read(canvas)] == [4, 1, 7]
