"""read.model_files: a model and its companions as one unit, found through the model's own bytes,
installed companions first and the model last, published whole, tidied after a crash; and a
file that is not a model named as such."""

from __future__ import annotations

import errno
import os
import shutil
import subprocess
import zipfile
from pathlib import Path

import keras
import pytest

from digitboard.common.errors import UserError
from digitboard.read import model_files
from digitboard.read.model_files import (CARD, HISTORY, STROKES, check_writable, companion, companions_dir,
                                         copy_unit, install_unit, load_model_file, model_tag, read_card,
                                         stale_companions, staging_dir, tidy)


def stage(folder: Path, model: bytes, card: str, name: str = "best.keras") -> tuple[Path, Path]:
    """(a model file, a staged companion folder holding its card and a stroke model), as a run
    leaves them before install_unit."""
    work = folder / "work" / name
    work.parent.mkdir(parents=True, exist_ok=True)
    work.write_bytes(model)
    staged = staging_dir(folder / "work" / name)
    (staged / CARD).write_text(card)
    (staged / STROKES).write_bytes(model + b" strokes")
    return work, staged


def unit_at(dest: Path) -> dict:
    """The model at `dest` and its companions, by name."""
    companions = companions_dir(dest)
    return {"model": dest.read_bytes(), **{p.name: p.read_bytes() for p in companions.iterdir()}}


def test_companions_are_found_through_the_models_bytes(tmp_path):
    model = tmp_path / "best.keras"
    model.write_bytes(b"a model")
    assert companions_dir(model).name == f"best.{model_tag(model)}" and len(model_tag(model)) == 12
    assert read_card(model) == {} and companion(model, CARD) is None  # no companions: no card
    companions_dir(model).mkdir()
    (companions_dir(model) / CARD).write_text('{"test_accuracy": 0.99}')
    assert read_card(model) == {"test_accuracy": 0.99}
    (companions_dir(model) / CARD).write_text("[1, 2]")
    with pytest.raises(UserError, match="a model card is a JSON object"):
        read_card(model)
    (companions_dir(model) / CARD).write_text("{not json")
    with pytest.raises(UserError, match="cannot read the model card"):
        read_card(model)
    model.write_bytes(b"another model")  # the file replaced by hand: the old card is not its card
    assert read_card(model) == {}


def test_a_unit_replaces_the_one_there_whole(tmp_path):
    dest = tmp_path / "models" / "best.keras"
    dest.parent.mkdir()
    (dest.parent / "best.json").write_text("a user's own file")
    install_unit(*stage(tmp_path, b"model one", '{"run": 1}'), dest)
    first = companions_dir(dest)
    assert read_card(dest) == {"run": 1} and dest.read_bytes() == b"model one"
    installed = install_unit(*stage(tmp_path, b"model two", '{"run": 2}'), dest)
    assert installed == companions_dir(dest) != first and not first.exists()
    assert unit_at(dest) == {"model": b"model two", CARD: b'{"run": 2}', STROKES: b"model two strokes"}
    assert sorted(p.name for p in dest.parent.iterdir()) == sorted(["best.keras", installed.name, "best.json"])
    assert not list((tmp_path / "work").glob("*.partial*"))  # the staged folder was moved, not copied


def test_a_unit_that_fails_to_install_leaves_the_old_one_whole(tmp_path, monkeypatch):
    dest = tmp_path / "best.keras"
    install_unit(*stage(tmp_path, b"model one", '{"run": 1}'), dest)
    before = unit_at(dest)

    def full(source, target, **kwargs):  # the disk fills at the model, the last step
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(shutil, "copyfile", full)
    with pytest.raises(OSError, match="No space left"):
        install_unit(*stage(tmp_path, b"model two", '{"run": 2}'), dest)
    assert unit_at(dest) == before and read_card(dest) == {"run": 1}
    assert not list(tmp_path.glob("*.partial*")) and stale_companions(dest) == []  # the new ones went too


def test_copy_unit_publishes_a_copy_and_leaves_the_source(tmp_path):
    source = tmp_path / "runs" / "best.keras"
    source.parent.mkdir()
    install_unit(*stage(tmp_path, b"a run's model", '{"run": 1}'), source)
    (companions_dir(source) / HISTORY).write_text("epoch,loss\n0,0.1\n")
    before = unit_at(source)
    dest = tmp_path / "models" / "best.keras"
    dest.parent.mkdir()
    install_unit(*stage(tmp_path, b"the shipped model", '{"run": 0}'), dest)
    copy_unit(source, dest)
    assert unit_at(dest) == unit_at(source) == before
    assert sorted(p.name for p in dest.parent.iterdir()) == sorted(["best.keras", companions_dir(dest).name])


def test_tidy_removes_what_crashed_writers_left_and_nothing_else(tmp_path):
    dest = tmp_path / "best.keras"
    install_unit(*stage(tmp_path, b"a model", "{}"), dest)
    ended = subprocess.Popen(["true"])
    ended.wait()
    left = [tmp_path / "best.0123456789ab", tmp_path / f"best.partial-{ended.pid}-0123abcd",
            tmp_path / f"best.partial-{ended.pid}-89abcdef.keras"]
    kept = [companions_dir(dest), tmp_path / "best.keras", tmp_path / "best.notes",
            tmp_path / "other.0123456789ab", tmp_path / f"best.partial-{os.getppid()}-0123abcd", tmp_path / "work"]
    for path in [*left[:2], *kept[2:5]]:
        path.mkdir()
    left[2].write_bytes(b"half a model")
    assert stale_companions(dest) == [left[0]]
    tidy(dest)
    assert sorted(tmp_path.iterdir()) == sorted(kept)


@pytest.mark.parametrize("make, message", [
    (lambda tmp: (tmp / "README.md").write_text("x") and tmp / "README.md" / "best.keras", "cannot make its folder"),
    (lambda tmp: (tmp / "m.keras").mkdir() or tmp / "m.keras", "is a folder; name the model file"),
], ids=["under a file", "a folder"])
def test_an_out_that_cannot_be_written_is_said_before_any_work(tmp_path, make, message):
    with pytest.raises(UserError, match=message):
        check_writable(make(tmp_path))


def test_check_writable_makes_the_folders_and_leaves_nothing_else(tmp_path):
    check_writable(tmp_path / "a" / "b" / "best.keras")
    assert [p.relative_to(tmp_path).as_posix() for p in sorted(tmp_path.rglob("*"))] == ["a", "a/b"]


@pytest.fixture(scope="module")
def saved_model(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("saved") / "small.keras"
    keras.Sequential([keras.Input((4,)), keras.layers.Dense(2)]).save(path)
    return path


@pytest.mark.parametrize("damage, why", [
    (lambda path: path.write_bytes(b""), "the file is empty"),
    (lambda path: path.write_text("hello"), "neither a .keras (zip) nor an .h5 file"),
    (lambda path: path.write_bytes(path.read_bytes()[:-100]), "a damaged or cut-off .keras file"),
    (lambda path: zipfile.ZipFile(path, "w").writestr("notes.txt", "not a model"), ""),
], ids=["empty", "text", "cut off", "another zip"])
def test_a_file_that_is_not_a_model_is_one_line_naming_it(saved_model, tmp_path, damage, why):
    path = tmp_path / "bad.keras"
    shutil.copy(saved_model, path)
    damage(path)
    with pytest.raises(UserError) as raised:
        load_model_file(path)
    message = str(raised.value)
    assert message.startswith(f"not a Keras model: {path}: {why}") and "\n" not in message
    assert "File not found" not in message
    assert load_model_file(saved_model).output_shape == (None, 2)
    with pytest.raises(UserError, match="no model at .*train one"):
        load_model_file(tmp_path / "missing.keras")


def test_a_staging_folder_is_marked_partial(tmp_path):
    staged = staging_dir(tmp_path / "best.keras")
    assert staged.is_dir() and staged.name.startswith(f"best.partial-{os.getpid()}-")
    assert model_files.stale_companions(tmp_path / "best.keras") == []  # not mistaken for companions
