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
from .words import say

BANNER_SECONDS = 3.0
ATTRACT_PEN_SPEED = 1.6      # attract-loop pen speed, in canvas heights per second
ATTRACT_STROKE_GAP = 0.12    # seconds the attract pen rests between strokes
ATTRACT_HOLD = 3.0           # seconds a finished demo number stays up before the next
READ_INTERVAL = 0.04         # at most 25 reads a second: live to the eye, and leaves the CPU to the frames
# The kiosk's second idle tier, in --idle periods: the first (clear) gives the next visitor a clean
# board; the attract loop waits until the exhibit is surely left, so that someone who steps back
# to read the wall text or fetch a friend finds a quiet board, not a demo writing over it.
# Three periods (90 s at the default --idle) is that, and still soon enough for passers-by.
ATTRACT_AFTER_IDLES = 3


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
    model_message: str = ""                      # why it failed, for the operator (a kiosk shows plain words)
    model_name: str = ""
    device: str = ""
    banner: Banner | None = None
    show_help: bool = False
    show_inside: bool = False                    # "Look inside": what the network sees, drawn over the board
    insides: list = field(default_factory=list)  # for each reading, what the network saw of it (Look inside)
    kiosk: bool = False
    language: str = "en"                         # the words shown (words.py)
    finger: tuple | None = None                  # (touch device, finger) drawing the stroke, if a finger draws
    idle_seconds: float = 30.0                   # kiosk: without input this long, the board clears…
    attract_seconds: float = 90.0                # …and this long, the attract loop begins
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
    operator_log: list[str] = field(default_factory=list)  # details a kiosk keeps off screen; the loop prints them

    @property
    def size(self) -> tuple[int, int]:
        """Canvas (width, height)."""
        return self.canvas.shape[1], self.canvas.shape[0]

    @property
    def has_ink(self) -> bool:
        return bool(self.strokes)


def new_board(size: tuple[int, int], now: float = 0.0, kiosk: bool = False,
              idle_seconds: float = 30.0, demo_digits: list[PenDigit] | None = None,
              model_name: str = "", seed: int | None = None, attract_seconds: float | None = None,
              language: str = "en") -> Board:
    """A blank board with a canvas of `size` (w, h) and a brush to suit it. The attract loop
    waits `attract_seconds`, by default ATTRACT_AFTER_IDLES times `idle_seconds`."""
    width, height = size
    if attract_seconds is None:
        attract_seconds = ATTRACT_AFTER_IDLES * idle_seconds
    return Board(canvas=np.zeros((height, width), np.uint8), brush=brush_for(height),
                 kiosk=kiosk, idle_seconds=idle_seconds, attract_seconds=attract_seconds, last_input=now,
                 demo_digits=list(demo_digits or []), model_name=model_name,
                 rng=random.Random(seed), language=language)


def words(board: Board, message_id: str, /, **values) -> str:
    """A message in the board's language (words.py)."""
    return say(board.language, message_id, **values)


def tell_operator(board: Board, detail: str) -> None:
    """Keep what the screen leaves out (a path, a flag, an exception: a kiosk shows visitors
    plain words) for the operator; the loop prints it to stderr."""
    board.operator_log.append(detail)


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
    board.finger = None


# One pen: a finger draws as the mouse does. While a stroke is being drawn, by the mouse or a
# finger, another finger does nothing (a palm, a second hand), and the loop leaves the mouse
# alone while a finger draws.

def finger_down(board: Board, finger: tuple, point: tuple[float, float]) -> None:
    """A finger touched the canvas at `point`: it draws, unless a stroke is under way."""
    if board.pen_is_down:
        return
    pen_down(board, point)
    board.finger = finger


def finger_move(board: Board, finger: tuple, point: tuple[float, float]) -> None:
    if board.finger == finger:
        pen_move(board, point)


def finger_up(board: Board, finger: tuple, point: tuple[float, float]) -> None:
    if board.finger == finger:
        pen_move(board, point)
        pen_up(board)


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


def receive_reading(board: Board, version: int, readings: list, read_ms: float, insides: list = ()) -> None:
    """Take the reader's answer for the canvas at `version` (and, for Look inside, what the
    network saw of each mark)."""
    board.read_in_flight = False
    board.read_ms = read_ms
    if version >= board.oldest_wanted_version:
        board.readings = readings
        board.readings_version = version
        board.insides = list(insides)


def reading_failed(board: Board, message: str, now: float) -> None:
    """A read raised: say so briefly and carry on with the next change."""
    board.read_in_flight = False
    if board.kiosk:
        tell_operator(board, f"reading failed: {message}")
        show_banner(board, words(board, "reading_failed_plain"), now, error=True)
    else:
        show_banner(board, words(board, "reading_failed", message=message), now, error=True)


def model_ready(board: Board, device: str, name: str | None = None, kind: str | None = None,
                now: float = 0.0) -> None:
    """The reader has a model: the first, or one swapped in (then its `name` and `kind`)."""
    board.model_state, board.model_message, board.device = "ready", "", device
    if name is not None:
        board.model_name, board.model_kind = name, kind or board.model_kind
        board.submitted_version = -1  # the same ink, read again by the new model
        taught, board.taught = board.taught if kind == "personal" else None, None
        if taught:
            show_banner(board, words(board, "now_reading_taught", taught=taught), now, seconds=2 * BANNER_SECONDS)
        else:
            show_banner(board, words(board, f"now_reading_{board.model_kind}"), now)


def model_failed(board: Board, message: str) -> None:
    """No model will read: the operator's board shows why; a kiosk says plainly that it does
    not read, and leaves the why (a path, a flag) to the log."""
    board.model_state, board.model_message = "failed", message
    if board.kiosk:
        tell_operator(board, f"no model: {message}")


def reader_lost(board: Board, why: str, restart_in: float) -> None:
    """The reader thread died (`why`); the loop starts another in `restart_in` seconds, which
    loads the model again. The read it had is lost: the ink is read again once the model is back."""
    board.model_state = "loading"
    board.read_in_flight = False
    board.submitted_version = -1
    tell_operator(board, f"the reader stopped ({why}); starting it again in {restart_in:g} s")


def settled(board: Board) -> bool:
    """Nothing more to read: the pen is up and the readings are of the ink on screen
    (or no model will come)."""
    if board.pen_is_down:
        return False
    if board.model_state == "failed":
        return True
    return (board.model_state in ("ready", "switching") and not board.read_in_flight
            and board.readings_version == board.ink_version)


def digit_readings(readings: list) -> list:
    """The readings that are digits, left to right: what the number is made of (a mark that
    is not a digit, `digit` None, is shown on the canvas but is no part of the number)."""
    return [r for r in readings if r.digit is not None]


def focus_reading(board: Board):
    """The reading of the digit last touched: the digit holding the newest stroke, or around the
    newest ink, else the digit drawn last (the rightmost, for readings that name no strokes).
    A mark that is not a digit is the focus only where there is no digit at all."""
    if not board.readings:
        return None
    digits = digit_readings(board.readings)
    if not digits:
        return board.readings[-1]
    newest = len(board.strokes) - 1
    holding = [r for r in digits if newest in getattr(r, "strokes", ())]
    if holding:
        return holding[0]
    if board.strokes:
        x, y = board.strokes[-1][-1]
        margin = board.brush
        for reading in digits:
            bx, by, bw, bh = reading.box
            if bx - margin <= x <= bx + bw + margin and by - margin <= y <= by + bh + margin:
                return reading
    last_stroke = [max(getattr(r, "strokes", ()) or (-1,)) for r in digits]
    return digits[max(range(len(digits)), key=lambda i: (last_stroke[i], i))]


def digit_text(reading, unsure_below: float = UNSURE_BELOW) -> str:
    """A digit as the board writes it: itself, or "?" where the model is unsure."""
    return str(reading.digit) if reading.confidence >= unsure_below else "?"


def number_text(readings: list, unsure_below: float = UNSURE_BELOW) -> str:
    """The number read, digit by digit, with "?" where the model is unsure: "4 ? 7". Marks
    that are not digits are left out."""
    return " ".join(digit_text(r, unsure_below) for r in digit_readings(readings))


# ---------------------------------------------------------------- banners, help, input

def show_banner(board: Board, text: str, now: float, error: bool = False,
                seconds: float = BANNER_SECONDS) -> None:
    board.banner = Banner(text, now + seconds, error)


def expire_banner(board: Board, now: float) -> None:
    if board.banner is not None and now >= board.banner.until:
        board.banner = None


def toggle_help(board: Board) -> None:
    board.show_help = not board.show_help


def toggle_inside(board: Board) -> None:
    """V or the "Look inside" button: show or hide what the network sees (the ink is read
    again, with it)."""
    board.show_inside = not board.show_inside
    board.submitted_version = -1


def press_button(board: Board, button: str) -> None:
    """An on-screen button, clicked or tapped: "clear", "undo" or "inside"."""
    {"clear": clear, "undo": undo, "inside": toggle_inside}[button](board)


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
        show_banner(board, words(board, "draw_first"), now)
        return []
    if board.model_state not in ("ready", "switching") or not settled(board):
        show_banner(board, words(board, "wait_for_reading"), now)
        return []
    readings = digit_readings(board.readings)  # a mark that is not a digit takes no label
    if not readings:
        show_banner(board, words(board, "no_digit_to_label"), now)
        return []
    if not board.typed:
        board.typed_at_version = board.ink_version
    board.typed += str(digit)
    board.typed_until = now + LABEL_SECONDS
    if len(board.typed) < len(readings):
        shown = " ".join(board.typed) + " _" * (len(readings) - len(board.typed))
        show_banner(board, words(board, "label_progress", shown=shown, count=len(readings)), now,
                    seconds=LABEL_SECONDS)
        return []
    labels, board.typed = board.typed, ""
    stamp = stamp or time.strftime("%Y%m%d-%H%M%S") + f"-{int(now * 1000) % 1000:03d}"
    try:
        written = save_digits(readings, labels, stroke_arrays(board), board.size, board.brush,
                              directory, stamp)
    except OSError as err:
        tell_operator(board, f"could not save {directory}: {err}")
        # the reason in a few words ("Permission denied"), never the path: the log has it
        show_banner(board, words(board, "could_not_save", why=err.strerror or type(err).__name__), now, error=True)
        return []
    where = Path(directory).name
    shown = " ".join(labels)
    if board.kiosk:  # no paths on a kiosk's screen
        show_banner(board, words(board, "saved_plain", labels=shown), now)
    else:
        folders = ", ".join(f"{where}/{d}/" for d in dict.fromkeys(labels))
        show_banner(board, words(board, "saved", labels=shown, where=folders), now)
    clear(board)
    return written


def cancel_label(board: Board, now: float, why: str) -> None:
    """Forget the digits typed so far (Esc, Enter too soon, the drawing changed); `why` is
    already in the board's language."""
    if board.typed:
        board.typed = ""
        show_banner(board, words(board, "label_cancelled", why=why), now)


def check_label(board: Board, now: float) -> None:
    """Once a frame: a drawing that changes while its number is typed is no longer the one
    labelled, and a number left unfinished for LABEL_SECONDS is given up."""
    if board.typed and board.ink_version != board.typed_at_version:
        cancel_label(board, now, words(board, "why_changed"))
    elif board.typed and now >= board.typed_until:
        cancel_label(board, now, words(board, "why_slow"))


# ---------------------------------------------------------------- teach, and the model in use

def want_teach(board: Board, now: float) -> bool:
    """T: whether a teach may start now (the loop starts it); else a banner says why not."""
    if not board.teach_allowed:
        return False
    if board.teaching is not None:
        show_banner(board, words(board, "already_teaching"), now)
        return False
    board.teaching = words(board, "teaching_starting")
    show_banner(board, words(board, "teaching_started"), now)
    return True


def teach_progress(board: Board, step: int, steps: int) -> None:
    board.teaching = words(board, "teaching_step", step=step, steps=steps)


def teach_finished(board: Board, how, now: float) -> None:
    """The teach has ended (`how`: teacher.TeachDone or TeachFailed): load the personal model
    if one was written, else say why not. What it learned is told once it reads."""
    board.teaching = None
    if not hasattr(how, "image_model"):
        if board.kiosk:  # the why may name a folder or a flag
            tell_operator(board, f"teaching failed: {how.message}")
            show_banner(board, words(board, "teaching_failed_plain"), now, error=True)
        else:
            show_banner(board, words(board, "teaching_failed", message=how.message), now, error=True,
                        seconds=2 * BANNER_SECONDS)
        return
    if how.held_back and how.before is not None and how.after is not None:
        board.taught = words(board, "taught_measured", after=round(100 * how.after),
                             before=round(100 * how.before))
    else:
        board.taught = words(board, "taught_too_few")
    if how.image_model == "base":
        board.taught = words(board, "taught_image_kept", taught=board.taught)
    elif how.image_model == "untaught":
        board.taught = words(board, "taught_nothing")
    board.wanted_model = "personal"
    board.model_state = "switching"
    show_banner(board, words(board, "taught_loading"), now, seconds=LABEL_SECONDS)


def switch_model(board: Board, now: float, personal_exists: bool) -> None:
    """M: read with the other model, shipped or personal; the old one reads on until the new
    one has loaded, and another M meanwhile waits for it."""
    if not board.teach_allowed:
        return
    if board.model_state == "switching" or board.wanted_model is not None:
        show_banner(board, words(board, "still_loading_other"), now)
        return
    if board.model_state == "loading":
        show_banner(board, words(board, "model_still_loading"), now)
        return
    target = "shipped" if board.model_kind == "personal" else "personal"
    if target == "personal" and not personal_exists:
        show_banner(board, words(board, "no_personal_yet"), now)
        return
    board.wanted_model = target
    if board.model_state == "ready":
        board.model_state = "switching"
    show_banner(board, words(board, f"loading_{target}"), now, seconds=LABEL_SECONDS)


def model_swap_failed(board: Board, message: str, now: float) -> None:
    """The model asked for did not load: the one in use reads on (if there is one)."""
    if board.model_state == "switching":
        board.model_state = "ready"
    board.taught = None
    if board.kiosk:  # the why names a file
        tell_operator(board, f"the other model did not load: {message}")
        show_banner(board, words(board, "swap_failed_plain"), now, error=True)
        return
    kept = f"kept_{board.model_kind}" if board.model_state == "ready" else "kept_none"
    show_banner(board, words(board, kept, message=message), now, error=True, seconds=2 * BANNER_SECONDS)


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
    """Two tiers of idle: after `idle_seconds` without input the kiosk clears itself, after
    `attract_seconds` it plays demo numbers, once the model reads (a demo that nothing reads
    shows nothing)."""
    if not board.kiosk:
        return
    idle = now - board.last_input
    if board.attract is not None:
        advance_attract(board, now)
    elif board.pen_is_down:
        return
    elif (idle >= board.attract_seconds and board.demo_digits
          and board.model_state in ("ready", "switching")):
        start_attract(board, now)
    elif idle >= board.idle_seconds and board.has_ink:
        clear(board)
