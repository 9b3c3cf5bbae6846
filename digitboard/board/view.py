"""Painting the board with pygame: `draw(surface, board, layout)` and nothing else changes.

The canvas is shown pixel for pixel from the board's numpy array (an 8-bit surface over
the same memory, coloured by a palette), so what is on screen is what the model reads.
Every word comes from words.py, in the board's language.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache, partial

import numpy as np
import pygame

from ..data.pen import draw_strokes
from ..read.reading import UNSURE_BELOW
from .state import Board, digit_readings, digit_text, focus_reading
from .words import say

BACKGROUND = (16, 18, 23)
HEADER = (24, 27, 34)
STATUS = (11, 12, 16)
INK = (236, 239, 245)
MARK_INK = (84, 90, 104)     # the ink of a mark that is not a digit
TEXT = (228, 231, 238)
DIM = (122, 129, 145)
SURE = (86, 204, 150)
UNSURE = (242, 178, 72)
ERROR = (232, 92, 92)
BAR = (58, 64, 78)
BUTTON = (40, 45, 56)

MIN_TOUCH = 48               # px: 12 mm at 96 dpi, the least a fingertip hits surely
BUTTONS = ("clear", "undo", "inside")


@dataclass(frozen=True)
class Layout:
    """Where things go in a window of a given size."""

    window: pygame.Rect
    header: pygame.Rect
    canvas: pygame.Rect
    button_bar: pygame.Rect
    buttons: dict                # "clear", "undo", "inside" → pygame.Rect
    status: pygame.Rect | None
    type_scale: float
    inside: pygame.Rect | None = None   # Look inside's panel, right of the canvas, when it is on


INSIDE_SHARE = 0.44  # of the window's width: Look inside's panel, right of the canvas


def layout_for(window_size: tuple[int, int], kiosk: bool = False, inside: bool = False) -> Layout:
    """Header on top, the canvas, a bar of buttons, a status bar at the bottom (none in a kiosk);
    with `inside`, Look inside's panel on the right of the canvas, which narrows to make room
    (nothing drawn is hidden under it).

    The buttons sit in a bar at the bottom, left-aligned. The reading is in the header at
    the top, so a hand reaching for a button comes from below and never covers it; a right
    hand drawing rests its palm at the lower right, away from the buttons (most visitors are
    right-handed), so a palm does not clear the board by accident."""
    width, height = window_size
    type_scale = min(max(height / 720, 0.7), 2.5) * (1.5 if kiosk else 1.0)
    header_h = round(88 * type_scale)
    status_h = 0 if kiosk else round(30 * min(max(height / 720, 0.8), 1.6))
    gap = round(10 * type_scale)
    button_h = max(MIN_TOUCH, round(56 * type_scale))
    button_w = max(MIN_TOUCH, min(round(210 * type_scale), (width - (len(BUTTONS) + 1) * gap) // len(BUTTONS)))
    bar_h = button_h + 2 * gap
    canvas_h = max(32, height - header_h - bar_h - status_h)
    bar = pygame.Rect(0, header_h + canvas_h, width, bar_h)
    buttons = {name: pygame.Rect(gap + i * (button_w + gap), bar.y + gap, button_w, button_h)
               for i, name in enumerate(BUTTONS)}
    status = None if kiosk else pygame.Rect(0, bar.bottom, width, status_h)
    panel = round(width * INSIDE_SHARE) if inside else 0
    return Layout(pygame.Rect(0, 0, width, height), pygame.Rect(0, 0, width, header_h),
                  pygame.Rect(0, header_h, width - panel, canvas_h), bar, buttons, status, type_scale,
                  pygame.Rect(width - panel, header_h, panel, canvas_h) if inside else None)


def button_at(layout: Layout, pos: tuple[float, float]) -> str | None:
    """The button at window position `pos`, if any."""
    return next((name for name, rect in layout.buttons.items() if rect.collidepoint(pos)), None)


# ---------------------------------------------------------------- text and canvas caches

@lru_cache(maxsize=32)
def _font(size: int) -> pygame.font.Font:
    return pygame.font.Font(None, max(8, size))


@lru_cache(maxsize=256)  # labels repeat from frame to frame; the bound keeps an all-day kiosk flat
def _text(text: str, size: int, color: tuple) -> pygame.Surface:
    return _font(size).render(text, True, color)


def _ramp(low: tuple, high: tuple) -> list[tuple[int, int, int]]:
    ramp = np.linspace(0, 1, 256)[:, None]
    colours = np.round(np.array(low) * (1 - ramp) + np.array(high) * ramp).astype(int)
    return [tuple(c) for c in colours]


_canvas_view: dict = {}
_marks_view: dict = {}


def canvas_surface(canvas: np.ndarray) -> pygame.Surface:
    """An 8-bit surface sharing the canvas's memory: ink drawn into the array shows at once."""
    if _canvas_view.get("array") is not canvas:
        surface = pygame.image.frombuffer(canvas, (canvas.shape[1], canvas.shape[0]), "P")
        surface.set_palette(_ramp(BACKGROUND, INK))
        _canvas_view.clear()
        _canvas_view.update(array=canvas, surface=surface)
    return _canvas_view["surface"]


def forget_surfaces() -> None:
    """Drop cached fonts and surfaces: they die with `pygame.quit()` and must not outlive it."""
    _font.cache_clear()
    _text.cache_clear()
    _canvas_view.clear()
    _marks_view.clear()


# ---------------------------------------------------------------- painting

def draw(surface: pygame.Surface, board: Board, layout: Layout, panels: tuple = ()) -> None:
    """Paint the whole board onto `surface`; `panels`, painters called as panel(surface, board,
    layout), go over the canvas and under the header, banners and help (Look inside)."""
    surface.blit(canvas_surface(board.canvas), layout.canvas.topleft)
    draw_marks(surface, board, layout)
    draw_prompt(surface, board, layout)
    draw_boxes(surface, board, layout)
    for panel in panels:
        panel(surface, board, layout)
    draw_header(surface, board, layout)
    draw_buttons(surface, board, layout)
    if layout.status is not None:
        draw_status(surface, board, layout.status)
    if board.banner is not None:
        draw_banner(surface, board.banner.text, board.banner.error, layout)
    if board.show_help:
        draw_help(surface, board, layout)


def _size(layout: Layout, base: float) -> int:
    return round(base * layout.type_scale)


def draw_header(surface: pygame.Surface, board: Board, layout: Layout) -> None:
    """The number read so far, large, and the probability bars of the digit last touched,
    which is underlined in the number (its box on the canvas is drawn bolder)."""
    header = layout.header
    surface.fill(HEADER, header)
    pad = _size(layout, 24)
    focus = focus_reading(board)
    right = header.right - pad
    if focus is not None and focus.digit is not None:
        bars_width = min(header.width // 2, _size(layout, 360))
        area = pygame.Rect(header.right - pad - bars_width, header.y + pad // 3,
                           bars_width, header.height - 2 * (pad // 3))
        draw_probability_bars(surface, focus.probs[:10], area, layout)
        right = area.x - pad
    room = pygame.Rect(header.x + pad, header.y, max(1, right - header.x - pad), header.height)
    digits = digit_readings(board.readings)
    if board.model_state == "failed":
        text, colour = say(board.language, "reader_not_working" if board.kiosk else "no_model"), ERROR
    elif board.model_state == "loading":
        text, colour = say(board.language, "loading"), DIM
    elif digits:
        draw_number(surface, digits, focus, room, layout)
        return
    elif board.readings:
        text, colour = say(board.language, "no_digit_yet"), DIM
    else:
        text, colour = ("…" if board.has_ink else say(board.language, "draw_a_number")), DIM
    [label] = fit_lines(text, _size(layout, 44), colour, room.width, max_lines=1)
    surface.blit(label, label.get_rect(midleft=room.midleft))


def draw_number(surface: pygame.Surface, digits: list, focus, room: pygame.Rect, layout: Layout) -> None:
    """The digits read, as large as fits `room`: a long number shrinks (down to a third),
    then loses its first digits to "…"; the focus digit is underlined in its box's colour."""
    tokens = [digit_text(r) for r in digits]
    size, smallest = _size(layout, 64), _size(layout, 22)
    while size > smallest and _font(size).size(" ".join(tokens))[0] > room.width:
        size -= 2
    font, shown = _font(size), tokens
    while len(shown) > 1 and font.size(" ".join(shown))[0] > room.width:
        shown = ["…"] + shown[2:]
    text = " ".join(shown)
    label = _text(text, size, TEXT)
    rect = label.get_rect(midleft=room.midleft)
    surface.blit(label, rect)
    index = next((i for i, r in enumerate(digits) if r is focus), None)
    if index is None:
        return
    index -= len(tokens) - len(shown)  # digits dropped for the "…"
    if index < 0 or shown[index] == "…":
        return
    x = rect.x + (font.size(" ".join(shown[:index]) + " ")[0] if index else 0)
    width = font.size(shown[index])[0]
    thickness = max(2, size // 14)
    pygame.draw.rect(surface, _reading_colour(focus),
                     (x, rect.bottom - thickness // 2, width, thickness), border_radius=thickness // 2)


def draw_probability_bars(surface: pygame.Surface, probs: np.ndarray, area: pygame.Rect,
                          layout: Layout) -> None:
    """Ten bars, one per digit, the likeliest lit up; digits written underneath."""
    label_size = _size(layout, 22)
    label_h = _font(label_size).get_linesize()
    slot = area.width / 10
    bar_w = max(3, round(slot * 0.62))
    top, bottom = area.y, area.bottom - label_h
    best = int(np.argmax(probs))
    for digit, p in enumerate(probs):
        centre = round(area.x + slot * (digit + 0.5))
        track = pygame.Rect(0, top, bar_w, bottom - top)
        track.centerx = centre
        pygame.draw.rect(surface, BAR, track, border_radius=3)
        height = round(track.height * float(p))
        if height > 0:
            fill = pygame.Rect(track.x, track.bottom - height, bar_w, height)
            colour = (SURE if p >= UNSURE_BELOW else UNSURE) if digit == best else DIM
            pygame.draw.rect(surface, colour, fill, border_radius=3)
        label = _text(str(digit), label_size, TEXT if digit == best else DIM)
        surface.blit(label, label.get_rect(midtop=(centre, bottom + 2)))


def _reading_colour(reading) -> tuple:
    if reading.digit is None:
        return DIM
    return SURE if reading.confidence >= UNSURE_BELOW else UNSURE


def draw_marks(surface: pygame.Surface, board: Board, layout: Layout) -> None:
    """The ink of each mark that is not a digit, greyed: its own strokes where the reading
    names them, else the ink in its box. Made once per reading and ink, then blitted."""
    key = (id(board.readings), board.ink_version)
    if _marks_view.get("key") != key:
        _marks_view.clear()
        _marks_view.update(key=key, readings=board.readings, surfaces=list(_grey_marks(board)))
    for grey, place in _marks_view["surfaces"]:
        surface.blit(grey, (layout.canvas.x + place[0], layout.canvas.y + place[1]))


def _grey_marks(board: Board):
    height, width = board.canvas.shape
    reach = board.brush // 2 + 2
    for reading in board.readings:
        if reading.digit is not None:
            continue
        x, y, w, h = reading.box
        x0, y0 = max(0, x - reach), max(0, y - reach)
        x1, y1 = min(width, x + w + reach), min(height, y + h + reach)
        if x1 <= x0 or y1 <= y0:
            continue
        ink = board.canvas[y0:y1, x0:x1]
        own = [np.asarray(board.strokes[i], np.float64) - (x0, y0) for i in reading.strokes
               if i < len(board.strokes)]
        if own:
            ink = np.minimum(ink, draw_strokes(own, np.zeros_like(ink), board.brush))
        grey = pygame.image.frombytes(np.ascontiguousarray(ink).tobytes(), (x1 - x0, y1 - y0), "P")
        grey.set_palette(_ramp(BACKGROUND, MARK_INK))
        grey.set_colorkey(0)
        yield grey, (x0, y0)


def draw_boxes(surface: pygame.Surface, board: Board, layout: Layout) -> None:
    """A box round each digit read, tagged with the digit (or "?") and the confidence; a
    quiet grey one, tagged "not a digit", round a mark that is none. Boxes and tags stay on
    the canvas; the box of the digit last touched is drawn bolder."""
    canvas = layout.canvas
    origin = canvas.topleft
    pad = board.brush // 2 + _size(layout, 6)
    tag_size, mark_size = _size(layout, 26), _size(layout, 22)
    focus = focus_reading(board)
    boxes, tags, fills = [], [], []
    for reading in board.readings:
        x, y, w, h = reading.box
        box = pygame.Rect(origin[0] + x - pad, origin[1] + y - pad, w + 2 * pad, h + 2 * pad).clip(canvas)
        boxes.append(box)
        if reading.digit is None:
            tags.append(_text(say(board.language, "not_a_digit"), mark_size, DIM))
            fills.append(None)
        else:
            text = say(board.language, "tag", digit=digit_text(reading), percent=round(100 * reading.confidence))
            tags.append(_text(text, tag_size, BACKGROUND))
            fills.append(_reading_colour(reading))
    tag_boxes = place_tags(boxes, [tag.get_rect().inflate(12, 6).size for tag in tags], canvas)
    surface.set_clip(canvas)
    for reading, box, tag, tag_box, fill in zip(board.readings, boxes, tags, tag_boxes, fills):
        if fill is None:
            pygame.draw.rect(surface, BAR, box, width=1, border_radius=8)
        else:
            pygame.draw.rect(surface, fill, box, width=4 if reading is focus else 2, border_radius=8)
            pygame.draw.rect(surface, fill, tag_box, border_radius=6)
        surface.blit(tag, tag.get_rect(center=tag_box.center))
    surface.set_clip(None)


def place_tags(boxes: list[pygame.Rect], sizes: list[tuple[int, int]], area: pygame.Rect) -> list[pygame.Rect]:
    """Where each box's tag goes, all within `area` (the canvas): on its top left corner,
    above any tag already placed there (digits that touch have boxes that overlap); below
    the box when there is no room above; inside its top left corner when there is none below
    either (a digit as tall as the canvas); moved sideways to stay in `area`."""
    placed: list[pygame.Rect] = []

    def clear_of_placed(tag: pygame.Rect, upwards: bool) -> pygame.Rect:
        while (hit := tag.collidelist(placed)) != -1:
            if upwards:
                tag.bottom = placed[hit].top - 2
            else:
                tag.top = placed[hit].bottom + 2
        return tag

    for box, size in zip(boxes, sizes):
        tag = pygame.Rect((0, 0), size)
        tag.left = max(area.left, min(box.left, area.right - tag.width))
        tag.bottom = box.top
        clear_of_placed(tag, upwards=True)
        if tag.top < area.top:
            tag.top = box.bottom
            clear_of_placed(tag, upwards=False)
        if tag.bottom > area.bottom:
            tag.top = max(box.top, area.top)
            clear_of_placed(tag, upwards=False)
        placed.append(tag.clamp(area))
    return placed


def draw_prompt(surface: pygame.Surface, board: Board, layout: Layout) -> None:
    """What to do when the canvas is empty, or why nothing will be read. A kiosk says only
    that it does not read: the why (a path, a flag) is for the operator's log."""
    canvas = layout.canvas
    language = board.language
    if board.model_state == "failed":
        lines = []
        if not board.kiosk:
            lines.append((board.model_message, ERROR, 26))
            if "train" not in board.model_message:
                lines.append((say(language, "train_hint"), DIM, 24))
        lines.append((say(language, "still_draw"), DIM, 24))
        y = canvas.y + _size(layout, 40)
        for text, colour, size in lines:
            for label in fit_lines(text, _size(layout, size), colour, canvas.width - 40, max_lines=3):
                surface.blit(label, label.get_rect(midtop=(canvas.centerx, y)))
                y += label.get_height()
            y += _size(layout, 8)
    elif board.kiosk and board.attract is not None:
        [label] = fit_lines(say(language, "attract"), _size(layout, 30), DIM, canvas.width - 40)
        surface.blit(label, label.get_rect(midbottom=(canvas.centerx, canvas.bottom - _size(layout, 24))))
    elif not board.has_ink:
        [label] = fit_lines(say(language, "draw_here"), _size(layout, 34), BAR, canvas.width - 40)
        surface.blit(label, label.get_rect(center=canvas.center))


def fit_lines(text: str, size: int, colour: tuple, width: int, max_lines: int = 1,
              smallest: float = 0.75) -> list[pygame.Surface]:
    """`text` in at most `max_lines` lines of `width`: the type shrinks to `smallest` of
    `size` at most (it stays readable), the words wrap (a word longer than a line, a path,
    breaks where it must), and what still does not fit ends in "…"."""
    floor = max(10, round(size * smallest))
    while size > floor and _font(size).size(text)[0] > width:
        size -= 1
    font = _font(size)
    if font.size(text)[0] <= width:
        return [_text(text, size, colour)]
    lines, rest = [], text
    while rest and len(lines) < max_lines:
        line, rest = _first_line(rest, font, width)
        lines.append(line)
    if rest:
        last = lines[-1]
        while last and font.size(last + "…")[0] > width:
            last = last[:-1]
        lines[-1] = last.rstrip() + "…"
    return [_text(line, size, colour) for line in lines]


def _first_line(text: str, font: pygame.font.Font, width: int) -> tuple[str, str]:
    """The longest start of `text` that fits `width`, broken after a word where one fits."""
    words = text.split(" ")
    line = words[0]
    for count in range(1, len(words)):
        longer = " ".join(words[:count + 1])
        if font.size(longer)[0] > width:
            break
        line = longer
    if font.size(line)[0] > width:  # one word wider than the line: break it where it must
        cut = len(line)
        while cut > 1 and font.size(line[:cut])[0] > width:
            cut -= 1
        return line[:cut], text[cut:]
    return line, text[len(line):].lstrip(" ")


def draw_buttons(surface: pygame.Surface, board: Board, layout: Layout) -> None:
    """Clear, Undo and Look inside, large enough for a finger; Look inside lit while on, and
    Clear and Undo dim while there is nothing to take away."""
    surface.fill(HEADER, layout.button_bar)
    for name, rect in layout.buttons.items():
        lit = name == "inside" and board.show_inside
        idle = name in ("clear", "undo") and not board.has_ink
        pygame.draw.rect(surface, SURE if lit else BUTTON, rect, border_radius=rect.height // 4)
        if not lit:
            pygame.draw.rect(surface, BAR, rect, width=2, border_radius=rect.height // 4)
        size = min(_size(layout, 30), round(rect.height * 0.5))
        colour = BACKGROUND if lit else DIM if idle else TEXT
        [label] = fit_lines(say(board.language, f"button_{name}"), size, colour, rect.width - 16)
        surface.blit(label, label.get_rect(center=rect.center))


def draw_status(surface: pygame.Surface, board: Board, area: pygame.Rect) -> None:
    """Model, device, frame rate and read time on the left; the main keys on the right."""
    surface.fill(STATUS, area)
    size = round(area.height * 0.72)
    language = board.language
    read = say(language, "status_read", ms=board.read_ms) if board.read_ms is not None \
        else say(language, "status_read_none")
    model = {"loading": say(language, "loading"), "failed": say(language, "no_model")}.get(
        board.model_state) or say(language, "status_model", name=board.model_name,
                                  kind=say(language, f"kind_{board.model_kind}"))
    parts = [model, board.device or "–", say(language, "status_fps", fps=board.fps), read] + \
        ([board.teaching] if board.teaching else [])
    left = _font(size).render("   ·   ".join(parts), True, DIM)  # changes every read: not worth caching
    surface.blit(left, left.get_rect(midleft=(area.x + 12, area.centery)))
    right = _text(say(language, "status_keys"), size, DIM)
    if right.get_width() + left.get_width() + 48 < area.width:
        surface.blit(right, right.get_rect(midright=(area.right - 12, area.centery)))


def draw_banner(surface: pygame.Surface, text: str, error: bool, layout: Layout) -> None:
    """A short message in a pill at the top of the canvas (two lines at most)."""
    lines = fit_lines(text, _size(layout, 28), BACKGROUND, layout.canvas.width - 80, max_lines=2)
    text_box = pygame.Rect(0, 0, max(line.get_width() for line in lines), sum(line.get_height() for line in lines))
    pill = text_box.inflate(_size(layout, 28), _size(layout, 14))
    pill.midtop = (layout.canvas.centerx, layout.canvas.y + _size(layout, 14))
    pygame.draw.rect(surface, ERROR if error else SURE, pill, border_radius=min(pill.height // 2, _size(layout, 24)))
    y = pill.centery - text_box.height // 2
    for line in lines:
        surface.blit(line, line.get_rect(midtop=(pill.centerx, y)))
        y += line.get_height()


def help_lines(board: Board) -> list[tuple[str, str]]:
    """(what, how) for the help panel. A kiosk lists what a visitor can do, by its button,
    and nothing of an operator's (no keys, no quitting: Ctrl+Shift+Q is in the README)."""
    w = partial(say, board.language)
    if board.kiosk:
        lines = [(w("help_write"), w("help_write_how")), (w("help_start_again"), w("button_clear")),
                 (w("help_take_back"), w("button_undo")), (w("help_see_inside"), w("button_inside"))]
        if board.teach_allowed:  # --allow-teach: visitors label and teach too
            lines += [(w("help_label"), w("help_label_keys")), (w("help_teach"), "T"), (w("help_model"), "M")]
        return lines
    return [(w("help_draw"), w("help_draw_keys")), (w("help_clear"), w("help_clear_keys")),
            (w("help_undo"), w("help_undo_keys")), (w("help_inside"), "V"),
            (w("help_label"), w("help_label_keys")), (w("help_teach"), "T"), (w("help_model"), "M"),
            (w("help_screenshot"), "S"), (w("help_fullscreen"), "F"), (w("help_help"), "H"),
            (w("help_quit"), w("help_quit_keys"))]


def draw_help(surface: pygame.Surface, board: Board, layout: Layout) -> None:
    """The help, on a dimmed panel over the canvas; the type shrinks until it fits."""
    lines = help_lines(board)
    most = layout.canvas.width - 40
    size = _size(layout, 28)
    while size > 12 and max(_font(size).size(a)[0] + _font(size).size(k)[0] for a, k in lines) + 3 * size > most:
        size -= 1
    gap = 3 * size
    width = min(most, max(_font(size).size(a)[0] + _font(size).size(k)[0] for a, k in lines) + gap)
    line_h = round(_font(size).get_linesize() * 1.35)
    panel = pygame.Rect(0, 0, width, line_h * (len(lines) + 1))
    panel.center = layout.canvas.center
    shade = pygame.Surface(panel.size, pygame.SRCALPHA)
    shade.fill((8, 9, 12, 245))
    surface.blit(shade, panel.topleft)
    pygame.draw.rect(surface, BAR, panel, width=1, border_radius=10)
    y = panel.y + line_h // 2
    for action, keys in lines:
        surface.blit(_text(action, size, DIM), (panel.x + size, y))
        key_label = _text(keys, size, TEXT)
        surface.blit(key_label, key_label.get_rect(topright=(panel.right - size, y)))
        y += line_h
