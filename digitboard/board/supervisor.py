"""The kiosk's supervisor: runs the board as a child process and starts it again when it
crashes or stops answering.

`python board.py --kiosk` turns into this process (`exec_supervisor`: the same pid, so a
service manager keeps its main process), which runs the same command as its child with
DIGITBOARD_HEARTBEAT set. The board then writes `<count> <status>` to that file once a second
from its frame loop (`heartbeat_writer`). A board that exits with an error, dies of a signal,
or whose heartbeat is older than `hang_after` seconds (`first_beat_within` after its start) is
killed if need be (SIGTERM, then SIGKILL, with everything it started) and started again: at
once, then after 1, 2, 4 … 60 s while it keeps failing (`backoff`); a board that ran
`settled_after` seconds starts the count afresh. Exit code 0 (the operator's Ctrl+Shift+Q)
ends the supervisor; SIGTERM and SIGINT stop the board, then the supervisor.

Every start, restart (with its reason) and stop is one line on stderr and in the log file,
where the board's own stderr lines go too, each with the time. Only the standard library and
click: no pygame, no TensorFlow, nothing the board can break.
"""

from __future__ import annotations

import math
import os
import select
import signal
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, NoReturn

import click

HEARTBEAT_ENV = "DIGITBOARD_HEARTBEAT"  # the child's heartbeat file; set: the board is supervised
BEAT_EVERY_S = 1.0
HANG_AFTER_S = 5.0            # no beat for this long: the board hangs
FIRST_BEAT_WITHIN_S = 30.0    # a board that has not beaten this long after its start hangs
SETTLED_AFTER_S = 180.0       # a board that ran this long failed for the first time when it fails
BACKOFF_S, BACKOFF_CAP_S = 1.0, 60.0
STOP_WAIT_S = 3.0             # from SIGTERM to SIGKILL
POLL_S = 0.1
LOG_KEEP_BYTES = 1_000_000    # then kiosk.log becomes kiosk.log.1, and a new one begins


def default_log() -> Path:
    """Where the kiosk's log goes: $XDG_STATE_HOME/digitboard/kiosk.log (~/.local/state/…)."""
    state = os.environ.get("XDG_STATE_HOME") or Path.home() / ".local" / "state"
    return Path(state) / "digitboard" / "kiosk.log"


def backoff(failures: int, base: float = BACKOFF_S, cap: float = BACKOFF_CAP_S) -> float:
    """Seconds to wait before the start that follows `failures` failures in a row: none after
    the first (a board that ran well comes straight back), then base, 2 base, 4 base … cap."""
    return 0.0 if failures <= 1 else min(cap, base * 2 ** (failures - 2))


# ---------------------------------------------------------------- the board's side

def heartbeat_writer(path: Path, every: float = BEAT_EVERY_S) -> Callable[[float, str], None]:
    """`beat(now, status)`, for every frame: writes `<count> <status>` to `path` once every
    `every` seconds, and at once when the status ("loading", "reading", "failed") changes, so
    the supervisor can log the first reading. A few bytes and a rename: never holds a frame."""
    path = Path(path)
    partial = path.with_name(path.name + ".partial")
    count, last_at, last_status = 0, -math.inf, None

    def beat(now: float, status: str) -> None:
        nonlocal count, last_at, last_status
        if now - last_at < every and status == last_status:
            return
        count, last_at, last_status = count + 1, now, status
        try:
            partial.write_text(f"{count} {status}\n")
            os.replace(partial, path)
        except OSError:
            pass  # the supervisor misses the beats and says so
    return beat


# ---------------------------------------------------------------- the log

@dataclass
class Log:
    """One line per event on stderr and in the file at `path` (None: stderr only)."""

    path: Path | None
    broken: bool = False   # the file could not be written: said once, then stderr only

    def say(self, text: str) -> None:
        line = f"{_stamp()} kiosk supervisor: {text}\n"
        sys.stderr.write(line)
        sys.stderr.flush()
        self.keep(line.encode())

    def board_said(self, pid: int, line: bytes) -> None:
        """A line from the board's stderr: passed on as it came, and kept with the time."""
        sys.stderr.buffer.write(line)
        sys.stderr.flush()
        self.keep(f"{_stamp()} board {pid}: ".encode() + line)

    def keep(self, line: bytes) -> None:
        if self.path is None or self.broken:
            return
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            if self.path.exists() and self.path.stat().st_size > LOG_KEEP_BYTES:
                os.replace(self.path, self.path.with_name(self.path.name + ".1"))
            with open(self.path, "ab") as file:
                file.write(line)
        except OSError as err:
            self.broken = True
            self.say(f"cannot write the log {self.path} ({err.strerror or err}): stderr only")


def _stamp() -> str:
    return time.strftime("%Y-%m-%d %H:%M:%S")


# ---------------------------------------------------------------- the supervisor's side

@dataclass
class Child:
    """One run of the board."""

    process: subprocess.Popen
    started: float                 # time.monotonic()
    beat: str | None = None        # the heartbeat file as last read
    beat_at: float | None = None   # when it last changed
    status: str = ""               # what the last beat said
    unread: bytearray = field(default_factory=bytearray)  # stderr bytes short of a line
    last_words: str = ""           # its last stderr line: why it failed, often


def supervise(command: list[str], log: Log, hang_after: float = HANG_AFTER_S,
              first_beat_within: float = FIRST_BEAT_WITHIN_S, settled_after: float = SETTLED_AFTER_S,
              backoff_base: float = BACKOFF_S, backoff_cap: float = BACKOFF_CAP_S) -> int:
    """Run `command` until it exits with 0 (returns 0) or this process gets SIGTERM (returns 0)
    or SIGINT (130), starting it again whenever it fails or hangs."""
    stop = []
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda number, frame: stop.append(number))
    with tempfile.TemporaryDirectory(prefix="digitboard-kiosk-") as folder:
        heartbeat = Path(folder) / "heartbeat"
        failures = restarts = 0
        while True:
            started = time.monotonic()
            try:
                child = _start(command, heartbeat, log)
            except OSError as err:  # no such program, no memory: a failure like any other
                board, reason = "board", f"could not start ({err})"
            else:
                board = f"board (pid {child.process.pid})"
                reason = _watch(child, heartbeat, log, stop, hang_after, first_beat_within)
            if stop:
                log.say(f"{signal.Signals(stop[0]).name}: the {board} is stopped, and the supervisor with it")
                return 130 if stop[0] == signal.SIGINT else 0
            if reason is None:
                log.say("the board quit (exit code 0, the operator's Ctrl+Shift+Q): the supervisor ends")
                return 0
            ran = time.monotonic() - started
            failures = 1 if ran >= settled_after else failures + 1
            restarts += 1
            delay = backoff(failures, backoff_base, backoff_cap)
            log.say(f"restart {restarts}: the {board} {reason} after {ran:.1f} s; starting it again in {delay:g} s")
            if not _sleep(delay, stop):
                log.say(f"{signal.Signals(stop[0]).name} while waiting to restart: the supervisor ends")
                return 130 if stop[0] == signal.SIGINT else 0


def _start(command: list[str], heartbeat: Path, log: Log) -> Child:
    heartbeat.unlink(missing_ok=True)
    # A session of its own: the terminal's Ctrl+C reaches the supervisor only, which stops the
    # board; and a kill reaches the board's own children too (a teach).
    process = subprocess.Popen(command, env={**os.environ, HEARTBEAT_ENV: str(heartbeat)},
                               stdin=subprocess.DEVNULL, stderr=subprocess.PIPE, start_new_session=True)
    os.set_blocking(process.stderr.fileno(), False)
    log.say(f"the board started (pid {process.pid})")
    return Child(process, time.monotonic())


def _watch(child: Child, heartbeat: Path, log: Log, stop: list, hang_after: float,
           first_beat_within: float) -> str | None:
    """Until the board ends or `stop` gets a signal: pass its stderr on and check its
    heartbeat. Returns why it ended: None for exit code 0 (or a stop), else the reason."""
    while True:
        _pass_on(child, log, POLL_S)
        if stop:
            _kill(child, log)
            return None
        code = child.process.poll()
        if code is not None:
            _kill(child, log)  # what it started, if anything outlived it
            return None if code == 0 else _ended(code) + (f" ({child.last_words})" if child.last_words else "")
        now = time.monotonic()
        _read_beat(child, heartbeat, log, now)
        if child.beat_at is None and now - child.started > first_beat_within:
            why = f"gave no heartbeat in {first_beat_within:g} s from its start"
        elif child.beat_at is not None and now - child.beat_at > hang_after:
            why = f"gave no heartbeat for {now - child.beat_at:.1f} s"
        else:
            continue
        code = _kill(child, log)
        return f"hung ({why}; stopped: {_ended(code)})"


def _read_beat(child: Child, heartbeat: Path, log: Log, now: float) -> None:
    try:
        beat = heartbeat.read_text()
    except OSError:
        return
    if beat == child.beat:
        return
    child.beat, child.beat_at = beat, now
    status = beat.split()[-1] if beat.split() else ""
    if status != child.status and status in ("reading", "failed"):
        log.say(f"the board reads, {now - child.started:.2f} s after its start" if status == "reading"
                else "the board has no model (its message above says why); it draws on")
    child.status = status


def _pass_on(child: Child, log: Log, wait: float) -> None:
    """Pass on what the board wrote to stderr (waiting up to `wait` seconds for some), a whole
    line at a time."""
    stream = child.process.stderr
    if stream.closed:
        time.sleep(wait)
        return
    ready, _, _ = select.select([stream], [], [], wait)
    if not ready:
        return
    try:
        data = os.read(stream.fileno(), 65536)
    except BlockingIOError:
        return
    if not data:  # the board closed it: it is ending
        lines, child.unread = [bytes(child.unread)] if child.unread else [], bytearray()
        stream.close()
    else:
        child.unread += data
        *lines, rest = child.unread.split(b"\n")
        child.unread = bytearray(rest)
    for line in lines:
        log.board_said(child.process.pid, line + b"\n")
        if line.strip():
            child.last_words = line.decode(errors="replace").strip()[:200]


def _kill(child: Child, log: Log) -> int:
    """Stop the board and all it started (SIGTERM, SIGKILL after STOP_WAIT_S), pass on its last
    words; its exit code."""
    process = child.process
    _signal_group(process.pid, signal.SIGTERM)
    try:
        code = process.wait(STOP_WAIT_S)
    except subprocess.TimeoutExpired:
        _signal_group(process.pid, signal.SIGKILL)
        code = process.wait()
    _signal_group(process.pid, signal.SIGKILL)  # anything of its that shrugged off SIGTERM
    deadline = time.monotonic() + 1.0
    while not process.stderr.closed and time.monotonic() < deadline:
        _pass_on(child, log, 0.05)
    return code


def _signal_group(pid: int, signum: int) -> None:
    try:
        os.killpg(pid, signum)
    except (ProcessLookupError, PermissionError):
        pass


def _ended(code: int) -> str:
    return f"exited with code {code}" if code >= 0 else f"was killed by {signal.Signals(-code).name}"


def _sleep(seconds: float, stop: list) -> bool:
    """Wait `seconds`; False as soon as a stop signal comes."""
    deadline = time.monotonic() + seconds
    while not stop and (left := deadline - time.monotonic()) > 0:
        time.sleep(min(POLL_S, left))
    return not stop


def exec_supervisor(board_command: list[str], log: Path) -> NoReturn:
    """Turn this process into the supervisor of `board_command`: a fresh Python that imports
    neither pygame nor TensorFlow, with this process's pid."""
    root = str(Path(__file__).resolve().parents[2])  # digitboard's folder, for `-m` from anywhere
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [root, os.environ.get("PYTHONPATH")]))}
    sys.stdout.flush()
    sys.stderr.flush()
    os.execve(sys.executable, [sys.executable, "-m", __spec__.name, "--log", str(log), "--", *board_command], env)


@click.command(context_settings={"show_default": True})
@click.option("--log", type=click.Path(dir_okay=False, path_type=Path), default=default_log(),
              help="The log file (each start, restart and stop, and the board's stderr).")
@click.option("--hang-after", type=click.FloatRange(0.1), default=HANG_AFTER_S,
              help="Seconds without a heartbeat before a board counts as hung.")
@click.option("--first-beat-within", type=click.FloatRange(0.1), default=FIRST_BEAT_WITHIN_S,
              help="Seconds a board may take from its start to its first heartbeat.")
@click.option("--settled-after", type=click.FloatRange(0), default=SETTLED_AFTER_S,
              help="Seconds a board must run before its next failure counts as the first.")
@click.option("--backoff", "backoff_base", type=click.FloatRange(0), default=BACKOFF_S,
              help="The wait before the second restart in a row; it doubles with each.")
@click.option("--backoff-cap", type=click.FloatRange(0), default=BACKOFF_CAP_S, help="The longest wait.")
@click.argument("command", nargs=-1, required=True)
def main(log, hang_after, first_beat_within, settled_after, backoff_base, backoff_cap, command):
    """Run COMMAND (after `--`) and start it again when it fails or its heartbeat stops.

    `python board.py --kiosk` runs this for you; the board is COMMAND."""
    raise SystemExit(supervise(list(command), Log(log), hang_after, first_beat_within, settled_after,
                               backoff_base, backoff_cap))


if __name__ == "__main__":
    main()
