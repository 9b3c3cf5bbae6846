"""board.py's command line through click: --replay (read and printed), --snapshot, --stats,
and every option a board cannot use, each one line."""

from __future__ import annotations

import json
from pathlib import Path

import cv2
import pytest
from click.testing import CliRunner

from digitboard.board.state import load_demo_digits
from digitboard.cli import board as board_command
from digitboard.common.paths import DEFAULT_MODEL, DEMO_DIR
from digitboard.data.pen import stroke_json

from conftest import assert_one_line_error, tight_number

pytestmark = pytest.mark.usefixtures("headless")


def demo_digits(count: int = 3):
    return load_demo_digits(DEMO_DIR)[:count]


def write_demo_number(path: Path, count: int = 3) -> Path:
    path.write_text(stroke_json(demo_digits(count)))
    return path


class TestCommand:
    def test_replay_prints_the_number_and_saves_the_window(self, tiny_model, tmp_path):
        replay = write_demo_number(tmp_path / "number.json", 3)
        snapshot = tmp_path / "out.png"
        result = CliRunner().invoke(board_command.main, ["--model", str(tiny_model), "--replay", str(replay),
                                                 "--snapshot", str(snapshot), "--stats",
                                                 "--size", "640x480", "--fps", "240"])
        assert result.exit_code == 0, result.output
        lines = result.output.strip().splitlines()
        stats = json.loads(lines[-1])
        assert {"frames", "fps_mean", "frame_ms_p99", "read_ms_p50"} <= stats.keys()
        assert stats["frames"] > 0 and stats["read_ms_p50"] > 0
        digits = lines[-2].removeprefix("read: ").split()
        assert lines[-2].startswith("read: ") and len(digits) == 3 and all(d in "0123456789" for d in digits)
        assert cv2.imread(str(snapshot)).shape == (480, 640, 3)

    @pytest.mark.shipped  # board.py reads with the shipped model by default
    def test_replay_of_touching_digits_reads_them_apart(self, tmp_path):
        if not DEFAULT_MODEL.exists():
            pytest.skip("no shipped model")
        result = CliRunner().invoke(board_command.main, ["--replay", str(tight_number(tmp_path / "417.json")),
                                                 "--size", "800x720", "--fps", "240"])
        assert result.exit_code == 0, result.output
        assert result.output.strip().splitlines()[-1] == "read: 4 1 7"

    def test_replay_of_unipen(self, tiny_model, tmp_path, make_unipen):
        result = CliRunner().invoke(board_command.main, ["--model", str(tiny_model), "--replay", str(make_unipen()),
                                                 "--size", "640x480", "--fps", "240"])
        assert result.exit_code == 0, result.output
        assert len(result.output.strip().splitlines()[-1].split()) == 4  # "read:" and three digits

    def test_missing_model_is_plain_words(self, tmp_path):
        replay = write_demo_number(tmp_path / "number.json", 1)
        result = CliRunner().invoke(board_command.main, ["--model", str(tmp_path / "none.keras"), "--replay",
                                                 str(replay), "--snapshot", str(tmp_path / "s.png"),
                                                 "--size", "640x480", "--fps", "240"])
        assert_one_line_error(result, f"no model at {tmp_path / 'none.keras'}: train one with `python train.py`")
        assert (tmp_path / "s.png").is_file()

    @pytest.mark.parametrize("content", ["{not json", '{"digits": []}', ".PEN_DOWN\n1 2\n"])
    def test_an_unreadable_demo_file_is_one_line(self, tmp_path, content):
        demo = tmp_path / "demo.json" if content.startswith("{") else tmp_path / "demo.txt"
        demo.write_text(content)
        result = CliRunner().invoke(board_command.main, ["--kiosk", "--demo", str(demo)])
        assert_one_line_error(result, f"--demo: {demo}")

    def test_a_missing_demo_file(self, tmp_path):
        result = CliRunner().invoke(board_command.main, ["--demo", str(tmp_path / "nope.json")])
        assert_one_line_error(result, f"--demo {tmp_path / 'nope.json'}: no such file")

    def test_a_replay_of_too_many_digits(self, tmp_path):
        replay = tmp_path / "long.json"
        replay.write_text(stroke_json(demo_digits(10) + demo_digits(3)))
        result = CliRunner().invoke(board_command.main, ["--replay", str(replay)])
        assert_one_line_error(result, f"--replay {replay} holds 13 digits; a replay draws at most 12")

    @pytest.mark.parametrize("size", ["big", "100x100", "800"])
    def test_bad_sizes(self, size):
        result = CliRunner().invoke(board_command.main, ["--size", size])
        assert result.exit_code == 2 and "--size" in result.output

    @pytest.mark.parametrize("args, message", [
        (["--size", "20000x1000"], "20000x1000 is too large: at most 16384 pixels a side"),  # pygame.error before
        (["--size", "9000x9000"], "9000x9000 is too large: at most 33.2 megapixels"),  # what read() takes
        (["--idle", "nan"], "nan is not a finite number"),  # the kiosk never cleared
        (["--attract", "inf"], "inf is not a finite number")])
    def test_sizes_and_seconds_no_board_can_use(self, args, message):
        result = CliRunner().invoke(board_command.main, [*args, "--replay", "x.json"])
        assert result.exit_code == 2 and "Traceback" not in result.output, result.output
        assert result.output.rstrip().endswith(f"Error: Invalid value for '{args[0]}': {message}")

    def test_help_shows_every_option_with_its_default(self):
        result = CliRunner().invoke(board_command.main, ["--help"])
        assert result.exit_code == 0
        for option in ["--model", "--kiosk", "--idle", "--demo", "--replay", "--snapshot", "--stats",
                       "--size", "--fps"]:
            assert option in result.output
        assert "[default: 1024x720]" in result.output and "Ctrl+Shift+Q" in result.output

    def test_the_command_takes_a_language(self):
        result = CliRunner().invoke(board_command.main, ["--lang", "xx"])
        assert result.exit_code == 2 and "--lang" in result.output

    def test_attract_shorter_than_idle_is_one_line(self):
        result = CliRunner().invoke(board_command.main, ["--kiosk", "--idle", "30", "--attract", "10"])
        assert_one_line_error(result, "--attract 10 is shorter than --idle 30")
