"""The files that make up one model: the Keras model, its card (what it was trained on, how,
and how well: `best.keras` → `best.json`), and the stroke model the card names; loading
them, and writing the card.

Keras loads TensorFlow (seconds), so it is imported on first use: the card functions do
without it.
"""

from __future__ import annotations

import json
import os
import platform
from datetime import datetime, timezone
from pathlib import Path

from ..common.errors import UserError
from ..common.files import write_text
from ..common.quiet import import_keras, quiet_stderr


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
    keras = import_keras()
    try:
        with quiet_stderr():  # the first model made probes for a GPU: "failed call to cuInit" without one
            return keras.models.load_model(path, compile=False)
    except Exception as err:  # keras raises many types for a bad file; all mean the same here
        reason = str(err).splitlines()[0] if str(err) else type(err).__name__
        raise UserError(f"cannot load the model {path}: {reason[:200]}") from None


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
            "keras": import_keras().__version__, "numpy": np.__version__, "opencv": cv2.__version__}


# ---------------------------------------------------------------- the stroke model beside

def stroke_model_path(model_path: Path) -> Path:
    """Where the stroke model of an image model lives: `best.keras` → `best.strokes.keras`."""
    model_path = Path(model_path)
    return model_path.with_name(model_path.stem + ".strokes.keras")


def replay_path(stroke_model: Path) -> Path:
    """Where a sample of the stroke model's own training paths lives, for teaching it without
    forgetting (the pen files it learned from may not be on a user's machine):
    `best.strokes.keras` → `best.strokes.npz`."""
    return Path(stroke_model).with_suffix(".npz")


def named_stroke_model(model_path: Path) -> Path | None:
    """The stroke model that the card of the image model at `model_path` names, when it is
    there; None for a model without one (or without a readable card: it reads images alone)."""
    try:
        name = (read_card(model_path).get("stroke_model") or {}).get("file")
    except (UserError, AttributeError):
        return None
    found = Path(model_path).parent / name if isinstance(name, str) else None
    return found if found is not None and found.is_file() else None
