"""The board's reader: the model on a thread of its own, reading copies of the canvas.

The model loads in the background (TensorFlow's import takes seconds) and each read takes a
few milliseconds, so neither may run inside a frame. The thread and the frame loop talk only
through two queues of the messages below, so the board's state is only ever touched by the
loop (`exchange_with_reader`). A reader thread that dies while the board runs is started
again on the same queues (`revive_reader`); the board draws on meanwhile.
"""

from __future__ import annotations

import queue
import threading
import time
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import Callable

import numpy as np

from .state import (Board, model_failed, model_ready, model_swap_failed, read_submitted, reader_lost, reading_failed, receive_reading, stroke_arrays, want_read)
from .supervisor import backoff
from ..common.errors import UserError
from ..read.recognizer import Recognizer


# ---------------------------------------------------------------- messages

@dataclass(frozen=True)
class ReadJob:
    """Loop → reader: read this copy of the canvas, and the strokes that drew it, made at ink
    version `version`."""

    version: int
    canvas: np.ndarray = field(repr=False)
    strokes: list = field(repr=False)
    inside: bool = False      # also what the network sees of each mark (Look inside)


@dataclass(frozen=True)
class LoadModel:
    """Loop → reader: read with the model at `path` from now on (the `kind` the board shows)."""

    path: Path
    kind: str


@dataclass(frozen=True)
class ModelReady:
    """Reader → loop: the model has loaded and runs on `device`; `name` and `kind` when it
    replaced another (LoadModel)."""

    device: str
    name: str | None = None
    kind: str | None = None


@dataclass(frozen=True)
class SwapFailed:
    """Reader → loop: the model asked for by LoadModel did not load; the old one reads on."""

    message: str


@dataclass(frozen=True)
class ModelFailed:
    """Reader → loop: no model will come; `message` says why."""

    message: str


@dataclass(frozen=True)
class ReadDone:
    """Reader → loop: the readings of the canvas at `version`, read in `ms` milliseconds:
    every mark, the digits and those that are not digits (`digit` None); with `insides`, what
    the network sees of each (Recognizer.look_inside; None for a model that cannot say)."""

    version: int
    readings: list
    ms: float
    insides: list = field(default_factory=list)


@dataclass(frozen=True)
class ReadFailed:
    """Reader → loop: reading the canvas at `version` raised."""

    version: int
    message: str


# ---------------------------------------------------------------- the thread

@dataclass
class Reader:
    """The loop's handle on the reader thread."""

    jobs: queue.Queue         # ReadJob | LoadModel, or None to stop
    results: queue.Queue      # ModelReady | ModelFailed | SwapFailed | ReadDone | ReadFailed
    thread: threading.Thread
    models: dict = field(default_factory=dict)  # kind ("shipped", "personal") → path, for LoadModel
    load: Callable[[], object] | None = None    # what the thread loads first, a model of `kind`
    kind: str = "shipped"
    started: float = 0.0                        # time.monotonic() when the thread started
    died: list = field(default_factory=list)    # why the thread ended, when it raised
    deaths: int = 0                             # deaths in a row (revive_reader)
    revive_at: float | None = None              # when a dead thread's successor starts


# One thread reads a canvas in a few ms; TensorFlow's default pools spin on every core and
# take the CPU from the frame loop on a small machine.
BOARD_THREADS = 1
READER_SETTLED_S = 60.0  # a reader that lived this long died for the first time when it dies


def _read_forever(load: Callable[[], object], jobs: queue.Queue, results: queue.Queue) -> None:
    recognizer = None
    try:
        recognizer = load()
    except UserError as err:
        results.put(ModelFailed(str(err)))
    except Exception as err:  # a broken install must not take the board down
        results.put(ModelFailed(f"cannot load the model: {type(err).__name__}: {err}"[:300]))
    else:
        results.put(ModelReady(getattr(recognizer, "device", "")))
    while (job := jobs.get()) is not None:  # without a model it still waits: M may load one
        if isinstance(job, LoadModel):
            try:
                recognizer = Recognizer.load(job.path, threads=BOARD_THREADS)
            except Exception as err:  # UserError or worse: the model in use reads on
                results.put(SwapFailed(str(err)[:300]))
            else:
                results.put(ModelReady(getattr(recognizer, "device", ""), job.path.name, job.kind))
            continue
        if recognizer is None:
            continue
        started = time.perf_counter()
        try:
            readings = recognizer.read_marks(job.canvas, strokes=job.strokes)
        except Exception as err:  # any failure inside reading is a banner, never a crash
            results.put(ReadFailed(job.version, f"{type(err).__name__}: {err}"[:200]))
            continue
        look = getattr(recognizer, "look_inside", None)
        insides = [look(r.image) for r in readings] if job.inside and look else []
        results.put(ReadDone(job.version, readings, (time.perf_counter() - started) * 1000, insides))


def _reader_thread(load: Callable[[], object], jobs: queue.Queue, results: queue.Queue, died: list) -> None:
    try:
        _read_forever(load, jobs, results)
    except BaseException as err:  # noted for revive_reader; threading prints the traceback
        died.append(f"{type(err).__name__}: {err}"[:200])
        raise


def start_reader(load: Callable[[], object], models: dict | None = None, kind: str = "shipped",
                 queues: tuple[queue.Queue, queue.Queue] | None = None) -> Reader:
    """Start the reader thread; `load()` returns an object with `.read_marks(canvas, strokes=…)`
    and `.device`, a model of `kind`. `models` (kind → path) are the models the board may switch
    to. `queues`: the jobs and results of a reader that died, for its successor."""
    jobs, results = queues or (queue.Queue(), queue.Queue())
    died = []
    thread = threading.Thread(target=_reader_thread, args=(load, jobs, results, died),
                              name="digitboard-reader", daemon=True)
    thread.start()
    return Reader(jobs, results, thread, dict(models or {}), load, kind, time.monotonic(), died)


def revive_reader(board: Board, reader: Reader, now: float) -> Reader:
    """The reader, or its successor when its thread has died while the board runs (an exception
    outside the reads' own `except`): started at once, then after 1, 2, 4 … 60 s while it keeps
    dying, with the model the board reads with. Until it has loaded, the board draws on and
    waits for the model as it does at start."""
    if reader.thread.is_alive() or not board.running:
        return reader
    if reader.revive_at is None:
        reader.deaths = 1 if now - reader.started >= READER_SETTLED_S else reader.deaths + 1
        reader.revive_at = now + backoff(reader.deaths)
        reader_lost(board, reader.died[0] if reader.died else "it ended", reader.revive_at - now)
    if now < reader.revive_at:
        return reader
    load = reader.load if board.model_kind == reader.kind else \
        partial(Recognizer.load, Path(reader.models[board.model_kind]), threads=BOARD_THREADS)
    successor = start_reader(load, reader.models, board.model_kind, (reader.jobs, reader.results))
    successor.deaths = reader.deaths
    return successor


def exchange_with_reader(board: Board, reader: Reader, now: float) -> list[float]:
    """Apply the reader's news to the board and hand it the canvas if the ink changed.
    Returns the read times (ms) that arrived, for statistics."""
    read_times = []
    while True:
        try:
            message = reader.results.get_nowait()
        except queue.Empty:
            break
        match message:
            case ModelReady(device, name, kind):
                model_ready(board, device, name, kind, now)
            case SwapFailed(text):
                model_swap_failed(board, text, now)
            case ModelFailed(text):
                model_failed(board, text)
            case ReadDone(version, readings, ms, insides):
                receive_reading(board, version, readings, ms, insides)
                read_times.append(ms)
            case ReadFailed(_, text):
                reading_failed(board, text, now)
    if board.wanted_model is not None:
        reader.jobs.put(LoadModel(Path(reader.models[board.wanted_model]), board.wanted_model))
        board.wanted_model = None
    if want_read(board, now):
        reader.jobs.put(ReadJob(board.ink_version, board.canvas.copy(), stroke_arrays(board), board.show_inside))
        read_submitted(board, now)
    return read_times


def stop_reader(reader: Reader) -> None:
    reader.jobs.put(None)
