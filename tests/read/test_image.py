"""Canvas → 28×28: conversions, MNIST-style normalisation and segmentation."""

import cv2
import numpy as np
import pytest

from digitboard.common.errors import UserError
from digitboard.read.image import as_canvas, MNIST_CENTRE, normalize_digit, stroke_width
from digitboard.read.ink import find_digits
from digitboard.data.pen import draw_strokes, fit_strokes


@pytest.fixture(scope="module")
def mnist_test_digits(mnist):
    return mnist.x_test[:50]


def iou(a: np.ndarray, b: np.ndarray, threshold: int = 64) -> float:
    a, b = a >= threshold, b >= threshold
    return float((a & b).sum() / max(1, (a | b).sum()))


def pasted(image: np.ndarray, height: int, canvas=(600, 800), top_left=(50, 100)) -> np.ndarray:
    """A 28×28 digit enlarged to `height` and pasted onto a black canvas."""
    canvas_img = np.zeros(canvas, np.uint8)
    big = cv2.resize(image, (height, height), interpolation=cv2.INTER_LINEAR)
    y, x = top_left
    canvas_img[y:y + height, x:x + height] = big
    return canvas_img


FOUR = [np.array([[60, 0], [0, 120], [100, 120]]), np.array([[80, 40], [80, 200]])]
FIVE_CAP = [np.array([[10, 0], [90, 0]]),
            np.array([[10, 10], [5, 90], [60, 80], [90, 130], [60, 190], [0, 180]])]


def draw(strokes, box, canvas_shape=(600, 900), brush=12):
    canvas = np.zeros(canvas_shape, np.uint8)
    return draw_strokes(fit_strokes(strokes, box), canvas, brush)


class TestAsCanvas:
    def test_uint8_passes_through(self):
        canvas = np.zeros((5, 7), np.uint8)
        assert as_canvas(canvas) is canvas

    @pytest.mark.parametrize("array, expected", [
        (np.array([[0.0, 1.0]]), [[0, 255]]),
        (np.array([[0.0, 200.0]]), [[0, 200]]),
        (np.array([[False, True]]), [[0, 255]]),
        (np.array([[[0], [255]]], np.uint8), [[0, 255]]),
        (np.array([[[0, 0, 0], [255, 255, 255]]], np.uint8), [[0, 255]]),
        (np.array([[-5, 900]]), [[0, 255]]),
        (np.array([[np.nan, 1.0]]), [[0, 255]]),
    ])
    def test_conversions(self, array, expected):
        canvas = as_canvas(array)
        assert canvas.dtype == np.uint8 and canvas.tolist() == expected

    @pytest.mark.parametrize("array", [np.zeros(10), np.zeros((2, 2, 2, 2)),
                                       np.array([["a", "b"]]), np.zeros((4, 4, 5))])
    def test_rejects_non_images(self, array):
        with pytest.raises(UserError, match="canvas"):
            as_canvas(array)


class TestNormalizeDigit:
    def test_mnist_digit_pasted_large_survives_round_trip(self, mnist_test_digits):
        for image in mnist_test_digits[:20]:
            restored = normalize_digit(pasted(image, 400))
            assert iou(restored, image) > 0.55

    def test_output_is_28_by_28_uint8_with_20px_longer_side(self, mnist_test_digits):
        out = normalize_digit(pasted(mnist_test_digits[0], 300))
        assert out.shape == (28, 28) and out.dtype == np.uint8
        ys, xs = np.nonzero(out > 0)
        assert max(np.ptp(ys), np.ptp(xs)) + 1 in (20, 21)

    def test_centre_of_mass_at_centre(self, mnist_test_digits):
        for image in mnist_test_digits[:10]:
            moments = cv2.moments(normalize_digit(pasted(image, 250, top_left=(300, 500))))
            cx, cy = moments["m10"] / moments["m00"], moments["m01"] / moments["m00"]
            assert abs(cx - MNIST_CENTRE) <= 0.75 and abs(cy - MNIST_CENTRE) <= 0.75

    def test_aspect_ratio_kept(self):
        canvas = np.zeros((500, 500), np.uint8)
        cv2.ellipse(canvas, (250, 250), (60, 180), 0, 0, 360, 255, 14)  # 1:3 wide:tall
        out = normalize_digit(canvas)
        _, _, w, h = cv2.boundingRect((out > 40).astype(np.uint8))
        assert 18 <= h <= 21 and 5 <= w <= 9

    def test_thin_and_thick_brushes_read_alike(self):
        thin = normalize_digit(draw(FIVE_CAP, (100, 100, 300, 300), brush=2))
        thick = normalize_digit(draw(FIVE_CAP, (100, 100, 300, 300), brush=40))
        assert iou(thin, thick) > 0.6
        widths = [stroke_width((img >= 128).astype(np.uint8)) for img in (thin, thick)]
        assert abs(widths[0] - widths[1]) < 1.0

    def test_small_and_large_digits_read_alike(self):
        small = normalize_digit(draw(FOUR, (10, 10, 30, 30), brush=3))
        large = normalize_digit(draw(FOUR, (50, 50, 500, 500), brush=12))
        assert iou(small, large) > 0.6

    def test_empty_ink_gives_blank(self):
        assert not normalize_digit(np.zeros((40, 40), np.uint8)).any()

    def test_a_long_hairline_survives_shrinking(self):
        digit = normalize_digit((np.eye(1000) * 60).astype(np.uint8))  # averaged away, it divided by zero
        assert digit.shape == (28, 28) and np.count_nonzero(digit) >= 20

    def test_one_pixel(self):
        out = normalize_digit(np.full((1, 1), 255, np.uint8))
        assert out.shape == (28, 28) and out.any()


class TestFindDigits:
    def test_empty_canvas(self):
        assert find_digits(np.zeros((300, 400), np.uint8)) == []

    def test_two_digits_side_by_side_left_to_right(self):
        canvas = draw(FIVE_CAP, (500, 100, 200, 300))
        draw_strokes(fit_strokes(FOUR, (100, 100, 200, 300)), canvas, 12)
        segments = find_digits(canvas)
        assert len(segments) == 2
        assert segments[0].box[0] < 300 < segments[1].box[0]

    @pytest.mark.parametrize("strokes", [FOUR, FIVE_CAP], ids=["two-stroke 4", "5 with its cap apart"])
    def test_strokes_of_one_digit_stay_one(self, strokes):
        assert len(find_digits(draw(strokes, (100, 100, 250, 350)))) == 1

    def test_separated_four_strokes_stay_one(self):
        # An "L" and a stem that do not touch: the gap is under 6 % of the height.
        strokes = [np.array([[40, 0], [0, 120], [70, 120]]), np.array([[82, 30], [82, 200]])]
        assert len(find_digits(draw(strokes, (100, 100, 250, 350), brush=8))) == 1

    def test_specks_are_ignored(self):
        canvas = draw(FOUR, (100, 100, 250, 350))
        canvas[20:24, 600:604] = 255
        canvas[500:503, 30:33] = 255
        segments = find_digits(canvas)
        assert len(segments) == 1 and segments[0].box[0] >= 90

    def test_a_stray_dash_of_a_fat_pen_is_a_speck(self):
        # Its pen path is 13 % of the digit's, a speck as group_strokes counts strokes; the
        # 17 px pen makes its ink 17 % as tall as the digit's.
        canvas = draw(FOUR, (100, 100, 250, 350), brush=17)
        draw_strokes([np.array([[600.0, 450.0], [600.0, 495.0]])], canvas, 17)
        segments = find_digits(canvas)
        assert len(segments) == 1 and segments[0].box[0] < 400

    def test_other_digits_ink_is_masked_out(self):
        canvas = draw(FOUR, (100, 100, 200, 300))
        draw_strokes(fit_strokes(FIVE_CAP, (500, 100, 200, 300)), canvas, 12)
        first = find_digits(canvas)[0]
        x0, y0, x1, y1 = first.box
        w, h = x1 - x0, y1 - y0
        assert first.ink.shape == (h, w) and first.ink.any()
