"""Painting the board with pygame: `draw(surface, board, layout)` and nothing else changes.

The canvas is shown pixel for pixel from the board's numpy array (an 8-bit surface over
the same memory, coloured by a palette), so what is on screen is what the model reads.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import numpy as np
import pygame

from ..read.reading import UNSURE_BELOW
from .state import Board, focus_reading, number_text

BACKGROUND = (16, 18, 23)
HEADER = (24, 27, 34)
STATUS = (11, 12, 16)
INK = (236, 239, 245)
TEXT = (228, 231, 238)
DIM = (122, 129, 145)
SURE = (86, 204, 150)
UNSURE = (242, 178, 72)
ERROR = (232, 92, 92)
BAR = (58, 64, 78)

HELP_LINES = [
    ("draw", "left mouse button"),
    ("clear", "N, C or right click"),
    ("undo last stroke", "Ctrl+Z or Backspace"),
    ("label and save", "0 - 9: type the digits drawn"),
    ("teach it your handwriting", "T"),
    ("shipped / personal model", "M"),
    ("screenshot", "S"),
    ("fullscreen", "F"),
    ("this help", "H"),
]
QUIT_KEYS = "Esc or Q"
KIOSK_QUIT_KEYS = "Ctrl+Shift+Q"


@dataclass(frozen=True)
class Layout:
    """Where things go in a window of a given size."""

    header: pygame.Rect
    canvas: pygame.Rect
    status: pygame.Rect | None
    type_scale: float


def layout_for(window_size: tuple[int, int], kiosk: bool = False) -> Layout:
    """Header on top, canvas below, a status bar at the bottom (none in a kiosk)."""
    width, height = window_size
    type_scale = min(max(height / 720, 0.7), 2.5) * (1.5 if kiosk else 1.0)
    header_h = round(88 * type_scale)
    status_h = 0 if kiosk else round(30 * min(max(height / 720, 0.8), 1.6))
    canvas_h = max(32, height - header_h - status_h)
    status = None if kiosk else pygame.Rect(0, height - status_h, width, status_h)
    return Layout(pygame.Rect(0, 0, width, header_h), pygame.Rect(0, header_h, width, canvas_h),
                  status, type_scale)


# ---------------------------------------------------------------- text and canvas caches

@lru_cache(maxsize=32)
def _font(size: int) -> pygame.font.Font:
    return pygame.font.Font(None, max(8, size))


@lru_cache(maxsize=256)  # labels repeat from frame to frame; the bound keeps an all-day kiosk flat
def _text(text: str, size: int, color: tuple) -> pygame.Surface:
    return _font(size).render(text, True, color)


def _ink_palette() -> list[tuple[int, int, int]]:
    ramp = np.linspace(0, 1, 256)[:, None]
    colours = np.round(np.array(BACKGROUND) * (1 - ramp) + np.array(INK) * ramp).astype(int)
    return [tuple(c) for c in colours]


_canvas_view: dict = {}


def canvas_surface(canvas: np.ndarray) -> pygame.Surface:
    """An 8-bit surface sharing the canvas's memory: ink drawn into the array shows at once."""
    if _canvas_view.get("array") is not canvas:
        surface = pygame.image.frombuffer(canvas, (canvas.shape[1], canvas.shape[0]), "P")
        surface.set_palette(_ink_palette())
        _canvas_view.clear()
        _canvas_view.update(array=canvas, surface=surface)
    return _canvas_view["surface"]


def forget_surfaces() -> None:
    """Drop cached fonts and surfaces: they die with `pygame.quit()` and must not outlive it."""
    _font.cache_clear()
    _text.cache_clear()
    _canvas_view.clear()


# ---------------------------------------------------------------- painting

def draw(surface: pygame.Surface, board: Board, layout: Layout) -> None:
    """Paint the whole board onto `surface`."""
    surface.blit(canvas_surface(board.canvas), layout.canvas.topleft)
    draw_prompt(surface, board, layout)
    draw_boxes(surface, board, layout)
    draw_header(surface, board, layout)
    if layout.status is not None:
        draw_status(surface, board, layout.status)
    if board.banner is not None:
        draw_banner(surface, board.banner.text, board.banner.error, layout)
    if board.show_help:
        draw_help(surface, board.kiosk, layout)


def _size(layout: Layout, base: float) -> int:
    return round(base * layout.type_scale)


def draw_header(surface: pygame.Surface, board: Board, layout: Layout) -> None:
    """The number read so far, large, and the probability bars of the digit being drawn."""
    header = layout.header
    surface.fill(HEADER, header)
    pad = _size(layout, 24)
    if board.model_state == "loading":
        text, colour, size = "loading model…", DIM, 44
    elif board.model_state == "failed":
        text, colour, size = "no model", ERROR, 44
    elif board.readings:
        text, colour, size = number_text(board.readings), TEXT, 64
    else:
        text, colour, size = ("…" if board.has_ink else "draw a number"), DIM, 44
    label = _text(text, _size(layout, size), colour)
    surface.blit(label, label.get_rect(midleft=(header.x + pad, header.centery)))
    reading = focus_reading(board)
    if reading is not None:
        bars_width = min(header.width // 2, _size(layout, 360))
        area = pygame.Rect(header.right - pad - bars_width, header.y + pad // 3,
                           bars_width, header.height - 2 * (pad // 3))
        draw_probability_bars(surface, reading.probs, area, layout)


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


def draw_boxes(surface: pygame.Surface, board: Board, layout: Layout) -> None:
    """A box round each digit read, tagged with the digit (or "?") and the confidence."""
    origin = layout.canvas.topleft
    pad = board.brush // 2 + _size(layout, 6)
    tag_size = _size(layout, 26)
    boxes, tags, colours = [], [], []
    for reading in board.readings:
        x, y, w, h = reading.box
        boxes.append(pygame.Rect(origin[0] + x - pad, origin[1] + y - pad, w + 2 * pad, h + 2 * pad))
        sure = reading.confidence >= UNSURE_BELOW
        colours.append(SURE if sure else UNSURE)
        tags.append(_text(f"{reading.digit if sure else '?'}  {reading.confidence:.0%}", tag_size, BACKGROUND))
    tag_boxes = place_tags(boxes, [tag.get_rect().inflate(12, 6).size for tag in tags], layout.canvas.top)
    for box, tag, tag_box, colour in zip(boxes, tags, tag_boxes, colours):
        pygame.draw.rect(surface, colour, box, width=2, border_radius=8)
        pygame.draw.rect(surface, colour, tag_box, border_radius=6)
        surface.blit(tag, tag.get_rect(center=tag_box.center))


def place_tags(boxes: list[pygame.Rect], sizes: list[tuple[int, int]], top: int) -> list[pygame.Rect]:
    """Where each box's tag goes: on its top left corner, above any tag already placed there
    (digits that touch have boxes that overlap), or below the box when that leaves no room
    under `top`."""
    placed: list[pygame.Rect] = []
    for box, size in zip(boxes, sizes):
        tag = pygame.Rect((0, 0), size)
        tag.bottomleft = box.topleft
        while (hit := tag.collidelist(placed)) != -1:
            tag.bottom = placed[hit].top - 2
        if tag.top < top:
            tag.topleft = box.bottomleft
            while (hit := tag.collidelist(placed)) != -1:
                tag.top = placed[hit].bottom + 2
        placed.append(tag)
    return placed


def draw_prompt(surface: pygame.Surface, board: Board, layout: Layout) -> None:
    """What to do when the canvas is empty, or why nothing will be read."""
    canvas = layout.canvas
    if board.model_state == "failed":
        lines = [(board.model_message, ERROR, 26)]
        if "train" not in board.model_message:
            lines.append(("train one with `python train.py`, or pass --model PATH", DIM, 24))
        lines.append(("you can still draw; nothing will be read", DIM, 24))
        y = canvas.y + _size(layout, 40)
        for text, colour, size in lines:
            label = _fit_text(text, _size(layout, size), colour, canvas.width - 40)
            surface.blit(label, label.get_rect(midtop=(canvas.centerx, y)))
            y += label.get_height() + _size(layout, 8)
    elif board.kiosk and board.attract is not None:
        label = _text("draw a number and watch it read", _size(layout, 30), DIM)
        surface.blit(label, label.get_rect(midbottom=(canvas.centerx, canvas.bottom - _size(layout, 24))))
    elif not board.has_ink:
        label = _text("draw digits here", _size(layout, 34), BAR)
        surface.blit(label, label.get_rect(center=canvas.center))


def _fit_text(text: str, size: int, colour: tuple, width: int) -> pygame.Surface:
    """Render `text`, shrinking the type until it fits `width`."""
    while size > 10 and _font(size).size(text)[0] > width:
        size -= 2
    return _text(text, size, colour)


def draw_status(surface: pygame.Surface, board: Board, area: pygame.Rect) -> None:
    """Model, device, frame rate and read time on the left; the main keys on the right."""
    surface.fill(STATUS, area)
    size = round(area.height * 0.72)
    read = f"read {board.read_ms:.1f} ms" if board.read_ms is not None else "read –"
    model = {"loading": "loading model…", "failed": "no model"}.get(
        board.model_state, f"{board.model_name} ({board.model_kind})")
    parts = [model, board.device or "–", f"{board.fps:.0f} fps", read] + \
        ([board.teaching] if board.teaching else [])
    left = _font(size).render("   ·   ".join(parts), True, DIM)  # changes every read: not worth caching
    surface.blit(left, left.get_rect(midleft=(area.x + 12, area.centery)))
    right = _text("H help   N clear   Ctrl+Z undo   0-9 label   T teach", size, DIM)
    if right.get_width() + left.get_width() + 48 < area.width:
        surface.blit(right, right.get_rect(midright=(area.right - 12, area.centery)))


def draw_banner(surface: pygame.Surface, text: str, error: bool, layout: Layout) -> None:
    """A short message in a pill at the top of the canvas."""
    label = _fit_text(text, _size(layout, 28), BACKGROUND, layout.canvas.width - 60)
    pill = label.get_rect().inflate(_size(layout, 28), _size(layout, 14))
    pill.midtop = (layout.canvas.centerx, layout.canvas.y + _size(layout, 14))
    pygame.draw.rect(surface, ERROR if error else SURE, pill, border_radius=pill.height // 2)
    surface.blit(label, label.get_rect(center=pill.center))


def draw_help(surface: pygame.Surface, kiosk: bool, layout: Layout) -> None:
    """The keys, on a dimmed panel over the canvas."""
    lines = HELP_LINES + [("quit", KIOSK_QUIT_KEYS if kiosk else QUIT_KEYS)]
    size = _size(layout, 28)
    line_h = round(_font(size).get_linesize() * 1.35)
    width = min(layout.canvas.width - 40, _size(layout, 560))
    panel = pygame.Rect(0, 0, width, line_h * (len(lines) + 1))
    panel.center = layout.canvas.center
    shade = pygame.Surface(panel.size, pygame.SRCALPHA)
    shade.fill((8, 9, 12, 245))
    surface.blit(shade, panel.topleft)
    pygame.draw.rect(surface, BAR, panel, width=1, border_radius=10)
    y = panel.y + line_h // 2
    for action, keys in lines:
        surface.blit(_text(action, size, DIM), (panel.x + 24, y))
        key_label = _text(keys, size, TEXT)
        surface.blit(key_label, key_label.get_rect(topright=(panel.right - 24, y)))
        y += line_h
