"""Digits from strokes: strokes grouped into digits, marks that are no digit, and bad strokes refused."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from digitboard.common.errors import UserError
from digitboard.measure.evaluation import write_number
from digitboard.read.ink import find_digits
from digitboard.read.strokes import (check_strokes, digit_height, group_strokes, stroke_boxes, transition_features)
from digitboard.data.pen import draw_strokes, PenDigit

from conftest import FIVE, FOUR, ONE, SEVEN, ZERO_IN_TWO_ARCS, arc, stand_in, write


@pytest.fixture(scope="module")
def reader():
    """A Recognizer that reads with conftest's stand-in (TemplateReader), which knows the ten
    digits the tests draw: which strokes make a digit is the grouping's doing."""
    return stand_in()


class TestWithStrokes:
    """Strokes grouped into digits around a reader no training changes; how the shipped model
    reads numbers from their strokes: TestShippedModel."""

    def test_touching_digits_are_read_apart(self, reader):
        canvas, strokes = write(ONE, SEVEN, FOUR, gap=0.0)
        assert len(find_digits(canvas)) < 3  # the ink is one blob or two …
        readings = reader.read(canvas, strokes=strokes)  # … but the strokes say three digits
        assert [r.strokes for r in readings] == [(0,), (1,), (2, 3)]
        assert [r.digit for r in readings] == [1, 7, 4]
        assert readings[0].box[0] < readings[1].box[0] < readings[2].box[0]

    def test_a_clear_number_is_read_with_one_image_per_digit(self, reader):
        canvas, strokes = write(ONE, SEVEN, FOUR, gap=0.3)
        classified = []

        def counting(images, strokes):
            classified.append(len(images))
            return reader.classify(images, strokes)

        groups = group_strokes(check_strokes(strokes, canvas.shape), counting)
        assert [g.strokes for g in groups] == [(0,), (1,), (2, 3)]
        assert classified == [3]  # the runs that cannot beat the clear cut are never drawn or read

    @pytest.mark.parametrize("digit, label", [(FIVE, 5), (FOUR, 4), (ZERO_IN_TWO_ARCS, 0)])
    def test_a_digit_of_several_strokes_stays_whole(self, reader, digit, label):
        canvas, strokes = write(digit)
        [reading] = reader.read(canvas, strokes=strokes)
        assert reading.strokes == (0, 1) and reading.digit == label

    def test_detached_strokes_stay_with_their_digit_beside_others(self, reader):
        canvas, strokes = write(FIVE, ZERO_IN_TWO_ARCS, FOUR, gap=0.1)
        readings = reader.read(canvas, strokes=strokes)
        assert [r.strokes for r in readings] == [(0, 1), (2, 3), (4, 5)]
        assert [r.digit for r in readings] == [5, 0, 4]

    def test_a_cap_added_after_the_next_digit_joins_its_digit(self, reader):
        canvas, strokes = write(FIVE, ONE, gap=0.2)
        late = [strokes[0], strokes[2], strokes[1]]  # the 5's body, the 1, then the 5's cap
        readings = reader.read(canvas, strokes=late)
        assert [r.strokes for r in readings] == [(0, 2), (1,)]

    @pytest.mark.parametrize("brush", [6, 20])
    def test_the_box_is_the_ink_of_the_strokes(self, reader, brush):
        canvas, strokes = write(FOUR, brush=brush)
        [reading] = reader.read(canvas, strokes=strokes)
        ink = cv2.boundingRect((canvas >= 48).astype(np.uint8))
        assert reading.box == pytest.approx(ink, abs=2)

    def test_a_dash_is_one_reading_and_no_crash(self, reader):
        dash = [np.array([[100.0, 300.0], [800.0, 305.0]])]  # one stroke far wider than tall: no run held it
        canvas = draw_strokes(dash, np.zeros((600, 1024), np.uint8), 12)
        [reading] = reader.read(canvas, strokes=dash)
        assert reading.strokes == (0,)

    def test_no_strokes_read_nothing(self, reader):
        assert reader.read(np.zeros((100, 100), np.uint8), strokes=[]) == []


@pytest.mark.shipped
class TestShippedModel:
    """The shipped model reading numbers with their strokes: what any good digit reader does,
    whatever its training."""

    def test_a_clear_number_written_touching_reads_as_written(self, shipped):
        canvas, strokes = write(ONE, SEVEN, FOUR, gap=0.0)
        assert [r.digit for r in shipped.read(canvas, strokes=strokes)] == [1, 7, 4]

    def test_real_pen_numbers_are_read_through_touching_and_overlap(self, shipped, pen_digits):
        rng = np.random.default_rng(7)
        for gap in (0.0, -0.05):
            numbers = [write_number([pen_digits[i] for i in rng.choice(len(pen_digits), 3)], gap, rng)
                       for _ in range(30)]
            read = sum("".join(str(r.digit) for r in shipped.read(n.canvas, strokes=n.strokes)) == n.label
                       for n in numbers)
            assert read >= 27, (gap, read)


class TestBadStrokes:
    @pytest.mark.parametrize("strokes, message", [
        ([np.zeros((0, 2))], "stroke 0 is empty"),
        ([np.array([[1.0, 2.0], [np.nan, 3.0]])], "stroke 0 holds NaN"),
        ([np.array([[10.0, 10.0]]), np.array([[10.0, 10.0], [150.0, 50.0]])], "stroke 1 leaves the 100×80 canvas"),
        ([np.array([[1.0, 2.0, 3.0]])], r"stroke 0 must be an \(n, 2\) array"),
        ([[["a", "b"]]], "stroke 0 is not an array of numbers"),
        (np.zeros((3, 2)), "a list of"),
    ])
    def test_each_is_named(self, strokes, message):
        with pytest.raises(UserError, match=message):
            check_strokes(strokes, (80, 100))

    def test_read_refuses_them_plainly(self, reader):
        with pytest.raises(UserError, match="stroke 0 holds NaN"):
            reader.read(np.zeros((80, 100), np.uint8), strokes=[np.array([[np.nan, 1.0]])])

    def test_lists_of_points_are_fine(self):
        [stroke] = check_strokes([[(1, 2), (3, 4)]], (80, 100))
        assert stroke.shape == (2, 2) and stroke.dtype == np.float64


class TestGeometry:
    def test_written_numbers_keep_their_gap(self):
        digits = [PenDigit("1", ONE), PenDigit("7", SEVEN)]
        for gap in (0.25, 0.0, -0.05):
            number = write_number(digits, gap, np.random.default_rng(0), size_jitter=0, baseline_jitter=0)
            first, second = stroke_boxes(number.strokes[:1]), stroke_boxes(number.strokes[1:])
            assert second[0, 0] - first[0, 2] == pytest.approx(gap * 180)
            assert number.label == "17" and number.canvas.max() == 255

    def test_a_stroke_far_right_starts_a_digit_and_a_crossing_bar_does_not(self):
        height = digit_height(stroke_boxes([*ONE, *SEVEN]))
        from digitboard.read.strokes import new_digit_log_odds
        far = SEVEN[0] + (150, 0)
        assert new_digit_log_odds(ONE, far, height) > 3
        bar = np.array([[10.0, 100], [90, 100]])
        assert new_digit_log_odds(SEVEN, bar, height) < -3
        assert transition_features(SEVEN, bar, height)[3] == 1  # it crosses the stem


class TestNotADigit:
    """Grouping with a model that can say "not a digit" (an 11th class), here a stand-in that
    reads each group of strokes by which strokes it holds, so that the grouping alone is tested."""

    @staticmethod
    def reader(table: dict, otherwise: int = 10, sure: float = 0.97):
        """classify(images, strokes): for each image, the class `table` gives the set of its
        strokes' first points (frozenset of tuples), read `sure`ly (or (class, how surely));
        `otherwise` for the rest; what is left is spread over the other classes."""
        def classify(images, strokes=None):
            probs = np.zeros((len(images), 11), np.float32)
            for row, group in enumerate(strokes or [None] * len(images)):
                key = frozenset(tuple(np.round(s[0], 3)) for s in group) if group is not None else None
                label, p = table.get(key, otherwise), sure
                if isinstance(label, tuple):
                    label, p = label
                probs[row] = (1 - p) / 10
                probs[row, label] = p
            return probs
        return classify

    @staticmethod
    def key(*strokes):
        return frozenset(tuple(np.round(s[0], 3)) for s in strokes)

    def read(self, strokes, table, pen=12.0, **kwargs):
        checked = check_strokes(strokes, (600, 1200))
        return group_strokes(checked, self.reader(table, **kwargs), pen, (600, 1200))

    def test_a_four_in_two_strokes_is_one_four_when_its_l_alone_is_no_digit(self):
        _, strokes = write(FOUR)
        table = {self.key(strokes[0]): 10, self.key(strokes[1]): 1, self.key(*strokes): 4}
        assert [(r.digit, r.strokes) for r in self.read(strokes, table)] == [(4, (0, 1))]

    def test_an_open_four_whose_stem_stands_apart_is_one_four(self):
        """An L, then a stem a little to its right (UNIPEN writers' open 4): the boundary model
        gives 2.3 log-odds that the stem starts a new digit, the L alone is surely no digit,
        and the whole surely a 4; the models' reading outweighs the boundary model's."""
        l_stroke = np.array([[356.0, 167], [356, 300], [568, 308]])
        stem = np.array([[585.0, 150], [585, 450]])
        table = {self.key(l_stroke): 10, self.key(stem): 1, self.key(l_stroke, stem): 4}
        assert [(r.digit, r.strokes) for r in self.read([l_stroke, stem], table)] == [(4, (0, 1))]

    def test_a_five_with_its_cap_and_a_zero_in_two_arcs_stay_whole(self):
        for digit, label in ((FIVE, 5), (ZERO_IN_TWO_ARCS, 0)):
            _, strokes = write(digit)
            table = {self.key(strokes[0]): 10, self.key(strokes[1]): 10, self.key(*strokes): label}
            assert [r.digit for r in self.read(strokes, table)] == [label]

    def test_hatching_is_one_mark_though_each_line_alone_may_be_a_1(self):
        lines = [np.array([[100.0 + 14 * k, 300], [200 + 14 * k, 100]]) for k in range(7)]  # slanted, close
        table = {self.key(line): (1, 0.6) for line in lines}  # each line alone maybe a 1; together surely no digit
        marks = self.read(lines, table)
        assert marks and all(m.digit is None for m in marks)
        assert sorted(k for m in marks for k in m.strokes) == list(range(7))

    def test_a_letter_is_one_mark_though_the_boundary_model_parts_its_strokes(self):
        letter_h = [np.array([[100.0, 100], [100, 300]]), np.array([[220.0, 100], [220, 300]]),
                    np.array([[100.0, 200], [220, 200]])]
        table = {self.key(letter_h[0]): (1, 0.9), self.key(letter_h[1]): (1, 0.9)}  # each upright alone a 1
        marks = self.read(letter_h, table)
        assert [(m.digit, m.strokes) for m in marks] == [(None, (0, 1, 2))]

    def test_a_scribble_and_a_dot_are_no_digit(self):
        scribble = [np.c_[np.linspace(100, 400, 60), 200 + 80 * np.sin(np.linspace(0, 19, 60))]]
        assert [m.digit for m in self.read(scribble, {})] == [None]
        dot = [np.array([[300.0, 200.0], [301, 201]])]
        assert [m.digit for m in self.read(dot, {self.key(*dot): 1})] == [None]  # read as a 1, still a dot

    def test_a_dot_beside_a_number_leaves_the_number(self):
        _, strokes = write(ONE, SEVEN, gap=0.3)
        dot = np.array([[strokes[1][:, 0].max() + 60, 290.0], [strokes[1][:, 0].max() + 61, 291]])
        table = {self.key(strokes[0]): 1, self.key(strokes[1]): 7}
        marks = self.read([*strokes, dot], table)
        assert [m.digit for m in marks if m.digit is not None] == [1, 7]

    def test_a_ring_round_a_digit_is_a_ring_and_the_digit(self):
        _, five = write(FIVE)
        centre = np.concatenate(five).mean(axis=0)
        ring = arc(centre[0], centre[1], 150, 170, -np.pi / 2, 1.45 * np.pi, n=60)
        table = {self.key(*five): 5, self.key(ring): 0, self.key(ring, *five): 10}
        marks = self.read([*five, ring], table)
        assert [m.digit for m in marks if m.digit is not None] == [5]
        assert [m.strokes for m in marks if m.digit is None] == [(2,)]

    def test_a_slashed_zero_is_a_zero(self):
        zero = arc(150, 200, 60, 100, -np.pi / 2, 1.5 * np.pi, n=40)
        slash = np.array([[120.0, 260], [180, 140]])  # inside the loop, as some write it
        table = {self.key(zero, slash): 0, self.key(zero): 0, self.key(slash): 1}
        assert [m.digit for m in self.read([zero, slash], table)] == [0]

    def test_a_model_without_the_class_reads_as_before(self):
        _, strokes = write(FOUR)
        ten = self.reader({self.key(*strokes): 4}, otherwise=7)

        def classify(images, strokes=None):
            return ten(images, strokes)[:, :10] / ten(images, strokes)[:, :10].sum(axis=1, keepdims=True)

        assert [r.digit for r in group_strokes(check_strokes(strokes, (600, 1200)), classify, 12.0)] == [4]
