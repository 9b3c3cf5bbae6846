"""A model as one fast call on numpy batches.

On a CPU the models are read as TensorFlow Lite flatbuffers (weights stored in 8 bits,
computing in floats) by the LiteRT runtime, without importing TensorFlow: a process reads
its first digit ~0.2 s after it starts, in ~80 MB, where importing TensorFlow alone takes
3-4 s and 700 MB. XNNPACK reads a digit with the shipped three-model ensemble in ~0.08 ms,
where a TensorFlow call takes ~1.4 ms (mostly per-op overhead on these tiny tensors) and
float weights 0.36 ms. Probabilities move by at most a few hundredths; on MNIST's 10,000
test digits 3 readings differ from Keras'. The flatbuffers are made when a model is trained
(write_lite_files) and kept among its companions (model_files).

On a GPU, or for a model Lite cannot convert, TensorFlow reads it: one concrete
tf.function (which skips tf.function's argument matching, ~0.3 ms a call).
"""

from __future__ import annotations

import contextlib
import io
import warnings
from pathlib import Path
from typing import Callable

import numpy as np

from ..common.files import write_bytes
from ..common.quiet import quiet_stderr
from .model_files import INSIDE, LITE, STROKES, STROKES_LITE

Call = Callable[[np.ndarray], np.ndarray]  # (n, *input shape) float32 → (n, classes) outputs


def flatbuffer(model) -> bytes:
    """A Keras model as a TensorFlow Lite flatbuffer with 8-bit weights (imports TensorFlow)."""
    from ..common.quiet import import_keras

    import_keras()
    import tensorflow as tf

    with warnings.catch_warnings(), contextlib.redirect_stdout(io.StringIO()), quiet_stderr():
        warnings.simplefilter("ignore")  # tf.lite's notice that LiteRT will replace it
        converter = tf.lite.TFLiteConverter.from_keras_model(model)
        converter.optimizations = [tf.lite.Optimize.DEFAULT]  # 8 bits a weight, floats computed
        return converter.convert()


def write_lite_files(model_path: Path, folder: Path) -> None:
    """Into a unit's (staged) companion `folder`: the flatbuffers of the image model at
    `model_path`, of what its convolutions see (inside_model), and of the stroke model in
    `folder`, when it has one."""
    from .model_files import load_model_file

    model = load_model_file(model_path)
    write_bytes(Path(folder) / LITE, flatbuffer(model))
    inside = inside_model(model)
    if inside is not None:
        write_bytes(Path(folder) / INSIDE, flatbuffer(inside))
    if (Path(folder) / STROKES).is_file():
        write_bytes(Path(folder) / STROKES_LITE, flatbuffer(load_model_file(Path(folder) / STROKES)))


def inside_model(model):
    """A model giving what the image model's convolutions see of an input (the feature maps
    after each, (h, w, filters), of its first member when it is an ensemble) and, last, the
    model's own probabilities; None for a model without convolutions."""
    from ..common.quiet import import_keras

    keras = import_keras()
    first = next((layer for layer in model.layers if isinstance(layer, keras.Model)), model)
    seen = [layer.output for layer in first.layers if len(layer.output.shape) == 4 and _activates(layer, keras)]
    if not seen:
        return None
    maps = keras.Model(first.inputs, seen)(model.inputs[0])
    return keras.Model(model.inputs, [*(maps if isinstance(maps, list) else [maps]), model.outputs[0]])


def _activates(layer, keras) -> bool:
    """Whether a layer gives a convolution's feature maps after their activation: a ReLU, or
    a Conv2D with an activation of its own."""
    if isinstance(layer, keras.layers.ReLU):
        return True
    return isinstance(layer, keras.layers.Conv2D) and layer.get_config().get("activation") not in (None, "linear")


class InsideCall:
    """The inside_model's flatbuffer, called on one input: its feature maps, largest first,
    and its probabilities."""

    def __init__(self, model: bytes):
        with warnings.catch_warnings(), quiet_stderr():
            warnings.simplefilter("ignore")
            self.interpreter = _interpreter_class()(model_content=model, num_threads=1)
            self.interpreter.allocate_tensors()
        self.source = self.interpreter.get_input_details()[0]["index"]
        outputs = self.interpreter.get_output_details()
        # the flatbuffer keeps no order of its own: the maps shrink layer by layer, and the probabilities are flat
        self.results = [o["index"] for o in sorted(outputs, key=lambda o: (len(o["shape"]) != 4,
                                                                             -int(np.prod(o["shape"][1:3]))))]

    def __call__(self, image: np.ndarray) -> list[np.ndarray]:
        """(28, 28) uint8 → [(h, w, filters) feature maps …, (classes,) probabilities]."""
        self.interpreter.set_tensor(self.source, np.asarray(image, np.float32)[None, :, :, None])
        self.interpreter.invoke()
        return [self.interpreter.get_tensor(index)[0].copy() for index in self.results]


def _interpreter_class():
    """LiteRT's interpreter; TensorFlow's own where LiteRT is not installed."""
    try:
        from ai_edge_litert.interpreter import Interpreter
    except ImportError:  # pragma: no cover - the project installs it
        import tensorflow as tf

        Interpreter = tf.lite.Interpreter
    return Interpreter


class LiteCall:
    """A TensorFlow Lite flatbuffer called on numpy batches. An interpreter is sized for one
    batch size: sizes up to EXACT get one each, kept (the board reads the same few sizes over
    and over), and a larger batch is padded with blank inputs to a multiple of EXACT and read
    by one more interpreter, resized when that size changes (a canvas-only read of a number
    reads its cut candidates' pieces in batches of up to 60 or so). Each interpreter holds
    its own copy of the weights (~2 MB), so they are few. Not for use from two threads at once."""

    EXACT = 8

    def __init__(self, model: bytes):
        self.flatbuffer = model
        with warnings.catch_warnings(), quiet_stderr():  # its "Created … XNNPACK delegate" line
            warnings.simplefilter("ignore")
            first = _interpreter_class()(model_content=model, num_threads=1)
        details = first.get_input_details()[0]
        self.input_shape = tuple(int(v) for v in details["shape"][1:])
        self.outputs = int(first.get_output_details()[0]["shape"][-1])
        self._interpreters: dict[int, tuple] = {}
        self._large: tuple | None = None  # (size, interpreter, input, output) for padded batches
        self(np.zeros((1, *self.input_shape), np.float32))  # fails here, not at the first read

    def _interpreter(self, size: int) -> tuple:
        if size in self._interpreters:
            return self._interpreters[size]
        if size > self.EXACT and self._large is not None and self._large[0] == size:
            return self._large[1:]
        with warnings.catch_warnings(), quiet_stderr():
            warnings.simplefilter("ignore")
            if size > self.EXACT and self._large is not None:
                interpreter, source, result = self._large[1:]
            else:
                interpreter = _interpreter_class()(model_content=self.flatbuffer, num_threads=1)
                source = interpreter.get_input_details()[0]["index"]
                result = interpreter.get_output_details()[0]["index"]
            interpreter.resize_tensor_input(source, [size, *self.input_shape])
            interpreter.allocate_tensors()
        if size <= self.EXACT:
            self._interpreters[size] = interpreter, source, result
        else:
            self._large = size, interpreter, source, result
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


def tensorflow_call(model) -> Call:
    """The Keras model as one concrete TensorFlow function (the GPU path)."""
    import tensorflow as tf

    concrete = tf.function(lambda x: model(x, training=False), jit_compile=False).get_concrete_function(
        tf.TensorSpec([None, *model.input_shape[1:]], tf.float32))
    return lambda batch: concrete(tf.constant(batch)).numpy()


def compiled_call(model, on_cpu: bool) -> Call:
    """The Keras model as one fast call: converted to Lite on a CPU, TensorFlow on a GPU or
    where Lite cannot convert it."""
    if on_cpu:
        try:
            return LiteCall(flatbuffer(model))
        except Exception:  # any layer or op Lite lacks: TensorFlow reads it as well, only slower
            pass
    return tensorflow_call(model)
