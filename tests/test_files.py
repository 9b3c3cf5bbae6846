"""digitboard.files: every file written in one step, through a side file of its own."""

from __future__ import annotations

import os
import stat

import pytest

from digitboard.common.files import replacing, write_bytes, write_text


def test_nothing_shows_until_the_write_is_done_and_two_writers_never_share_a_side_file(tmp_path):
    path = tmp_path / "card.json"
    path.write_text("old")
    with replacing(path) as first, replacing(path) as second:
        assert first != second and first.parent == second.parent == tmp_path
        assert first.suffix == second.suffix == ".json" and ".partial" in first.name
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
