"""Network definitions: each architecture reads as a list of Keras layers.

Besides the built-in architectures, a network can be a JSON file listing the layers between
the input and the classifier, each as Keras serialises it or in a shorter form:

    [{"class_name": "Conv2D", "config": {"filters": 32, "kernel_size": 3, "activation": "relu"}},
     {"MaxPooling2D": {}},
     "Flatten",
     {"Dense": {"units": 128, "activation": "relu"}}]

Keras' own deserialisation builds the layers; build_model adds the input (the data's image
size), scaling to 0–1 and the softmax classifier over the data's classes.

A saved model has a card beside it (`best.keras` → `best.json`): what it was trained on, how,
and how well. `model_card` writes one, `read_card` reads it.

Keras loads TensorFlow (seconds), so it is imported on first use: `train.py --help` and the
card functions do without it.
"""

from __future__ import annotations

import difflib
import json
import os
import platform
import re
from datetime import datetime, timezone
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from .errors import UserError
from .files import write_text
from .quiet import quiet_stderr

if TYPE_CHECKING:
    import keras

ARCHITECTURES = ("cnn", "small")
# What --filters, --kernel-size and --units mean when not given, per built-in architecture.
ARCH_DEFAULTS = {"cnn": {"filters": 32, "kernel_size": 3, "units": 128},
                 "small": {"filters": 16, "kernel_size": 3, "units": 0}}


# Keras' default momentum (0.99) needs several hundred steps before the moving averages that
# inference uses are right: a quick run on a few thousand images then reads at chance.
BN_MOMENTUM = 0.9


def _keras():
    with quiet_stderr():  # TensorFlow's C++ start-up chatter
        import keras
    _register_views(keras)
    return keras


# ---------------------------------------------------------------- test-time augmentation

TTA_SCALES = (1.0, 0.9, 1.1)  # the digit as it is, a tenth smaller, a tenth larger


def zoom_matrix(side: int, scale: float) -> np.ndarray:
    """(side, side) M with M @ line = the line zoomed by `scale` about its centre, read with
    linear interpolation and zeros beyond its ends. A zoom of an image is M_rows @ image @
    M_columns.T: plain matrix products, which TensorFlow Lite runs (the board's fast path),
    where an image transform op would leave the model to full TensorFlow at ~40× the time."""
    centre = (side - 1) / 2
    source = (np.arange(side) - centre) / scale + centre  # where each output pixel reads
    below = np.floor(source).astype(int)
    matrix = np.zeros((side, side), np.float32)
    for row, (column, weight) in enumerate(zip(below, source - below)):
        for at, share in ((column, 1 - weight), (column + 1, weight)):
            if 0 <= at < side:
                matrix[row, at] += share
    return matrix


@lru_cache(maxsize=1)
def _register_views(keras) -> tuple:
    """The two layers of a test-time-augmented model, registered with Keras (once) so that a
    saved one loads again: Views stacks zoomed copies of each image on the batch axis, and
    MeanOfViews averages the classifier's probabilities over them. Both run inside the one
    compiled call of the model."""
    ops = keras.ops

    @keras.saving.register_keras_serializable(package="digitboard")
    class Views(keras.layers.Layer):
        def __init__(self, scales=TTA_SCALES, **kwargs):
            super().__init__(**kwargs)
            self.scales = tuple(float(s) for s in scales)

        def call(self, images):
            height, width = images.shape[1], images.shape[2]
            views = []
            for scale in self.scales:  # zoomed about the centre: bilinear, so one matrix per axis
                if scale == 1.0:
                    views.append(images)
                    continue
                rows = ops.convert_to_tensor(zoom_matrix(height, scale), dtype=images.dtype)
                columns = ops.convert_to_tensor(zoom_matrix(width, scale).T, dtype=images.dtype)
                planes = ops.transpose(images, (0, 3, 1, 2))  # (n, channels, h, w)
                zoomed = ops.matmul(ops.matmul(rows, planes), columns)
                views.append(ops.transpose(zoomed, (0, 2, 3, 1)))
            return ops.concatenate(views, axis=0)

        def compute_output_shape(self, input_shape):
            return (None, *input_shape[1:])

        def get_config(self):
            return {**super().get_config(), "scales": list(self.scales)}

    @keras.saving.register_keras_serializable(package="digitboard")
    class MeanOfViews(keras.layers.Layer):
        def __init__(self, views=len(TTA_SCALES), **kwargs):
            super().__init__(**kwargs)
            self.views = int(views)

        def call(self, probs):
            return ops.mean(ops.reshape(probs, (self.views, -1, probs.shape[-1])), axis=0)

        def compute_output_shape(self, input_shape):
            return input_shape

        def get_config(self):
            return {**super().get_config(), "views": self.views}

    return Views, MeanOfViews


def with_views(model, scales=TTA_SCALES):
    """The classifier reading each image as it is and zoomed by `scales`, its probabilities
    averaged: one model, one call."""
    keras = _keras()
    views, mean_of_views = _register_views(keras)
    images = keras.Input(model.input_shape[1:])
    probs = mean_of_views(len(scales), name="mean_of_views")(model(views(scales, name="views")(images)))
    return keras.Model(images, probs, name=f"{model.name}_views")


def without_views(model):
    """The classifier inside a model made by with_views (the model itself if it has no views):
    what fine-tuning trains."""
    views, _ = _register_views(_keras())
    if any(isinstance(layer, views) for layer in model.layers):
        return next(layer for layer in model.layers if hasattr(layer, "layers"))
    return model


def view_scales(model) -> list[float] | None:
    """The zooms a model made by with_views reads at; None for a plain classifier."""
    views, _ = _register_views(_keras())
    return next((list(layer.scales) for layer in model.layers if isinstance(layer, views)), None)


def ensemble(members: list) -> keras.Model:
    """One model reading with every member and averaging their probabilities: one call."""
    if len(members) == 1:
        return members[0]
    keras = _keras()
    images = keras.Input(members[0].input_shape[1:])
    named = [keras.Model(m.inputs[0], m.outputs[0], name=f"member_{k}") for k, m in enumerate(members)]
    probs = keras.layers.Average(name="mean_of_members")([member(images) for member in named])
    return keras.Model(images, probs, name="digitboard_ensemble")


def all_layers(model) -> list:
    """Every layer of a model, those of the models inside it (ensemble members, views) too."""
    found = []
    for layer in model.layers:
        found += [layer, *(all_layers(layer) if hasattr(layer, "layers") else [])]
    return found


def _conv_bn(filters: int, kernel_size: int = 3, padding: str = "valid", strides: int = 1) -> list:
    layers = _keras().layers
    return [layers.Conv2D(filters, kernel_size, strides=strides, padding=padding, use_bias=False),
            layers.BatchNormalization(momentum=BN_MOMENTUM), layers.ReLU()]


def build_model(arch: str = "cnn", input_shape: tuple = (28, 28, 1), n_classes: int = 10,
                dropout: float = 0.3, filters: int | None = None, kernel_size: int | None = None,
                units: int | None = None) -> keras.Model:
    """A classifier taking uint8-range images (0–255) and returning class probabilities.

    `arch` is a built-in name or a JSON network file. `filters` (of the first convolutions;
    later ones have twice as many), `kernel_size` and `units` (of the hidden Dense layer; 0
    for none) shape the built-in architectures; None keeps each one's own default."""
    layers = _keras().layers
    if arch not in ARCHITECTURES:
        if (filters, kernel_size, units) != (None, None, None):
            raise UserError(f"--filters, --kernel-size and --units shape the built-in "
                            f"architectures; write them into the layers of {arch}")
        return _assemble(network_layers(read_network(arch), arch), input_shape, n_classes,
                         _model_name(Path(arch).stem), arch)
    given = {"filters": filters, "kernel_size": kernel_size, "units": units}
    filters, kernel_size, units = (ARCH_DEFAULTS[arch][k] if v is None else v for k, v in given.items())
    if arch == "cnn":  # ~6 M multiply-adds per digit: 99.6 %+ on MNIST, quick on a CPU
        # The second convolution strides instead of pooling after it: at full resolution it
        # held half the network's work, and the stride costs no accuracy.
        body = [*_conv_bn(filters, kernel_size), *_conv_bn(filters, kernel_size, strides=2),  # (12, 12, 32)
                layers.Dropout(dropout / 3),
                *_conv_bn(2 * filters, kernel_size), *_conv_bn(2 * filters, kernel_size),  # (8, 8, 64)
                layers.MaxPooling2D(), layers.Dropout(dropout / 3),
                layers.Flatten(),                        # (1024,)
                *([layers.Dense(units, use_bias=False), layers.BatchNormalization(momentum=BN_MOMENTUM), layers.ReLU()]
                  if units else []),
                layers.Dropout(dropout)]
    else:  # "small", for smoke runs and tests: trains in seconds
        body = [layers.Conv2D(filters, kernel_size, activation="relu"), layers.MaxPooling2D(),
                layers.Conv2D(2 * filters, kernel_size, activation="relu"), layers.MaxPooling2D(),
                layers.Flatten(), *([layers.Dense(units, activation="relu")] if units else []),
                layers.Dropout(dropout)]
    return _assemble(body, input_shape, n_classes, f"digitboard_{arch}", f"--arch {arch}")


def _model_name(stem: str) -> str:
    return "digitboard_" + re.sub(r"\W", "_", stem)


def _assemble(body: list, input_shape: tuple, n_classes: int, name: str, source: str) -> keras.Model:
    """Input → 0–1 scaling → body → softmax over the classes; a layer that does not fit its
    input is named in a UserError (its 1-based place in `body`)."""
    keras = _keras()
    layers = keras.layers
    try:
        model = keras.Sequential([keras.Input(input_shape), layers.Rescaling(1 / 255),
                                  *body, layers.Dense(n_classes, activation="softmax")], name=name)
    except Exception as err:  # find the layer: rebuild fresh copies one at a time
        x = keras.Input(input_shape)
        for index, layer in enumerate(body, start=1):
            shape = tuple(x.shape[1:])
            try:
                x = type(layer).from_config(layer.get_config())(x)
            except Exception as layer_err:
                raise UserError(f"{source}: layer {index} ({type(layer).__name__}) does not fit "
                                f"its input {shape}: {_reason(layer_err)}") from None
        raise UserError(f"{source}: the network cannot be built: {_reason(err)}") from None
    if model.output_shape != (None, n_classes):
        raise UserError(f"{source}: the classifier gets {model.layers[-2].output.shape[1:]} per image, "
                        "not one vector: end the layers with Flatten or GlobalAveragePooling2D")
    return model


def _reason(err: Exception) -> str:
    """The innermost cause in a Keras error message, on one line."""
    text = str(err).split("Exception encountered: ")[-1].strip() or type(err).__name__
    return text.splitlines()[0][:300]


def read_network(path: str | Path) -> list[dict]:
    """A JSON network file as a list of full `{"class_name", "config"}` layer specs.

    Short forms: `{"Conv2D": {"filters": 32, "kernel_size": 3}}` and a bare `"Flatten"`."""
    path = Path(path)
    try:
        specs = json.loads(path.read_text())
    except (OSError, UnicodeDecodeError) as err:
        raise UserError(f"cannot read the network {path}: {getattr(err, 'strerror', None) or err}") from None
    except json.JSONDecodeError as err:
        raise UserError(f"{path}: not valid JSON ({err})") from None
    if not isinstance(specs, list) or not specs:
        raise UserError(f"{path}: a network is a non-empty JSON list of layers")
    full = []
    for index, spec in enumerate(specs, start=1):
        if isinstance(spec, str):
            spec = {"class_name": spec, "config": {}}
        elif isinstance(spec, dict) and "class_name" not in spec and len(spec) == 1:
            (name, config), = spec.items()
            spec = {"class_name": name, "config": config}
        if not (isinstance(spec, dict) and isinstance(spec.get("class_name"), str)
                and isinstance(spec.setdefault("config", {}), dict)):
            raise UserError(f"{path}: layer {index} must look like {{\"Conv2D\": {{\"filters\": 32, "
                            f"\"kernel_size\": 3}}}} or {{\"class_name\": …, \"config\": {{…}}}}")
        full.append(spec)
    return full


def network_layers(specs: list[dict], source: str) -> list:
    """Keras layers from full layer specs, through Keras' own deserialisation."""
    keras = _keras()
    built = []
    for index, spec in enumerate(specs, start=1):
        name = spec["class_name"]
        found = getattr(keras.layers, name, None)
        if not (isinstance(found, type) and issubclass(found, keras.layers.Layer)):
            known = [n for n, v in vars(keras.layers).items()
                     if isinstance(v, type) and issubclass(v, keras.layers.Layer)]
            close = difflib.get_close_matches(name, known, n=1)
            hint = f" (did you mean '{close[0]}'?)" if close else ""
            raise UserError(f"{source}: layer {index} ('{name}') is not a Keras layer{hint}")
        try:
            built.append(keras.layers.deserialize({"module": "keras.layers", **spec}))
        except Exception as err:
            raise UserError(f"{source}: layer {index} ({name}): {_reason(err)}") from None
    return built


def tf_device() -> str:
    """'GPU: <name>' when TensorFlow sees a GPU, else 'CPU'."""
    import tensorflow as tf

    with quiet_stderr():
        gpus = tf.config.list_physical_devices("GPU")
    if not gpus:
        return "CPU"
    details = tf.config.experimental.get_device_details(gpus[0])
    return f"GPU: {details.get('device_name', gpus[0].name)}"


def load_model_file(path: Path):
    """A saved Keras model (.keras or legacy .h5), uncompiled; UserError when missing or unreadable."""
    path = Path(path)
    if not path.is_file():
        raise UserError(f"no model at {path}: train one with `python train.py`")
    keras = _keras()
    try:
        with quiet_stderr():  # the first model made probes for a GPU: "failed call to cuInit" without one
            return keras.models.load_model(path, compile=False)
    except Exception as err:  # keras raises many types for a bad file; all mean the same here
        reason = str(err).splitlines()[0] if str(err) else type(err).__name__
        raise UserError(f"cannot load the model {path}: {reason[:200]}") from None


# ---------------------------------------------------------------- the model card

def model_card(path: Path, model, device: str, **facts) -> dict:
    """The card of the model saved at `path`: its name, the `facts` of its training (in the
    order given), then its size, where it was made and with which versions."""
    return {"model": Path(path).name, **facts,
            "parameters": int(model.count_params()), "size_bytes": Path(path).stat().st_size,
            "device": device, "versions": versions(),
            "date": datetime.now(timezone.utc).isoformat(timespec="seconds"),
            "platform": f"{platform.system()} {platform.machine()}, {os.cpu_count()} cores"}


def write_card(model_path: Path, card: dict) -> None:
    """The card beside its model: `best.keras` → `best.json`."""
    write_text(Path(model_path).with_suffix(".json"), json.dumps(card, indent=2) + "\n")


def read_card(model_path: Path) -> dict:
    """The model card written beside a model; {} when there is none."""
    path = Path(model_path).with_suffix(".json")
    try:
        return json.loads(path.read_text()) if path.is_file() else {}
    except (OSError, json.JSONDecodeError) as err:
        raise UserError(f"cannot read the model card {path}: {err}") from None


def versions() -> dict:
    """The versions of what made a model, for its card."""
    import cv2
    import numpy as np
    import tensorflow as tf

    return {"python": platform.python_version(), "tensorflow": tf.__version__,
            "keras": _keras().__version__, "numpy": np.__version__, "opencv": cv2.__version__}
