"""Network definitions: each architecture reads as a list of Keras layers.

Besides the built-in architectures, a network can be a JSON file listing the layers between
the input and the classifier, each as Keras serialises it or in a shorter form:

    [{"class_name": "Conv2D", "config": {"filters": 32, "kernel_size": 3, "activation": "relu"}},
     {"MaxPooling2D": {}},
     "Flatten",
     {"Dense": {"units": 128, "activation": "relu"}}]

Keras' own deserialisation builds the layers; build_model adds the input (the data's image
size), scaling to 0–1 and the softmax classifier over the data's classes. build_stroke_model
is the network that reads a pen path (read.trajectory).

Keras loads TensorFlow (seconds), so it is imported on first use: `train.py --help` does
without it.
"""

from __future__ import annotations

import difflib
import json
import re
from pathlib import Path
from typing import TYPE_CHECKING

from ..common.errors import UserError
from ..common.quiet import import_keras
from ..read.trajectory import PATH_FEATURES, PATH_POINTS

if TYPE_CHECKING:
    import keras

ARCHITECTURES = ("cnn", "small")
# What --filters, --kernel-size and --units mean when not given, per built-in architecture.
ARCH_DEFAULTS = {"cnn": {"filters": 32, "kernel_size": 3, "units": 128},
                 "small": {"filters": 16, "kernel_size": 3, "units": 0}}


# Keras' default momentum (0.99) needs several hundred steps before the moving averages that
# inference uses are right: a quick run on a few thousand images then reads at chance.
BN_MOMENTUM = 0.9


def ensemble(members: list) -> keras.Model:
    """One model reading with every member and averaging their probabilities: one call."""
    if len(members) == 1:
        return members[0]
    keras = import_keras()
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
    layers = import_keras().layers
    return [layers.Conv2D(filters, kernel_size, strides=strides, padding=padding, use_bias=False),
            layers.BatchNormalization(momentum=BN_MOMENTUM), layers.ReLU()]


def build_model(arch: str = "cnn", input_shape: tuple = (28, 28, 1), n_classes: int = 10,
                dropout: float = 0.3, filters: int | None = None, kernel_size: int | None = None,
                units: int | None = None) -> keras.Model:
    """A classifier taking uint8-range images (0–255) and returning class probabilities.

    `arch` is a built-in name or a JSON network file. `filters` (of the first convolutions;
    later ones have twice as many), `kernel_size` and `units` (of the hidden Dense layer; 0
    for none) shape the built-in architectures; None keeps each one's own default."""
    layers = import_keras().layers
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
    keras = import_keras()
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
    keras = import_keras()
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


def build_stroke_model(n_classes: int = 10):
    """A 1-D convolutional network over the path: (PATH_POINTS, PATH_FEATURES) → probabilities
    of the ten digits (and of "not a digit", with 11 classes)."""
    keras = import_keras()
    layers = keras.layers

    def conv(filters):
        return [layers.Conv1D(filters, 5, padding="same", use_bias=False),
                layers.BatchNormalization(momentum=BN_MOMENTUM), layers.ReLU()]

    return keras.Sequential([keras.Input((PATH_POINTS, PATH_FEATURES)),
                             *conv(64), *conv(64), layers.MaxPooling1D(),     # (32, 64)
                             *conv(128), *conv(128), layers.MaxPooling1D(),   # (16, 128)
                             *conv(128), layers.GlobalAveragePooling1D(),      # (128,)
                             layers.Dropout(0.3), layers.Dense(n_classes, activation="softmax")],
                            name="digitboard_strokes")
