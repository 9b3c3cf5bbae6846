"""Self-recovery: the kiosk's supervisor (board/supervisor.py) and the reader thread's revival
(board/reader.py revive_reader).

The supervisor runs as a real process over stand-in boards (a few lines of shell that beat
as the board does), fast settings making each case take a second or so; one case runs the
real `board.py --kiosk` headless. The reader's revival runs the real frame loop headless.
"""

from __future__ import annotations

import os
import queue
import re
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pygame
import pytest

from digitboard.board.loop import BoardOptions, run_board, scripted
from digitboard.board.reader import exchange_with_reader, revive_reader, start_reader, stop_reader
from digitboard.board.state import new_board
from digitboard.board.supervisor import backoff, heartbeat_writer
from digitboard.common.paths import DEFAULT_MODEL, ROOT

FAST = ["--hang-after", "0.6", "--first-beat-within", "1.5", "--backoff", "0.05", "--settled-after", "30"]
BEATING = 'i=0; while :; do i=$((i+1)); echo "$i reading" > "$DIGITBOARD_HEARTBEAT"; sleep 0.1; done'


class Kiosk:
    """A kiosk's supervisor as a process, its stderr lines kept as they come."""

    def __init__(self, command: list[str], log: Path, env=None):
        self.log = log
        self.process = subprocess.Popen(command, stderr=subprocess.PIPE, stdout=subprocess.DEVNULL, text=True,
                                        cwd=log.parent, env={**os.environ, **(env or {})})
        self.lines, self.seen = queue.Queue(), []
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self):
        for line in self.process.stderr:
            self.lines.put(line.rstrip("\n"))

    def wait_for(self, pattern: str, timeout: float = 10.0) -> re.Match:
        deadline = time.monotonic() + timeout
        while True:
            try:
                line = self.lines.get(timeout=max(0.0, deadline - time.monotonic()))
            except queue.Empty:
                raise AssertionError(f"no {pattern!r} in {timeout:g} s; seen: {self.seen}") from None
            self.seen.append(line)
            if match := re.search(pattern, line):
                return match

    def started(self, timeout: float = 10.0) -> int:
        return int(self.wait_for(r"the board started \(pid (\d+)\)", timeout).group(1))

    def stop(self, signum=signal.SIGTERM) -> int:
        if self.process.poll() is None:
            self.process.send_signal(signum)
        return self.process.wait(10)


def supervising(tmp_path: Path, board: list[str], options=FAST) -> Kiosk:
    """The supervisor over a stand-in `board` command."""
    log = tmp_path / "kiosk.log"
    return Kiosk([sys.executable, "-m", "digitboard.board.supervisor", "--log", str(log), *options, "--", *board], log)


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return Path(f"/proc/{pid}/stat").read_text().split(")")[1].split()[0] != "Z"  # not a zombie


def gone_soon(pid: int, seconds: float = 5.0) -> bool:
    deadline = time.monotonic() + seconds
    while alive(pid) and time.monotonic() < deadline:
        time.sleep(0.05)
    return not alive(pid)


def restart_lines(text: str) -> list[str]:
    return [line for line in text.splitlines() if re.search(r"kiosk supervisor: restart \d+: ", line)]


# ---------------------------------------------------------------- the supervisor

def test_backoff_doubles_to_its_cap_and_a_first_failure_restarts_at_once():
    assert [backoff(n) for n in range(1, 10)] == [0, 1, 2, 4, 8, 16, 32, 60, 60]


def test_a_killed_board_comes_back(tmp_path):
    kiosk = supervising(tmp_path, ["sh", "-c", BEATING])
    try:
        first = kiosk.started()
        kiosk.wait_for(r"the board reads")
        os.kill(first, signal.SIGKILL)
        kiosk.wait_for(rf"restart 1: the board \(pid {first}\) was killed by SIGKILL after [\d.]+ s; "
                       r"starting it again in 0 s")
        second = kiosk.started()
        kiosk.wait_for(r"the board reads")
        assert second != first and alive(second)
    finally:
        assert kiosk.stop() == 0
    assert gone_soon(second)


def test_a_board_whose_heartbeat_stops_is_killed_and_restarted(tmp_path):
    beats_then_hangs = 'for i in 1 2 3; do echo "$i loading" > "$DIGITBOARD_HEARTBEAT"; sleep 0.1; done; sleep 60'
    kiosk = supervising(tmp_path, ["sh", "-c", beats_then_hangs])
    try:
        first = kiosk.started()
        kiosk.wait_for(rf"restart 1: the board \(pid {first}\) hung \(gave no heartbeat for (0\.[6-9]|[1-9][\d.]*) s; "
                       r"stopped: was killed by SIGTERM\)")
        assert not alive(first)
        kiosk.started()
    finally:
        kiosk.stop()


def test_a_board_that_never_beats_is_restarted(tmp_path):
    kiosk = supervising(tmp_path, ["sleep", "60"])
    try:
        first = kiosk.started()
        kiosk.wait_for(r"restart 1: .* hung \(gave no heartbeat in 1\.5 s from its start")
        assert not alive(first)
    finally:
        kiosk.stop()


def test_restarts_back_off_and_each_is_one_logged_line(tmp_path):
    """A board that cannot start waits longer each time; each restart is one line, on stderr
    and in the log, where the board's own stderr goes too."""
    kiosk = supervising(tmp_path, ["sh", "-c", "echo 'no display' >&2; exit 3"])
    try:
        waits = [float(kiosk.wait_for(rf"restart {n}: .* exited with code 3 \(no display\) after [\d.]+ s; "
                                      r"starting it again in ([\d.]+) s").group(1)) for n in range(1, 6)]
    finally:
        assert kiosk.stop() == 0
    assert waits == [0, 0.05, 0.1, 0.2, 0.4]
    logged = kiosk.log.read_text()
    assert len(restart_lines(logged)) == len(restart_lines("\n".join(kiosk.seen))) >= 5
    assert re.search(r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d board \d+: no display$", logged, re.M)
    assert "no display" in kiosk.seen  # passed on to stderr as it came


def test_a_board_that_ran_well_comes_back_at_once_again(tmp_path):
    kiosk = supervising(tmp_path, ["sh", "-c", f"({BEATING}) & sleep 0.5; exit 1"], [*FAST, "--settled-after", "0.3"])
    try:
        waits = [kiosk.wait_for(r"restart \d+: .* starting it again in ([\d.]+) s").group(1) for _ in range(3)]
    finally:
        kiosk.stop()
    assert waits == ["0", "0", "0"]


def test_the_operators_quit_ends_the_supervisor(tmp_path):
    kiosk = supervising(tmp_path, ["sh", "-c", "exit 0"])
    assert kiosk.process.wait(10) == 0
    log = kiosk.log.read_text()
    assert log.count("the board started") == 1 and "the supervisor ends" in log and not restart_lines(log)


@pytest.mark.parametrize("signum, code", [(signal.SIGTERM, 0), (signal.SIGINT, 130)])
def test_a_signal_stops_the_board_what_it_started_and_the_supervisor(tmp_path, signum, code):
    board = f"sleep 60 & echo $! > {tmp_path / 'teach.pid'}; {BEATING}"
    kiosk = supervising(tmp_path, ["sh", "-c", board])
    child = kiosk.started()
    kiosk.wait_for(r"the board reads")
    assert kiosk.stop(signum) == code
    grandchild = int((tmp_path / "teach.pid").read_text())
    assert gone_soon(child) and gone_soon(grandchild)
    assert f"{signal.Signals(signum).name}: the board (pid {child}) is stopped" in kiosk.log.read_text()


def test_the_heartbeat_is_written_each_second_and_at_once_when_the_status_changes(tmp_path):
    path = tmp_path / "heartbeat"
    beat = heartbeat_writer(path)
    written = []
    for now, status in [(0.0, "loading"), (0.5, "loading"), (0.6, "reading"), (1.2, "reading"), (1.7, "reading")]:
        beat(now, status)
        written.append(path.read_text())
    assert written == ["1 loading\n", "1 loading\n", "2 reading\n", "2 reading\n", "3 reading\n"]


@pytest.mark.shipped  # board.py --kiosk reads with the shipped model
@pytest.mark.skipif(not DEFAULT_MODEL.is_file(), reason="no models/best.keras")
def test_the_real_kiosk_comes_back_after_kill_9(tmp_path):
    """`board.py --kiosk`, headless: the process it starts becomes the supervisor (no pygame,
    no TensorFlow in it), and a killed board is back and reading within seconds."""
    headless = {"SDL_VIDEODRIVER": "dummy", "SDL_AUDIODRIVER": "dummy"}
    kiosk = Kiosk([sys.executable, str(ROOT / "board.py"), "--kiosk", "--log", str(tmp_path / "kiosk.log")],
                  tmp_path / "kiosk.log", env=headless)
    try:
        first = kiosk.started(30)
        kiosk.wait_for(r"the board reads", 30)
        maps = Path(f"/proc/{kiosk.process.pid}/maps").read_text()
        assert "digitboard.board.supervisor" in Path(f"/proc/{kiosk.process.pid}/cmdline").read_text()
        assert not re.search(r"pygame|tensorflow|litert|SDL", maps)
        os.kill(first, signal.SIGKILL)
        kiosk.wait_for(r"restart 1: .* was killed by SIGKILL")
        second = kiosk.started()
        kiosk.wait_for(r"the board reads", 30)
    finally:
        assert kiosk.stop() == 0
    assert gone_soon(second)


# ---------------------------------------------------------------- the reader thread

class Recognizer:
    """Reads nothing (no marks); `fatal` reads end the reader's thread with SystemExit."""

    device = "CPU (fake)"

    def __init__(self, fatal: int = 0):
        self.fatal, self.reads = fatal, 0

    def read_marks(self, canvas, strokes=None):
        self.reads += 1
        if self.reads <= self.fatal:
            raise SystemExit("the runtime fell over")
        return []


def drain(board, reader, seconds: float = 5.0):
    """Trade messages with the reader until the board has a model (or `seconds` pass)."""
    deadline = time.monotonic() + seconds
    while board.model_state != "ready" and time.monotonic() < deadline:
        exchange_with_reader(board, reader, time.monotonic())
        time.sleep(0.01)


@pytest.mark.filterwarnings("ignore::pytest.PytestUnhandledThreadExceptionWarning")  # the dying thread's traceback
def test_a_dead_reader_is_started_again_with_back_off():
    board = new_board((200, 200))
    reader = start_reader(Recognizer)
    drain(board, reader)
    reader.jobs.put(object())  # not a job: the thread dies outside the reads' own except
    reader.thread.join(5)
    now = time.monotonic()
    revived = revive_reader(board, reader, now)
    assert revived is not reader and revived.thread.is_alive() and revived.jobs is reader.jobs
    assert board.model_state == "loading" and len(board.operator_log) == 1
    assert re.fullmatch(r"the reader stopped \(AttributeError: .*\); starting it again in 0 s", board.operator_log[0])
    drain(board, revived)
    assert board.model_state == "ready"
    revived.jobs.put(object())  # dies again at once: the next one waits a second
    revived.thread.join(5)
    assert revive_reader(board, revived, now + 0.1) is revived
    assert board.operator_log[-1].endswith("starting it again in 1 s")
    assert revive_reader(board, revived, now + 0.5) is revived
    third = revive_reader(board, revived, now + 1.2)
    assert third.thread.is_alive()
    stop_reader(third)


def stroke(layout) -> list[list[pygame.event.Event]]:
    """A line down the middle of the canvas, one event a frame."""
    (x, y), down = layout.canvas.center, (layout.canvas.centerx, layout.canvas.centery + 80)
    return [[pygame.event.Event(pygame.MOUSEBUTTONDOWN, pos=(x, y), button=1)],
            [pygame.event.Event(pygame.MOUSEMOTION, pos=down, buttons=(1, 0, 0), rel=(0, 80))],
            [pygame.event.Event(pygame.MOUSEBUTTONUP, pos=down, button=1)]]


@pytest.mark.filterwarnings("ignore::pytest.PytestUnhandledThreadExceptionWarning")
def test_the_board_reads_again_after_its_reader_thread_dies(monkeypatch, capsys):
    """The first read kills the reader thread; the loop starts another, which reads the ink."""
    monkeypatch.setenv("SDL_VIDEODRIVER", "dummy")
    recognizer = Recognizer(fatal=1)
    board, _ = run_board(BoardOptions(lambda: recognizer, "fake", (640, 480), fps=240, max_seconds=20),
                         on_frame=scripted(stroke))
    assert recognizer.reads >= 2 and board.model_state == "ready"
    assert board.has_ink and board.readings_version == board.ink_version  # the ink was read
    assert "digitboard: the reader stopped (SystemExit: the runtime fell over); starting it again in 0 s" \
        in capsys.readouterr().err
