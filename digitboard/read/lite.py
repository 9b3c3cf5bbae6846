"""The model as one fast call on numpy batches: TensorFlow Lite on the CPU, a concrete
TensorFlow function on a GPU."""

from __future__ import annotations

import contextlib
import io
import warnings
from typing import Callable

import numpy as np

from ..common.quiet import quiet_stderr

with quiet_stderr():  # TensorFlow's C++ start-up chatter
    import tensorflow as tf


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
