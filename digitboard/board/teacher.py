"""The board's teach (T): `train.py --personalise` in a process of its own.

Training in the board's own process would fight the frame loop for Python's lock; a child
process at low priority leaves the frames alone, can be stopped at any moment (the board
closing), and writes `models/mine.keras` in one step, so a stopped teach leaves nothing
half-written. The loop reads its progress lines through a thread and a queue, as it reads
the reader's news.
"""

from __future__ import annotations

import os
import queue
import subprocess
import sys
import threading
from dataclasses import dataclass
from pathlib import Path

from .state import Board, teach_finished, teach_progress
from ..common.paths import ROOT

TEACH_NICENESS = 10  # below the board: its frames come first


@dataclass
class Teacher:
    """The loop's handle on a running teach."""

    process: subprocess.Popen
    lines: queue.Queue        # its output, line by line; None once it has ended
    out: Path
    last_line: str = ""       # what it said last: the summary, or the error, once it ends


def start_teacher(board: Board, drawn_dir: Path, base: Path, out: Path, now: float) -> Teacher | None:
    """Start teaching `base` the drawings in `drawn_dir`, writing `out`; None (and a banner)
    when no process can be started."""
    command = [sys.executable, str(ROOT / "train.py"), "--personalise", str(drawn_dir),
               "--init-from", str(base), "--out", str(out)]
    try:
        process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                                   cwd=ROOT, env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3",
                                                  "PYTHONUNBUFFERED": "1"})
    except OSError as err:
        teach_finished(board, False, f"cannot start it: {err.strerror or err}", now)
        return None
    if hasattr(os, "setpriority"):  # after the start: preexec_fn is unsafe beside the reader thread
        try:
            os.setpriority(os.PRIO_PROCESS, process.pid, TEACH_NICENESS)
        except OSError:
            pass  # it runs at the board's priority: slower frames, still a teach
    lines: queue.Queue = queue.Queue()

    def pass_lines():
        for line in process.stdout:
            lines.put(line.rstrip("\n"))
        lines.put(None)

    threading.Thread(target=pass_lines, name="digitboard-teacher", daemon=True).start()
    return Teacher(process, lines, Path(out))


def exchange_with_teacher(board: Board, teacher: Teacher, now: float) -> bool:
    """Show the teach's progress on the board; True while it runs. When it has ended the board
    hears how (teach_finished) and, if it worked, wants the new model."""
    while True:
        try:
            line = teacher.lines.get_nowait()
        except queue.Empty:
            return True
        if line is None:
            break
        if line.strip():
            teacher.last_line = line.strip()
            teach_progress(board, teacher.last_line)
    code = teacher.process.wait()
    teach_finished(board, code == 0, teacher.last_line, now)
    return False


def stop_teacher(teacher: Teacher | None) -> None:
    """End a teach that is still running (the board is closing): `out` keeps its old model."""
    if teacher is None or teacher.process.poll() is not None:
        return
    teacher.process.terminate()
    try:
        teacher.process.wait(5)
    except subprocess.TimeoutExpired:
        teacher.process.kill()
        teacher.process.wait()
