"""`python board.py`: the live drawing board. Draw digits with the mouse and watch the
model read them; the board opens at once and loads the model in the background.

`--kiosk` runs it unattended (fullscreen, idle clear, attract loop, only what a visitor
may do; quit with Ctrl+Shift+Q) under a supervisor that restarts a board that crashes or
hangs (board/supervisor.py; docs/kiosk.md). `--replay FILE --snapshot OUT.png` draws a
file's digits through real mouse events, prints `read: 4 0 7` and exits: headless with
SDL_VIDEODRIVER=dummy.
Without a display, and asked for neither, the board says so and exits.
"""

from __future__ import annotations

import json
import sys
from functools import partial
from pathlib import Path
from typing import Callable

import click

from ..board.loop import MAX_REPLAY_DIGITS, REPLAY_TIMEOUT_S, BoardOptions, replay_number, run_board
from ..board.reader import BOARD_THREADS
from ..read.recognizer import MAX_CANVAS_PIXELS, Recognizer
from ..board.state import ATTRACT_AFTER_IDLES, load_demo_digits, settled
from ..board.supervisor import HEARTBEAT_ENV, default_log, exec_supervisor
from ..board.words import LANGUAGES
from ..common.errors import UserError
from ..common.paths import DEFAULT_MODEL, DEMO_DIR, ROOT
from ..data.pen import read_drawing
from .options import Command, ExistingPath, Number, Size

SDL_LARGEST = 16384  # px: SDL opens no wider or taller window ("Window is too large")


@click.command(cls=Command, context_settings={"show_default": True})
@click.option("--model", type=click.Path(dir_okay=False, path_type=Path), default=DEFAULT_MODEL,
              help="Digit reader to use (.keras or .h5); the board opens even when it is missing.")
@click.option("--kiosk", is_flag=True,
              help="Unattended: fullscreen, large type, idle clear, attract loop, restarted when it "
                   "crashes or hangs; quit with Ctrl+Shift+Q.")
@click.option("--idle", type=Number(1), default=30.0, metavar="SECONDS",
              help="Kiosk: seconds without input before the board clears.")
@click.option("--attract", type=Number(1), default=None, metavar="SECONDS",
              show_default=f"{ATTRACT_AFTER_IDLES} x --idle",
              help="Kiosk: seconds without input before it plays demo numbers (once the model reads).")
@click.option("--lang", "language", type=click.Choice(LANGUAGES), default="en",
              help="The language of the board's words.")
@click.option("--inside", is_flag=True, help="Start with Look inside on (V or its button toggles it).")
@click.option("--demo", type=ExistingPath(path_type=Path), default=DEMO_DIR,
              help="Kiosk demo digits: stroke JSON or UNIPEN file, or a folder of stroke JSON.")
@click.option("--replay", type=ExistingPath(dir_okay=False, path_type=Path), default=None,
              help="Draw this file's digits through mouse events, print the reading, exit: a stroke JSON "
                   "saved by the board where it was drawn, UNIPEN pen data as one number.")
@click.option("--snapshot", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Save the window as this PNG on exit (with --replay: once the reading settles).")
@click.option("--stats", is_flag=True,
              help="At exit print one JSON line: frame rate and times, read time, seconds to the first "
                   "frame and the first reading, peak memory.")
@click.option("--size", type=Size(smallest=(320, 240), most_pixels=MAX_CANVAS_PIXELS, largest=SDL_LARGEST),
              default="1024x720",
              help="Window size WIDTHxHEIGHT (the kiosk is fullscreen).")
@click.option("--fps", type=click.IntRange(10, 240), default=60, help="Frame-rate cap.")
@click.option("--allow-teach", is_flag=True,
              help="Kiosk: let visitors label drawings (0-9) and teach (T); off by default.")
@click.option("--log", type=click.Path(dir_okay=False, path_type=Path), default=default_log(),
              help="Kiosk: the log of every start, restart (with its reason) and stop, and the board's messages.")
@click.option("--heartbeat", type=click.Path(dir_okay=False, path_type=Path), default=None, envvar=HEARTBEAT_ENV,
              hidden=True, help="Set by the kiosk's supervisor: the board's heartbeat file.")
def main(model, kiosk, idle, attract, language, inside, demo, replay, snapshot, stats, size, fps, allow_teach,
         log, heartbeat):
    """Draw digits with the mouse or a finger; the model reads them live.

    Buttons: Clear, Undo, Look inside. Keys: N, C or right click clear; Ctrl+Z or Backspace
    undo; V look inside; 0-9 label the drawing (one digit: its key; several: type the number,
    left to right) and save each digit under datasets/drawn/<digit>/; T teach a personal model
    your handwriting in the background (models/mine.keras); M switch between the shipped and
    the personal model; S screenshot; F fullscreen; H help; Esc or Q quit (kiosk:
    Ctrl+Shift+Q)."""
    if attract is not None and attract < idle:
        raise UserError(f"--attract {attract:g} is shorter than --idle {idle:g}: the demo numbers "
                        "come after the board has cleared")
    demo_given = click.get_current_context().get_parameter_source("demo").name != "DEFAULT"
    demo_digits = _read_option_file("--demo", load_demo_digits, demo) if kiosk or demo_given else []
    replay_digits, drawn_on = _read_option_file("--replay", read_drawing, replay) if replay is not None \
        else (None, None)
    if replay_digits is not None and len(replay_digits) > MAX_REPLAY_DIGITS:
        raise UserError(f"--replay {replay} holds {len(replay_digits)} digits; a replay draws at "
                        f"most {MAX_REPLAY_DIGITS} as one number")
    if kiosk and replay is None and heartbeat is None:  # the options are good: supervise this command
        exec_supervisor([sys.executable, str(ROOT / "board.py"), *sys.argv[1:]], log)
    options = BoardOptions(partial(Recognizer.load, model, threads=BOARD_THREADS), model.name, size,
                           fps, kiosk, idle, attract_seconds=attract, demo_digits=tuple(demo_digits),
                           language=language, inside=inside, snapshot=snapshot,
                           max_seconds=REPLAY_TIMEOUT_S if replay else None,
                           headless=replay is not None, model=model, allow_teach=allow_teach,
                           heartbeat=heartbeat)
    try:
        board, timings = run_board(options, on_frame=replay_number(replay_digits, drawn_on) if replay else None)
    except KeyboardInterrupt:  # Ctrl+C in the terminal: the window is closed already
        raise SystemExit(130) from None
    read = replay is not None and board.model_state == "ready" and settled(board)
    if read:
        click.echo("read: " + " ".join(str(r.digit) for r in board.readings))
    if stats:
        click.echo(json.dumps(timings.summary()))  # the last line, like evaluate.py --json
    if replay is not None and not read:
        if board.model_state == "failed":
            raise UserError(board.model_message)
        raise click.ClickException(f"the reading did not settle within {REPLAY_TIMEOUT_S:.0f} s")


def _read_option_file(option: str, read: Callable, path: Path):
    try:
        return read(path)
    except UserError as err:
        raise UserError(f"{option}: {err}") from None


if __name__ == "__main__":
    main()
