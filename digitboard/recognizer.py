"""The public recognizer: a canvas of ink in, the digits on it out, left to right."""

from __future__ import annotations

import contextlib
import io
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import numpy as np

from .errors import UserError
from .paths import DEFAULT_MODEL
from .preprocess import SIDE, as_canvas, find_digits
from .cuts import read_ink
from .segment import brush_width, check_strokes, group_strokes, ink_box
from .trajectory import PATH_FEATURES, PATH_POINTS, combine, named_stroke_model, path_features
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
            return [Reading(int(d.probs.argmax()), float(d.probs.max()), d.box, d.probs, d.image)
                    for d in read_ink(find_digits(canvas), self.classify)]
        strokes = check_strokes(strokes, canvas.shape)
        pad = brush_width(canvas, strokes) / 2
        return [Reading(int(g.probs.argmax()), float(g.probs.max()), ink_box(g.box, pad, canvas.shape),
                        g.probs, g.image, g.strokes)
                for g in group_strokes(strokes, self.classify)]


Call = Callable[[np.ndarray], np.ndarray]  # (n, *input shape) float32 → (n, 10) outputs


def compiled_call(model, on_cpu: bool) -> Call:
    """The model as one fast call. On a CPU: converted to TensorFlow Lite with its weights
    stored in 8 bits (computing in floats), whose XNNPACK kernels read a digit with the
    shipped three-model ensemble in ~0.08 ms, where a TensorFlow call takes ~1.4 ms for one
    model (mostly per-op overhead on these tiny tensors) and Lite with float weights 0.36 ms.
    Probabilities move by at most a few hundredths; on MNIST's 10,000 test digits the readings
    agree with Keras' on all but one or two. On a GPU, or for a model Lite cannot convert: one
    concrete tf.function (which skips tf.function's argument matching, ~0.3 ms a call)."""
    if on_cpu:
        try:
            return LiteCall(model)
        except Exception:  # any layer or op Lite lacks: TensorFlow reads it as well, only slower
            pass
    concrete = tf.function(lambda x: model(x, training=False), jit_compile=False).get_concrete_function(
        tf.TensorSpec([None, *model.input_shape[1:]], tf.float32))
    return lambda batch: concrete(tf.constant(batch)).numpy()


class LiteCall:
    """A Keras model converted to TensorFlow Lite, called on numpy batches. An interpreter
    is sized for one batch size, so each size read gets its own, kept: the board reads the
    same few sizes over and over. A batch of more than EXACT is padded with blank images to
    a multiple of EXACT: a canvas-only read of a number reads its cut candidates' pieces in
    batches of any size up to 60 or so, and a new interpreter costs 2-5 ms, more than the
    padding. Not for use from two threads at once."""

    KEEP = 32  # interpreters kept at most; batch sizes beyond are sized anew each call
    EXACT = 8  # batch sizes up to this get an interpreter each; larger ones share padded sizes

    def __init__(self, model):
        with warnings.catch_warnings(), contextlib.redirect_stdout(io.StringIO()), quiet_stderr():
            warnings.simplefilter("ignore")  # tf.lite's notice that LiteRT will replace it
            converter = tf.lite.TFLiteConverter.from_keras_model(model)
            converter.optimizations = [tf.lite.Optimize.DEFAULT]  # 8-bit weights: see compiled_call
            self.flatbuffer = converter.convert()
        self.input_shape = tuple(model.input_shape[1:])
        self._interpreters: dict[int, tuple] = {}
        self(np.zeros((1, *self.input_shape), np.float32))  # fails here, not at the first read

    def _interpreter(self, size: int) -> tuple:
        if size in self._interpreters:
            return self._interpreters[size]
        with warnings.catch_warnings(), quiet_stderr():  # and its "Created … XNNPACK delegate" line
            warnings.simplefilter("ignore")
            interpreter = tf.lite.Interpreter(model_content=self.flatbuffer, num_threads=1)
            source, result = interpreter.get_input_details()[0]["index"], interpreter.get_output_details()[0]["index"]
            interpreter.resize_tensor_input(source, [size, *self.input_shape])
            interpreter.allocate_tensors()
        if len(self._interpreters) < self.KEEP:
            self._interpreters[size] = interpreter, source, result
        return interpreter, source, result

    def __call__(self, batch: np.ndarray) -> np.ndarray:
        count = len(batch)
        size = count if count <= self.EXACT else -(-count // self.EXACT) * self.EXACT
        interpreter, source, result = self._interpreter(size)
        if size != count:
            batch = np.concatenate([batch, np.zeros((size - count, *self.input_shape), np.float32)])
        interpreter.set_tensor(source, np.ascontiguousarray(batch, np.float32))
        interpreter.invoke()
        return interpreter.get_tensor(result)[:count].copy()


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
