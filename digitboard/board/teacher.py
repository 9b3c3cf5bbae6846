"""The board's teach (T): train.teach in a process of its own.

Training in the board's own process would fight the frame loop for Python's lock; a child
process at low priority leaves the frames alone, can be stopped at any moment (the board
closing: SIGTERM, which the child takes as Ctrl+C), and installs `models/mine.keras` as one
unit at its very end, so a stopped teach leaves the old personal model whole. The child
tells the loop how it goes through a queue of the messages below, as the reader thread does.
"""

from __future__ import annotations

import multiprocessing
import os
import queue
from dataclasses import dataclass
from pathlib import Path

from .state import Board, teach_finished, teach_progress

TEACH_NICENESS = 10  # below the board: its frames come first


@dataclass(frozen=True)
class TeachStep:
    """Child → loop: `step` of `steps` optimizer steps done."""

    step: int
    steps: int


@dataclass(frozen=True)
class TeachDone:
    """Child → loop: the personal model is written; what became of it, in the card's words."""

    image_model: str                 # "taught", "base" (taught, but it forgot the base data) or "untaught"
    held_back: int                   # drawings held back to measure on
    before: float | None             # their accuracy with the base model…
    after: float | None              # …and with the personal model
    seconds: float


@dataclass(frozen=True)
class TeachFailed:
    """Child → loop: no personal model was written; `message` says why, in plain words."""

    message: str


@dataclass
class Teacher:
    """The loop's handle on a running teach."""

    process: multiprocessing.Process
    news: multiprocessing.Queue      # TeachStep | TeachDone | TeachFailed
    out: Path


def teach_in_child(drawings: Path, base: Path, out: Path, news) -> None:
    """The child process: teach `base` the drawings, write `out`, and say how it went."""
    import signal

    from ..common.errors import UserError

    signal.signal(signal.SIGTERM, signal.default_int_handler)  # stopped: clean up as for Ctrl+C
    if hasattr(os, "nice"):
        os.nice(TEACH_NICENESS)
    try:
        from ..data.drawings import load_drawings
        from ..data.images import load_mnist
        from ..read.model_files import check_writable
        from ..train.teach import personalise, replay_data

        check_writable(out, "the personal model")
        drawings = load_drawings(drawings)
        mnist = load_mnist(echo=lambda _: None)
        card = personalise(base, drawings, out, replay_data(base, mnist), test=(mnist.x_test, mnist.y_test),
                           command="the board's T", on_step=lambda i, n: news.put(TeachStep(i, n)),
                           echo=lambda _: None)
    except UserError as err:
        news.put(TeachFailed(str(err)))
    except KeyboardInterrupt:
        news.put(TeachFailed("stopped"))
    except Exception as err:  # a broken install must reach the board as words, not a silent exit
        news.put(TeachFailed(f"{type(err).__name__}: {err}"[:200]))
    else:
        image_model = (card.get("base_check") or {}).get("image_model", "untaught")
        news.put(TeachDone(image_model, card["held_back"], card["held_back_accuracy_before"],
                           card["held_back_accuracy_after"], card["wall_time_s"]))


def start_teacher(board: Board, drawn_dir: Path, base: Path, out: Path, now: float) -> Teacher | None:
    """Start teaching `base` the drawings in `drawn_dir`, writing `out`; None (and a banner)
    when no process can be started."""
    context = multiprocessing.get_context("spawn")  # a fresh interpreter: no threads or pygame inherited
    news = context.Queue()
    process = context.Process(target=teach_in_child, args=(Path(drawn_dir), Path(base), Path(out), news),
                              name="digitboard-teach", daemon=True)
    try:
        process.start()
    except OSError as err:
        teach_finished(board, TeachFailed(f"cannot start it: {err.strerror or err}"), now)
        return None
    return Teacher(process, news, Path(out))


def exchange_with_teacher(board: Board, teacher: Teacher, now: float) -> bool:
    """Show the teach's progress on the board; True while it runs. When it has ended the board
    hears how (teach_finished) and, if it worked, wants the new model."""
    ended = not teacher.process.is_alive()  # before reading: its last words are in the queue by then
    while True:
        try:
            message = teacher.news.get_nowait()
        except queue.Empty:
            break
        if isinstance(message, TeachStep):
            teach_progress(board, message.step, message.steps)
            continue
        teacher.process.join()
        teach_finished(board, message, now)
        return False
    if ended:  # killed, or crashed below Python
        teach_finished(board, TeachFailed(f"it stopped without a word (exit code {teacher.process.exitcode})"), now)
        return False
    return True


def stop_teacher(teacher: Teacher | None) -> None:
    """End a teach that is still running (the board is closing): `out` keeps its old model."""
    if teacher is None or not teacher.process.is_alive():
        return
    teacher.process.terminate()
    teacher.process.join(10)
    if teacher.process.is_alive():
        teacher.process.kill()
        teacher.process.join()
