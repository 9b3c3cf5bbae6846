"""train.py's settings, and config files holding them (JSON or TOML).

A setting is a hyper-parameter (a field of `training.TrainConfig`) or a run setting (a field of
`RunSettings`: where the data comes from and where the model goes). Their types say what a
config file may give for each; a list of values for a hyper-parameter is an axis of a grid.
"""

from __future__ import annotations

import difflib
import json
import os
import tomllib
import types
import typing
from dataclasses import dataclass, fields
from pathlib import Path

from ..common.errors import UserError
from ..common.files import write_text
from .networks import ARCHITECTURES
from .fit import TrainConfig


@dataclass
class RunSettings:
    """train.py's settings besides the hyper-parameters; its options default to these."""

    data: str = "mnist"                # 'mnist', a folder of IDX files, or a class-folder set
    image_size: int | None = None      # None: 28 for class folders; other sets keep their own
    channels: int = 1
    extra: tuple[str, ...] = ()        # more training data, repeatable
    extra_repeat: int = 3
    junk: float = 0.1                  # share of the training images that are marks that are not digits
    init_from: Path | None = None      # fine-tune this model
    limit: int | None = None           # train on this many random images only
    out: Path | None = None            # also put the finished model here (it stays in its run's folder)
    grid: bool = False                 # search the config's lists of values


def _kind(hint) -> type:
    """What a config file gives for a setting of type `hint`: int, float, bool, str or list."""
    if isinstance(hint, types.UnionType):  # X | None
        hint = next(arg for arg in typing.get_args(hint) if arg is not type(None))
    if typing.get_origin(hint) in (list, tuple):
        return list
    return hint if hint in (int, float, bool) else str  # str, and paths as strings


# What each setting must be in a config file, from the dataclasses' field types.
KINDS = {name: _kind(hint) for settings in (TrainConfig, RunSettings)
         for name, hint in typing.get_type_hints(settings).items()}
# Settings a grid may search over: the hyper-parameters, not where data comes from or goes.
GRID_KEYS = tuple(f.name for f in fields(TrainConfig) if f.name != "mixed_precision")
# Settings holding paths, which a config file gives relative to its own folder.
PATH_KEYS = ("data", "extra", "init_from", "out", "arch")
NOT_PATHS = ("mnist", *ARCHITECTURES)
KIND_WORDS = {int: "an integer", float: "a number", bool: "true or false", str: "a string",
              list: "a list of strings"}


def read_config(path: Path) -> dict:
    """A JSON or TOML file of train.py settings: keys as options (learning_rate or
    learning-rate), relative paths taken from the file's own folder."""
    path = Path(path)
    try:
        text = path.read_text()
    except (OSError, UnicodeDecodeError) as err:
        raise UserError(f"cannot read the config {path}: {getattr(err, 'strerror', None) or err}") from None
    try:
        if path.suffix == ".toml":
            values = tomllib.loads(text)
        elif path.suffix == ".json":
            values = json.loads(text)
        else:
            raise UserError(f"{path}: a config is a .json or .toml file")
    except (tomllib.TOMLDecodeError, json.JSONDecodeError) as err:
        raise UserError(f"{path}: not valid {path.suffix[1:].upper()} ({err})") from None
    if not isinstance(values, dict):
        raise UserError(f"{path}: a config holds settings by name, e.g. {{\"epochs\": 5}}")
    values = {key.replace("-", "_"): value for key, value in values.items()}
    for key in PATH_KEYS:
        if key in values:
            values[key] = _from_folder(values[key], path.parent)
    return values


def _from_folder(value, folder: Path):
    if isinstance(value, list):
        return [_from_folder(v, folder) for v in value]
    if isinstance(value, str) and value not in NOT_PATHS and not Path(value).is_absolute():
        return os.path.normpath(folder / value)
    return value


def write_config(path: Path, settings: dict) -> None:
    """Settings as a JSON config that read_config reads back the same: paths relative to the
    file's folder. (--limit is not among them: a grid's subset is not what a full run wants.)"""
    settings = dict(settings)
    for key in PATH_KEYS:
        if key in settings:
            settings[key] = _relative(settings[key], path.parent)
    write_text(path, json.dumps(settings, indent=2) + "\n")


def _relative(value, folder: Path):
    if isinstance(value, list):
        return [_relative(v, folder) for v in value]
    if value is None or value in NOT_PATHS:
        return value
    return os.path.relpath(Path(value).resolve(), folder.resolve())


def check_config(values: dict, source: str) -> tuple[dict, dict]:
    """(settings, grid): plain values, and the lists of values to search over.

    Each value must be of its setting's kind (KINDS); a list of values for a setting that is
    not a list becomes a grid axis when the setting is a hyper-parameter. None (JSON null)
    leaves the option at its default."""
    settings, grid = {}, {}
    for key, value in values.items():
        if key not in KINDS:
            close = difflib.get_close_matches(key, KINDS, n=1)
            hint = f"did you mean '{close[0]}'?" if close else f"valid keys: {', '.join(sorted(KINDS))}"
            raise UserError(f"{source}: unknown key '{key}' ({hint})")
        kind = KINDS[key]
        if value is None:
            continue
        if kind is list and isinstance(value, str):  # one --extra needs no brackets
            value = [value]
        if isinstance(value, list) and kind is not list:
            if key not in GRID_KEYS:
                raise UserError(f"{source}: '{key}' cannot be a list of values: only "
                                f"hyper-parameters ({', '.join(GRID_KEYS)}) can be grid axes")
            if not value:
                raise UserError(f"{source}: '{key}' is an empty list: a grid axis needs at least one value")
            for item in value:
                _check_type(key, item, kind, source)
            grid[key] = value
        else:
            _check_type(key, value, kind, source)
            settings[key] = value
    return settings, grid


def _check_type(key: str, value, kind: type, source: str) -> None:
    if kind is list:
        ok = isinstance(value, list) and all(isinstance(v, str) for v in value)
    elif kind is float:
        ok = isinstance(value, (int, float)) and not isinstance(value, bool)
    elif kind is int:
        ok = isinstance(value, int) and not isinstance(value, bool)
    else:
        ok = isinstance(value, kind)
    if not ok:
        raise UserError(f"{source}: '{key}' must be {KIND_WORDS[kind]}, got {json.dumps(value, default=str)}")
