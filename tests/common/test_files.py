"""common.files: every file written in one step, through a side file of its own, and what a
killed writer left swept up once it is gone."""

from __future__ import annotations

import os
import re
import stat
import subprocess

import pytest

from digitboard.common.files import partial_name, replacing, sweep_partials, write_bytes, write_text


def ended_pid() -> int:
    """The pid of a process that has ended (what a killed run leaves its partial files under)."""
    process = subprocess.Popen(["true"])
    process.wait()
    return process.pid


def test_nothing_shows_until_the_write_is_done_and_two_writers_never_share_a_side_file(tmp_path):
    path = tmp_path / "card.json"
    path.write_text("old")
    with replacing(path) as first, replacing(path) as second:
        assert first != second and first.parent == second.parent == tmp_path
        assert first.suffix == second.suffix == ".json" and ".partial" in first.name
        assert re.fullmatch(rf"card\.partial-{os.getpid()}-[0-9a-f]{{8}}\.json", first.name)
        first.write_text("first")
        second.write_text("second")
        assert path.read_text() == "old"
    assert path.read_text() == "first"  # the outer block ended last
    assert [p.name for p in tmp_path.iterdir()] == ["card.json"]


def test_a_failed_write_leaves_the_old_file_and_no_side_file(tmp_path):
    path = tmp_path / "model.keras"
    path.write_bytes(b"the old model")
    with pytest.raises(OSError, match="disk full"):
        with replacing(path) as partial:
            partial.write_bytes(b"half a mod")
            raise OSError("disk full")
    assert path.read_bytes() == b"the old model"
    assert [p.name for p in tmp_path.iterdir()] == ["model.keras"]


def test_written_files_are_as_readable_as_any_other(tmp_path):
    write_text(tmp_path / "a.txt", "text")
    write_bytes(tmp_path / "b.png", b"\x89PNG")
    umask = os.umask(0o022)
    os.umask(umask)
    for name in ("a.txt", "b.png"):
        assert stat.S_IMODE((tmp_path / name).stat().st_mode) == 0o666 & ~umask
    assert (tmp_path / "a.txt").read_text() == "text" and (tmp_path / "b.png").read_bytes() == b"\x89PNG"


def test_partials_of_ended_processes_are_swept_and_those_of_live_ones_kept(tmp_path):
    dead, alive = ended_pid(), os.getppid()
    gone = [tmp_path / f"best.partial-{dead}-0123abcd.keras", tmp_path / f"mnist.partial-{dead}-89abcdef.npz",
            tmp_path / f"best.partial-{dead}-00ff00ff"]  # a staging folder, with what it held
    for path in gone[:2]:
        path.write_bytes(b"half")
    (gone[2] / "unit").mkdir(parents=True)
    (gone[2] / "unit" / "card.json").write_text("{}")
    kept = [tmp_path / f"best.partial-{alive}-0123abcd.keras",          # still being written
            tmp_path / partial_name("best", ".keras"),                   # by this very process
            tmp_path / "best.keras", tmp_path / "notes.partial.txt",     # not partial files
            tmp_path / f"best.partial-{dead}-xyz.keras"]                 # not a name we give
    for path in kept:
        path.write_bytes(b"keep")
    assert sorted(sweep_partials(tmp_path)) == sorted(gone)
    assert sorted(tmp_path.iterdir()) == sorted(kept)
    assert sweep_partials(tmp_path / "missing") == []
