"""A canvas, and one digit's ink made into a 28×28 model input the way MNIST was made.
Pure numpy/OpenCV.

MNIST's recipe: crop each digit, scale its longer side to 20 px keeping the aspect
ratio (anti-aliased), and place it in 28×28 with its centre of mass at the centre.
We add one step MNIST did not need: strokes are redrawn at MNIST's stroke width, so
a thin mouse brush, a fat one, a small digit and a large one all look alike.
"""

from __future__ import annotations

import functools

import cv2
import numpy as np

from ..common.errors import UserError

SIDE = 28
BOX = 20                     # the longer side of a digit inside the 28×28 field
WORK = 4 * BOX               # resolution at which stroke width is normalised
MNIST_STROKE = 2.2 * 4       # MNIST's median stroke width (2.2 px at 28×28), at WORK scale
MNIST_CENTRE = 14.0          # MNIST's mean centre of mass, in cv2.moments coordinates
INK_THRESHOLD = 48           # canvas pixels at or above this are ink
SPECK_FRACTION = 0.15        # marks smaller than this share of the tallest are specks


def as_canvas(array) -> np.ndarray:
    """A 2-D uint8 canvas (white ink on black) from uint8, bool, float (0–1 or 0–255),
    single-channel or RGB(A) arrays; UserError for anything else."""
    canvas = np.asarray(array)
    if canvas.ndim == 3 and canvas.shape[2] == 1:
        canvas = canvas[:, :, 0]
    elif canvas.ndim == 3 and canvas.shape[2] in (3, 4):
        canvas = np.asarray(canvas[:, :, :3], np.float32).mean(axis=2)
    if canvas.ndim != 2:
        raise UserError(f"canvas must be a 2-D image, got an array of shape {canvas.shape}")
    if canvas.dtype == np.uint8:
        return canvas
    if canvas.dtype == bool:
        return canvas.astype(np.uint8) * 255
    if not (np.issubdtype(canvas.dtype, np.floating) or np.issubdtype(canvas.dtype, np.integer)):
        raise UserError(f"canvas must hold numbers, got dtype {canvas.dtype}")
    values = np.nan_to_num(canvas.astype(np.float32), nan=0.0, posinf=255.0, neginf=0.0)
    if np.issubdtype(canvas.dtype, np.floating) and values.size and values.max() <= 1.0:
        values = values * 255
    return np.clip(values, 0, 255).astype(np.uint8)


def stroke_width(binary: np.ndarray) -> float:
    """Mean stroke width of a 0/1 image: twice the ink area over the outline length."""
    contours, _ = cv2.findContours(binary, cv2.RETR_LIST, cv2.CHAIN_APPROX_NONE)
    perimeter = sum(cv2.arcLength(c, True) for c in contours)
    return 2.0 * cv2.countNonZero(binary) / perimeter if perimeter else 0.0


def _crop_to_ink(image: np.ndarray) -> np.ndarray:
    x, y, w, h = cv2.boundingRect(image)  # of its non-zero pixels (an image, not points: ~20x faster)
    return image[y:y + h, x:x + w]


def normalize_width(binary: np.ndarray, target: float = MNIST_STROKE) -> np.ndarray:
    """Thicken or thin the strokes of a 0/1 image towards `target` pixels."""
    width = stroke_width(binary)
    change = int(round(target - width))
    if change > 0:
        return cv2.dilate(binary, _disc(change + 1))
    if change < -1:
        thinned = cv2.erode(binary, _disc(-change + 1))
        if cv2.countNonZero(thinned) > 0.25 * cv2.countNonZero(binary):  # never erase a digit to get thinner
            return thinned
    return binary


@functools.lru_cache(maxsize=None)
def _disc(size: int) -> np.ndarray:
    return cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (size, size))


def normalize_digit(ink: np.ndarray) -> np.ndarray:
    """One digit's ink (any size, white on black) → a (28, 28) uint8 MNIST-style input."""
    x, y, w, h = cv2.boundingRect((ink >= INK_THRESHOLD).view(np.uint8))
    if w == 0:
        return np.zeros((SIDE, SIDE), np.uint8)
    crop = ink[y:y + h, x:x + w]
    scale = (WORK - 2 * MNIST_STROKE) / max(w, h)
    size = (max(1, round(w * scale)), max(1, round(h * scale)))
    interpolation = cv2.INTER_AREA if scale < 1 else cv2.INTER_LINEAR
    # Any ink that survives area-averaging counts, so thin strokes on big digits stay connected;
    # a stroke too thin for its length to survive at all (a 1 px diagonal a metre long) keeps every trace.
    binary = (cv2.resize(crop, size, interpolation=interpolation) >= 24).view(np.uint8)
    if not binary.any():
        mask = (crop >= INK_THRESHOLD).astype(np.float32)
        binary = (cv2.resize(mask, size, interpolation=interpolation) > 0).view(np.uint8)
    pad = int(MNIST_STROKE)
    binary = cv2.copyMakeBorder(binary, pad, pad, pad, pad, cv2.BORDER_CONSTANT, value=0)
    binary = _crop_to_ink(normalize_width(binary))
    h, w = binary.shape
    scale = BOX / max(h, w)
    digit = cv2.resize(binary * np.uint8(255), (max(1, round(w * scale)), max(1, round(h * scale))),
                       interpolation=cv2.INTER_AREA)
    return centre_by_mass(digit)


def centre_by_mass(digit: np.ndarray) -> np.ndarray:
    """Paste a digit of at most 28×28 into a 28×28 field with its centre of mass at the centre."""
    moments = cv2.moments(digit)
    h, w = digit.shape
    cx, cy = (moments["m10"] / moments["m00"], moments["m01"] / moments["m00"]) \
        if moments["m00"] else (w / 2, h / 2)
    left = int(np.clip(round(MNIST_CENTRE - cx), 0, SIDE - w))
    top = int(np.clip(round(MNIST_CENTRE - cy), 0, SIDE - h))
    field = np.zeros((SIDE, SIDE), np.uint8)
    field[top:top + h, left:left + w] = digit
    return field
