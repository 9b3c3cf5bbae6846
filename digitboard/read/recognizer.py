"""The public recognizer: a canvas of ink in, the digits on it out, left to right."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np

from ..common.errors import UserError
from ..common.files import write_bytes
from ..common.paths import DEFAULT_MODEL
from ..common.quiet import import_tensorflow
from .image import INK_THRESHOLD, SIDE, as_canvas
from .ink import find_digits, read_ink
from .lite import Call, InsideCall, LiteCall, compiled_call, tensorflow_call
from .model_files import INSIDE, LITE, STROKES, STROKES_LITE, check_model_file, companion, companions_dir, load_model_file, tf_device
from .reading import Reading
from .strokes import brush_width, check_strokes, group_strokes
from .trajectory import PATH_FEATURES, PATH_POINTS, combine, path_features

__all__ = ["Reading", "Recognizer"]

# Where a GPU driver shows itself: TensorFlow (seconds to import) is asked only where one is.
GPU_DEVICES = ("/dev/nvidia0", "/dev/kfd", "/dev/dxg")

# What no person draws, refused or left unread before any work (read_marks): 2026-12-01, on
# a loaded 2-core machine, a 10000×10000 canvas of noise read in 73 s (5.4 GB) and 10,000
# random strokes in 177 s (7.1 GB).
MAX_CANVAS_PIXELS = 7680 * 4320  # the largest screen the board may fill (8K); a larger canvas is a photo or a scan
MAX_CANVAS_STROKES = 500         # a board full of numbers holds a hundred or two; 500 random strokes read in ~1.6 s
MAX_CANVAS_POINTS = 100_000      # pen points in all strokes: over a minute and a half of drawing at 1000 Hz
                                 # (each run of strokes is redrawn point by point: 500 scribbles of 200
                                 # points, within both bounds, still read in 11 s)
MAX_INK_SHARE = 0.5              # a canvas more ink than not is filled or a photo: no digits are read on it


class Recognizer:
    """A digit classifier behind one fast call, and the stroke model that reads the pen paths
    beside it when there is one (read.trajectory).

    `Recognizer.load()` takes the shipped model; `read(canvas)` finds and reads every digit."""

    def __init__(self, call: Call, path: Path | None = None, read_paths: Call | None = None,
                 device: str = "CPU", keras_model=None):
        self._call = call
        self.path = path
        self.device = device
        self._read_paths = read_paths
        self._keras_model = keras_model
        self._inside = None  # InsideCall, loaded on first use; False: the model has none
        self.outputs_probabilities = self._outputs_look_like_probabilities()
        self.classes = int(self._call(np.zeros((1, SIDE, SIDE, 1), np.float32)).shape[1])

    @classmethod
    def load(cls, path: str | Path | None = None, threads: int | None = None) -> "Recognizer":
        """Load a `.keras` or legacy `.h5` classifier (28×28×1 in, 10 out), and its stroke model
        when it has one (model_files); None = the shipped model. On a CPU the model's Lite
        flatbuffers are read without TensorFlow when its companions hold them; otherwise Keras
        loads it and, on a CPU, its flatbuffers are made and kept for the next time. `threads`
        caps the threads that read (the board reads on one: TensorFlow's default pools spin on
        every core); None leaves them to the runtime."""
        path = Path(path) if path is not None else DEFAULT_MODEL
        if not path.is_file():
            raise UserError(f"no model at {path}: train one with `python train.py`")
        check_model_file(path)
        if not any(Path(device).exists() for device in GPU_DEVICES):
            lite = _stored_lite(path)
            if lite is not None:
                call, read_paths = lite
                return cls(call, path, read_paths)
        _cap_tensorflow_threads(threads)
        model = load_model_file(path)
        check_model_shape(model.input_shape, model.output_shape, path)
        strokes_path = companion(path, STROKES)
        strokes = load_model_file(strokes_path) if strokes_path else None
        if strokes is not None:
            check_model_shape(strokes.input_shape, strokes.output_shape, strokes_path,
                              (PATH_POINTS, PATH_FEATURES), "a stroke model", model.output_shape[-1])
        device = tf_device()
        if device != "CPU":
            return cls(tensorflow_call(model), path, strokes and tensorflow_call(strokes), device, model)
        call = compiled_call(model, on_cpu=True)
        read_paths = strokes and compiled_call(strokes, on_cpu=True)
        _keep_lite(path, call, read_paths)
        return cls(call, path, read_paths, device, model)

    @property
    def model(self):
        """The Keras model itself (loaded on first use where the Lite flatbuffer reads)."""
        if self._keras_model is None:
            self._keras_model = load_model_file(self.path)
        return self._keras_model

    def look_inside(self, image: np.ndarray) -> list[np.ndarray] | None:
        """What the image model's convolutions see of one (28, 28) input: their feature maps
        (h, w, filters), largest first, and its probabilities last; None for a model whose
        companions hold no inside flatbuffer (lite.inside_model)."""
        if self._inside is None:
            found = companion(self.path, INSIDE) if self.path else None
            self._inside = InsideCall(found.read_bytes()) if found else False
        return self._inside(image) if self._inside else None

    @property
    def stroke_model(self) -> bool:
        """Whether a stroke model reads the pen paths beside the image model."""
        return self._read_paths is not None

    def _outputs_look_like_probabilities(self) -> bool:
        """Softmax models return rows summing to 1; others return logits we softmax ourselves."""
        probe = np.random.default_rng(0).integers(0, 256, (4, SIDE, SIDE, 1)).astype(np.float32)
        outputs = self._call(probe)
        return bool(np.all(outputs >= 0) and np.allclose(outputs.sum(axis=1), 1.0, atol=1e-3))
    def classify(self, images: np.ndarray, strokes: list | None = None) -> np.ndarray:
        """(n, 28, 28) uint8 inputs → (n, classes) probabilities (the ten digits, and "not a
        digit" for models that have it), in one compiled call. `strokes`, for each image the
        strokes it was drawn from, are read by the stroke model too (when there is one), and
        both readings combined."""
        if len(images) == 0:
            return np.zeros((0, self.classes), np.float32)
        outputs = self._call(np.asarray(images, np.float32)[..., None]).astype(np.float32)  # (n, 28, 28, 1) in
        if not self.outputs_probabilities:
            outputs = np.exp(outputs - outputs.max(axis=1, keepdims=True))
            outputs /= outputs.sum(axis=1, keepdims=True)
        if strokes is not None and self._read_paths is not None:
            paths = np.stack([path_features(digit) for digit in strokes])  # (n, PATH_POINTS, PATH_FEATURES)
            outputs = combine(outputs, self._read_paths(paths))
        return outputs

    def read(self, canvas, strokes=None) -> list[Reading]:
        """The digits on a canvas (2-D, white ink on black, any size), left to right: what is
        not a digit (a scribble, a letter, a ring drawn round a digit) is left out; read_marks
        has it too.

        `strokes`, the pen paths that drew the ink (a list of (n, 2) arrays of x, y in canvas
        pixels, in the order drawn), tell touching digits apart and keep a digit's detached
        strokes with it; each reading then names its strokes."""
        return [reading for reading in self.read_marks(canvas, strokes) if reading.digit is not None]

    def read_marks(self, canvas, strokes=None) -> list[Reading]:
        """Every mark on a canvas, left to right, as read: the digits, and the marks that are
        not digits (`digit` None; `confidence` how sure the models are of that).

        What no person draws is refused (UserError) before any work: a canvas over
        MAX_CANVAS_PIXELS, more than MAX_CANVAS_STROKES strokes or MAX_CANVAS_POINTS points, or
        (ink.find_digits, without strokes) more than MAX_INK_PARTS pieces of ink or holes in
        them, or marks drawn round each other over MAX_BOXED pixels; a canvas more than
        MAX_INK_SHARE ink (filled, a photo) reads as nothing, and the board that sent it is
        not told off."""
        canvas = np.asarray(canvas)
        check_size(canvas.shape, strokes)
        canvas = as_canvas(canvas)
        if cv2.countNonZero((canvas >= INK_THRESHOLD).view(np.uint8)) > MAX_INK_SHARE * canvas.size:
            return []
        if strokes is None:
            return read_ink(find_digits(canvas), self.classify)
        strokes = check_strokes(strokes, canvas.shape)
        return group_strokes(strokes, self.classify, brush_width(canvas, strokes), canvas.shape)


def check_size(shape: tuple, strokes) -> None:
    """UserError for a canvas of `shape` larger than MAX_CANVAS_PIXELS, or `strokes` more or
    longer than MAX_CANVAS_STROKES and MAX_CANVAS_POINTS (grouping them would take minutes and
    gigabytes); the strokes' form is check_strokes' to judge."""
    if len(shape) >= 2 and shape[0] * shape[1] > MAX_CANVAS_PIXELS:
        raise UserError(f"the canvas is {shape[1]}×{shape[0]} ({shape[0] * shape[1] / 1e6:.1f} megapixels); "
                        f"read() takes at most {MAX_CANVAS_PIXELS / 1e6:.1f}: shrink it or crop it to the writing")
    if strokes is None or not hasattr(strokes, "__len__"):
        return
    if len(strokes) > MAX_CANVAS_STROKES:
        raise UserError(f"{len(strokes)} strokes; read() takes at most {MAX_CANVAS_STROKES}, "
                        "more than a person writes on one canvas")
    try:
        points = sum(len(stroke) for stroke in strokes)
    except TypeError:  # a stroke that is no sequence: check_strokes names it
        return
    if points > MAX_CANVAS_POINTS:
        raise UserError(f"{points:,} pen points in the strokes; read() takes at most {MAX_CANVAS_POINTS:,}: "
                        "thin them (keep a point every pixel or two)")


def _cap_tensorflow_threads(threads: int | None) -> None:
    if threads is None:
        return
    tf = import_tensorflow()

    try:
        tf.config.threading.set_intra_op_parallelism_threads(threads)
        tf.config.threading.set_inter_op_parallelism_threads(threads)
    except RuntimeError:  # TensorFlow already ran in this process (tests): keep its pools
        pass


def _stored_lite(path: Path) -> tuple[Call, Call | None] | None:
    """The image model's Lite call, and the stroke model's, from the flatbuffers among the
    model's companions; None where they are missing or the runtime cannot read them (then
    Keras loads the model)."""
    lite, strokes_lite = companion(path, LITE), companion(path, STROKES_LITE)
    if lite is None or (companion(path, STROKES) is not None and strokes_lite is None):
        return None
    try:
        call = LiteCall(lite.read_bytes())
        read_paths = LiteCall(strokes_lite.read_bytes()) if strokes_lite else None
    except Exception:  # a flatbuffer this runtime cannot read (ops of a newer TensorFlow): convert anew
        return None
    check_model_shape((None, *call.input_shape), (None, call.outputs), path)
    if read_paths is not None:
        check_model_shape((None, *read_paths.input_shape), (None, read_paths.outputs), strokes_lite,
                          (PATH_POINTS, PATH_FEATURES), "a stroke model", call.outputs)
    return call, read_paths


def _keep_lite(path: Path, call: Call, read_paths: Call | None) -> None:
    """Keep the flatbuffers just made among the model's companions, for a quick start next
    time; where the folder cannot be written, the next start converts again."""
    if not isinstance(call, LiteCall) or (read_paths is not None and not isinstance(read_paths, LiteCall)):
        return
    try:
        folder = companions_dir(path)
        folder.mkdir(exist_ok=True)
        if read_paths is not None:
            write_bytes(folder / STROKES_LITE, read_paths.flatbuffer)
        write_bytes(folder / LITE, call.flatbuffer)
    except OSError:
        pass


def check_model_shape(input_shape, output_shape, path: Path | None = None, takes: tuple = (SIDE, SIDE, 1),
                      kind: str = "a digit reader", outputs: int | None = None) -> None:
    """A digit reader takes (28, 28, 1) (a stroke model: a path) and gives 10 outputs, or 11
    with "not a digit" (a stroke model: as many as its image model, `outputs`); say plainly
    when it does not. The shapes are Keras' (batch first)."""
    name = path or "the model"
    if not isinstance(input_shape, tuple) or not isinstance(output_shape, tuple):
        raise UserError(f"{name} has no single input and output")
    input_shape, output_shape = tuple(input_shape[1:]), tuple(output_shape[1:])
    allowed = [(outputs,)] if outputs else [(10,), (11,)]
    if input_shape != tuple(takes) or output_shape not in allowed:
        wanted = f"({outputs},), as its image model" if outputs else "(10,) or (11,) (with 'not a digit')"
        raise UserError(f"{name} takes {input_shape} and gives {output_shape}; "
                        f"{kind} takes {tuple(takes)} and gives {wanted}")
