"""The public recognizer: a canvas of ink in, the digits on it out, left to right."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from ..common.errors import UserError
from ..common.paths import DEFAULT_MODEL
from .image import SIDE, as_canvas
from .ink import find_digits, read_ink
from .lite import compiled_call
from .model_files import load_model_file, named_stroke_model, tf_device
from .reading import Reading
from .strokes import brush_width, check_strokes, group_strokes
from .trajectory import PATH_FEATURES, PATH_POINTS, combine, path_features

__all__ = ["Reading", "Recognizer"]


class Recognizer:
    """A Keras digit classifier behind one compiled, warmed-up call, and the stroke model that
    reads the pen paths beside it when there is one (trajectory.py).

    `Recognizer.load()` takes the shipped model; `read(canvas)` finds and reads every digit."""

    def __init__(self, model, path: Path | None = None, stroke_model=None):
        check_model_shape(model, path)
        self.model = model
        self.path = path
        self.device = tf_device()
        self._call = compiled_call(model, on_cpu=self.device == "CPU")
        self.outputs_probabilities = self._outputs_look_like_probabilities()
        self.stroke_model = stroke_model
        if stroke_model is not None:
            check_model_shape(stroke_model, named_stroke_model(path) if path else None,
                              (PATH_POINTS, PATH_FEATURES), "a stroke model")
            self._read_paths = compiled_call(stroke_model, on_cpu=self.device == "CPU")

    @classmethod
    def load(cls, path: str | Path | None = None) -> "Recognizer":
        """Load a `.keras` or legacy `.h5` classifier (28×28×1 in, 10 out), and the stroke model
        its card names when there is one; None = the shipped model."""
        path = Path(path) if path is not None else DEFAULT_MODEL
        model = load_model_file(path)
        strokes_path = named_stroke_model(path)
        return cls(model, path, load_model_file(strokes_path) if strokes_path else None)

    def _outputs_look_like_probabilities(self) -> bool:
        """Softmax models return rows summing to 1; others return logits we softmax ourselves."""
        probe = np.random.default_rng(0).integers(0, 256, (4, SIDE, SIDE, 1)).astype(np.float32)
        outputs = self._call(probe)
        return bool(np.all(outputs >= 0) and np.allclose(outputs.sum(axis=1), 1.0, atol=1e-3))

    def classify(self, images: np.ndarray, strokes: list | None = None) -> np.ndarray:
        """(n, 28, 28) uint8 inputs → (n, 10) probabilities, in one compiled call. `strokes`,
        for each image the strokes it was drawn from, are read by the stroke model too (when
        there is one), and both readings combined."""
        if len(images) == 0:
            return np.zeros((0, 10), np.float32)
        outputs = self._call(np.asarray(images, np.float32)[..., None]).astype(np.float32)  # (n, 28, 28, 1) in
        if not self.outputs_probabilities:
            outputs = np.exp(outputs - outputs.max(axis=1, keepdims=True))
            outputs /= outputs.sum(axis=1, keepdims=True)
        if strokes is not None and self.stroke_model is not None:
            paths = np.stack([path_features(digit) for digit in strokes])  # (n, PATH_POINTS, PATH_FEATURES)
            outputs = combine(outputs, self._read_paths(paths))
        return outputs

    def read(self, canvas, strokes=None) -> list[Reading]:
        """The digits on a canvas (2-D, white ink on black, any size), left to right.

        `strokes`, the pen paths that drew the ink (a list of (n, 2) arrays of x, y in canvas
        pixels, in the order drawn), tell touching digits apart and keep a digit's detached
        strokes with it; each reading then names its strokes."""
        canvas = as_canvas(canvas)
        if strokes is None:
            return read_ink(find_digits(canvas), self.classify)
        strokes = check_strokes(strokes, canvas.shape)
        return group_strokes(strokes, self.classify, brush_width(canvas, strokes), canvas.shape)


def load_recognizer(model_path: Path | None = DEFAULT_MODEL, threads: int | None = None) -> Recognizer:
    """Recognizer.load, with TensorFlow's thread pools capped at `threads` (None keeps its own):
    the board reads on one thread, and TensorFlow's default pools spin on every core."""
    import tensorflow as tf

    if threads is not None:
        try:
            tf.config.threading.set_intra_op_parallelism_threads(threads)
            tf.config.threading.set_inter_op_parallelism_threads(threads)
        except RuntimeError:  # TensorFlow already ran in this process (tests): keep its pools
            pass
    return Recognizer.load(model_path)


def check_model_shape(model, path: Path | None = None, takes: tuple = (SIDE, SIDE, 1),
                      kind: str = "a digit reader") -> None:
    """A digit reader takes (28, 28, 1) (a stroke model: a path) and gives 10 outputs; say
    plainly when it does not."""
    name = path or "the model"
    try:
        input_shape, output_shape = tuple(model.input_shape[1:]), tuple(model.output_shape[1:])
    except (AttributeError, ValueError):
        raise UserError(f"{name} has no single input and output") from None
    if input_shape != tuple(takes) or output_shape != (10,):
        raise UserError(f"{name} takes {input_shape} and gives {output_shape}; "
                        f"{kind} takes {tuple(takes)} and gives (10,)")
