"""The training data of a run: a data set (a seeded subset), extra sources mixed in (class
folders, pen files drawn anew at random sizes and brushes), marks that are not digits (an
11th class), and its validation split."""

from __future__ import annotations

from pathlib import Path
from typing import Callable

import numpy as np

from ..common.errors import UserError
from ..data.images import DIGIT_NAMES, Dataset, load_class_folders, load_data, subset
from ..data.pen import PenDigit, read_strokes
from ..read.reading import NOT_A_DIGIT
from .augment import drawn_anew, pen_renderings

def load_extra(path: Path, class_names: list[str], repeat: int = 1, seed: int = 0,
               echo: Callable[[str], None] = print):
    """(images, labels, groups) from a class-folder set or a pen file (UNIPEN text or the
    board's stroke JSON), as 28×28 inputs.

    Each sample appears `repeat` times: pen digits drawn anew each time at another size and
    brush through the board's own drawing and normalisation, images simply repeated. `groups`
    numbers the sample each image came from, so its copies stay on one side of a split."""
    path = Path(path)
    if not path.exists():
        raise UserError(f"--extra path does not exist: {path}")
    if path.is_file():
        rng = np.random.default_rng(seed)
        samples = [digit for digit in read_strokes(path) if plausible(digit)]
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


def pen_digits(extra: list[str]) -> list[PenDigit]:
    """The pen digits among `extra` sources: those of its pen files (plausible ones)."""
    return [digit for path in extra if Path(path).is_file() for digit in read_strokes(Path(path))
            if plausible(digit)]


def plausible(digit: PenDigit) -> bool:
    """Whether a pen digit may teach: not a "1" lying flat (UNIPEN's ibm files record a few 1s
    as horizontal dashes, which would teach that a dash, a minus, is a 1)."""
    if digit.label != "1":
        return True
    width, height = np.ptp(np.concatenate(digit.strokes), axis=0)
    return width <= 1.5 * height


def negative_images(marks: list[list[np.ndarray]], seed: int) -> np.ndarray:
    """(n, 28, 28) inputs of marks that are not digits (train.marks.negatives' strokes), each
    drawn once as another hand would at a random size and brush, as pen digits are."""
    rng = np.random.default_rng(seed)
    return np.stack([drawn_anew(strokes, rng) for strokes in marks])


# ---------------------------------------------------------------- a run's training data

def load_training_data(spec: str, image_size: int | None, channels: int, extra: list[str],
                       extra_repeat: int, limit: int | None, seed: int, marks: list = (),
                       echo: Callable[[str], None] = print) -> Dataset:
    """The data set `spec` (a seeded subset of `limit` training images) with every `extra`
    source mixed in, and `marks` (strokes of marks that are not digits) as one more class,
    NOT_A_DIGIT, when the data set's classes are digits; `groups` numbers the sample each
    training image came from."""
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
    if len(marks):
        if dataset.class_names != DIGIT_NAMES:
            raise UserError(f"--junk teaches a digit reader that marks are no digits; the classes of "
                            f"{spec} are {', '.join(dataset.class_names[:5])}…: use --junk 0")
        x_marks = negative_images(marks, seed)
        echo(f"marks that are not digits: {len(x_marks)} images")
        groups.append(np.arange(len(x_marks)) + sum(len(g) for g in groups))
        dataset.x_train = np.concatenate([dataset.x_train, x_marks])
        dataset.y_train = np.concatenate([dataset.y_train, np.full(len(x_marks), len(DIGIT_NAMES), np.int64)])
        dataset.class_names = [*DIGIT_NAMES, NOT_A_DIGIT]
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
