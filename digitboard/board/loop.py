"""The board's frame loop: each frame routes the events to the board's state, trades news
with the reader thread (and a teach), and paints. `run_board(options)` opens the window and
runs until quit; a frame hook can script it (replay_number writes pen digits through real
mouse events, as a person would). Under the kiosk's supervisor it writes a heartbeat once a
second (supervisor.py), and a reader thread that dies is started again (revive_reader).

Mouse and touch: a finger draws through SDL's FINGERDOWN/FINGERMOTION/FINGERUP events, the
mouse through its own; SDL's mouse events made from a touch are turned off where SDL allows
and ignored where they come anyway, so a finger's stroke is drawn once.
"""

from __future__ import annotations

import os
import resource
import sys
import time
from collections import deque
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import Callable, Iterable, Mapping

import numpy as np

os.environ.setdefault("PYGAME_HIDE_SUPPORT_PROMPT", "1")  # no greeting line in front of `read: …`
import pygame  # noqa: E402

from ..common.errors import UserError  # noqa: E402
from ..common.files import replacing  # noqa: E402
from ..common.paths import DEFAULT_MODEL, DRAWN_DIR, PERSONAL_MODEL, REPORTS_DIR, ROOT  # noqa: E402
from ..common.quiet import quiet_stderr  # noqa: E402
from ..data.pen import PenDigit, layout_number, place_drawing  # noqa: E402
from .reader import exchange_with_reader, revive_reader, start_reader, stop_reader  # noqa: E402
from .state import (Board, cancel_label, check_label, clear, digit_readings, expire_banner, finger_down,  # noqa: E402
                    finger_move, finger_up, new_board, note_input, pen_down, pen_move, pen_up, press_button,
                    resize, settled, show_banner, switch_model, toggle_help, toggle_inside,
                    type_label, undo, update_kiosk, want_teach, words)
from .supervisor import heartbeat_writer  # noqa: E402
from .teacher import exchange_with_teacher, start_teacher, stop_teacher  # noqa: E402
from .inside import draw_inside, forget_inside  # noqa: E402
from .view import Layout, button_at, draw, forget_surfaces, layout_for  # noqa: E402

SCREENSHOT_DIR = REPORTS_DIR / "screenshots"
REPLAY_POINTS_PER_FRAME = 2      # mouse motion events per frame: a brisk hand at 60 fps
REPLAY_TIMEOUT_S = 120.0
MAX_REPLAY_DIGITS = 12
MOUSE_EVENTS = (pygame.MOUSEBUTTONDOWN, pygame.MOUSEMOTION, pygame.MOUSEBUTTONUP)
FINGER_EVENTS = (pygame.FINGERDOWN, pygame.FINGERMOTION, pygame.FINGERUP)


# ---------------------------------------------------------------- events → state

def handle_event(board: Board, event: pygame.event.Event, layout: Layout, now: float,
                 drawn_dir: Path) -> str | None:
    """Route one pygame event to the board. Returns what only the loop can do:
    "quit", "fullscreen", "screenshot", "resize", "teach", "switch model", or None."""
    if event.type == pygame.QUIT:
        return None if board.kiosk else "quit"  # a kiosk ignores the window's close button
    if event.type == pygame.VIDEORESIZE:
        return "resize"
    if event.type in MOUSE_EVENTS and getattr(event, "touch", False):
        return None  # SDL's copy of a touch (pygame 2 marks it): the FINGER events draw it already
    if event.type in FINGER_EVENTS:
        note_input(board, now)
        _handle_finger(board, event, layout)
    elif event.type == pygame.MOUSEBUTTONDOWN:
        note_input(board, now)
        if board.finger is not None:
            return None  # a finger is drawing: one pen at a time
        button = button_at(layout, event.pos) if event.button == 1 else None
        if button is not None:
            press_button(board, button)
        elif event.button == 1 and layout.canvas.collidepoint(event.pos):
            pen_down(board, _on_canvas(event.pos, layout))
        elif event.button == 3:
            clear(board)
    elif event.type == pygame.MOUSEMOTION:
        note_input(board, now)
        if board.pen_is_down and board.finger is None:
            pen_move(board, _on_canvas(event.pos, layout))
            if not event.buttons[0]:  # the button went up outside the window
                pen_up(board)
    elif event.type == pygame.MOUSEBUTTONUP and event.button == 1:
        if board.pen_is_down and board.finger is None:
            pen_move(board, _on_canvas(event.pos, layout))
            pen_up(board)
    elif event.type == pygame.KEYDOWN:
        note_input(board, now)
        return _handle_key(board, event, now, drawn_dir)
    return None


def _handle_finger(board: Board, event: pygame.event.Event, layout: Layout) -> None:
    """A finger (x, y normalised to the window) taps a button or draws on the canvas; while
    a stroke is being drawn, another finger does nothing. A tap on a button never draws."""
    pos = (event.x * layout.window.width, event.y * layout.window.height)
    finger = (event.touch_id, event.finger_id)
    if event.type == pygame.FINGERDOWN:
        if board.pen_is_down:
            return
        button = button_at(layout, pos)
        if button is not None:
            press_button(board, button)
        elif layout.canvas.collidepoint(pos):
            finger_down(board, finger, _on_canvas(pos, layout))
    elif event.type == pygame.FINGERMOTION:
        finger_move(board, finger, _on_canvas(pos, layout))
    else:
        finger_up(board, finger, _on_canvas(pos, layout))


def _on_canvas(pos, layout: Layout) -> tuple[float, float]:
    return float(pos[0] - layout.canvas.x), float(pos[1] - layout.canvas.y)


def _handle_key(board: Board, event: pygame.event.Event, now: float, drawn_dir: Path) -> str | None:
    ctrl, shift = event.mod & pygame.KMOD_CTRL, event.mod & pygame.KMOD_SHIFT
    if event.key == pygame.K_q and ctrl and shift:
        return "quit"
    if event.key == pygame.K_ESCAPE and board.typed:
        cancel_label(board, now, words(board, "why_esc"))
    elif event.key in (pygame.K_RETURN, pygame.K_KP_ENTER) and board.typed:
        cancel_label(board, now, words(board, "why_too_few", typed=len(board.typed),
                                       count=len(digit_readings(board.readings))))
    elif event.key == pygame.K_ESCAPE and board.show_help:
        toggle_help(board)
    elif event.key in (pygame.K_ESCAPE, pygame.K_q) and not ctrl:
        return None if board.kiosk else "quit"  # a stray Esc must not end a kiosk
    elif event.key in (pygame.K_n, pygame.K_c) and not ctrl:
        clear(board)
    elif event.key == pygame.K_BACKSPACE or (event.key == pygame.K_z and ctrl):
        undo(board)
    elif event.key == pygame.K_h:
        toggle_help(board)
    elif event.key == pygame.K_v and not ctrl:
        toggle_inside(board)
    elif event.key == pygame.K_s and not ctrl and not board.kiosk:  # a kiosk's visitors fill no disk
        return "screenshot"
    elif event.key == pygame.K_f and not board.kiosk:
        return "fullscreen"
    elif event.key == pygame.K_t and not ctrl:
        return "teach" if want_teach(board, now) else None
    elif event.key == pygame.K_m and not ctrl and board.teach_allowed:
        return "switch model"
    elif not ctrl and (digit := _digit_key(event)) is not None:
        type_label(board, digit, drawn_dir, now)
    return None


def _digit_key(event: pygame.event.Event) -> int | None:
    """0–9 from the main row (any keyboard layout) or the keypad."""
    if event.unicode and event.unicode in "0123456789":
        return int(event.unicode)
    if pygame.K_KP0 <= event.key <= pygame.K_KP9:
        return event.key - pygame.K_KP0
    return None


# ---------------------------------------------------------------- replay

def replay_events(digits: list[PenDigit], layout: Layout, drawn_on: tuple[int, int] | None = None,
                  points_per_frame: int = REPLAY_POINTS_PER_FRAME) -> list[list[pygame.event.Event]]:
    """The mouse events that write `digits`, in batches of one frame each: where they were drawn
    (scaled to this canvas) when the canvas they were drawn on is known, else laid out as one
    number, each digit in a cell of its own."""
    ox, oy = layout.canvas.topleft
    placed = place_drawing(digits, drawn_on, layout.canvas.size) if drawn_on else \
        layout_number(digits, layout.canvas.size)
    batches = []
    for strokes in placed:
        for stroke in strokes:
            points = [(int(round(x)) + ox, int(round(y)) + oy) for x, y in stroke]
            batches.append([pygame.event.Event(pygame.MOUSEBUTTONDOWN, pos=points[0], button=1)])
            for start in range(1, len(points), points_per_frame):
                batch = points[start:start + points_per_frame]
                batches.append([pygame.event.Event(pygame.MOUSEMOTION, pos=p, buttons=(1, 0, 0),
                                                   rel=(p[0] - q[0], p[1] - q[1]))
                                for q, p in zip(points[start - 1:], batch)])
            batches.append([pygame.event.Event(pygame.MOUSEBUTTONUP, pos=points[-1], button=1)])
    return batches


# A frame hook runs once a frame, after the frame is on screen; it returns False to end the run.
FrameHook = Callable[[Board, Layout], bool]


def scripted(script: Callable[[Layout], Iterable[list[pygame.event.Event]]]) -> FrameHook:
    """The frame hook that plays `script(layout)`: once the model is ready, one batch of events
    a frame, posted as if they came from the mouse and keyboard; when they have all been
    handled and the reading has settled, the run ends."""
    batches = None

    def post_next_batch(board: Board, layout: Layout) -> bool:
        nonlocal batches
        if board.model_state == "loading":
            return True
        if batches is None:
            batches = iter(script(layout))
        batch = next(batches, None)
        if batch is None:
            # The last batch, posted in an earlier frame, was handled in this one. (Not
            # pygame.event.peek(): with posted mouse events it crashes pygame 2.6.1.)
            return not settled(board)
        for event in batch:
            pygame.event.post(event)
        return True

    return post_next_batch


def replay_number(digits: list[PenDigit], drawn_on: tuple[int, int] | None = None) -> FrameHook:
    """Write `digits` through real mouse events (see replay_events), then end once they are read."""
    return scripted(partial(replay_events, digits, drawn_on=drawn_on))


# ---------------------------------------------------------------- the loop

@dataclass
class Timings:
    """Frame and read times once the model has loaded (start-up excluded); the last
    KEEP of each, so an all-day kiosk does not grow."""

    KEEP = 100_000
    first_frame_s: float | None = None     # seconds from the process's start to the first frame shown…
    first_reading_s: float | None = None   # …and to the first reading
    frame_ms: deque = field(default_factory=lambda: deque(maxlen=Timings.KEEP))  # flip to flip
    work_ms: deque = field(default_factory=lambda: deque(maxlen=Timings.KEEP))   # events to flip
    read_ms: deque = field(default_factory=lambda: deque(maxlen=Timings.KEEP))
    last_flip: float | None = None

    def frame_done(self, frame_start: float, flipped: float) -> None:
        if self.last_flip is not None:
            self.frame_ms.append((flipped - self.last_flip) * 1000)
        self.work_ms.append((flipped - frame_start) * 1000)
        self.last_flip = flipped

    def summary(self) -> dict:
        """The --stats line: frame rate and times (ms; work: from a frame's events to its flip),
        read time, seconds from the process's start to the first frame and the first reading,
        and the process's peak resident memory."""
        frames, work, reads = (np.asarray(d, np.float64) for d in (self.frame_ms, self.work_ms, self.read_ms))
        return {"frames": len(frames),
                "fps_mean": round(1000 * len(frames) / frames.sum(), 1) if len(frames) else None,
                "frame_ms_p99": round(float(np.percentile(frames, 99)), 2) if len(frames) else None,
                "frame_ms_max": round(float(frames.max()), 2) if len(frames) else None,
                "read_ms_p50": round(float(np.median(reads)), 2) if len(reads) else None,
                "work_ms_p99": round(float(np.percentile(work, 99)), 2) if len(work) else None,
                "work_ms_max": round(float(work.max()), 2) if len(work) else None,
                "first_frame_s": self.first_frame_s, "first_reading_s": self.first_reading_s,
                "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)}


def seconds_since_process_start() -> float | None:
    """Wall time since this process began (Linux /proc; None elsewhere)."""
    try:
        ticks = int(Path("/proc/self/stat").read_text().rsplit(")", 1)[1].split()[19])
        uptime = float(Path("/proc/uptime").read_text().split()[0])
        return round(uptime - ticks / os.sysconf("SC_CLK_TCK"), 3)
    except (OSError, ValueError, IndexError):
        return None


HEADLESS_DRIVERS = ("offscreen", "dummy")  # SDL video drivers that show nothing


def check_display(driver: str, headless: bool, environ: Mapping[str, str]) -> None:
    """Without a display SDL quietly falls back to a driver that shows nothing, and the board
    would run unseen for ever: unless a headless run was asked for (`headless`, or
    SDL_VIDEODRIVER set by the user), that is an error."""
    if driver not in HEADLESS_DRIVERS or headless or "SDL_VIDEODRIVER" in environ:
        return
    displays = [f"{name}={environ[name]}" for name in ("DISPLAY", "WAYLAND_DISPLAY") if environ.get(name)]
    why = f"SDL could not open {' or '.join(displays)}" if displays else "DISPLAY is not set"
    raise UserError(f"no display to open the board on ({why}); "
                    "for a headless run set SDL_VIDEODRIVER=dummy")


def fit_to_screen(size: tuple[int, int], screen: tuple[int, int]) -> tuple[tuple[int, int], str | None]:
    """The window size `size`, capped to the `screen`'s, and the note that says so (None when
    it fits): a window larger than the screen hides its lower part and the buttons there."""
    fitted = (min(size[0], screen[0]), min(size[1], screen[1]))
    if fitted == tuple(size):
        return fitted, None
    return fitted, (f"--size {size[0]}x{size[1]} is larger than the screen ({screen[0]}x{screen[1]}): "
                    f"the window is {fitted[0]}x{fitted[1]}")


def open_window(size: tuple[int, int], fullscreen: bool) -> pygame.Surface:
    """A resizable window of `size`, or the whole screen."""
    if fullscreen:
        return pygame.display.set_mode((0, 0), pygame.FULLSCREEN)
    screen = pygame.display.set_mode(size, pygame.RESIZABLE)
    if screen.get_size() != tuple(size):  # just out of fullscreen, SDL can keep the screen's size
        screen = pygame.display.set_mode(size, pygame.RESIZABLE)
    return screen


def _sdl_window():
    """The display's SDL window (pygame's experimental _sdl2 module), or None without it."""
    try:
        from pygame._sdl2.video import Window

        return Window.from_display_module()
    except (ImportError, AttributeError, pygame.error):
        return None


def change_window(screen: pygame.Surface, action: str, window_size: tuple[int, int],
                  position: tuple[int, int] | None = None) -> tuple[pygame.Surface, tuple[int, int], tuple | None]:
    """After a "resize" or for "fullscreen" (a toggle): the display surface, the windowed
    size that leaving fullscreen returns to, and the window's place before it went fullscreen.

    Without a window manager (a bare X server, as many kiosks run), SDL's fullscreen gives the
    window the screen's size where it stands, and its lower right runs off the screen: the
    window is moved to the screen's corner first, and back when fullscreen ends."""
    fullscreen = bool(screen.get_flags() & pygame.FULLSCREEN)
    window = _sdl_window()
    if action == "fullscreen" and not fullscreen:
        if window is not None:
            position, window.position = window.position, (0, 0)
        open_window(window_size, True)
    elif action == "fullscreen":
        open_window(window_size, False)
        if window is not None and position is not None:
            window.position = position
    elif not fullscreen:
        window_size = pygame.display.get_surface().get_size()
    return pygame.display.get_surface(), window_size, position


def save_window(surface: pygame.Surface, path: Path) -> None:
    """The window as an image file (PNG for .png), written in one step."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with replacing(path) as partial_file:
        pygame.image.save(surface, str(partial_file))


def save_screenshot(surface: pygame.Surface, board: Board, now: float,
                    directory: Path = SCREENSHOT_DIR) -> None:
    path = None
    try:
        path = reserve_name(Path(directory), time.strftime("board-%Y%m%d-%H%M%S"), ".png")
        save_window(surface, path)
    except (OSError, pygame.error) as err:
        if path is not None:
            path.unlink(missing_ok=True)
        show_banner(board, words(board, "screenshot_failed", why=getattr(err, "strerror", None) or err), now,
                    error=True)
    else:
        shown = path.relative_to(ROOT) if path.is_relative_to(ROOT) else path
        show_banner(board, words(board, "screenshot_saved", path=shown), now)


def reserve_name(directory: Path, stem: str, suffix: str) -> Path:
    """A new file `stem<suffix>` in `directory`, or `stem-2<suffix>`, … when taken (by a press
    in the same second, or another board), created empty so that no one else takes it."""
    directory.mkdir(parents=True, exist_ok=True)
    for count in range(1, 10_000):
        path = directory / (f"{stem}{suffix}" if count == 1 else f"{stem}-{count}{suffix}")
        try:
            os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644))
        except FileExistsError:
            continue
        return path
    raise OSError(f"{directory} has no free name for {stem}")


@dataclass(frozen=True)
class BoardOptions:
    """How the board runs."""

    load_model: Callable[[], object]    # runs on the reader thread; returns the recognizer
    model_name: str = ""
    window_size: tuple[int, int] = (1024, 720)
    fps: int = 60
    kiosk: bool = False
    idle_seconds: float = 30.0
    attract_seconds: float | None = None  # None: state.ATTRACT_AFTER_IDLES times idle_seconds
    demo_digits: tuple[PenDigit, ...] = ()
    language: str = "en"                # words.LANGUAGES
    inside: bool = False                # start with Look inside on
    drawn_dir: Path = DRAWN_DIR         # where labelled drawings go
    model: Path = DEFAULT_MODEL         # the model the board opens with: what a teach starts from
    personal_model: Path = PERSONAL_MODEL  # what a teach writes, and M switches to
    allow_teach: bool = False           # a kiosk labels and teaches only when asked to
    snapshot: Path | None = None        # the window is saved here at the end
    max_seconds: float | None = None
    headless: bool = False              # no screen is fine: a replay was asked for
    heartbeat: Path | None = None       # under the kiosk's supervisor: beat here (supervisor.py)


def run_board(options: BoardOptions, on_frame: FrameHook | None = None) -> tuple[Board, Timings]:
    """Open the window and run the board until quit (or `on_frame(board, layout)`, run after
    each frame, returns False)."""
    # SDL would present the window through OpenGL; Mesa's LLVM then binds to the LLVM inside
    # TensorFlow and crashes (seen under Xvfb). Our drawing is all software anyway.
    os.environ.setdefault("SDL_FRAMEBUFFER_ACCELERATION", "0")
    # SDL turns SIGINT and SIGTERM into the window's QUIT event, which a kiosk ignores; leave
    # signals to Python so Ctrl+C in the terminal and `kill` still stop it.
    os.environ.setdefault("SDL_NO_SIGNAL_HANDLERS", "1")
    # A touch is read as FINGER events; SDL's mouse events made from it would draw each stroke
    # twice (those that still come are ignored, see handle_event), and the mouse is not made
    # into touches either.
    os.environ.setdefault("SDL_TOUCH_MOUSE_EVENTS", "0")
    os.environ.setdefault("SDL_MOUSE_TOUCH_EVENTS", "0")
    with quiet_stderr():  # SDL's notes while it probes for a display ("XDG_RUNTIME_DIR is invalid")
        pygame.display.init()
    try:
        check_display(pygame.display.get_driver(), options.headless, os.environ)
        pygame.font.init()
        pygame.display.set_caption("digitboard")
        return _run(options, on_frame)
    finally:
        forget_surfaces()
        forget_inside()
        pygame.quit()


def _run(options: BoardOptions, on_frame: FrameHook | None) -> tuple[Board, Timings]:
    window_size, kiosk = options.window_size, options.kiosk
    if not kiosk and pygame.display.get_driver() not in HEADLESS_DRIVERS:
        window_size, note = fit_to_screen(window_size, pygame.display.get_desktop_sizes()[0])
        if note is not None:
            print(note, file=sys.stderr)
    screen = open_window(window_size, fullscreen=kiosk)
    layout = layout_for(screen.get_size(), kiosk, options.inside)
    started = time.monotonic()
    board = new_board(layout.canvas.size, started, kiosk, options.idle_seconds,
                      list(options.demo_digits), options.model_name,
                      attract_seconds=options.attract_seconds, language=options.language)
    board.teach_allowed = not kiosk or options.allow_teach
    board.show_inside = options.inside
    position = None  # where the window was before fullscreen
    if opens_personal(options):
        board.model_kind = "personal"
    timings = Timings()
    draw(screen, board, layout)
    pygame.display.flip()
    timings.first_frame_s = seconds_since_process_start()
    # after the first frame: TensorFlow's import takes seconds
    reader = start_reader(options.load_model, {"shipped": teach_base(options),
                                                "personal": options.personal_model}, board.model_kind)
    beat = heartbeat_writer(options.heartbeat) if options.heartbeat is not None else None
    teacher = None
    clock = pygame.time.Clock()
    try:
        while board.running:
            frame_start, now = time.perf_counter(), time.monotonic()
            for event in pygame.event.get():
                action = handle_event(board, event, layout, now, options.drawn_dir)
                if action == "quit":
                    board.running = False
                elif action == "screenshot":
                    save_screenshot(screen, board, now)
                elif action == "teach":
                    teacher = start_teacher(board, options.drawn_dir, teach_base(options),
                                            options.personal_model, now)
                elif action == "switch model":
                    switch_model(board, now, options.personal_model.is_file())
                elif action in ("resize", "fullscreen"):
                    screen, window_size, position = change_window(screen, action, window_size, position)
            screen = pygame.display.get_surface()
            if screen.get_size() != layout.window.size or board.show_inside != (layout.inside is not None):
                # resized, toggled, changed by the system, or Look inside came or went
                layout = layout_for(screen.get_size(), kiosk, board.show_inside)
                resize(board, layout.canvas.size)
            if teacher is not None and not exchange_with_teacher(board, teacher, now):
                teacher = None
            reader = revive_reader(board, reader, now)
            timings.read_ms.extend(exchange_with_reader(board, reader, now))
            if timings.first_reading_s is None and timings.read_ms:
                timings.first_reading_s = seconds_since_process_start()
            update_kiosk(board, now)
            for detail in board.operator_log:  # what a kiosk keeps off its screen goes to the log
                print(f"digitboard: {detail}", file=sys.stderr)
            board.operator_log.clear()
            expire_banner(board, now)
            check_label(board, now)
            board.fps = clock.get_fps()
            draw(screen, board, layout, (draw_inside,) if layout.inside else ())
            pygame.display.flip()
            if board.model_state != "loading":
                timings.frame_done(frame_start, time.perf_counter())
            if beat is not None:  # the supervisor's sign of life: this frame was drawn
                beat(now, "reading" if board.read_ms is not None and board.model_state != "loading"
                     else board.model_state)
            if on_frame is not None and not on_frame(board, layout):
                break
            if options.max_seconds is not None and now - started > options.max_seconds:
                break
            clock.tick(options.fps)
        if options.snapshot is not None:
            save_window(screen, options.snapshot)
    finally:
        stop_teacher(teacher)  # mine.keras keeps what it had: the teach writes it in one step
        stop_reader(reader)
    return board, timings


def opens_personal(options: BoardOptions) -> bool:
    return options.model.resolve() == options.personal_model.resolve()


def teach_base(options: BoardOptions) -> Path:
    """What a teach starts from: the model the board opened with, or the shipped one when
    that is the personal model itself (a teach always starts afresh from a shipped model)."""
    return DEFAULT_MODEL if opens_personal(options) else options.model
