"""The public recognizer: a canvas of ink in, the digits on it out, left to right."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from .errors import UserError
from .paths import DEFAULT_MODEL
from .preprocess import SIDE, as_canvas, find_digits
from .segment import brush_width, check_strokes, group_strokes, ink_box, read_ink
from .quiet import quiet_stderr

with quiet_stderr():  # TensorFlow's C++ start-up chatter
    import tensorflow as tf

    from .model import load_model_file, tf_device


@dataclass(frozen=True)
class Reading:
    """One digit found on a canvas."""

    digit: int
    confidence: float
    box: tuple[int, int, int, int]                      # x, y, w, h on the canvas
    probs: np.ndarray = field(repr=False)               # (10,) probabilities
    image: np.ndarray = field(repr=False)               # (28, 28) uint8: what the model saw
    strokes: tuple[int, ...] = ()                       # indices of its strokes, when read from strokes


class Recognizer:
    """A Keras digit classifier behind one compiled, warmed-up call.

    `Recognizer.load()` takes the shipped model; `read(canvas)` finds and reads every digit."""

    def __init__(self, model, path: Path | None = None):
        check_model_shape(model, path)
        self.model = model
        self.path = path
        # A concrete function skips tf.function's argument matching: ~0.3 ms less per call.
        self._call = tf.function(lambda x: model(x, training=False), jit_compile=False).get_concrete_function(
            tf.TensorSpec([None, SIDE, SIDE, 1], tf.float32))
        self.outputs_probabilities = self._outputs_look_like_probabilities()
        self.device = tf_device()

    @classmethod
    def load(cls, path: str | Path | None = None) -> "Recognizer":
        """Load a `.keras` or legacy `.h5` classifier (28×28×1 in, 10 out); None = the shipped model."""
        path = Path(path) if path is not None else DEFAULT_MODEL
        return cls(load_model_file(path), path)

    def _outputs_look_like_probabilities(self) -> bool:
        """Softmax models return rows summing to 1; others return logits we softmax ourselves."""
        probe = np.random.default_rng(0).integers(0, 256, (4, SIDE, SIDE, 1)).astype(np.float32)
        outputs = self._call(tf.constant(probe)).numpy()
        return bool(np.all(outputs >= 0) and np.allclose(outputs.sum(axis=1), 1.0, atol=1e-3))

    def classify(self, images: np.ndarray) -> np.ndarray:
        """(n, 28, 28) uint8 inputs → (n, 10) probabilities, in one compiled call."""
        if len(images) == 0:
            return np.zeros((0, 10), np.float32)
        batch = tf.constant(np.asarray(images, np.float32)[..., None])  # (n, 28, 28, 1)
        outputs = self._call(batch).numpy().astype(np.float32)
        if not self.outputs_probabilities:
            outputs = np.exp(outputs - outputs.max(axis=1, keepdims=True))
            outputs /= outputs.sum(axis=1, keepdims=True)
        return outputs

    def read(self, canvas, strokes=None) -> list[Reading]:
        """The digits on a canvas (2-D, white ink on black, any size), left to right.

        `strokes`, the pen paths that drew the ink (a list of (n, 2) arrays of x, y in canvas
        pixels, in the order drawn), tell touching digits apart and keep a digit's detached
        strokes with it; each reading then names its strokes."""
        canvas = as_canvas(canvas)
        if strokes is None:
            return [Reading(int(d.probs.argmax()), float(d.probs.max()), d.box, d.probs, d.image)
                    for d in read_ink(find_digits(canvas), self.classify)]
        strokes = check_strokes(strokes, canvas.shape)
        pad = brush_width(canvas, strokes) / 2
        return [Reading(int(g.probs.argmax()), float(g.probs.max()), ink_box(g.box, pad, canvas.shape),
                        g.probs, g.image, g.strokes)
                for g in group_strokes(strokes, self.classify)]


def check_model_shape(model, path: Path | None = None) -> None:
    """A digit reader takes (28, 28, 1) and gives 10 outputs; say plainly when it does not."""
    name = path or "the model"
    try:
        input_shape, output_shape = tuple(model.input_shape[1:]), tuple(model.output_shape[1:])
    except (AttributeError, ValueError):
        raise UserError(f"{name} has no single input and output") from None
    if input_shape != (SIDE, SIDE, 1) or output_shape != (10,):
        raise UserError(f"{name} takes {input_shape} and gives {output_shape}; "
                        "a digit reader takes (28, 28, 1) and gives (10,)")
