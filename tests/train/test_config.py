"""train.py settings from files, the hyper-parameters, JSON networks, colour class-folder
sets (trained, then measured by evaluate.py), and every bad input of those."""

from __future__ import annotations

import json
import os
import tomllib
from dataclasses import asdict
from pathlib import Path

import cv2
import keras
import numpy as np
import click
import pytest
from click.testing import CliRunner

from digitboard.cli import evaluate
from digitboard.cli import train
from digitboard.read.model_files import CARD, companions_dir, read_card
from digitboard.train.config import KINDS, RunSettings
from digitboard.train.networks import ARCH_DEFAULTS, build_model
from digitboard.common.paths import MODELS_DIR
from digitboard.train.fit import auto_batch_size, learning_rate, make_optimizer, stop_from_epoch, TrainConfig

from conftest import QUICK, assert_one_line_error, run_train, snapshot, write_image

SHIPPED = {"arch": "cnn", "epochs": 16, "batch_size": None, "learning_rate": 3e-3,
           "schedule": "cosine", "decay_steps": None, "decay_rate": 0.9, "optimizer": "adam",
           "momentum": 0.9, "filters": None, "kernel_size": None, "units": None, "patience": 5,
           "validation_split": 0.05, "augment": True, "dropout": 0.3, "seed": 42,
           "mixed_precision": False, "stroke_epochs": 20, "members": 1}


def parse(*args) -> dict:
    """The option values train.py would run with, without running it."""
    return train.main.make_context("train.py", [str(a) for a in args]).params


def write_config(path: Path, values: dict) -> Path:
    """`values` as JSON, or as TOML (flat: strings, numbers, booleans and lists of them)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    if path.suffix == ".json":
        path.write_text(json.dumps(values))
    else:
        path.write_text("".join(f"{k} = {json.dumps(v)}\n" for k, v in values.items()))
    return path


# ---------------------------------------------------------------- the shipped defaults


def test_no_options_are_the_shipped_defaults():
    params = parse()
    assert {k: params[k] for k in SHIPPED} == SHIPPED == asdict(TrainConfig())
    assert params["data"] == "mnist" and params["extra_repeat"] == 3
    assert params["out"] is None  # a new folder under runs/: a plain run never replaces the board's model
    assert params["limit"] is None and params["grid"] is False and params["config"] is None
    assert params["image_size"] is None and params["channels"] == 1


def test_default_network_and_schedule_are_unchanged():
    model = build_model()  # what `python train.py` builds
    assert model.count_params() == 198442
    assert [type(layer).__name__ for layer in model.layers] == [
        "Rescaling", *["Conv2D", "BatchNormalization", "ReLU"] * 2, "Dropout",
        *["Conv2D", "BatchNormalization", "ReLU"] * 2, "MaxPooling2D", "Dropout", "Flatten",
        "Dense", "BatchNormalization", "ReLU", "Dropout", "Dense"]
    assert model.layers[4].strides == (2, 2)  # the second convolution strides instead of pooling
    assert {layer.momentum for layer in model.layers if isinstance(layer, keras.layers.BatchNormalization)} == {0.9}
    rate = learning_rate(TrainConfig(), steps_per_epoch=100)
    assert isinstance(make_optimizer(TrainConfig(), rate), keras.optimizers.Adam)
    assert rate.get_config() == {
        "initial_learning_rate": 3e-3 / 10, "decay_steps": 100 * 16 - 100, "alpha": 0.01,
        "name": "CosineDecay", "warmup_target": 3e-3, "warmup_steps": 100}


def test_early_stopping_waits_for_the_learning_rate_to_decay():
    rate = learning_rate(TrainConfig(epochs=20), steps_per_epoch=100)
    start = stop_from_epoch(rate, 100, 20)
    assert 10 <= start <= 14  # the cosine rate falls under 30 % of its peak about 63 % of the way
    assert float(rate(start * 100)) <= 0.3 * 3e-3 < float(rate((start - 1) * 100))
    assert stop_from_epoch(0.001, 100, 20) == 0  # a constant rate: stopping is the only end


def test_batch_size_follows_the_data_size():
    assert auto_batch_size(57_000) == 128
    assert auto_batch_size(6_000) == 32 and auto_batch_size(1_000) == 16
    assert auto_batch_size(5) == 16


def test_shipped_cnn_config_is_the_plain_command():
    from_file, plain = parse("--config", MODELS_DIR / "cnn.toml"), parse()
    spelled_out = ("filters", "kernel_size", "units")  # None on the command line: cnn's own
    assert {k: from_file[k] for k in spelled_out} == ARCH_DEFAULTS["cnn"]
    assert {k: v for k, v in from_file.items() if k not in ("config", *spelled_out)} == \
           {k: v for k, v in plain.items() if k not in ("config", *spelled_out)}


@pytest.mark.parametrize("name", ["small.toml", "convnet.toml", "lung.toml", "grid.toml"])
def test_example_configs_set_what_they_say(name):
    path = MODELS_DIR / name
    ctx = train.main.make_context("train.py", ["--config", str(path)])
    for key, value in tomllib.loads(path.read_text()).items():
        if key in ("data", "out") or str(value).endswith(".json"):  # relative to models/
            value = os.path.normpath(MODELS_DIR / value)
        if isinstance(value, list):
            assert ctx.meta[train.GRID][key] == value, key
        else:
            assert ctx.params[key] == (Path(value) if key == "out" else value), key
    assert ctx.params["config"] == path


def test_the_settings_types_are_the_options_types():
    """Config values are checked against TrainConfig's and RunSettings' field types (KINDS);
    train.py's options must take the same kinds of value and default to the same values."""
    defaults = {**asdict(TrainConfig()), **asdict(RunSettings())}
    options = {p.name: p for p in train.main.params if p.name != "config" and p.expose_value}  # not --personalise
    assert options.keys() == KINDS.keys() == defaults.keys()
    for name, option in options.items():
        if option.multiple:
            kind = list
        elif isinstance(option.type, click.Choice):
            kind = type(option.type.choices[0])
        else:
            kind = next((kind for kind, types in ((bool, click.types.BoolParamType),
                                                  (int, click.types.IntParamType),
                                                  (float, click.types.FloatParamType))
                         if isinstance(option.type, types)), str)
        assert KINDS[name] is kind, name
        assert option.default == defaults[name], name


# ---------------------------------------------------------------- config files


@pytest.mark.parametrize("suffix", [".toml", ".json"])
def test_config_sets_options_and_the_command_line_wins(tmp_path, suffix):
    config = write_config(tmp_path / f"run{suffix}", {
        "arch": "small", "epochs": 3, "batch-size": 8, "learning_rate": 0.01, "augment": False,
        "optimizer": "sgd", "momentum": 0.5, "extra": ["drawn"], "out": "runs/m.keras"})
    (tmp_path / "drawn").mkdir()
    params = parse("--config", config, "--batch-size", 4, "--augment", "--epochs", 2)
    assert params["batch_size"] == 4 and params["augment"] is True and params["epochs"] == 2  # command line
    assert params["learning_rate"] == 0.01 and params["optimizer"] == "sgd"                     # file
    assert params["momentum"] == 0.5 and params["arch"] == "small"
    assert params["seed"] == 42 and params["dropout"] == 0.3                                    # defaults
    # relative paths are read from the config's folder
    assert params["extra"] == (str(tmp_path / "drawn"),) and params["out"] == tmp_path / "runs" / "m.keras"


def test_a_run_from_a_config_records_it_in_the_card(make_class_folder, tmp_path):
    config = write_config(tmp_path / "run.toml", {
        "arch": "small", "epochs": 1, "batch_size": 8, "augment": False, "learning_rate": 0.01,
        "seed": 7, "filters": 4, "units": 8, "schedule": "exponential", "decay_steps": 2})
    out = tmp_path / "out" / "m.keras"
    result = run_train("--config", config, "--data", make_class_folder(), "--seed", 3, "--out", out)
    assert result.exit_code == 0, result.output
    card = read_card(out)
    assert card["config_file"] == str(config)
    assert card["seed"] == 3 and card["config"]["learning_rate"] == 0.01
    assert card["config"]["schedule"] == "exponential" and card["config"]["decay_steps"] == 2
    model = keras.models.load_model(out)
    assert [layer.filters for layer in model.layers if isinstance(layer, keras.layers.Conv2D)] == [4, 8]
    assert [layer.units for layer in model.layers if isinstance(layer, keras.layers.Dense)] == [8, 3]


def test_hyper_parameters_shape_the_built_in_networks():
    model = build_model("cnn", (28, 28, 1), 10, filters=8, kernel_size=5, units=16)
    convs = [layer for layer in model.layers if isinstance(layer, keras.layers.Conv2D)]
    assert [c.filters for c in convs] == [8, 8, 16, 16] and {c.kernel_size for c in convs} == {(5, 5)}
    assert [d.units for d in model.layers if isinstance(d, keras.layers.Dense)] == [16, 10]
    config = TrainConfig(optimizer="sgd", momentum=0.8, schedule="exponential", decay_rate=0.5,
                         learning_rate=0.1)
    rate = learning_rate(config, steps_per_epoch=10)
    sgd = make_optimizer(config, rate)
    assert isinstance(sgd, keras.optimizers.SGD) and sgd.momentum == 0.8
    assert float(rate(20)) == pytest.approx(0.1 * 0.5 ** 2)  # one epoch per halving


# ---------------------------------------------------------------- JSON networks

NETWORK = [{"class_name": "Conv2D", "config": {"filters": 6, "kernel_size": 3, "activation": "relu"}},
           {"MaxPooling2D": {}},
           "Flatten",
           {"Dense": {"units": 12, "activation": "relu"}}]


def test_json_network_trains_and_the_card_records_it(make_class_folder, tmp_path):
    network = tmp_path / "net.json"
    network.write_text(json.dumps(NETWORK))
    out = tmp_path / "net" / "net.keras"
    result = run_train("--data", make_class_folder(), "--arch", network, "--epochs", 1,
                       "--batch-size", 8, "--no-augment", "--out", out)
    assert result.exit_code == 0, result.output
    model = keras.models.load_model(out)
    assert [type(layer).__name__ for layer in model.layers] == [
        "Rescaling", "Conv2D", "MaxPooling2D", "Flatten", "Dense", "Dense"]
    assert model.layers[1].filters == 6 and model.output_shape == (None, 3)
    card = read_card(out)
    assert card["config"]["arch"] == str(network)
    assert card["network"] == [
        NETWORK[0], {"class_name": "MaxPooling2D", "config": {}},
        {"class_name": "Flatten", "config": {}},
        {"class_name": "Dense", "config": {"units": 12, "activation": "relu"}}]


def test_shipped_json_network_builds():
    model = build_model(str(MODELS_DIR / "convnet.json"), (28, 28, 1), 10)
    assert model.output_shape == (None, 10) and model.name == "digitboard_convnet"


# ---------------------------------------------------------------- colour class folders


def make_colour_set(root: Path, n_train: int = 12, n_test: int = 4, size: int = 32) -> Path:
    """DIR/{train,test}/{blue,green,red}/: noisy 32×32 squares, mostly of their class's colour."""
    rng = np.random.default_rng(5)
    bgr = {"blue": (0,), "green": (1,), "red": (2,)}
    for split, n in (("train", n_train), ("test", n_test)):
        for name, (channel,) in bgr.items():
            for i in range(n):
                image = rng.integers(0, 60, (size, size, 3), dtype=np.uint8)
                x, y = rng.integers(0, size // 2, 2)
                image[y:y + size // 2, x:x + size // 2, channel] = rng.integers(180, 256)
                write_image(root / split / name / f"{i}.png", image)
    return root


def test_colour_set_trains_and_evaluates_with_class_names(tmp_path):
    data = make_colour_set(tmp_path / "colours")
    out = tmp_path / "colours.keras"
    result = run_train("--data", data, "--image-size", 32, "--channels", 3, "--arch", "small",
                       "--epochs", 3, "--batch-size", 4, "--learning-rate", 0.01, "--no-augment",
                       "--validation-split", 0.2, "--out", out)
    assert result.exit_code == 0, result.output
    card = read_card(out)
    assert card["input_shape"] == [32, 32, 3] and card["class_names"] == ["blue", "green", "red"]
    assert keras.models.load_model(out).input_shape == (None, 32, 32, 3)

    reports = tmp_path / "reports"
    result = CliRunner().invoke(evaluate.cli, ["--model", str(out), "--out", str(reports), "--json",
                                               "images", str(data)])
    assert result.exit_code == 0, result.output
    summary = json.loads(result.output.strip().splitlines()[-1])
    assert summary["n"] == 12 and summary["class_names"] == ["blue", "green", "red"]
    assert [row["class"] for row in summary["per_class"]] == ["blue", "green", "red"]
    assert [row["support"] for row in summary["per_class"]] == [4, 4, 4]
    assert summary["accuracy"] == pytest.approx(card["test_accuracy"], abs=1e-4)
    assert summary["accuracy"] > 0.5  # colour is easy: it learned something
    assert "   green " in result.output  # the report names the classes
    confusion = cv2.imread(str(reports / "images-confusion.png"))
    assert confusion is not None and confusion.shape[0] > 300

    # the board and evaluate.py's digit commands keep refusing a model that is not 28×28×1
    result = CliRunner().invoke(evaluate.cli, ["--model", str(out), "mnist", "--limit", "10"])
    assert_one_line_error(result, "takes (32, 32, 3) and gives (3,); a digit reader takes (28, 28, 1)")


def test_evaluate_images_without_a_card_names_classes_by_number(tiny_model, make_class_folder, tmp_path):
    model = tmp_path / "digits.keras"
    model.write_bytes(tiny_model.read_bytes())  # the model alone: its companions stay with the original
    assert read_card(model) == {}
    data = make_class_folder(classes=("0", "1", "7"), n_test=3)
    result = CliRunner().invoke(evaluate.cli, ["--model", str(model), "--out", str(tmp_path), "--json",
                                               "images", str(data)])
    assert result.exit_code == 0, result.output
    summary = json.loads(result.output.strip().splitlines()[-1])
    outputs = keras.models.load_model(model).output_shape[-1]
    assert summary["n"] == 9 and summary["class_names"] == [str(d) for d in range(outputs)]


@pytest.mark.parametrize("image, message", [
    (None, "no such folder"),
    ("train/red/a.png", "has a training split but no test/ or testing/ folder"),
    ("test/purple/a.png", "class 'purple' is not among ['blue', 'green', 'red']"),
    ("test/red/a.txt", "no readable images"),
])
def test_evaluate_images_bad_input(tmp_path, image, message):
    model = tmp_path / "colours.keras"
    build_model("small", (16, 16, 3), 3).save(model)
    companions_dir(model).mkdir()
    (companions_dir(model) / CARD).write_text(json.dumps({"class_names": ["blue", "green", "red"]}))
    data = tmp_path / "set"
    if image and image.endswith(".png"):
        write_image(data / image, np.zeros((8, 8, 3), np.uint8))
    elif image:
        (data / image).parent.mkdir(parents=True)
        (data / image).write_text("not an image")
    result = CliRunner().invoke(evaluate.cli, ["--model", str(model), "images", str(data)])
    assert_one_line_error(result, message)


# ---------------------------------------------------------------- bad input


def _config(values: dict, suffix=".toml"):
    return lambda tmp: ["--config", write_config(tmp / f"bad{suffix}", values)]


def _text(name: str, text: str):
    def make(tmp):
        (tmp / name).write_text(text)
        return ["--config", tmp / name]
    return make


def _network(layers, *more):
    def make(tmp):
        (tmp / "net.json").write_text(layers if isinstance(layers, str) else json.dumps(layers))
        return ["--arch", tmp / "net.json", *more]
    return make


def _file(path: Path) -> Path:
    path.write_bytes(b"a model")
    return path


CONV = {"Conv2D": {"filters": 4, "kernel_size": 3}}

BAD_INPUTS = {
    "unknown key": (_config({"learnig_rate": 0.1}),
                    "bad.toml: unknown key 'learnig_rate' (did you mean 'learning_rate'?)"),
    "unknown key, nothing close": (_config({"colour": 1}, ".json"), "unknown key 'colour' (valid keys: "),
    "string for an integer": (_config({"epochs": "ten"}), "'epochs' must be an integer, got \"ten\""),
    "float for an integer": (_config({"batch_size": 8.5}, ".json"), "'batch_size' must be an integer, got 8.5"),
    "string for a flag": (_config({"augment": "yes"}), "'augment' must be true or false, got \"yes\""),
    "table for a string": (_text("bad.toml", "[data]\npath = 'x'\n"), "'data' must be a string"),
    "empty grid axis": (_config({"learning_rate": []}),
                        "'learning_rate' is an empty list: a grid axis needs at least one value"),
    "grid over a non-list option": (_config({"out": ["a.keras", "b.keras"]}),
                                    "'out' cannot be a list of values: only hyper-parameters"),
    "grid over data": (_config({"data": ["mnist", "mnist"]}), "'data' cannot be a list of values"),
    "grid value of the wrong type": (_config({"dropout": [0.1, "high"]}), "'dropout' must be a number"),
    "grid value out of range": (lambda tmp: [*_config({"epochs": [1, 0]})(tmp), "--grid"],
                                "bad.toml: Invalid value for '--epochs': 0 is not in the range 1<=x<=10000"),
    "lists without --grid": (_config({"learning_rate": [0.1, 0.2], "dropout": [0.1, 0.2]}),
                             "bad.toml: learning_rate, dropout hold lists of values: add --grid"),
    "--grid without lists": (lambda tmp: [*_config({"epochs": 1})(tmp), "--grid"],
                             "--grid searches the lists of values in --config"),
    "--grid with --init-from": (lambda tmp: [*_config({"dropout": [0.1, 0.2]})(tmp), "--grid",
                                             "--init-from", _file(tmp / "m.keras")],
                                "--grid trains every combination from scratch"),
    "choice": (_config({"optimizer": "adamw"}), "Invalid value for '--optimizer': 'adamw' is not one of"),
    "not TOML": (_text("bad.toml", "epochs = = 3\n"), "bad.toml: not valid TOML"),
    "not JSON": (_text("bad.json", "{epochs: 3}"), "bad.json: not valid JSON"),
    "other format": (_text("bad.yaml", "epochs: 3\n"), "bad.yaml: a config is a .json or .toml file"),
    "JSON list": (_text("bad.json", "[1, 2]"), "bad.json: a config holds settings by name"),
    "missing config": (lambda tmp: ["--config", tmp / "none.toml"], "none.toml: no such file"),
    "unknown arch": (lambda tmp: ["--arch", "cnnn"],
                     "'cnnn' is neither a built-in architecture (cnn, small) nor a JSON network file"),
    "missing network": (lambda tmp: ["--arch", tmp / "none.json"], "no network file"),
    "network: unknown layer": (_network([CONV, {"Maxpooling2D": {}}, "Flatten"]),
                               "net.json: layer 2 ('Maxpooling2D') is not a Keras layer "
                               "(did you mean 'MaxPooling2D'?)"),
    "network: not a layer": (_network(["Adam"]), "layer 1 ('Adam') is not a Keras layer"),
    "network: bad argument": (_network([CONV, {"Dense": {"units": 3, "activation": "relux"}}]),
                              "net.json: layer 2 (Dense): Could not interpret activation function "
                              "identifier: relux"),
    "network: missing argument": (_network([{"Conv2D": {"filters": 4}}]),
                                  "layer 1 (Conv2D): Conv2D.__init__() missing 1 required positional "
                                  "argument: 'kernel_size'"),
    "network: shape does not fit": (_network([CONV, {"Conv2D": {"filters": 4, "kernel_size": 40}}, "Flatten"]),
                                    "net.json: layer 2 (Conv2D) does not fit its input (26, 26, 4)"),
    "network: no single vector": (_network([CONV]), "the classifier gets (26, 26, 4) per image, not one vector"),
    "network: not JSON": (_network("[{'Conv2D': {}}]"), "net.json: not valid JSON"),
    "network: empty": (_network([]), "a network is a non-empty JSON list of layers"),
    "network: bad layer form": (_network([CONV, {"Conv2D": {}, "Flatten": {}}]), "layer 2 must look like"),
    "network with --filters": (_network([CONV, "Flatten"], "--filters", 8),
                               "--filters, --kernel-size and --units shape the built-in architectures"),
    "built-in kernel too big": (lambda tmp: ["--kernel-size", 13],
                                "--arch small: layer 3 (Conv2D) does not fit its input (8, 8, 16)"),
    "image size for IDX": (lambda tmp: ["--image-size", 32, "--data", tmp / "idx"],
                           "--image-size and --channels resize class-folder sets only"),
    "colour for IDX": (lambda tmp: ["--channels", 3, "--data", tmp / "idx"],
                       "holds 28×28 grayscale images"),
}


@pytest.mark.parametrize("case", BAD_INPUTS)
def test_bad_input_is_one_clear_line_exit_2_and_overwrites_nothing(
        case, tmp_path, make_class_folder, make_idx_dir, previous_run):
    make_args, message = BAD_INPUTS[case]
    inputs = tmp_path / "inputs"
    inputs.mkdir()
    make_idx_dir("inputs/idx")
    args = make_args(inputs)
    data = [] if "--data" in args else ["--data", make_class_folder()]
    before = snapshot(previous_run.parent)
    result = run_train(*data, *QUICK, "--out", previous_run, *args)
    assert_one_line_error(result, message)
    assert snapshot(previous_run.parent) == before
