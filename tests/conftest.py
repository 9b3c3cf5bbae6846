"""Shared fixtures: real MNIST when it can be had, a tiny trained model, small generated data sets.

- `mnist_available()` (a plain function, for `skipif`) and the `mnist` fixture: the official
  MNIST through `digitboard.data.load_mnist` (datasets/mnist.npz; fetched and cached once
  when missing). Tests that need it skip when it can't be had.
- `tiny_model`: a .keras file that train.py trained (through CliRunner) for one epoch on
  1000 MNIST images, with its companion folder (card, history, Lite files). Shared by the
  whole session; treat its folder as read-only.
- `plain_run`: `python train.py --limit 1000 --epochs 1` in a Python of its own, once a
  session, for the tests of what a plain run prints and writes.
- `make_idx_dir`, `make_class_folder`, `make_unipen`: factories writing small IDX,
  class-folder (mnist_png layout or flat; `class_folder` for a module's fixture) and UNIPEN
  data sets under tmp_path.
- `run_train`, `QUICK` (the options of a seconds-long training) and
  `assert_one_line_error` (how every bad input must end) for the command-line tests;
  `previous_run`, a model unit already at --out, and `snapshot`, to show it stays as it was.
- Digits the tests draw themselves: ONE, SEVEN, FOUR, FIVE, ZERO_IN_TWO_ARCS and the rest of
  DIGITS (pen paths, 200 px tall) and `write(*digits, gap=…)`, which puts them side by side
  on a canvas; `make_drawings`, a person's labelled drawings as the board saves them;
  `tight_number`, a saved drawing of 4 1 7 with touching digits; `pen_digits`, the UCI pen
  digits of ../shared (skips without them).
- `headless`: pygame on SDL's dummy drivers.
- `stand_in()`: a Recognizer around TemplateReader, a stand-in model that knows DIGITS (and
  whatever more it is shown, `templates_of`) and reads nothing a training changes: the tests
  of finding, cutting and grouping digits use it, not the shipped model's weights.
  `shipped`, the shipped model's Recognizer, is for the few integration tests that check
  what any good digit reader does, marked `shipped` (a test that uses it unmarked stops the
  collection); so are the tests that run board.py or evaluate.py on their default model.
- Every test runs with train.py's runs/ folder moved to a temporary folder, so a test that
  trains without --out writes nothing into the repository.

This file is the only conftest.py: tests in every folder under tests/ import from it
(`from conftest import …`), which pytest's default import mode allows (it puts tests/ on
sys.path); a second conftest.py in a sub-folder would shadow it. Test file names are unique
across the folders for the same reason.

The repository root goes on sys.path so tests can `import train` (and the other scripts).
Hypothesis keeps its example database in the system's temporary folder, not in the repository.
"""

from __future__ import annotations

import functools
import gzip
import subprocess
import sys
import tempfile
from pathlib import Path

import cv2
import numpy as np
import pytest
from click.testing import CliRunner
from hypothesis import settings
from hypothesis.configuration import set_hypothesis_home_dir
from hypothesis.database import DirectoryBasedExampleDatabase

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from digitboard.cli import train  # noqa: E402
from digitboard.common import paths  # noqa: E402
from digitboard.read import model_files  # noqa: E402
from digitboard.data.images import Dataset, load_mnist  # noqa: E402
from digitboard.data.pen import PenDigit, draw_strokes, stroke_json  # noqa: E402
from digitboard.common.errors import UserError  # noqa: E402

HYPOTHESIS_HOME = Path(tempfile.gettempdir()) / "digitboard-hypothesis"  # its caches, not in the repository
set_hypothesis_home_dir(HYPOTHESIS_HOME)
settings.register_profile("digitboard", database=DirectoryBasedExampleDatabase(HYPOTHESIS_HOME / "examples"))
settings.load_profile("digitboard")

# ---------------------------------------------------------------- MNIST


@functools.cache
def _mnist() -> Dataset | None:
    try:
        return load_mnist(echo=print)  # prints its progress if it has to fetch
    except UserError:
        return None


def mnist_available() -> bool:
    """True when the official MNIST loads (from datasets/mnist.npz, else fetched once)."""
    return _mnist() is not None


@pytest.fixture(scope="session")
def mnist() -> Dataset:
    """The official MNIST Dataset (read-only: copy arrays before changing them); skips without it."""
    if not mnist_available():
        pytest.skip("MNIST is not available (no datasets/mnist.npz and no network)")
    return _mnist()


# ---------------------------------------------------------------- a trained model

TINY_MODEL_ARGS = ["--arch", "small", "--epochs", "1", "--limit", "1000", "--batch-size", "16",
                   "--no-augment", "--seed", "0"]


def pytest_collection_modifyitems(items):
    """A test that reads with the shipped model is an integration test, and says so: marked
    `shipped` (pyproject.toml), so that a retrain can be checked with `pytest -m shipped`."""
    unmarked = [item.nodeid for item in items
                if "shipped" in getattr(item, "fixturenames", ()) and item.get_closest_marker("shipped") is None]
    if unmarked:
        raise pytest.UsageError("these use the shipped model but are not marked @pytest.mark.shipped: "
                                + ", ".join(unmarked))


@pytest.fixture(scope="session")
def shipped():
    """The shipped model's Recognizer (for tests marked `shipped` only); skips when there is none."""
    from digitboard.common.paths import DEFAULT_MODEL
    from digitboard.read.recognizer import Recognizer

    if not DEFAULT_MODEL.exists():
        pytest.skip("no shipped model")
    return Recognizer.load()


@pytest.fixture(scope="session")
def tiny_model(tmp_path_factory, mnist) -> Path:
    """Path to a real model trained by `train.py` for tests that need one (board, recognizer, …).

    `--arch small`, one epoch on 1000 MNIST images (a few seconds on a CPU): takes
    (28, 28, 1) uint8-range images, returns the probabilities of the ten digits (and of "not
    a digit" when train.py mixes in marks that are none, as it does on MNIST by default),
    reads roughly 75–80 % of the MNIST test set: good for plumbing and shapes, not for
    accuracy claims.
    Beside it: its companion folder `tiny.<tag>/` (read.model_files: card, history, curves,
    Lite flatbuffer). Shared by the whole session, so copy it before training into it or
    changing it. Skips without MNIST."""
    out = tmp_path_factory.mktemp("tiny_model") / "tiny.keras"
    args = [*TINY_MODEL_ARGS, "--out", str(out)]
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(sys, "argv", ["train.py", *args])  # the command line the card records
        result = CliRunner().invoke(train.main, args)
    assert result.exit_code == 0, result.output
    return out


@pytest.fixture
def headless(monkeypatch):
    """pygame on SDL's dummy drivers: no display, no sound card."""
    monkeypatch.setenv("SDL_VIDEODRIVER", "dummy")
    monkeypatch.setenv("SDL_AUDIODRIVER", "dummy")


@pytest.fixture(scope="session")
def plain_run(tmp_path_factory, mnist) -> tuple[subprocess.CompletedProcess, Path]:
    """`python train.py --limit 1000 --epochs 1 --out …` as a user types it, in a Python of its
    own (the default cnn and recipe, real MNIST; TensorFlow imported afresh): (the finished
    process, its stdout and stderr kept, and the model it wrote). About 20 s on a 2-core CPU,
    so run once for the tests of what it prints and what it writes. Skips without MNIST."""
    out = tmp_path_factory.mktemp("plain_run") / "best.keras"
    done = subprocess.run([sys.executable, "train.py", "--limit", "1000", "--epochs", "1", "--out", str(out)],
                          cwd=ROOT, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr
    return done, out


# ---------------------------------------------------------------- generated data sets


def digit_like(label: str, rng: np.random.Generator, size: int = 28) -> np.ndarray:
    """A (size, size) uint8 image: the label's first character in white on black, jittered."""
    image = np.zeros((size, size), np.uint8)
    scale = size / 28
    origin = (int(rng.integers(4, 9) * scale), int(rng.integers(20, 25) * scale))
    cv2.putText(image, label[0], origin, cv2.FONT_HERSHEY_SIMPLEX, 0.8 * scale, 255,
                int(rng.integers(1, 4)), cv2.LINE_AA)
    return image


def write_idx(path: Path, array: np.ndarray, magic: int | None = None) -> Path:
    """Write uint8 `array` as an IDX file (gzipped when the name ends in .gz)."""
    array = np.ascontiguousarray(array, np.uint8)
    magic = 0x0800 | array.ndim if magic is None else magic  # 2051 images, 2049 labels
    raw = magic.to_bytes(4, "big") + b"".join(d.to_bytes(4, "big") for d in array.shape)
    raw += array.tobytes()
    path.write_bytes(gzip.compress(raw) if path.suffix == ".gz" else raw)
    return path


@pytest.fixture
def make_idx_dir(tmp_path):
    """make_idx_dir(name, n_train=24, n_test=8, size=28, gz=False, classes=3) → (dir, arrays).

    Writes MNIST-style train-/t10k- images and labels (no t10k files when n_test is 0);
    arrays is (x_train, y_train, x_test, y_test) as written."""

    def make(name="idx", n_train=24, n_test=8, size=28, gz=False, classes=3):
        directory = tmp_path / name
        directory.mkdir()
        rng = np.random.default_rng(len(name) + n_train)
        suffix = ".gz" if gz else ""
        arrays = []
        for prefix, n in (("train", n_train), ("t10k", n_test)):
            labels = (np.arange(n) % classes).astype(np.uint8)
            images = np.stack([digit_like(str(y), rng, size) for y in labels]) if n else \
                np.zeros((0, size, size), np.uint8)
            arrays += [images, labels]
            if n or prefix == "train":
                write_idx(directory / f"{prefix}-images-idx3-ubyte{suffix}", images)
                write_idx(directory / f"{prefix}-labels-idx1-ubyte{suffix}", labels)
        return directory, tuple(arrays)

    return make


def write_image(path: Path, image: np.ndarray) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    assert cv2.imwrite(str(path), image), path
    return path


def class_folder(directory: Path, classes=("0", "1", "7"), n_train=6, n_test=2, layout="mnist_png") -> Path:
    """A class-folder data set at `directory`: layout "mnist_png" writes DIR/training/<class>/*.png
    and DIR/testing/<class>/*.png; "flat" writes DIR/<class>/*.png (n_test ignored). In every
    training class one image is colour (BGR) and one an odd size (37×31), the rest 28×28
    grayscale."""
    rng = np.random.default_rng(n_train * 31 + n_test)
    splits = {"training": n_train, "testing": n_test} if layout == "mnist_png" else {".": n_train}
    for split, n in splits.items():
        for label in classes:
            for i in range(n):
                image = digit_like(label, rng)
                if split != "testing" and i == 0:
                    image = cv2.merge([image, image // 2, np.zeros_like(image)])  # colour
                elif split != "testing" and i == 1:
                    image = cv2.resize(image, (37, 31))  # odd size, not square
                write_image(directory / split / label / f"{label}_{i}.png", image)
    directory.mkdir(parents=True, exist_ok=True)
    return directory


@pytest.fixture
def make_class_folder(tmp_path):
    """make_class_folder(name, classes=("0", "1", "7"), n_train=6, n_test=2, layout="mnist_png"):
    class_folder under tmp_path / name."""

    def make(name="digits", classes=("0", "1", "7"), n_train=6, n_test=2, layout="mnist_png"):
        return class_folder(tmp_path / name, classes, n_train, n_test, layout)

    return make


def unipen_text(digits: list[tuple[str, list[list[tuple[int, int]]]]]) -> str:
    """UNIPEN text for (label, strokes) pairs; coordinates as a tablet gives them (y up)."""
    lines = ['.LEXICON "0" "1" "2" "3" "4" "5" "6" "7" "8" "9"', ".HIERARCHY DIGIT", ""]
    for index, (label, strokes) in enumerate(digits):
        lines.append(f'.SEGMENT DIGIT {index} ? "{label}"')
        for stroke in strokes:
            lines += [".PEN_DOWN", *(f" {x} {y}" for x, y in stroke), ".PEN_UP"]
    return "\n".join(lines) + "\n"


# y grows upwards: the 7's bar is at the top (y = 300), its stem runs down to y = 0
PEN_DIGITS = [
    ("1", [[(150, 300), (150, 200), (150, 100), (150, 0)]]),
    ("7", [[(0, 300), (100, 300), (200, 300)], [(200, 300), (140, 150), (80, 0)]]),
    ("0", [[(100 + round(80 * np.cos(t)), 150 + round(140 * np.sin(t)))
            for t in np.linspace(0, 2 * np.pi, 24)]]),
]


@pytest.fixture
def make_unipen(tmp_path):
    """make_unipen(name="pen.txt", digits=PEN_DIGITS) → path of a UNIPEN file with a 1, 7 and 0."""

    def make(name="pen.txt", digits=PEN_DIGITS):
        path = tmp_path / name
        path.write_text(unipen_text(digits))
        return path

    return make


# ---------------------------------------------------------------- digits the tests draw

@pytest.fixture(scope="session")
def pen_digits():
    """The UCI pen digits of ../shared (a list of PenDigit); skips without them."""
    from digitboard.common.paths import SHARED_PENDIGITS
    from digitboard.data.pen import read_unipen

    if not SHARED_PENDIGITS.exists():
        pytest.skip("no ../shared/pendigits (UCI pen digits)")
    return read_unipen(SHARED_PENDIGITS)


def arc(cx, cy, rx, ry, start, stop, n=24):
    t = np.linspace(start, stop, n)
    return np.c_[cx + rx * np.cos(t), cy + ry * np.sin(t)]


# Digits as a person writes them, 200 px tall, their left edge at x = 0 (y grows downwards).
ONE = [np.array([[30.0, 0], [30, 200]])]
SEVEN = [np.array([[0.0, 0], [100, 0], [40, 200]])]
FOUR = [np.array([[55.0, 0], [0, 130], [100, 130]]), np.array([[75.0, 60], [75, 200]])]
FIVE = [np.r_[[[15.0, 0], [10, 85]], arc(50, 135, 50, 62, -2.2, 2.4)], np.array([[15.0, 0], [95, 0]])]
ZERO_IN_TWO_ARCS = [arc(50, 100, 50, 100, -np.pi / 2, -3 * np.pi / 2), arc(50, 100, 50, 100, -np.pi / 2, np.pi / 2)]


def write(*digits, gap=0.0, brush=14, size=(900, 400)):
    """Digits side by side: the boxes of their pen paths `gap` × 200 px apart, on a canvas."""
    strokes, x = [], 100.0
    for digit in digits:
        width = max(float(np.ptp(np.concatenate(digit)[:, 0])), 1.0)
        low = np.concatenate(digit)[:, 0].min()
        strokes += [s + (x - low, 100) for s in digit]
        x += width + gap * 200
    return draw_strokes(strokes, np.zeros((size[1], size[0]), np.uint8), brush), strokes


# The other six, so that a stand-in reader knows every digit (TemplateReader).
TWO = [np.r_[arc(50, 55, 48, 50, -2.8, 0.5, 14), [[20.0, 170], [0, 200], [100, 200]]]]
THREE = [np.r_[arc(45, 50, 50, 48, -2.6, np.pi / 2, 14), arc(45, 148, 55, 52, -np.pi / 2, 2.6, 14)]]
SIX = [np.r_[[[80.0, 0], [30, 50], [4, 125]], arc(50, 150, 48, 50, np.pi, -np.pi, 24)]]
EIGHT = [np.r_[arc(50, 50, 40, 48, np.pi / 2, 5 * np.pi / 2, 20), arc(50, 148, 48, 52, -np.pi / 2, 3 * np.pi / 2, 20)]]
NINE = [np.r_[arc(45, 50, 45, 48, 0, -2 * np.pi, 24), [[88.0, 200]]]]
DIGITS = {0: ZERO_IN_TWO_ARCS, 1: ONE, 2: TWO, 3: THREE, 4: FOUR, 5: FIVE, 6: SIX, 7: SEVEN, 8: EIGHT, 9: NINE}


def make_drawings(folder: Path, mnist, digits=(0, 1, 7), per_digit: int = 6, strokes: dict | None = None) -> Path:
    """A person's drawings as the board saves them: DIR/<digit>/<stamp>.png, with the board's
    extras one folder down (the image of the strokes alone, which the loader must leave alone,
    and with `strokes` {digit: its strokes}, strokes.json)."""
    for digit in digits:
        images = mnist.x_test[mnist.y_test == digit][:per_digit]
        for i, image in enumerate(images):
            write_image(folder / str(digit) / f"s{i}.png", image)
            write_image(folder / str(digit) / f"s{i}" / "canvas.png", np.zeros((30, 40), np.uint8))
            if strokes and digit in strokes:
                wobbled = [s + i for s in strokes[digit]]  # each drawing a little different
                (folder / str(digit) / f"s{i}" / "strokes.json").write_text(
                    stroke_json([PenDigit(str(digit), wobbled)], (400, 300)))
    return folder


def tight_number(path: Path) -> Path:
    """A saved drawing of 4 1 7 written with touching digits, as the board saves strokes."""
    four = [np.array([[255.0, 200], [200, 330], [300, 330]]), np.array([[275.0, 260], [275, 400]])]
    one = [np.array([[310.0, 200], [310, 400]])]
    seven = [np.array([[315.0, 200], [415, 200], [355, 400]])]
    digits = [PenDigit("4", four), PenDigit("1", one), PenDigit("7", seven)]
    path.write_text(stroke_json(digits, canvas_size=(800, 600)))
    return path


# ---------------------------------------------------------------- a stand-in reader


def templates_of(label: int, digit: list[np.ndarray], brush: int = 14) -> list[tuple[int, np.ndarray]]:
    """What a reader is shown of a digit drawn along `digit` (pen paths): its ink on a canvas,
    cut out and normalised as read.ink does it, and its strokes redrawn as read.strokes does."""
    from digitboard.read.image import normalize_digit
    from digitboard.read.strokes import render_strokes

    canvas, strokes = write(digit, brush=brush)
    return [(label, normalize_digit(canvas)), (label, render_strokes(strokes))]


@functools.cache
def _digit_templates() -> tuple:
    return tuple(template for label, digit in DIGITS.items() for template in templates_of(label, digit))


class TemplateReader:
    """A stand-in for a trained model in tests of what is built round one (finding, cutting and
    grouping digits; the board): a Recognizer's call, (n, 28, 28, 1) inputs → (n, classes)
    probabilities. It reads an input as the digit whose template it looks most like (cosine
    similarity, lightly blurred), the surer the closer: softmax(SHARPNESS × similarity), so a
    digit it was shown reads surely, and a piece of one, or two touching, less surely (the
    tests under tests/read pass with SHARPNESS anywhere from 40 to 80).
    Its templates are the ten DIGITS (templates_of) and any more it is given, (label, 28×28
    input); with 11 classes, an input that no template is MARK_BELOW alike is "not a digit".
    What it reads depends on those drawings alone, never on a training run."""

    SHARPNESS = 60.0
    MARK_BELOW = 0.8

    def __init__(self, more=(), classes: int = 10):
        templates = [*_digit_templates(), *more]
        self.labels = np.array([label for label, _ in templates])
        self.templates = np.stack([self._unit(image) for _, image in templates])  # (t, 784)
        self.classes = classes

    @staticmethod
    def _unit(image) -> np.ndarray:
        blurred = cv2.GaussianBlur(np.asarray(image, np.float32).reshape(28, 28), (0, 0), 0.7).ravel()
        return blurred / max(float(np.linalg.norm(blurred)), 1e-6)

    def __call__(self, images: np.ndarray) -> np.ndarray:
        alike = np.stack([self._unit(image) for image in images]) @ self.templates.T  # (n, t)
        per_class = np.full((len(images), self.classes), -1.0, np.float32)
        for label in np.unique(self.labels):
            per_class[:, label] = alike[:, self.labels == label].max(axis=1)
        if self.classes > 10:
            per_class[:, 10] = self.MARK_BELOW
        logits = self.SHARPNESS * per_class
        probs = np.exp(logits - logits.max(axis=1, keepdims=True))
        return probs / probs.sum(axis=1, keepdims=True)


def stand_in(*more, classes: int = 10):
    """A Recognizer that reads with a TemplateReader knowing the ten DIGITS and `more`
    (label, 28×28 input) templates: the whole read() around a model that no training changes."""
    from digitboard.read.recognizer import Recognizer

    return Recognizer(TemplateReader(more, classes))


# ---------------------------------------------------------------- command lines

# A training that takes seconds: the small network, one epoch, no augmentation.
QUICK = ["--arch", "small", "--epochs", "1", "--batch-size", "8", "--no-augment"]


def assert_one_line_error(result, message: str) -> None:
    """Bad input: exit code 2, and the whole output is one line, `Error: …` containing
    `message` (no usage block, no traceback, nothing else)."""
    assert result.exit_code == 2, result.output
    assert result.output.endswith("\n") and result.output.count("\n") == 1, result.output
    assert result.output.startswith("Error: ") and message in result.output, result.output


def run_train(*args):
    """train.py through CliRunner; arguments may be paths or numbers."""
    return CliRunner().invoke(train.main, [str(a) for a in args])


def snapshot(folder: Path) -> dict:
    """Every file under folder with its bytes, to show a failed run changed nothing."""
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


@pytest.fixture(scope="session", autouse=True)
def runs_outside_the_repository(tmp_path_factory):
    """train.py's runs/ folder (where a run without --out goes), moved to a temporary folder
    for the whole session. (Session-scoped: Hypothesis refuses function-scoped autouse fixtures.)"""
    with pytest.MonkeyPatch.context() as patch:
        runs = tmp_path_factory.mktemp("runs")
        patch.setattr(paths, "RUNS_DIR", runs)
        patch.setattr(train, "RUNS_DIR", runs)
        yield runs


@pytest.fixture
def previous_run(tmp_path) -> Path:
    """A models/ folder holding an earlier run's model unit (model, and in its companion
    folder card, history, curves, stroke model), a grid table, and a user's own best.json
    (which no card may touch); returns its --out path."""
    out = tmp_path / "models" / "best.keras"
    out.parent.mkdir()
    out.write_bytes(b"an earlier model")
    companions = model_files.companions_dir(out)
    companions.mkdir()
    (companions / model_files.CARD).write_text('{"test_accuracy": 0.99}\n')
    (companions / model_files.HISTORY).write_text("epoch,accuracy\n0,0.9\n")
    (companions / model_files.CURVES).write_bytes(b"earlier curves")
    (companions / model_files.STROKES).write_bytes(b"an earlier stroke model")
    (out.parent / "best.json").write_text('{"my": "own notes"}\n')
    (out.parent / "grid.csv").write_text("learning_rate,val_accuracy\n0.1,0.5\n")
    return out

