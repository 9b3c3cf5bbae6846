"""Look inside: what the network sees of the digit last touched, painted live beside the ink.

Four rows, each with one plain sentence: the 28×28 input the drawing became; the first
convolution's feature maps (each a small detector that lights up where it finds its pattern);
the deeper layers' maps (larger shapes, coarser grids); and the answer, how likely each digit
is (and "not a digit"). A legend says what the colours mean. The maps of one reading are
made into surfaces once and blitted each frame, so the view keeps the board's 60 fps.
"""

from __future__ import annotations

import numpy as np
import pygame

from .state import Board, focus_reading, words
from .view import BACKGROUND, BAR, DIM, SURE, TEXT, Layout, _font, _size, _text

FIRST_LAYER_MAPS = 16     # feature maps shown of the first convolution (of 32)
DEEPER_MAPS = 8           # …and of each deeper one
# quiet → active: dark blue, teal, green, yellow (a perceptually even ramp, like viridis)
RAMP = np.array([(24, 28, 64), (40, 90, 140), (38, 150, 140), (110, 200, 90), (250, 230, 60)], np.float64)


def colour(values: np.ndarray) -> np.ndarray:
    """(h, w) values in 0-1 → (h, w, 3) uint8 colours of RAMP."""
    at = np.clip(values, 0, 1) * (len(RAMP) - 1)
    low = np.minimum(at.astype(int), len(RAMP) - 2)
    share = (at - low)[..., None]
    return (RAMP[low] * (1 - share) + RAMP[low + 1] * share).astype(np.uint8)


def _surface(rgb: np.ndarray, side: int) -> pygame.Surface:
    """An (h, w, 3) image as a surface `side` pixels on its longer side, pixels kept square."""
    surface = pygame.surfarray.make_surface(np.ascontiguousarray(rgb.swapaxes(0, 1)))
    h, w = rgb.shape[:2]
    return pygame.transform.scale(surface, (max(1, side * w // max(h, w)), max(1, side * h // max(h, w))))


_shown: dict = {}  # the maps of the reading shown, made into surfaces once, not every frame


def forget_inside() -> None:
    """Drop the cached surfaces: they die with `pygame.quit()` and must not outlive it."""
    _shown.clear()


def _map_surfaces(seen: list, side: int) -> tuple[list, list]:
    """(the first layer's map surfaces, the deeper layers' map surfaces) of what the network
    saw of one reading (its maps, then its probabilities): the strongest FIRST_LAYER_MAPS of
    the first layer and DEEPER_MAPS of each deeper one, each layer scaled by its strongest
    activation."""
    if _shown.get("seen") is seen and _shown.get("side") == side:
        return _shown["surfaces"]
    layers = []
    maps = seen[:-1]
    for index, layer in enumerate(maps):
        count = FIRST_LAYER_MAPS if index == 0 else DEEPER_MAPS
        strongest = np.argsort(layer.reshape(-1, layer.shape[-1]).max(axis=0))[::-1][:count]
        scale = max(float(layer.max()), 1e-6)
        layers.append([_surface(colour(layer[:, :, k] / scale), side if index == 0 else side * 2 // 3)
                       for k in sorted(strongest)])
    surfaces = layers[0], [s for layer in layers[1:] for s in layer]
    _shown.update(seen=seen, side=side, surfaces=surfaces)
    return surfaces


def draw_inside(surface: pygame.Surface, board: Board, layout: Layout) -> None:
    """The Look inside panel (layout.inside): what the network sees of the reading last touched."""
    panel = layout.inside
    surface.fill(BACKGROUND, panel)
    pygame.draw.line(surface, BAR, panel.topleft, panel.bottomleft, 2)
    pad, caption = _size(layout, 12), _size(layout, 21)
    line = _font(caption).get_linesize()
    x, y = panel.x + pad, panel.y + pad // 2
    width = panel.width - 2 * pad
    title = _text(words(board, "inside_title"), _size(layout, 27), TEXT)
    surface.blit(title, (x, y))
    y += title.get_height() + pad // 2
    reading = focus_reading(board)
    index = next((i for i, r in enumerate(board.readings) if r is reading), None)
    sent = index is not None and index < len(board.insides)  # read with Look inside on
    seen = board.insides[index] if sent else None
    if seen is None:
        key = "inside_none" if sent else "inside_draw"  # the model cannot say / not read that way yet
        for text in _wrapped(words(board, key), caption, width):
            surface.blit(_text(text, caption, DIM), (x, y))
            y += line
        return
    captions = sum(len(_wrapped(words(board, key), caption, width))
                   for key in ("inside_input", "inside_first", "inside_deeper", "inside_answer"))
    # the rows' heights in map sides: input 2, first layer 2 rows, deeper 2 rows of 2/3
    free = panel.bottom - y - captions * line - 2 * caption - 2 * line - 5 * pad
    side = max(6, min(free * 3 // 16, width // 9))
    y = _row(surface, words(board, "inside_input"), [_surface(colour(reading.image / 255.0), 2 * side)],
             x, y, width, caption, pad)
    first, deeper = _map_surfaces(seen, side)
    y = _row(surface, words(board, "inside_first"), first, x, y, width, caption, pad)
    y = _row(surface, words(board, "inside_deeper"), deeper, x, y, width, caption, pad)
    y = _answer(surface, board, seen[-1], x, y, width, caption, pad)
    _legend(surface, board, x, y, width, caption)


def _row(surface: pygame.Surface, text: str, tiles: list, x: int, y: int, width: int, size: int, pad: int) -> int:
    """A caption, then the tiles left to right, wrapping; returns where the next row starts."""
    for line in _wrapped(text, size, width):
        surface.blit(_text(line, size, DIM), (x, y))
        y += _font(size).get_linesize()
    left, row_h = x, 0
    for tile in tiles:
        if left + tile.get_width() > x + width and left > x:
            left, y = x, y + row_h + 3
        surface.blit(tile, (left, y))
        left += tile.get_width() + 3
        row_h = max(row_h, tile.get_height())
    return y + row_h + pad


def _answer(surface: pygame.Surface, board: Board, probs: np.ndarray, x: int, y: int, width: int,
            size: int, pad: int) -> int:
    """The caption, then a bar per digit (and one for "not a digit"), the likeliest lit."""
    for line in _wrapped(words(board, "inside_answer"), size, width):
        surface.blit(_text(line, size, DIM), (x, y))
        y += _font(size).get_linesize()
    labels = [str(d) for d in range(10)] + (["–"] if len(probs) > 10 else [])
    slot, height = width / len(labels), 2 * size
    best = int(np.argmax(probs))
    for k, (label, p) in enumerate(zip(labels, probs)):
        bar = pygame.Rect(round(x + k * slot + 0.15 * slot), y, max(2, round(0.7 * slot)), height)
        pygame.draw.rect(surface, BAR, bar, border_radius=3)
        filled = round(height * float(p))
        if filled:
            pygame.draw.rect(surface, SURE if k == best else DIM,
                             pygame.Rect(bar.x, bar.bottom - filled, bar.width, filled), border_radius=3)
        text = _text(label, size, TEXT if k == best else DIM)
        surface.blit(text, text.get_rect(midtop=(bar.centerx, bar.bottom + 2)))
    return y + height + _font(size).get_linesize() + pad // 2


def _legend(surface: pygame.Surface, board: Board, x: int, y: int, width: int, size: int) -> None:
    """quiet [ramp] active"""
    quiet, active = _text(words(board, "inside_quiet"), size, DIM), _text(words(board, "inside_active"), size, DIM)
    ramp_w = max(20, width - quiet.get_width() - active.get_width() - 24)
    ramp = _surface(colour(np.linspace(0, 1, 64)[None, :].repeat(4, axis=0)), 64)
    ramp = pygame.transform.scale(ramp, (ramp_w, max(6, size // 2)))
    surface.blit(quiet, (x, y))
    surface.blit(ramp, (x + quiet.get_width() + 12, y + (quiet.get_height() - ramp.get_height()) // 2))
    surface.blit(active, (x + quiet.get_width() + ramp_w + 24, y))


def _wrapped(text: str, size: int, width: int) -> list[str]:
    """The text in lines no wider than `width` at this type size."""
    lines, line = [], ""
    for token in text.split():
        trial = f"{line} {token}".strip()
        if line and _font(size).size(trial)[0] > width:
            lines.append(line)
            line = token
        else:
            line = trial
    return lines + ([line] if line else [])
