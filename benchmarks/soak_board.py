"""Soak the board: 100,000 strokes with clears, undos, Look inside and model switches in one
headless session.

    SDL_VIDEODRIVER=dummy python benchmarks/soak_board.py --model models/best.keras

Runs the real board loop (`board.run_board`) with live reading and, as its frame hook
(`board.scripted`), posts one mouse stroke per frame (button down, a few motions, button
up) in random places, an undo after one stroke in ten, a clear every five strokes, Look
inside (V) on and off every 50, and a switch between the shipped and a personal model (M;
a copy of --model) every 500. Prints the resident memory (VmRSS from /proc) as it goes
and, last, one JSON line: strokes, frames, seconds, reads, rss_after_warmup_mb,
rss_end_mb, growth_mb, the slowest frame's work (events to flip, ms) and its longest
flip-to-flip, rss_trace. Growth is measured inside the session, from the end of the
warm-up (model loaded, every code path run once) to the last stroke. Targets: growth
<= 20 MB, no frame over 100 ms.
"""

from __future__ import annotations

import json
import os
import random
import sys
import tempfile
import time
from functools import partial
from pathlib import Path

import click

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))  # board.py lives at the repository root

os.environ.setdefault("SDL_VIDEODRIVER", "dummy")
from digitboard.board import loop as board  # noqa: E402
import pygame  # noqa: E402

from digitboard.cli.options import Command, ExistingPath, Size  # noqa: E402
from digitboard.common.errors import UserError  # noqa: E402
from digitboard.common.paths import DEFAULT_MODEL  # noqa: E402
from digitboard.board.reader import BOARD_THREADS  # noqa: E402
from digitboard.read.model_files import copy_unit  # noqa: E402
from digitboard.read.recognizer import Recognizer  # noqa: E402


def rss_mb() -> float:
    """Resident memory of this process, from /proc (Linux)."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise OSError("no VmRSS in /proc/self/status")


def soak_events(layout, strokes: int, warmup: int, samples: dict, seed: int = 0):
    """One random stroke per frame, with undos and clears; records RSS every 1,000 strokes."""
    rng = random.Random(seed)
    canvas = layout.canvas
    key = partial(pygame.event.Event, pygame.KEYDOWN, mod=0)
    for n in range(1, strokes + 1):
        x = rng.randrange(canvas.left + 20, canvas.right - 20)
        y = rng.randrange(canvas.top + 20, canvas.bottom - 20)
        points = [(x, y)]
        for _ in range(rng.randint(2, 8)):
            x = min(max(x + rng.randint(-40, 40), canvas.left), canvas.right - 1)
            y = min(max(y + rng.randint(-40, 40), canvas.top), canvas.bottom - 1)
            points.append((x, y))
        batch = [pygame.event.Event(pygame.MOUSEBUTTONDOWN, pos=points[0], button=1)]
        batch += [pygame.event.Event(pygame.MOUSEMOTION, pos=p, rel=(0, 0), buttons=(1, 0, 0))
                  for p in points[1:]]
        batch.append(pygame.event.Event(pygame.MOUSEBUTTONUP, pos=points[-1], button=1))
        if rng.random() < 0.1:
            batch.append(key(key=pygame.K_BACKSPACE, unicode="\b"))
        if n % 5 == 0:
            batch.append(key(key=pygame.K_n, unicode="n"))
        if n % 50 == 0:
            batch.append(key(key=pygame.K_v, unicode="v"))
        if n % 500 == 0:
            batch.append(key(key=pygame.K_m, unicode="m"))
        yield batch
        if n == warmup:
            samples["after_warmup"] = rss_mb()
        if n == strokes:
            samples["end"] = rss_mb()
        if n % 1000 == 0:
            samples.setdefault("trace", []).append((n, round(rss_mb(), 1)))
            click.echo(f"{n:>6} strokes   rss {rss_mb():7.1f} MB", err=True)


@click.command(cls=Command, context_settings={"show_default": True})
@click.option("--model", type=ExistingPath(dir_okay=False, path_type=Path), default=DEFAULT_MODEL,
              help="Digit reader for the live reading.")
@click.option("--strokes", type=click.IntRange(1), default=100_000, help="Strokes to draw.")
@click.option("--warmup", type=click.IntRange(1), default=500,
              help="Strokes before the baseline memory is taken.")
@click.option("--fps", type=click.IntRange(10, 1000), default=500,
              help="Frame-rate cap (one stroke per frame).")
@click.option("--size", type=Size(smallest=(320, 240)), default="1024x720", help="Window size.")
def main(model, strokes, warmup, fps, size):
    """Draw many strokes through the real board loop and report memory growth."""
    samples: dict = {"start": rss_mb()}
    started = time.perf_counter()
    personal = Path(tempfile.mkdtemp(prefix="soak-")) / "mine.keras"
    copy_unit(model, personal)  # for M to switch to and back
    options = board.BoardOptions(partial(Recognizer.load, model, threads=BOARD_THREADS), model.name,
                                 size, fps, model=model, personal_model=personal)
    state, timings = board.run_board(options, on_frame=board.scripted(
        partial(soak_events, strokes=strokes, warmup=warmup, samples=samples)))
    if state.model_state != "ready":
        raise UserError(state.model_message)
    end = samples["end"]  # inside the session, before pygame.quit() frees its surfaces
    baseline = samples.get("after_warmup", samples["start"])
    click.echo(json.dumps({
        "strokes": strokes, "frames": len(timings.frame_ms),
        "seconds": round(time.perf_counter() - started, 1),
        "reads": len(timings.read_ms),
        "rss_after_warmup_mb": round(baseline, 1), "rss_end_mb": round(end, 1),
        "growth_mb": round(end - baseline, 1),
        "work_ms_max": timings.summary()["work_ms_max"], "frame_ms_max": timings.summary()["frame_ms_max"],
        "model_switches": strokes // 500,
        "rss_trace": samples.get("trace", [])}))


if __name__ == "__main__":
    main()
