"""Canvas → 28×28: conversions and MNIST-style normalisation."""

import cv2
import numpy as np
import pytest

from digitboard.common.errors import UserError
from digitboard.read.image import as_canvas, MNIST_CENTRE, normalize_digit, stroke_width
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


FOUR_STROKES = [np.array([[60, 0], [0, 120], [100, 120]]), np.array([[80, 40], [80, 200]])]
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
        small = normalize_digit(draw(FOUR_STROKES, (10, 10, 30, 30), brush=3))
        large = normalize_digit(draw(FOUR_STROKES, (50, 50, 500, 500), brush=12))
        assert iou(small, large) > 0.6

    def test_empty_ink_gives_blank(self):
        assert not normalize_digit(np.zeros((40, 40), np.uint8)).any()

    def test_a_long_hairline_survives_shrinking(self):
        digit = normalize_digit((np.eye(1000) * 60).astype(np.uint8))  # averaged away, it divided by zero
        assert digit.shape == (28, 28) and np.count_nonzero(digit) >= 20

    def test_one_pixel(self):
        out = normalize_digit(np.full((1, 1), 255, np.uint8))
        assert out.shape == (28, 28) and out.any()
