"""The drawing board's state and the functions that change it. No pygame here.

The loop in board.py turns events into calls such as `pen_move(board, point)`;
board_view.py paints whatever the state holds. Ink goes into `board.canvas` with
`strokes.draw_segment`, the same code that renders pen data for training and
evaluation, so the model reads exactly the pixels on screen.

The model lives on a reader thread (digitboard/reader.py); its news reaches the
board through `model_ready`, `receive_reading` and the like, called by the loop.
"""

from __future__ import annotations

import math
import random
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ..data.drawings import save_digits
from ..read.reading import UNSURE_BELOW
from ..common.errors import UserError
from ..data.pen import brush_for, draw_segment, draw_strokes, layout_number, PenDigit, read_strokes

BANNER_SECONDS = 3.0
ATTRACT_PEN_SPEED = 1.6      # attract-loop pen speed, in canvas heights per second
ATTRACT_STROKE_GAP = 0.12    # seconds the attract pen rests between strokes
ATTRACT_HOLD = 3.0           # seconds a finished demo number stays up before the next
READ_INTERVAL = 0.04         # at most 25 reads a second: live to the eye, and leaves the CPU to the frames


@dataclass
class Banner:
    """A short message over the canvas, gone after `until`."""

    text: str
    until: float
    error: bool = False


@dataclass
class Attract:
    """A demo number being written stroke by stroke by the kiosk's attract loop."""

    strokes: list[np.ndarray]          # canvas coordinates, in writing order
    next_at: float                     # when the pen reaches its next point
    stroke: int = 0
    point: int = 0
    hold_until: float | None = None    # set once the number is finished


@dataclass
class Board:
    """Everything the board shows and remembers; changed only by the functions below."""

    canvas: np.ndarray                           # (h, w) uint8, white ink on black
    brush: int
    strokes: list[list[tuple[float, float]]] = field(default_factory=list)
    pen_is_down: bool = False
    under_dot: tuple | None = None               # (y, x, pixels) the starting dot of a stroke covered
    ink_version: int = 0                         # bumped on every change of the ink
    readings: list = field(default_factory=list)  # list[Reading] for the latest read canvas
    readings_version: int = -1                   # ink_version those readings were made from
    oldest_wanted_version: int = 0               # reads of older canvases (before a clear) are dropped
    submitted_version: int = -1                  # ink_version last sent to the reader
    submitted_at: float = -math.inf
    read_in_flight: bool = False
    read_ms: float | None = None
    model_state: str = "loading"                 # "loading", "ready", "switching" (it reads on) or "failed"
    model_message: str = "loading model…"
    model_name: str = ""
    device: str = ""
    banner: Banner | None = None
    show_help: bool = False
    kiosk: bool = False
    idle_seconds: float = 30.0
    last_input: float = 0.0
    demo_digits: list[PenDigit] = field(default_factory=list)
    attract: Attract | None = None
    rng: random.Random = field(default_factory=random.Random)
    fps: float = 0.0
    running: bool = True
    teach_allowed: bool = True                   # digit keys label, T teaches, M switches models (kiosk: off)
    teaching: str | None = None                  # the teach's progress while it runs
    model_kind: str = "shipped"                  # "shipped" or "personal": the model in use
    wanted_model: str | None = None              # the kind the loop should load next
    typed: str = ""                              # digits typed so far to label a drawing of several
    typed_at_version: int = -1                   # the ink they label
    typed_until: float = 0.0                     # when an unfinished label is given up
    taught: str | None = None                    # what the last teach did, told once its model reads

    @property
    def size(self) -> tuple[int, int]:
        """Canvas (width, height)."""
        return self.canvas.shape[1], self.canvas.shape[0]

    @property
    def has_ink(self) -> bool:
        return bool(self.strokes)


def new_board(size: tuple[int, int], now: float = 0.0, kiosk: bool = False,
              idle_seconds: float = 30.0, demo_digits: list[PenDigit] | None = None,
              model_name: str = "", seed: int | None = None) -> Board:
    """A blank board with a canvas of `size` (w, h) and a brush to suit it."""
    width, height = size
    return Board(canvas=np.zeros((height, width), np.uint8), brush=brush_for(height),
                 kiosk=kiosk, idle_seconds=idle_seconds, last_input=now,
                 demo_digits=list(demo_digits or []), model_name=model_name,
                 rng=random.Random(seed))


# ---------------------------------------------------------------- ink

def _ink_changed(board: Board) -> None:
    board.ink_version += 1


def _on_canvas(board: Board, point: tuple[float, float]) -> tuple[float, float]:
    """The point, moved onto the canvas if the mouse left it: the strokes stay where the ink is."""
    width, height = board.size
    return min(max(float(point[0]), 0.0), width - 1.0), min(max(float(point[1]), 0.0), height - 1.0)


def pen_down(board: Board, point: tuple[float, float]) -> None:
    """Start a stroke: a dot at `point` (canvas coordinates)."""
    if board.pen_is_down:
        pen_up(board)
    point = _on_canvas(board, point)
    board.strokes.append([point])
    board.pen_is_down = True
    y, x = _dot_area(board, point)
    board.under_dot = (y, x, board.canvas[y, x].copy())
    draw_segment(board.canvas, point, point, board.brush)
    _ink_changed(board)


def _dot_area(board: Board, point: tuple[float, float]) -> tuple[slice, slice]:
    reach = board.brush // 2 + 3
    x, y = int(round(point[0])), int(round(point[1]))
    return slice(max(0, y - reach), max(0, y + reach + 1)), slice(max(0, x - reach), max(0, x + reach + 1))


def pen_move(board: Board, point: tuple[float, float]) -> None:
    """Continue the stroke with a straight segment from its last point: however far the
    mouse jumped between two motion events, the line has no gaps."""
    if not board.pen_is_down:
        return
    point = _on_canvas(board, point)
    stroke = board.strokes[-1]
    if point == stroke[-1]:
        return
    if board.under_dot is not None:
        # The dot shows a click at once; once the stroke moves, it goes, so the ink is exactly
        # what `draw_strokes` makes of the same points (pen data for training is drawn that way).
        y, x, pixels = board.under_dot
        board.canvas[y, x] = pixels
        board.under_dot = None
    draw_segment(board.canvas, stroke[-1], point, board.brush)
    stroke.append(point)
    _ink_changed(board)


def pen_up(board: Board) -> None:
    board.pen_is_down = False
    board.under_dot = None


def stroke_arrays(board: Board) -> list[np.ndarray]:
    """The strokes as (n, 2) arrays of x, y in drawing order, the one being drawn included."""
    return [np.array(stroke, np.float64) for stroke in board.strokes]


def redraw(board: Board) -> None:
    """Repaint the canvas from the strokes, in place (the view keeps a view of this array)."""
    board.canvas[:] = 0
    draw_strokes(stroke_arrays(board), board.canvas, board.brush)
    _ink_changed(board)


def undo(board: Board) -> None:
    """Take back the last stroke."""
    pen_up(board)
    if board.strokes:
        board.strokes.pop()
        redraw(board)


def clear(board: Board) -> None:
    """Wipe the canvas; readings of the old ink are forgotten at once."""
    pen_up(board)
    board.strokes.clear()
    board.canvas[:] = 0
    _ink_changed(board)
    board.readings = []
    board.oldest_wanted_version = board.ink_version


def resize(board: Board, size: tuple[int, int]) -> None:
    """Give the board a canvas of a new size (w, h), scaling the ink to keep it in view."""
    width, height = size
    old_width, old_height = board.size
    if (width, height) == (old_width, old_height):
        return
    scale = min(width / old_width, height / old_height)
    board.strokes = [[(x * scale, y * scale) for x, y in s] for s in board.strokes]
    if board.attract is not None:
        board.attract.strokes = [s * scale for s in board.attract.strokes]
    board.canvas = np.zeros((height, width), np.uint8)
    board.brush = brush_for(height)
    redraw(board)
    board.readings = []
    board.oldest_wanted_version = board.ink_version


# ---------------------------------------------------------------- readings

def want_read(board: Board, now: float) -> bool:
    """Whether the reader should get the canvas now: the model is ready and idle, the ink
    changed since the last canvas it got, and the last read is READ_INTERVAL old."""
    return (board.model_state in ("ready", "switching") and not board.read_in_flight
            and board.submitted_version != board.ink_version
            and now - board.submitted_at >= READ_INTERVAL)


def read_submitted(board: Board, now: float) -> None:
    board.submitted_version = board.ink_version
    board.submitted_at = now
    board.read_in_flight = True


def receive_reading(board: Board, version: int, readings: list, read_ms: float) -> None:
    """Take the reader's answer for the canvas at `version`."""
    board.read_in_flight = False
    board.read_ms = read_ms
    if version >= board.oldest_wanted_version:
        board.readings = readings
        board.readings_version = version


def reading_failed(board: Board, message: str, now: float) -> None:
    """A read raised: say so briefly and carry on with the next change."""
    board.read_in_flight = False
    show_banner(board, f"reading failed: {message}", now, error=True)


def model_ready(board: Board, device: str, name: str | None = None, kind: str | None = None,
                now: float = 0.0) -> None:
    """The reader has a model: the first, or one swapped in (then its `name` and `kind`)."""
    board.model_state, board.model_message, board.device = "ready", "", device
    if name is not None:
        board.model_name, board.model_kind = name, kind or board.model_kind
        board.submitted_version = -1  # the same ink, read again by the new model
        told = f": {board.taught}" if board.taught and kind == "personal" else ""
        board.taught = None
        show_banner(board, f"now reading with the {board.model_kind} model{told}", now,
                    seconds=2 * BANNER_SECONDS if told else BANNER_SECONDS)


def model_failed(board: Board, message: str) -> None:
    board.model_state, board.model_message = "failed", message


def settled(board: Board) -> bool:
    """Nothing more to read: the pen is up and the readings are of the ink on screen
    (or no model will come)."""
    if board.pen_is_down:
        return False
    if board.model_state == "failed":
        return True
    return (board.model_state in ("ready", "switching") and not board.read_in_flight
            and board.readings_version == board.ink_version)


def focus_reading(board: Board):
    """The reading of the digit being drawn: the one holding the newest stroke, or around the
    newest ink, else the last."""
    if not board.readings:
        return None
    newest = len(board.strokes) - 1
    holding = [r for r in board.readings if newest in getattr(r, "strokes", ())]
    if holding:
        return holding[0]
    if board.strokes:
        x, y = board.strokes[-1][-1]
        margin = board.brush
        for reading in board.readings:
            bx, by, bw, bh = reading.box
            if bx - margin <= x <= bx + bw + margin and by - margin <= y <= by + bh + margin:
                return reading
    return board.readings[-1]


def number_text(readings: list, unsure_below: float = UNSURE_BELOW) -> str:
    """The number read, digit by digit, with "?" where the model is unsure: "4 ? 7"."""
    return " ".join(str(r.digit) if r.confidence >= unsure_below else "?" for r in readings)


# ---------------------------------------------------------------- banners, help, input

def show_banner(board: Board, text: str, now: float, error: bool = False,
                seconds: float = BANNER_SECONDS) -> None:
    board.banner = Banner(text, now + seconds, error)


def expire_banner(board: Board, now: float) -> None:
    if board.banner is not None and now >= board.banner.until:
        board.banner = None


def toggle_help(board: Board) -> None:
    board.show_help = not board.show_help


def note_input(board: Board, now: float) -> None:
    """Someone touched the board: restart the idle timer and stop any demo in progress."""
    board.last_input = now
    if board.attract is not None:
        board.attract = None
        clear(board)


# ---------------------------------------------------------------- label and save

LABEL_SECONDS = 15.0  # how long the number being typed stays up


def type_label(board: Board, digit: int, directory: Path, now: float,
               stamp: str | None = None) -> list[Path]:
    """A digit key: label the drawing. With one digit on the board it is saved at once; with
    several, the keys typed spell the number left to right and each digit is saved under its
    own class once all are typed. Nothing is saved under a label the person did not give;
    a failure is a banner. Returns the files written."""
    if not board.teach_allowed:  # a kiosk's visitors: the key does nothing
        return []
    if not board.strokes:
        show_banner(board, "draw a digit first, then press its key to save it", now)
        return []
    if board.model_state not in ("ready", "switching") or not settled(board):
        show_banner(board, "wait for the reading, then type the digits you drew", now)
        return []
    readings = board.readings
    if not readings:
        show_banner(board, "no digit found to label: draw a larger one", now)
        return []
    if not board.typed:
        board.typed_at_version = board.ink_version
    board.typed += str(digit)
    board.typed_until = now + LABEL_SECONDS
    if len(board.typed) < len(readings):
        shown = " ".join(board.typed) + " _" * (len(readings) - len(board.typed))
        show_banner(board, f"label {shown}: type all {len(readings)} digits, left to right "
                           "(Enter or Esc cancels)", now, seconds=LABEL_SECONDS)
        return []
    labels, board.typed = board.typed, ""
    stamp = stamp or time.strftime("%Y%m%d-%H%M%S") + f"-{int(now * 1000) % 1000:03d}"
    try:
        written = save_digits(readings, labels, stroke_arrays(board), board.size, board.brush,
                              directory, stamp)
    except OSError as err:
        show_banner(board, f"could not save: {err.strerror or err}", now, error=True)
        return []
    where = Path(directory).name
    show_banner(board, f"saved {' '.join(labels)}: " + ", ".join(f"{where}/{d}/" for d in dict.fromkeys(labels)), now)
    clear(board)
    return written


def cancel_label(board: Board, now: float, why: str) -> None:
    """Forget the digits typed so far (Esc, Enter too soon, the drawing changed)."""
    if board.typed:
        board.typed = ""
        show_banner(board, f"label cancelled: {why}; nothing saved", now)


def check_label(board: Board, now: float) -> None:
    """Once a frame: a drawing that changes while its number is typed is no longer the one
    labelled, and a number left unfinished for LABEL_SECONDS is given up."""
    if board.typed and board.ink_version != board.typed_at_version:
        cancel_label(board, now, "the drawing changed")
    elif board.typed and now >= board.typed_until:
        cancel_label(board, now, "too long without a key")


# ---------------------------------------------------------------- teach, and the model in use

def want_teach(board: Board, now: float) -> bool:
    """T: whether a teach may start now (the loop starts it); else a banner says why not."""
    if not board.teach_allowed:
        return False
    if board.teaching is not None:
        show_banner(board, "already teaching: your model comes in when it is done", now)
        return False
    board.teaching = "teaching: starting…"
    show_banner(board, "teaching your handwriting in the background: keep drawing", now)
    return True


def teach_progress(board: Board, step: int, steps: int) -> None:
    board.teaching = f"teaching: {step} of {steps} steps"


def teach_finished(board: Board, how, now: float) -> None:
    """The teach has ended (`how`: teacher.TeachDone or TeachFailed): load the personal model
    if one was written, else say why not. What it learned is told once it reads."""
    board.teaching = None
    if not hasattr(how, "image_model"):
        show_banner(board, f"teaching failed: {how.message}", now, error=True, seconds=2 * BANNER_SECONDS)
        return
    if how.held_back and how.before is not None and how.after is not None:
        board.taught = f"your held-back drawings now read {how.after:.0%} (before: {how.before:.0%})"
    else:
        board.taught = "it has too few drawings to hold some back and measure"
    if how.image_model == "base":
        board.taught += "; only the stroke model learned (the image model forgot too much and was kept as it was)"
    elif how.image_model == "untaught":
        board.taught = "your drawings were all read surely right already: nothing needed teaching"
    board.wanted_model = "personal"
    board.model_state = "switching"
    show_banner(board, "taught: loading your personal model…", now, seconds=LABEL_SECONDS)


def switch_model(board: Board, now: float, personal_exists: bool) -> None:
    """M: read with the other model, shipped or personal; the old one reads on until the new
    one has loaded, and another M meanwhile waits for it."""
    if not board.teach_allowed:
        return
    if board.model_state == "switching" or board.wanted_model is not None:
        show_banner(board, "still loading the other model…", now)
        return
    if board.model_state == "loading":
        show_banner(board, "the model is still loading…", now)
        return
    target = "shipped" if board.model_kind == "personal" else "personal"
    if target == "personal" and not personal_exists:
        show_banner(board, "no personal model yet: label your digits (draw, then type them) and press T", now)
        return
    board.wanted_model = target
    if board.model_state == "ready":
        board.model_state = "switching"
    show_banner(board, f"loading the {target} model…", now, seconds=LABEL_SECONDS)


def model_swap_failed(board: Board, message: str, now: float) -> None:
    """The model asked for did not load: the one in use reads on (if there is one)."""
    if board.model_state == "switching":
        board.model_state = "ready"
    board.taught = None
    kept = f"kept the {board.model_kind} model" if board.model_state == "ready" else "no model"
    show_banner(board, f"{kept}: {message}", now, error=True, seconds=2 * BANNER_SECONDS)


# ---------------------------------------------------------------- kiosk: idle clear, attract loop

def load_demo_digits(path: Path) -> list[PenDigit]:
    """Demo digits from a stroke JSON or UNIPEN file, or every .json in a folder; UserError if none."""
    path = Path(path)
    if path.is_dir():
        files = sorted(path.glob("*.json"))
        if not files:
            raise UserError(f"{path}: no stroke JSON files in this folder")
        return [digit for file in files for digit in read_strokes(file)]
    return read_strokes(path)


def demo_number(digits: list[PenDigit], rng: random.Random) -> list[PenDigit]:
    """Two or three demo digits to write as one number."""
    count = rng.randint(2, 3)
    return rng.sample(digits, count) if len(digits) >= count else rng.choices(digits, k=count)


def start_attract(board: Board, now: float) -> None:
    """Begin writing a new demo number on a clean canvas."""
    clear(board)
    laid_out = layout_number(demo_number(board.demo_digits, board.rng), board.size)
    board.attract = Attract([s for digit in laid_out for s in digit], next_at=now)


def advance_attract(board: Board, now: float) -> None:
    """Move the demo pen on to where it is by `now`, drawing as a mouse would."""
    attract = board.attract
    if attract.hold_until is not None:
        if now >= attract.hold_until:
            start_attract(board, now)
        return
    speed = ATTRACT_PEN_SPEED * board.size[1]  # pixels per second
    while now >= attract.next_at:
        stroke = attract.strokes[attract.stroke]
        point = tuple(stroke[attract.point])
        if attract.point == 0:
            pen_down(board, point)
        else:
            pen_move(board, point)
        attract.point += 1
        if attract.point < len(stroke):
            attract.next_at += math.dist(point, stroke[attract.point]) / speed
            continue
        pen_up(board)
        attract.stroke, attract.point = attract.stroke + 1, 0
        attract.next_at += ATTRACT_STROKE_GAP
        if attract.stroke == len(attract.strokes):
            attract.hold_until = now + ATTRACT_HOLD
            return


def update_kiosk(board: Board, now: float) -> None:
    """After `idle_seconds` without input the kiosk clears itself and plays demo numbers."""
    if not board.kiosk:
        return
    if board.attract is not None:
        advance_attract(board, now)
    elif now - board.last_input >= board.idle_seconds and not board.pen_is_down:
        if board.demo_digits:
            start_attract(board, now)
        elif board.has_ink:
            clear(board)
