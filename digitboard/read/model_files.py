"""The files that make up one model, as one unit.

A model is its Keras file (`best.keras`) and a folder of companions beside it named for the
file's content: `best.<tag>/`, the tag being the first TAG_LENGTH hex digits of the file's
SHA-256. The folder holds the card (what the model was trained on, how, and how well), the
stroke model and its replay sample, the fast runtime's flatbuffers, the training history
and curves. Because the folder is found through the model's own bytes, a model is never
read with another model's card or stroke model; and because a unit is installed by writing
its companions first and renaming the Keras file over the old one last (one atomic step),
a reader, or a crash at any moment, sees either the old unit or the new one, whole.

Keras loads TensorFlow (seconds), so it is imported on first use: the file functions do
without it.
"""

from __future__ import annotations

import hashlib
import json
import os
import platform
import shutil
import uuid
import zipfile
from datetime import datetime, timezone
from pathlib import Path

from ..common.errors import UserError
from ..common.files import partial_name, replacing, sweep_partials, write_text
from ..common.quiet import import_keras, quiet_stderr

TAG_LENGTH = 12
CARD = "card.json"
STROKES = "strokes.keras"          # the stroke model (read.trajectory)
REPLAY = "strokes.npz"             # a sample of its training paths, for teaching it without forgetting
LITE = "model.tflite"              # the image model for the fast runtime (read.lite)
STROKES_LITE = "strokes.tflite"    # the stroke model for the fast runtime
INSIDE = "inside.tflite"           # what the image model's convolutions see, for the board's Look inside
HISTORY = "history.csv"
CURVES = "curves.png"


# ---------------------------------------------------------------- finding a model's files

def model_tag(path: Path) -> str:
    """The tag of the model file at `path`: the start of its content's SHA-256 (~2 ms)."""
    with open(path, "rb") as file:
        return hashlib.file_digest(file, "sha256").hexdigest()[:TAG_LENGTH]


def companions_dir(path: Path, tag: str | None = None) -> Path:
    """The companion folder of the model at `path` (of its content now, or of `tag`)."""
    path = Path(path)
    return path.parent / f"{path.stem}.{tag or model_tag(path)}"


def companion(path: Path, name: str) -> Path | None:
    """The companion `name` (CARD, STROKES, …) of the model at `path`, when it has one."""
    try:
        found = companions_dir(path) / name
    except OSError:
        return None
    return found if found.is_file() else None


def read_card(model_path: Path) -> dict:
    """The card of the model at `model_path`; {} when it has none."""
    path = companion(model_path, CARD)
    if path is None:
        return {}
    try:
        card = json.loads(path.read_text())
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as err:
        raise UserError(f"cannot read the model card {path}: {err}") from None
    if not isinstance(card, dict):
        raise UserError(f"{path}: a model card is a JSON object")
    return card


# ---------------------------------------------------------------- writing a unit

def staging_dir(model_path: Path) -> Path:
    """A new, empty folder beside the model at `model_path` to gather a unit's companions in
    before install_unit; its name marks it as partial, so a crash leaves nothing that looks
    finished, and sweep_partials removes it once its process is gone."""
    folder = Path(model_path).parent / partial_name(Path(model_path).stem, "")
    folder.mkdir(parents=True)
    return folder


def install_unit(model: Path, staged: Path, dest: Path) -> Path:
    """Make the model file `model` and the companions gathered in the folder `staged` the
    model at `dest`, as one unit, replacing the unit there; returns its companion folder.

    The companions go first, into the folder named for the new model's tag; then the model
    file is renamed over `dest` (atomic: the commit); then the old unit's companions go.
    `model` may be `dest` itself (a run sealing the model it trained); `staged` is moved."""
    model, staged, dest = Path(model), Path(staged), Path(dest)
    tag = model_tag(model)
    old_tag = model_tag(dest) if dest.is_file() and not dest.samefile(model) else None
    target = companions_dir(dest, tag)
    if target.exists():  # the same model installed before: its companions are replaced
        shutil.rmtree(target)
    os.replace(staged, target)
    if not (dest.exists() and dest.samefile(model)):
        try:
            with replacing(dest) as partial:
                shutil.copyfile(model, partial)
        except BaseException:  # no commit (a full disk): the new companions belong to no model
            if tag != old_tag:
                shutil.rmtree(target, ignore_errors=True)
            raise
    if old_tag is not None and old_tag != tag:
        shutil.rmtree(companions_dir(dest, old_tag), ignore_errors=True)
    return target


def copy_unit(source: Path, dest: Path) -> Path:
    """Install a copy of the model at `source` and its companions at `dest` (publishing a run)."""
    source = Path(source)
    found = companions_dir(source)
    staged = staging_dir(dest)
    try:
        if found.is_dir():
            shutil.copytree(found, staged, dirs_exist_ok=True)
        return install_unit(source, staged, dest)
    finally:
        shutil.rmtree(staged, ignore_errors=True)


def stale_companions(model_path: Path) -> list[Path]:
    """Companion folders beside the model at `model_path` that belong to no version of it
    now there (left by a crash between the steps of install_unit, or by hand)."""
    model_path = Path(model_path)
    current = companions_dir(model_path).name if model_path.is_file() else None
    return [folder for folder in model_path.parent.glob(f"{model_path.stem}.*") if folder.is_dir()
            and len(suffix := folder.name[len(model_path.stem) + 1:]) == TAG_LENGTH
            and all(c in "0123456789abcdef" for c in suffix) and folder.name != current]


def tidy(model_path: Path) -> None:
    """Before writing the model at `model_path`: remove what crashed writers left beside it
    (partial files of processes that are gone, companions of no model)."""
    sweep_partials(Path(model_path).parent)
    for folder in stale_companions(model_path):
        shutil.rmtree(folder, ignore_errors=True)


def check_writable(path: Path, what: str = "--out") -> None:
    """Say before any work, not after it, that a file cannot be written at `path`: its folder
    cannot be made, is not a folder, or is not writable."""
    path = Path(path)
    if path.is_dir():
        raise UserError(f"{what} {path}: is a folder; name the model file, e.g. {path / 'best.keras'}")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
    except OSError as err:
        raise UserError(f"{what} {path}: cannot make its folder: {err.strerror or err}") from None
    probe = path.parent / f".{uuid.uuid4().hex}.write-test.partial"
    try:
        probe.touch()
    except OSError as err:
        raise UserError(f"{what} {path}: cannot write in {path.parent}: {err.strerror or err}") from None
    probe.unlink(missing_ok=True)


# ---------------------------------------------------------------- Keras and the card

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
    check_model_file(path)
    keras = import_keras()
    try:
        with quiet_stderr():  # the first model made probes for a GPU: "failed call to cuInit" without one
            return keras.models.load_model(path, compile=False)
    except Exception as err:  # keras raises many types for a bad file; all mean the same here
        reason = str(err).splitlines()[0] if str(err) else type(err).__name__
        raise UserError(f"not a Keras model: {path}: {reason[:200]}") from None


def check_model_file(path: Path) -> None:
    """UserError, before TensorFlow is imported, for a file that cannot be a saved Keras model."""
    problem = _not_a_model_file(Path(path))
    if problem:
        raise UserError(f"not a Keras model: {path}: {problem}")


def _not_a_model_file(path: Path) -> str | None:
    """Why the file at `path` cannot be a saved Keras model, from its first bytes and its end
    (Keras itself calls an empty or cut-off file "File not found"); None when it may be one."""
    with open(path, "rb") as file:
        start = file.read(8)
    if not start:
        return "the file is empty"
    if start.startswith(b"\x89HDF\r\n\x1a\n"):
        return None
    if not start.startswith(b"PK"):
        return "neither a .keras (zip) nor an .h5 file"
    if not zipfile.is_zipfile(path):
        return "a damaged or cut-off .keras file"
    return None


def model_card(path: Path, model, device: str, **facts) -> dict:
    """The card of the model saved at `path`: its name, the `facts` of its training (in the
    order given), then its size, where it was made and with which versions."""
    return {"model": Path(path).name, **facts,
            "parameters": int(model.count_params()), "size_bytes": Path(path).stat().st_size,
            "device": device, "versions": versions(),
            "date": datetime.now(timezone.utc).isoformat(timespec="seconds"),
            "platform": f"{platform.system()} {platform.machine()}, {os.cpu_count()} cores"}


def write_card(folder: Path, card: dict) -> None:
    """The card into a unit's (staged) companion folder."""
    write_text(Path(folder) / CARD, json.dumps(card, indent=2) + "\n")


def versions() -> dict:
    """The versions of what made a model, for its card."""
    import cv2
    import numpy as np
    import tensorflow as tf

    return {"python": platform.python_version(), "tensorflow": tf.__version__,
            "keras": import_keras().__version__, "numpy": np.__version__, "opencv": cv2.__version__}
