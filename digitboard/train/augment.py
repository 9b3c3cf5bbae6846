"""Variety for training: random changes to images (make_augmenter) and to pen strokes
(vary_hand, vary_style, vary_order), and pen digits drawn anew as model inputs
(pen_renderings), each as another hand at another size and brush might leave it."""

from __future__ import annotations

import numpy as np

from ..common.quiet import import_tensorflow
from ..data.pen import brush_for, draw_pen_digit
from ..read.image import normalize_digit

ELASTIC = 0.6  # pixels (at 28×28): typical size of the smooth random warp that makes each digit a new hand


def make_augmenter(seed: int, size: tuple[int, int] = (28, 28)):
    """Random changes that mouse- and pen-drawn digits show: slant, size, position, the small
    wobbles of a hand (an elastic warp, Simard et al. 2003), and stroke width.

    The geometric changes are composed into one map from output to input pixels and applied
    in one resampling (OpenCV's remap), since chaining resamplings blurs 28×28 digits. `size`
    (h, w) of other image sets moves the centre and scales the shift and the warp. Returns a
    tf.data map over batches (images (n, h, w, c) float32, labels)."""
    import cv2
    tf = import_tensorflow()

    rng = np.random.default_rng(seed)
    height, width = size
    centre_x, centre_y = (width - 1) / 2, (height - 1) / 2  # 13.5 for 28×28
    unit = min(height, width) / 28
    rows, columns = np.mgrid[0:height, 0:width].astype(np.float32)
    x, y = columns - centre_x, rows - centre_y  # rotate, shear and zoom about the centre
    widen = cv2.getStructuringElement(cv2.MORPH_RECT, (3, 3))
    # bicubic interpolation from 4 grid points to the image's rows and columns, as matrices
    spread_y, spread_x = (cv2.resize(np.eye(4, dtype=np.float32), (side, 4), interpolation=cv2.INTER_CUBIC)
                          for side in (height, width))

    def random_maps(n):  # input x and y (n, h, w) for each output pixel
        angle, shear = rng.uniform(-0.2, 0.2, (2, n, 1, 1))  # ±11°
        scale = rng.uniform(0.85, 1.12, (n, 1, 1))           # < 1 draws the digit larger
        aspect = rng.uniform(0.9, 1.1, (n, 1, 1))
        shift_x, shift_y = rng.uniform(-2.5 * unit, 2.5 * unit, (2, n, 1, 1))
        cos, sin = np.cos(angle) * scale, np.sin(angle) * scale
        in_x = cos * aspect * x + (-sin + shear * cos) * y + centre_x + shift_x
        in_y = sin * aspect * x + (cos + shear * sin) * y + centre_y + shift_y
        # a smooth warp: random offsets on a 4×4 grid, interpolated over the image
        grid = rng.normal(size=(n, 2, 4, 4)).astype(np.float32)
        warp = spread_y.T @ grid @ spread_x * (ELASTIC * unit)  # (n, 2, h, w)
        return (in_x + warp[:, 0]).astype(np.float32), (in_y + warp[:, 1]).astype(np.float32)

    def augment_batch(images: np.ndarray) -> np.ndarray:
        moved = np.empty_like(images)
        for image, map_x, map_y, into in zip(images, *random_maps(len(images)), moved):
            into[:] = cv2.remap(image, map_x, map_y, cv2.INTER_LINEAR,
                                borderMode=cv2.BORDER_CONSTANT).reshape(image.shape)
        # stroke width: blend towards a 3×3 dilation or erosion, per image
        amount = rng.uniform(-0.5, 0.5, (len(images), 1, 1, 1)).astype(np.float32)
        towards = np.where(amount > 0, morph(cv2.dilate, moved), morph(cv2.erode, moved))
        return np.clip(moved + np.abs(amount) * (towards - moved), 0.0, 255.0)

    def morph(operation, images):  # one OpenCV call per 128 images and channels (its limit)
        n, h, w, c = images.shape
        planes = images.transpose(1, 2, 0, 3).reshape(h, w, n * c)
        done = [operation(np.ascontiguousarray(planes[..., start:start + 128]), widen).reshape(h, w, -1)
                for start in range(0, n * c, 128)]
        return np.concatenate(done, axis=2).reshape(h, w, n, c).transpose(2, 0, 1, 3)

    def augment(images, labels):
        images = tf.cast(images, tf.float32)
        varied = tf.numpy_function(augment_batch, [images], tf.float32, stateful=True)
        return tf.ensure_shape(varied, images.shape), labels

    return augment


def vary_hand(strokes: list[np.ndarray], rng: np.random.Generator) -> list[np.ndarray]:
    """The same digit as another hand might write it: slanted, turned, narrower or wider, and
    with the small smooth wobbles of a pen (a few random waves across the digit)."""
    points = np.concatenate(strokes)
    centre, size = points.mean(axis=0), max(float(np.ptp(points, axis=0).max()), 1e-6)
    angle, slant = rng.uniform(-0.15, 0.15), rng.uniform(-0.3, 0.3)
    aspect = float(np.exp(rng.uniform(np.log(0.8), np.log(1.25))))
    cos, sin = np.cos(angle), np.sin(angle)
    transform = np.array([[cos, -sin], [sin, cos]]) @ np.array([[aspect, -slant], [0.0, 1.0]])
    waves = rng.normal(0, 1, (2, 2, 2)) * 2 * np.pi / size   # (wave, axis of the wobble, x/y frequency)
    phases, amplitude = rng.uniform(0, 2 * np.pi, (2, 2)), 0.025 * size

    def move(stroke):
        p = (stroke - centre) @ transform.T
        wobble = sum(amplitude * np.sin(p @ waves[k].T + phases[k]) for k in range(2))
        return p + wobble + centre

    return [move(s) for s in strokes]


def _top(stroke: np.ndarray) -> int:
    return int(np.argmin(stroke[:, 1]))


def vary_style(strokes: list[np.ndarray], label: str, rng: np.random.Generator) -> list[np.ndarray]:
    """The digit in a style of writing it that pen data shows rarely: a 1 with a flag (and
    sometimes a foot), a 7 with a bar across its stem; and, for any digit of several strokes,
    strokes that do not quite meet (an open-topped 4, a loose cap on a 5)."""
    points = np.concatenate(strokes)
    low, high = points.min(axis=0), points.max(axis=0)
    height = max(float(high[1] - low[1]), 1e-6)
    strokes = [s.copy() for s in strokes]
    if label == "1" and len(strokes) == 1:
        stem = strokes[0]
        top = stem[_top(stem)]
        angle, length = rng.uniform(np.radians(20), np.radians(55)), rng.uniform(0.2, 0.4) * height
        flag = np.array([top - length * np.array([np.cos(angle), -np.sin(angle)]), top])
        strokes = [np.r_[flag[:1], stem[_top(stem):]], *([stem[:_top(stem)]] if _top(stem) > 1 else [])]
        if rng.random() < 0.4:  # a foot
            bottom = stem[np.argmax(stem[:, 1])]
            half = rng.uniform(0.15, 0.3) * height
            strokes.append(np.array([bottom - (half, 0), bottom + (half, 0)]))
    elif label == "7":
        path = max(strokes, key=len)
        middle = path[np.argmin(np.abs(path[:, 1] - (low[1] + rng.uniform(0.45, 0.6) * height)))]
        half, tilt = rng.uniform(0.15, 0.25) * height, rng.uniform(-0.15, 0.15)
        strokes.append(np.array([middle - (half, half * tilt), middle + (half, half * tilt)]))
    if len(strokes) > 1:
        strokes = [s + rng.normal(0, 0.04 * height, 2) for s in strokes]
    return strokes


def pen_renderings(strokes: list[np.ndarray], count: int, rng: np.random.Generator,
                   label: str = "") -> list[np.ndarray]:
    """`count` 28×28 inputs of one pen digit: the first as written, at the board's usual size
    and brush; the rest drawn anew (drawn_anew)."""
    first = normalize_digit(draw_pen_digit(strokes, 360, brush_for(600)))
    return [first, *(drawn_anew(strokes, rng, label) for _ in range(count - 1))]


def drawn_anew(strokes: list[np.ndarray], rng: np.random.Generator, label: str = "") -> np.ndarray:
    """A 28×28 input of pen strokes as another hand might write them (vary_hand, and half the
    time vary_style), at a random size (50–420 px) and brush (2–20 px, at most 30 % of the
    height), because mouse digits come large and small, with thin and fat brushes."""
    height = float(np.exp(rng.uniform(np.log(50), np.log(420))))
    brush = int(min(rng.integers(2, 21), 0.3 * height))
    styled = vary_style(strokes, label, rng) if rng.random() < 0.5 else strokes
    return normalize_digit(draw_pen_digit(vary_hand(styled, rng), height, brush))


REORDER = 0.2              # share of varied copies whose strokes come in another order
REVERSE = 0.1              # chance of each stroke of a varied copy being drawn the other way


def vary_order(strokes: list[np.ndarray], rng: np.random.Generator) -> list[np.ndarray]:
    """The strokes as a writer with other habits might draw them: sometimes in another order,
    sometimes one the other way round (the bar of a 4 last, a 0 clockwise). Without this the
    stroke model trusts the 24 writers' habits too much: unseen writers read 98.2 % instead
    of 99.2 %."""
    if len(strokes) > 1 and rng.random() < REORDER:
        strokes = [strokes[i] for i in rng.permutation(len(strokes))]
    return [s[::-1] if rng.random() < REVERSE else s for s in strokes]
