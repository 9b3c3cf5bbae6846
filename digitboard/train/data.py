"""The training data of a run: a data set (a seeded subset), extra sources mixed in (class
folders, pen files drawn anew at random sizes and brushes), and its validation split."""

from __future__ import annotations

from pathlib import Path
from typing import Callable

import numpy as np

from ..common.errors import UserError
from ..data.images import Dataset, load_class_folders, load_data, subset
from ..data.pen import read_unipen
from .augment import pen_renderings

def load_extra(path: Path, class_names: list[str], repeat: int = 1, seed: int = 0,
               echo: Callable[[str], None] = print):
    """(images, labels, groups) from a class-folder set or a UNIPEN pen file, as 28×28 inputs.

    Each sample appears `repeat` times: pen digits drawn anew each time at another size and
    brush through the board's own drawing and normalisation, images simply repeated. `groups`
    numbers the sample each image came from, so its copies stay on one side of a split."""
    path = Path(path)
    if not path.exists():
        raise UserError(f"--extra path does not exist: {path}")
    if path.is_file():
        rng = np.random.default_rng(seed)
        samples = read_unipen(path)
        images = np.stack([image for s in samples for image in pen_renderings(s.strokes, repeat, rng, s.label)])
        labels = [s.label for s in samples for _ in range(repeat)]
    else:
        folder = load_class_folders(path, echo=echo, min_classes=1)  # drawn/7/ alone is fine here
        images = np.repeat(np.concatenate([folder.x_train, folder.x_test]), repeat, axis=0)
        labels = [folder.class_names[i] for i in np.concatenate([folder.y_train, folder.y_test])
                  for _ in range(repeat)]
    unknown = sorted(set(labels) - set(class_names))
    if unknown:
        raise UserError(f"--extra {path}: classes {unknown} are not among {class_names}")
    groups = np.arange(len(labels)) // repeat
    return images, np.array([class_names.index(label) for label in labels], np.int64), groups


def pen_digits(extra: list[str]) -> list:
    """The pen digits (strokes.PenDigit) among `extra` sources: those of its UNIPEN files."""
    return [digit for path in extra if Path(path).is_file() for digit in read_unipen(Path(path))]


# ---------------------------------------------------------------- a run's training data

def load_training_data(spec: str, image_size: int | None, channels: int, extra: list[str],
                       extra_repeat: int, limit: int | None, seed: int,
                       echo: Callable[[str], None] = print) -> Dataset:
    """The data set `spec` (a seeded subset of `limit` training images) with every `extra`
    source mixed in; `groups` numbers the sample each training image came from."""
    dataset = load_data(spec, image_size, channels, echo=echo)
    if limit is not None:
        dataset.x_train, dataset.y_train = subset(dataset.x_train, dataset.y_train, limit, seed)
    groups = [np.arange(len(dataset.x_train))]
    for path in extra:
        x_extra, y_extra, extra_groups = load_extra(Path(path), dataset.class_names, extra_repeat,
                                                    seed, echo=echo)
        if x_extra.shape[1:] != dataset.x_train.shape[1:]:
            raise UserError(f"--extra {path}: images are {x_extra.shape[1:]}, "
                            f"but the data's are {dataset.x_train.shape[1:]}")
        echo(f"extra: {len(x_extra)} images from {path} ({extra_repeat} per sample)")
        groups.append(extra_groups + sum(len(g) for g in groups))
        dataset.x_train = np.concatenate([dataset.x_train, x_extra])
        dataset.y_train = np.concatenate([dataset.y_train, y_extra])
    dataset.groups = np.concatenate(groups)
    return dataset


def split_validation(x: np.ndarray, y: np.ndarray, fraction: float, seed: int,
                     groups: np.ndarray | None = None):
    """A seeded random (train, validation) split; images of one group (copies of one sample)
    all land on the same side."""
    groups = np.arange(len(x)) if groups is None else np.asarray(groups)
    unique = np.unique(groups)
    n_val = max(1, int(round(len(unique) * fraction)))
    held_out = np.random.default_rng(seed).permutation(unique)[:n_val]
    is_val = np.isin(groups, held_out)
    return (x[~is_val], y[~is_val]), (x[is_val], y[is_val])
