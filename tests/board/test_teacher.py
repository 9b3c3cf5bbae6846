"""The board's T: a teach run beside the board (board.teacher), stopped, failing, and its
model swapped in while the board draws on."""

from __future__ import annotations

import time

import pygame

from digitboard.board import loop as board
from digitboard.board.loop import BoardOptions
from digitboard.board.state import new_board
from digitboard.board.teacher import exchange_with_teacher, start_teacher, stop_teacher
from digitboard.read.model_files import copy_unit, read_card
from digitboard.read.recognizer import Recognizer

from conftest import make_drawings, snapshot


def test_a_teach_stopped_midway_leaves_the_old_model(tmp_path, tiny_model, mnist):
    drawn = make_drawings(tmp_path / "drawn", mnist)
    models = tmp_path / "models"
    copy_unit(tiny_model, models / "mine.keras")  # the personal model from last time, with its companions
    before = snapshot(models)
    teacher = start_teacher(new_board((400, 300)), drawn, tiny_model, models / "mine.keras", 0.0)
    time.sleep(2)  # loading its libraries: well before the model is written
    stop_teacher(teacher)
    assert teacher.process.exitcode is not None and snapshot(models) == before


def test_the_board_hears_how_a_teach_went(tmp_path, tiny_model, mnist):
    board_ = new_board((400, 300))
    teacher = start_teacher(board_, tmp_path / "nothing drawn", tiny_model, tmp_path / "mine.keras", 0.0)
    deadline = time.monotonic() + 60
    while exchange_with_teacher(board_, teacher, 0.0) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert board_.teaching is None and board_.banner.error
    assert board_.banner.text.startswith("teaching failed: no labelled drawings yet")  # words, not a traceback
    assert board_.wanted_model is None and not (tmp_path / "mine.keras").exists()


def test_the_board_teaches_in_the_background_and_swaps_the_model_in(tmp_path, tiny_model, mnist, monkeypatch):
    monkeypatch.setenv("SDL_VIDEODRIVER", "dummy")
    drawn = make_drawings(tmp_path / "drawn", mnist)
    personal = tmp_path / "mine.keras"
    pressed = []

    def press_t_then_wait(state, layout) -> bool:
        if state.model_state == "ready" and not pressed:
            pygame.event.post(pygame.event.Event(pygame.KEYDOWN, key=pygame.K_t, mod=0, unicode="t"))
            pressed.append(True)
        return state.model_kind != "personal" and not (state.banner and state.banner.error)

    options = BoardOptions(lambda: Recognizer.load(tiny_model), "tiny.keras", (640, 480), drawn_dir=drawn,
                           model=tiny_model, personal_model=personal, max_seconds=240, headless=True)
    state, timings = board.run_board(options, on_frame=press_t_then_wait)
    assert state.model_kind == "personal" and state.model_name == "mine.keras", state.banner
    assert personal.is_file() and read_card(personal)["drawings_used"] == 18
    assert state.teaching is None and state.banner.text.startswith("now reading with the personal model: your")
    assert len(timings.frame_ms) > 100  # the board kept drawing while it taught
