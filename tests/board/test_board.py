"""The board, headless: state updates, event routing, the reader thread, the frame loop, the
view (board.py's command line: cli/test_board_command.py).

Pygame runs on SDL's dummy video driver (conftest's `headless`), so no display is needed. Most
tests use a fake recognizer (no TensorFlow); Look inside uses conftest's `tiny_model`.
"""

from __future__ import annotations

import errno
import os
import string
import subprocess
import sys
import time
from functools import partial
from pathlib import Path

import cv2
import numpy as np
import pygame
import pytest

from digitboard.board import loop as board
from digitboard.board.loop import BoardOptions
from digitboard.board import inside, view
from digitboard.board.state import (Board, check_label, clear, focus_reading, load_demo_digits, model_failed, model_ready, new_board, note_input, number_text, pen_down, pen_move, pen_up, read_submitted, reading_failed, receive_reading, resize, settled, stroke_arrays, switch_model, toggle_inside, type_label, undo, update_kiosk, want_read)
from digitboard.board.view import layout_for, place_tags
from digitboard.board.words import LANGUAGES, WORDS
from digitboard.common.errors import UserError
from digitboard.common.paths import DEMO_DIR, ROOT
from digitboard.read.image import normalize_digit
from digitboard.read.ink import find_digits
from digitboard.board.reader import exchange_with_reader, start_reader, stop_reader
from digitboard.read.reading import Reading
from digitboard.read.recognizer import Recognizer
from digitboard.data.pen import draw_strokes, PenDigit, read_drawing, read_strokes

from conftest import stand_in, tight_number


pytestmark = pytest.mark.usefixtures("headless")


class FakeRecognizer:
    """Reads every mark on the canvas as `digit`, or raises when `fail` is set; keeps each
    canvas and the strokes it was given in `canvases` and `strokes`. `not_digits` are the
    places (left to right) of marks it reads as no digit, as an 11-class model would."""

    device = "CPU (fake)"

    def __init__(self, digit: int = 7, confidence: float = 0.9, fail: bool = False, not_digits=()):
        self.digit, self.confidence, self.fail, self.not_digits = digit, confidence, fail, set(not_digits)
        self.canvases, self.strokes = [], []

    def read_marks(self, canvas, strokes=None):
        self.canvases.append(canvas)
        self.strokes.append(strokes)
        if self.fail:
            raise RuntimeError("the model fell over")
        readings = []
        for place, blob in enumerate(find_digits(canvas)):
            x0, y0, x1, y1 = blob.box
            probs = np.full(11, (1 - self.confidence) / 10, np.float32)
            best = 10 if place in self.not_digits else self.digit
            probs[best] = self.confidence
            readings.append(Reading.of(probs, (x0, y0, x1 - x0, y1 - y0), normalize_digit(blob.ink)))
        return readings

    def read(self, canvas, strokes=None):
        return [r for r in self.read_marks(canvas, strokes) if r.digit is not None]


@pytest.fixture(scope="module")
def reader():
    """A real Recognizer around conftest's stand-in model (TemplateReader), for the tests that
    need the strokes grouped into digits as read() groups them."""
    return stand_in()


def draw_line(board_: Board, start, end, steps: int = 8) -> None:
    """One stroke from start to end, as a few motion events."""
    points = np.linspace(start, end, steps)
    pen_down(board_, tuple(points[0]))
    for point in points[1:]:
        pen_move(board_, tuple(point))
    pen_up(board_)


def two_digit_board() -> Board:
    board_ = new_board((400, 300))
    draw_line(board_, (80, 60), (80, 240))        # a "1"
    draw_line(board_, (250, 60), (320, 60))       # a "7": bar …
    draw_line(board_, (320, 60), (270, 240))      # … and stem
    return board_


def demo_digits(count: int = 3) -> list[PenDigit]:
    return load_demo_digits(DEMO_DIR)[:count]


# ---------------------------------------------------------------- ink, undo, clear

class TestInk:
    def test_a_fast_mouse_leaves_a_gap_free_line(self):
        board_ = new_board((400, 300))
        pen_down(board_, (20, 150))
        pen_move(board_, (380, 150))  # one motion event across the whole canvas
        assert (board_.canvas[150, 20:381] > 200).all()
        assert board_.strokes == [[(20.0, 150.0), (380.0, 150.0)]]

    def test_ink_is_drawn_like_pen_data(self):
        board_ = two_digit_board()
        expected = draw_strokes([np.asarray(s) for s in board_.strokes],
                                np.zeros_like(board_.canvas), board_.brush)
        np.testing.assert_array_equal(board_.canvas, expected)

    def test_motion_without_the_pen_down_draws_nothing(self):
        board_ = new_board((400, 300))
        pen_move(board_, (100, 100))
        assert not board_.canvas.any() and board_.ink_version == 0

    def test_undo_takes_back_the_last_stroke(self):
        board_ = two_digit_board()
        first_two = [np.asarray(s) for s in board_.strokes[:2]]
        version = board_.ink_version
        undo(board_)
        assert len(board_.strokes) == 2 and board_.ink_version > version
        np.testing.assert_array_equal(
            board_.canvas, draw_strokes(first_two, np.zeros_like(board_.canvas), board_.brush))
        undo(board_), undo(board_), undo(board_)  # more undos than strokes are harmless
        assert not board_.canvas.any()

    def test_clear_wipes_ink_and_readings_and_drops_late_reads(self):
        board_ = two_digit_board()
        read_submitted(board_, now=0.0)
        stale_version = board_.ink_version
        canvas = board_.canvas
        clear(board_)
        assert not board_.canvas.any() and board_.canvas is canvas  # the view keeps this array
        receive_reading(board_, stale_version, FakeRecognizer().read_marks(np.full((9, 9), 255, np.uint8)), 1.0)
        assert board_.readings == [] and not board_.read_in_flight

    def test_resize_keeps_the_drawing_in_view(self):
        board_ = two_digit_board()
        resize(board_, (200, 150))
        assert board_.size == (200, 150) and board_.canvas.shape == (150, 200)
        assert len(find_digits(board_.canvas)) == 2


# ---------------------------------------------------------------- readings

class TestReadings:
    def test_number_and_question_marks(self):
        probs = np.full(10, 0.1)
        readings = [Reading(4, 0.99, (0, 0, 1, 1), probs, None), Reading(1, 0.3, (5, 0, 1, 1), probs, None),
                    Reading(7, 0.8, (9, 0, 1, 1), probs, None)]
        assert number_text(readings) == "4 ? 7"

    def test_focus_is_the_digit_under_the_newest_ink(self):
        board_ = two_digit_board()
        board_.readings = FakeRecognizer().read(board_.canvas)
        assert focus_reading(board_) is board_.readings[1]  # the 7's stem came last
        undo(board_), undo(board_)
        assert focus_reading(board_) is board_.readings[0]

    def test_the_reader_thread_reads_each_change_once(self):
        def exchange_until_settled():
            deadline = time.monotonic() + 10
            while not settled(board_) and time.monotonic() < deadline:
                exchange_with_reader(board_, reader, time.monotonic())
                time.sleep(0.01)
            assert settled(board_)

        board_ = two_digit_board()  # three strokes, drawn before the model is there
        recognizer = FakeRecognizer()
        reader = start_reader(lambda: recognizer)
        try:
            exchange_until_settled()
            assert len(recognizer.canvases) == 1  # the ink as it is now, once
            assert [r.digit for r in board_.readings] == [7, 7]
            for _ in range(10):  # frames go by, the ink stays: nothing to read
                exchange_with_reader(board_, reader, time.monotonic())
                time.sleep(0.01)
            assert len(recognizer.canvases) == 1
            draw_line(board_, (150, 100), (150, 200))  # two changes between two frames:
            draw_line(board_, (180, 100), (180, 200))  # one read, of both
            exchange_until_settled()
            assert len(recognizer.canvases) == 2
            np.testing.assert_array_equal(recognizer.canvases[-1], board_.canvas)
            assert recognizer.canvases[-1] is not board_.canvas  # a copy: the loop draws on
            sent = recognizer.strokes[-1]  # the strokes travel with the canvas, in drawing order
            assert len(sent) == 5 and all(s.shape == (8, 2) for s in sent)
            np.testing.assert_array_equal(sent[-1], np.array(board_.strokes[-1]))
        finally:
            stop_reader(reader)
        assert board_.model_state == "ready" and board_.device == "CPU (fake)"

    def test_a_failing_read_is_a_banner_and_the_board_goes_on(self):
        board_ = two_digit_board()
        reader = start_reader(partial(FakeRecognizer, fail=True))
        try:
            deadline = time.monotonic() + 10
            while board_.banner is None and time.monotonic() < deadline:
                exchange_with_reader(board_, reader, time.monotonic())
                time.sleep(0.01)
            assert board_.banner.error and "reading failed" in board_.banner.text
            draw_line(board_, (150, 100), (150, 200))  # still drawing, still asking
            exchange_with_reader(board_, reader, time.monotonic() + 1)
            assert board_.read_in_flight
        finally:
            stop_reader(reader)

    def test_a_missing_model_is_said_plainly(self, tmp_path):
        def load():
            raise UserError(f"no model at {tmp_path / 'none.keras'}: train one with `python train.py`")

        board_ = new_board((400, 300))
        reader = start_reader(load)  # its thread lives on after the failed load: wait for the news, not for it
        deadline = time.monotonic() + 5
        while board_.model_state == "loading" and time.monotonic() < deadline:
            exchange_with_reader(board_, reader, 0.0)
            time.sleep(0.01)
        assert board_.model_state == "failed" and "python train.py" in board_.model_message
        assert settled(board_)


# ---------------------------------------------------------------- label and save

def read_board(board_: Board, recognizer) -> Board:
    """The board as the loop leaves it once the reader has read its ink with `recognizer`."""
    model_ready(board_, getattr(recognizer, "device", ""))
    read_submitted(board_, 0.0)
    receive_reading(board_, board_.ink_version,
                    recognizer.read_marks(board_.canvas, strokes=stroke_arrays(board_)), 1.0)
    return board_


def saved_files(folder: Path) -> list[str]:
    return sorted(p.relative_to(folder).as_posix() for p in folder.rglob("*") if p.is_file())


def press(board_: Board, k: int, unicode: str = "", drawn_dir: Path = Path("unused")):
    """Key `k` pressed, as the loop routes it."""
    event = pygame.event.Event(pygame.KEYDOWN, key=k, mod=0, unicode=unicode)
    return board.handle_event(board_, event, layout_for(board_.size), 0.0, drawn_dir)


class TestLabelAndSave:
    def test_one_digit_is_saved_at_once_for_train_py(self, tmp_path, reader):
        board_ = new_board((400, 300))
        draw_line(board_, (200, 50), (200, 250))
        strokes = [list(s) for s in board_.strokes]
        written = type_label(read_board(board_, reader), 1, tmp_path, now=0.0, stamp="s1")
        assert sorted(p.relative_to(tmp_path).as_posix() for p in written) == \
            ["1/s1.png", "1/s1/canvas.png", "1/s1/strokes.json"]
        image = cv2.imread(str(tmp_path / "1" / "s1.png"), cv2.IMREAD_UNCHANGED)
        assert image.shape == (28, 28) and image.max() > 200
        assert cv2.imread(str(tmp_path / "1" / "s1" / "canvas.png"), cv2.IMREAD_UNCHANGED).shape == (300, 400)
        [saved] = read_strokes(tmp_path / "1" / "s1" / "strokes.json")
        assert saved.label == "1" and np.allclose(saved.strokes[0], strokes[0], atol=0.05)
        # only the 28×28 input sits directly in the class folder, where the loader looks
        assert [p.name for p in (tmp_path / "1").iterdir() if p.is_file()] == ["s1.png"]
        assert not board_.has_ink and not board_.banner.error

    def test_a_number_is_labelled_digit_by_digit_each_with_its_own_strokes(self, tmp_path, reader):
        board_ = read_board(two_digit_board(), reader)
        assert len(board_.readings) == 2
        one, seven = ([board_.strokes[i] for i in r.strokes] for r in board_.readings)
        assert type_label(board_, 1, tmp_path, now=0.0, stamp="s2") == []
        assert saved_files(tmp_path) == [] and "label 1 _" in board_.banner.text
        type_label(board_, 7, tmp_path, now=0.1, stamp="s2")
        assert saved_files(tmp_path) == ["1/s2-0.png", "1/s2-0/canvas.png", "1/s2-0/strokes.json",
                                         "7/s2-1.png", "7/s2-1/canvas.png", "7/s2-1/strokes.json"]
        for label, strokes in (("1", one), ("7", seven)):
            [digit] = read_strokes(tmp_path / label / f"s2-{int(label == '7')}" / "strokes.json")
            assert digit.label == label and len(digit.strokes) == len(strokes)
            for got, drawn in zip(digit.strokes, strokes):
                np.testing.assert_allclose(got, drawn, atol=0.05)
        seven_input = cv2.imread(str(tmp_path / "7" / "s2-1.png"), cv2.IMREAD_UNCHANGED)
        assert reader.classify(seven_input[None]).argmax() == 7  # the 7's own image, not the 1's
        assert not board_.has_ink and board_.banner.text.startswith("saved 1 7")

    def test_one_key_on_a_number_saves_nothing_and_esc_cancels(self, tmp_path, reader):
        board_ = read_board(two_digit_board(), reader)
        press(board_, pygame.K_7, "7", tmp_path)
        assert board_.typed == "7" and saved_files(tmp_path) == []
        assert press(board_, pygame.K_ESCAPE) is None  # cancels the label; does not quit
        assert board_.typed == "" and "cancelled" in board_.banner.text and board_.has_ink
        press(board_, pygame.K_1, "1", tmp_path)
        press(board_, pygame.K_RETURN, "\r")
        assert "1 of 2 digits typed" in board_.banner.text and saved_files(tmp_path) == []

    def test_changing_the_drawing_cancels_the_label(self, tmp_path, reader):
        board_ = read_board(two_digit_board(), reader)
        type_label(board_, 1, tmp_path, now=0.0)
        draw_line(board_, (150, 100), (150, 200))
        check_label(board_, 0.1)
        assert board_.typed == "" and "the drawing changed" in board_.banner.text
        assert saved_files(tmp_path) == []

    def test_nothing_to_save(self, tmp_path):
        board_ = new_board((400, 300))
        assert type_label(board_, 3, tmp_path, now=0.0) == []
        assert not any(tmp_path.iterdir()) and "draw a digit first" in board_.banner.text

    def test_nothing_is_saved_before_the_reading(self, tmp_path):
        board_ = two_digit_board()  # the model is still loading
        assert type_label(board_, 3, tmp_path, now=0.0) == []
        assert not any(tmp_path.iterdir()) and "wait for the reading" in board_.banner.text

    def test_a_kiosk_labels_nothing_unless_allowed(self, tmp_path, reader):
        board_ = read_board(two_digit_board(), reader)
        board_.teach_allowed = False
        for digit in (1, 7):
            type_label(board_, digit, tmp_path, now=0.0)
        assert saved_files(tmp_path) == [] and board_.banner is None  # visitors: nothing happens, nothing said

    @pytest.mark.skipif(os.name != "posix" or os.geteuid() == 0, reason="root writes anywhere")
    def test_a_read_only_folder_is_a_banner(self, tmp_path, reader):
        tmp_path.chmod(0o500)
        try:
            board_ = new_board((400, 300))
            draw_line(board_, (200, 50), (200, 250))
            assert type_label(read_board(board_, reader), 1, tmp_path / "drawn", now=0.0) == []
        finally:
            tmp_path.chmod(0o700)
        assert board_.banner.error and "could not save" in board_.banner.text and board_.has_ink

    def test_a_read_only_disk_is_a_banner(self, tmp_path, monkeypatch, reader):
        def refuse(*args, **kwargs):
            raise OSError(errno.EROFS, os.strerror(errno.EROFS))

        monkeypatch.setattr(Path, "write_bytes", refuse)  # what a read-only mount does, even to root
        board_ = new_board((400, 300))
        draw_line(board_, (200, 50), (200, 250))
        assert type_label(read_board(board_, reader), 1, tmp_path, now=0.0) == []
        assert board_.banner.error and "Read-only file system" in board_.banner.text

    def test_an_unwritable_path_is_a_banner(self, tmp_path, reader):
        blocker = tmp_path / "drawn"
        blocker.write_text("a file where the folder should be")
        board_ = new_board((400, 300))
        draw_line(board_, (200, 50), (200, 250))
        assert type_label(read_board(board_, reader), 1, blocker, now=0.0) == []
        assert board_.banner.error and "could not save" in board_.banner.text
        assert board_.has_ink  # nothing lost: fix the disk and press the key again


# ---------------------------------------------------------------- kiosk

def kiosk_board(idle_seconds: float, attract_seconds: float | None = None, digits: int = 3, **kwargs) -> Board:
    """A kiosk whose model reads."""
    board_ = new_board((640, 400), now=0.0, kiosk=True, idle_seconds=idle_seconds, attract_seconds=attract_seconds,
                       demo_digits=demo_digits(digits) if digits else None, **kwargs)
    board_.model_state = "ready"
    return board_


class TestKiosk:
    def test_idle_clears_then_plays_demo_numbers(self):
        board_ = kiosk_board(idle_seconds=5, attract_seconds=12, seed=1)
        draw_line(board_, (100, 100), (100, 300))
        update_kiosk(board_, 4.9)
        assert board_.attract is None and board_.strokes[0][0] == (100.0, 100.0)
        update_kiosk(board_, 5.0)
        assert board_.attract is None and not board_.has_ink  # the first tier: the visitor's ink is gone
        update_kiosk(board_, 11.9)
        assert board_.attract is None and not board_.has_ink  # a quiet board in between
        update_kiosk(board_, 12.0)
        assert board_.attract is not None  # the second tier: the demo
        update_kiosk(board_, 12.3)
        written = sum(len(s) for s in board_.strokes)  # points the demo pen has reached
        whole = sum(len(s) for s in board_.attract.strokes)
        assert 0 < written < whole  # under way, not done
        update_kiosk(board_, 30.0)  # long enough to write the whole number
        assert sum(len(s) for s in board_.strokes) == whole and board_.attract.hold_until is not None
        assert len(find_digits(board_.canvas)) in (2, 3)
        first_number = [s.copy() for s in board_.attract.strokes]
        update_kiosk(board_, board_.attract.hold_until + 0.01)  # the next number starts
        assert board_.attract.hold_until is None
        assert len(board_.attract.strokes) != len(first_number) or not all(
            np.array_equal(a, b) for a, b in zip(board_.attract.strokes, first_number))

    def test_the_attract_loop_waits_three_idle_periods_by_default(self):
        board_ = kiosk_board(idle_seconds=5)
        update_kiosk(board_, 14.9)
        assert board_.attract is None
        update_kiosk(board_, 15.0)
        assert board_.attract is not None

    def test_the_attract_loop_waits_for_the_model(self):
        board_ = kiosk_board(idle_seconds=1, attract_seconds=2)
        board_.model_state = "loading"
        update_kiosk(board_, 10.0)
        assert board_.attract is None and not board_.has_ink
        board_.model_state = "failed"  # nothing would read the demo: no demo
        update_kiosk(board_, 20.0)
        assert board_.attract is None
        board_.model_state = "ready"
        update_kiosk(board_, 20.1)
        assert board_.attract is not None

    def test_a_visitor_stops_the_demo(self):
        board_ = kiosk_board(idle_seconds=1, attract_seconds=1)
        update_kiosk(board_, 1.0), update_kiosk(board_, 1.5)
        assert board_.has_ink
        note_input(board_, 2.0)
        assert board_.attract is None and not board_.canvas.any()
        update_kiosk(board_, 2.5)
        assert board_.attract is None

    def test_without_demo_digits_idle_only_clears(self):
        board_ = kiosk_board(idle_seconds=2, digits=0)
        draw_line(board_, (100, 100), (100, 300))
        update_kiosk(board_, 2.5)
        assert not board_.has_ink and board_.attract is None

    def test_outside_a_kiosk_ink_stays(self):
        board_ = new_board((640, 400), now=0.0, idle_seconds=1, demo_digits=demo_digits())
        draw_line(board_, (100, 100), (100, 300))
        update_kiosk(board_, 100.0)
        assert board_.has_ink and board_.attract is None

    def test_shipped_demo_digits(self):
        digits = load_demo_digits(DEMO_DIR)
        assert sorted({d.label for d in digits}) == list("0123456789")


# ---------------------------------------------------------------- events → state

def key(k, mod=0, unicode=""):
    return pygame.event.Event(pygame.KEYDOWN, key=k, mod=mod, unicode=unicode)


def mouse(kind, pos, button=1):
    if kind == "motion":
        return pygame.event.Event(pygame.MOUSEMOTION, pos=pos, rel=(0, 0), buttons=(button == 1, 0, 0))
    return pygame.event.Event({"down": pygame.MOUSEBUTTONDOWN, "up": pygame.MOUSEBUTTONUP}[kind],
                              pos=pos, button=button)


@pytest.fixture
def routed(tmp_path):
    """(a board, its 800x600 layout, send(*events, kiosk=False) → what handle_event returned for each)."""
    layout = layout_for((800, 600))
    board_ = new_board(layout.canvas.size)

    def send(*events, kiosk=False):
        board_.kiosk = kiosk
        return [board.handle_event(board_, e, layout, 1.0, tmp_path) for e in events]

    return board_, layout, send


class TestEvents:
    @pytest.fixture
    def setup(self, routed):
        board_, layout, send = routed

        def stroke(x):
            top = layout.canvas.y + 60
            send(mouse("down", (x, top)), mouse("motion", (x, top + 100)),
                 mouse("motion", (x + 5, top + 200)), mouse("up", (x + 5, top + 200)))

        return board_, layout, send, stroke

    def test_mouse_strokes_land_on_the_canvas(self, setup):
        board_, layout, send, stroke = setup
        stroke(200)
        assert len(board_.strokes) == 1 and not board_.pen_is_down
        assert board_.strokes[0][0] == (200.0, 60.0)  # canvas coordinates, below the header
        send(mouse("down", (200, layout.canvas.y - 10)))  # on the header: no stroke
        assert len(board_.strokes) == 1

    def test_keys_clear_undo_and_save(self, setup, tmp_path, reader):
        board_, layout, send, stroke = setup
        stroke(200), stroke(400)
        send(key(pygame.K_BACKSPACE))
        assert len(board_.strokes) == 1
        stroke(400)
        send(key(pygame.K_z, pygame.KMOD_LCTRL))
        assert len(board_.strokes) == 1
        read_board(board_, reader)
        send(key(pygame.K_4, unicode="4"))
        assert len(list((tmp_path / "4").glob("*.png"))) == 1 and not board_.has_ink
        stroke(300)
        send(key(pygame.K_n, unicode="n"))
        assert not board_.has_ink
        stroke(300)
        send(mouse("down", (300, 300), button=3))
        assert not board_.has_ink

    def test_help_screenshot_fullscreen_and_quit(self, setup):
        board_, layout, send, stroke = setup
        assert send(key(pygame.K_h, unicode="h")) == [None] and board_.show_help
        assert send(key(pygame.K_ESCAPE)) == [None] and not board_.show_help  # Esc closes help first
        assert send(key(pygame.K_s, unicode="s")) == ["screenshot"]
        assert send(key(pygame.K_f, unicode="f")) == ["fullscreen"]
        assert send(key(pygame.K_ESCAPE)) == ["quit"]
        assert send(key(pygame.K_q, unicode="q")) == ["quit"]
        assert send(pygame.event.Event(pygame.QUIT)) == ["quit"]

    def test_teach_and_model_keys(self, setup):
        board_, layout, send, stroke = setup
        assert send(key(pygame.K_t, unicode="t")) == ["teach"] and board_.teaching
        assert send(key(pygame.K_t, unicode="t")) == [None] and "already teaching" in board_.banner.text
        assert send(key(pygame.K_m, unicode="m")) == ["switch model"]
        switch_model(board_, 1.0, personal_exists=True)
        assert board_.wanted_model is None and "still loading" in board_.banner.text
        board_.model_state = "ready"
        switch_model(board_, 1.0, personal_exists=False)
        assert board_.wanted_model is None and "no personal model yet" in board_.banner.text
        switch_model(board_, 1.0, personal_exists=True)  # answered at once; the old model reads on
        assert board_.wanted_model == "personal" and board_.model_state == "switching"
        assert "loading the personal model" in board_.banner.text and want_read(board_, 2.0)  # reads go on
        switch_model(board_, 1.1, personal_exists=True)  # a second press does not race the first
        assert board_.wanted_model == "personal" and "still loading" in board_.banner.text

    def test_a_kiosk_neither_labels_nor_teaches_unless_allowed(self, setup):
        board_, layout, send, stroke = setup
        board_.teach_allowed = False
        assert send(key(pygame.K_t, unicode="t"), kiosk=True) == [None] and not board_.teaching
        assert board_.banner is None

    def test_a_kiosk_quits_only_on_ctrl_shift_q(self, setup):
        board_, layout, send, stroke = setup
        strays = [key(pygame.K_ESCAPE), key(pygame.K_q, unicode="q"), key(pygame.K_f, unicode="f"),
                  pygame.event.Event(pygame.QUIT)]
        assert send(*strays, kiosk=True) == [None] * 4
        assert send(key(pygame.K_q, pygame.KMOD_LCTRL | pygame.KMOD_LSHIFT), kiosk=True) == ["quit"]


# ---------------------------------------------------------------- the whole board, headless

class TestRunBoard:
    def test_injected_mouse_events_are_read_as_a_number(self, tmp_path):
        snapshot = tmp_path / "board.png"
        state, timings = board.run_board(
            BoardOptions(FakeRecognizer, "fake", (640, 480), fps=240, snapshot=snapshot, max_seconds=30),
            on_frame=board.replay_number(demo_digits(3)))
        assert number_text(state.readings) == "7 7 7" and settled(state)
        assert cv2.imread(str(snapshot)).shape == (480, 640, 3)
        assert timings.summary()["frames"] > 10

    def test_a_kiosk_idles_into_the_attract_loop(self, tmp_path):
        state, _ = board.run_board(BoardOptions(FakeRecognizer, "fake", (640, 480), fps=120, kiosk=True,
                                                idle_seconds=0.2, attract_seconds=0.3,
                                                demo_digits=tuple(demo_digits(10)), max_seconds=0.8))
        assert state.attract is not None and state.has_ink  # a demo number is being written

    def test_a_missing_model_still_opens_the_board(self, tmp_path):
        def load():
            raise UserError("no model at models/best.keras: train one with `python train.py`")

        snapshot = tmp_path / "board.png"
        state, _ = board.run_board(BoardOptions(load, "best.keras", (640, 480), fps=240,
                                                snapshot=snapshot, max_seconds=30),
                                   on_frame=board.replay_number(demo_digits(1)))
        assert state.model_state == "failed" and state.has_ink and snapshot.is_file()

    def test_a_frame_hook_sees_every_frame_and_can_end_the_run(self):
        frames = []

        def three_frames(board_, layout):
            frames.append((board_.model_state, layout.canvas.size))
            return len(frames) < 3

        state, timings = board.run_board(BoardOptions(FakeRecognizer, window_size=(640, 480), fps=240,
                                                      max_seconds=30), on_frame=three_frames)
        assert len(frames) == 3 and frames[0][1] == layout_for((640, 480)).canvas.size
        assert state.running  # ended by the hook, not by a quit


class TestDisplay:
    def test_without_a_display_the_board_says_so_instead_of_running_unseen(self, tmp_path):
        # As a user would start it: no SDL_VIDEODRIVER (the tests set one), no display.
        environment = {name: value for name, value in os.environ.items()
                       if name not in ("SDL_VIDEODRIVER", "DISPLAY", "WAYLAND_DISPLAY")}
        started = subprocess.run([sys.executable, str(ROOT / "board.py"), "--model",
                                  str(tmp_path / "none.keras")], env=environment, cwd=tmp_path,
                                 capture_output=True, text=True, timeout=120)
        assert started.returncode == 2, started.stderr
        assert started.stdout == ""
        assert started.stderr == ("Error: no display to open the board on (DISPLAY is not set); "
                                  "for a headless run set SDL_VIDEODRIVER=dummy\n")

    def test_a_headless_run_asked_for_is_no_error(self):
        for driver in board.HEADLESS_DRIVERS:
            board.check_display(driver, headless=True, environ={})             # --replay
            board.check_display(driver, headless=False, environ={"SDL_VIDEODRIVER": driver})
        board.check_display("x11", headless=False, environ={"DISPLAY": ":0"})  # a real display

    def test_a_display_sdl_cannot_open_is_named(self):
        with pytest.raises(UserError, match=r"no display to open the board on \(SDL could not open "
                                            r"DISPLAY=:99\); for a headless run set SDL_VIDEODRIVER=dummy"):
            board.check_display("offscreen", headless=False, environ={"DISPLAY": ":99"})


    def test_a_saved_drawing_replays_where_it_was_drawn(self, tmp_path):
        recognizer = FakeRecognizer()
        digits, drawn_on = read_drawing(tight_number(tmp_path / "417.json"))
        state, _ = board.run_board(BoardOptions(lambda: recognizer, "fake", (640, 480), fps=240, max_seconds=30),
                                   on_frame=board.replay_number(digits, drawn_on))
        width, height = state.size  # 640 × (480 less the header and status bar)
        scale = min(width / 800, height / 600)
        expected = [s * scale + ((width - 800 * scale) / 2, (height - 600 * scale) / 2)
                    for d in digits for s in d.strokes]
        assert len(state.strokes) == len(expected) == 4
        for drawn, stroke in zip(state.strokes, expected):  # mouse events land on whole pixels
            np.testing.assert_allclose(np.array(drawn)[[0, -1]], stroke[[0, -1]], atol=1)
        assert len(recognizer.strokes[-1]) == 4

    def test_points_off_the_canvas_stay_on_its_edge(self):
        board_ = new_board((400, 300))
        pen_down(board_, (390.0, 100.0))
        pen_move(board_, (460.0, -30.0))  # the mouse left the canvas while drawing
        assert board_.strokes[-1] == [(390.0, 100.0), (399.0, 0.0)]


def test_tags_of_digits_that_touch_do_not_hide_each_other():
    boxes = [pygame.Rect(100, 200, 60, 200), pygame.Rect(130, 210, 80, 190), pygame.Rect(200, 200, 80, 200)]
    canvas = pygame.Rect(0, 100, 800, 500)
    tags = place_tags(boxes, [(70, 30)] * 3, canvas)
    assert all(tag.bottom <= box.top for tag, box in zip(tags, boxes))  # above their boxes
    assert all(a.collidelist([b for b in tags if b is not a]) == -1 for a in tags)
    near_top = place_tags([pygame.Rect(100, 110, 60, 200), pygame.Rect(120, 110, 60, 200)], [(70, 30)] * 2, canvas)
    assert all(tag.top >= 310 for tag in near_top) and not near_top[0].colliderect(near_top[1])  # below, apart


# ---------------------------------------------------------------- touch and buttons

def finger(kind: str, pos, layout, finger_id: int = 0, touch_id: int = 1):
    """A FINGER event at window position `pos`, normalised as SDL gives it."""
    x, y = pos[0] / layout.window.width, pos[1] / layout.window.height
    return pygame.event.Event({"down": pygame.FINGERDOWN, "motion": pygame.FINGERMOTION, "up": pygame.FINGERUP}[kind],
                              touch_id=touch_id, finger_id=finger_id, x=x, y=y, dx=0.0, dy=0.0, pressure=1.0)


def finger_stroke(layout, points, finger_id: int = 0, with_mouse_copies: bool = False) -> list:
    """The events of one finger stroke through `points` (window pixels); with the mouse events
    SDL's touch-to-mouse emulation adds (marked `touch`), when asked, each just before the
    finger event it copies, as SDL sends them."""
    events = [finger("down", points[0], layout, finger_id)] + \
        [finger("motion", p, layout, finger_id) for p in points[1:]] + [finger("up", points[-1], layout, finger_id)]
    if not with_mouse_copies:
        return events
    copies = [pygame.event.Event(pygame.MOUSEBUTTONDOWN, pos=points[0], button=1, touch=True)] + \
        [pygame.event.Event(pygame.MOUSEMOTION, pos=p, rel=(0, 0), buttons=(1, 0, 0), touch=True) for p in points[1:]] + \
        [pygame.event.Event(pygame.MOUSEBUTTONUP, pos=points[-1], button=1, touch=True)]
    return [e for pair in zip(copies, events) for e in pair]


class TestTouchAndButtons:
    @pytest.fixture
    def setup(self, routed):
        return routed

    def line(self, layout, x):
        top = layout.canvas.y + 40
        return [(x, top), (x, top + 80), (x + 5, top + 160)]

    def test_a_finger_draws_a_stroke_where_it_touches(self, setup):
        board_, layout, send = setup
        send(*finger_stroke(layout, self.line(layout, 200)))
        assert len(board_.strokes) == 1 and not board_.pen_is_down and board_.finger is None
        np.testing.assert_allclose(board_.strokes[0][0], (200, 40), atol=0.01)  # canvas coordinates
        np.testing.assert_allclose(board_.strokes[0][-1], (205, 200), atol=0.01)

    def test_the_mouse_copies_of_a_touch_draw_nothing_more(self, setup):
        board_, layout, send = setup
        send(*finger_stroke(layout, self.line(layout, 200), with_mouse_copies=True))
        assert len(board_.strokes) == 1 and len(board_.strokes[0]) == 3

    def test_a_second_finger_is_ignored_while_one_draws(self, setup):
        board_, layout, send = setup
        first, second = self.line(layout, 200), self.line(layout, 500)
        send(finger("down", first[0], layout, 0), finger("down", second[0], layout, 1),
             finger("motion", first[1], layout, 0), finger("motion", second[1], layout, 1),
             finger("up", second[1], layout, 1), finger("motion", first[2], layout, 0),
             finger("up", first[2], layout, 0))
        assert len(board_.strokes) == 1 and len(board_.strokes[0]) == 3
        assert all(x < 300 for x, _ in board_.strokes[0])

    def test_the_mouse_waits_while_a_finger_draws(self, setup):
        board_, layout, send = setup
        points = self.line(layout, 200)
        send(finger("down", points[0], layout), mouse("down", (500, 300)), mouse("motion", (520, 320)),
             mouse("up", (520, 320)), finger("up", points[1], layout))
        assert len(board_.strokes) == 1 and board_.strokes[0][-1][0] < 300

    def test_the_buttons_are_large_at_the_bottom_left_and_scale(self):
        for size, kiosk in [((320, 240), False), ((800, 600), False), ((1024, 720), False),
                            ((1280, 800), True), ((1920, 1080), True)]:
            layout = layout_for(size, kiosk)
            rects = [layout.buttons[name] for name in ("clear", "undo", "inside")]
            for rect in rects:
                assert rect.width >= 48 and rect.height >= 48  # 12 mm at 96 dpi
                assert layout.window.contains(rect) and layout.button_bar.contains(rect)
                assert not rect.colliderect(layout.canvas) and not rect.colliderect(layout.header)
            assert rects[0].left < rects[1].left < rects[2].left <= size[0] / 2 + rects[2].width  # left-aligned
            assert layout.button_bar.top >= layout.canvas.bottom  # below the canvas, far from the reading
            assert layout.status is None or layout.status.top >= layout.button_bar.bottom
        assert layout_for((1920, 1080), True).buttons["clear"].height > layout_for((800, 600)).buttons["clear"].height

    def test_buttons_clear_and_undo_with_the_mouse_and_a_finger(self, setup):
        board_, layout, send = setup
        for x in (200, 300, 400):
            send(*finger_stroke(layout, self.line(layout, x)))
        send(mouse("down", layout.buttons["undo"].center), mouse("up", layout.buttons["undo"].center))
        assert len(board_.strokes) == 2
        send(finger("down", layout.buttons["undo"].center, layout), finger("up", layout.buttons["undo"].center, layout))
        assert len(board_.strokes) == 1
        send(finger("down", layout.buttons["clear"].center, layout), finger("up", layout.buttons["clear"].center, layout))
        assert not board_.has_ink
        send(*finger_stroke(layout, self.line(layout, 200)))
        send(mouse("down", layout.buttons["clear"].center), mouse("up", layout.buttons["clear"].center))
        assert not board_.has_ink

    def test_a_tap_on_a_button_never_draws(self, setup):
        board_, layout, send = setup
        button = layout.buttons["inside"]
        into_canvas = (button.centerx, layout.canvas.centery)  # the finger slides up onto the canvas
        send(finger("down", button.center, layout), finger("motion", into_canvas, layout),
             finger("up", into_canvas, layout))
        send(mouse("down", button.center), mouse("motion", into_canvas), mouse("up", into_canvas))
        assert not board_.has_ink and not board_.canvas.any()
        assert board_.show_inside is False  # toggled twice: on by the finger, off by the mouse

    def test_look_inside_is_a_button_and_v(self, setup):
        board_, layout, send = setup
        send(mouse("down", layout.buttons["inside"].center))
        assert board_.show_inside
        send(key(pygame.K_v, unicode="v"), kiosk=True)  # a visitor may
        assert not board_.show_inside

    def test_fingers_draw_in_a_headless_run(self):
        """FINGER events posted to SDL's queue, with the mouse copies SDL would add, as a
        touchscreen gives them: each stroke drawn once, and read."""
        def strokes(layout):
            for share in (0.2, 0.5, 0.8):  # Look inside is on: its panel narrows the canvas
                x = layout.canvas.x + round(share * layout.canvas.width)
                points = [(x, layout.canvas.y + 60 + 20 * i) for i in range(10)]
                for event in finger_stroke(layout, points, with_mouse_copies=True):
                    yield [event]

        state, _ = board.run_board(BoardOptions(FakeRecognizer, "fake", (640, 480), fps=240, max_seconds=30,
                                                language="de", inside=True),
                                   on_frame=board.scripted(strokes))
        assert len(state.strokes) == 3 and all(len(s) == 10 for s in state.strokes)
        assert number_text(state.readings) == "7 7 7" and state.show_inside and state.language == "de"
        assert os.environ["SDL_TOUCH_MOUSE_EVENTS"] == "0"  # SDL is asked not to make those copies at all


# ---------------------------------------------------------------- the kiosk is closed to visitors

class TestClosedKiosk:
    def test_keys_that_are_off_change_nothing_and_say_nothing(self, tmp_path, capfd):
        layout = layout_for((800, 600), kiosk=True)
        board_ = read_board(two_digit_board(), FakeRecognizer())
        board_.kiosk, board_.teach_allowed = True, False
        before = (len(board_.strokes), board_.ink_version, board_.show_help, board_.show_inside, board_.typed,
                  board_.model_kind, board_.model_state, board_.wanted_model, board_.teaching)
        off = [key(pygame.K_t, unicode="t"), key(pygame.K_m, unicode="m"), key(pygame.K_s, unicode="s"),
               key(pygame.K_f, unicode="f"), key(pygame.K_RETURN, unicode="\r"), key(pygame.K_ESCAPE),
               key(pygame.K_q, unicode="q"), pygame.event.Event(pygame.QUIT)] + \
            [key(pygame.K_0 + d, unicode=str(d)) for d in range(10)]
        actions = [board.handle_event(board_, e, layout, 1.0, tmp_path) for e in off]
        assert actions == [None] * len(off)  # nothing for the loop to do: no screenshot, no teach, no quit
        assert (len(board_.strokes), board_.ink_version, board_.show_help, board_.show_inside, board_.typed,
                board_.model_kind, board_.model_state, board_.wanted_model, board_.teaching) == before
        assert board_.banner is None and board_.operator_log == [] and not any(tmp_path.iterdir())
        assert capfd.readouterr() == ("", "")

    def test_help_lists_what_a_visitor_can_do_and_nothing_else(self):
        board_ = new_board((800, 600), kiosk=True)
        board_.teach_allowed = False
        lines = view.help_lines(board_)
        assert [action for action, _ in lines] == ["write a number", "start again", "take back a stroke",
                                                   "see what the network sees"]
        assert [how for _, how in lines][1:] == ["Clear", "Undo", "Look inside"]  # the buttons, by name
        shown = " ".join(a + " " + k for a, k in lines)
        for operator in ("Ctrl", "Esc", "quit", "teach", "screenshot", "label", "fullscreen", "model"):
            assert operator not in shown
        operator_lines = " ".join(a + " " + k for a, k in view.help_lines(new_board((800, 600))))
        assert "Esc or Q" in operator_lines and "look inside the network V" in operator_lines

    def test_a_broken_model_is_plain_words_on_screen_and_details_in_the_log(self, tmp_path, capfd):
        def load():
            raise UserError(f"not a Keras model: {tmp_path / 'notes.txt'}: neither a .keras (zip) nor an .h5 file")

        shown = []
        state, _ = board.run_board(BoardOptions(load, "notes.txt", (640, 480), fps=240, kiosk=True, max_seconds=1.0),
                                   on_frame=lambda b, layout: (shown.extend(rendered_texts(b, layout)), True)[1])
        assert state.model_state == "failed"
        assert "the reader is not working" in shown
        assert not any(str(tmp_path) in text or "--" in text or ".keras" in text or "train" in text for text in shown)
        err = capfd.readouterr().err
        assert err.count("\n") == 1 and f"digitboard: no model: not a Keras model: {tmp_path / 'notes.txt'}" in err

    def test_kiosk_banners_show_no_paths(self, tmp_path):
        board_ = new_board((400, 300), kiosk=True)
        board.handle_event(board_, key(pygame.K_s, unicode="s"), layout_for((400, 300), True), 1.0, tmp_path)
        reading_failed(board_, "ValueError: /some/where/model.keras is broken", 1.0)
        assert board_.banner.text == "that could not be read: keep drawing"
        assert board_.operator_log == ["reading failed: ValueError: /some/where/model.keras is broken"]


def rendered_texts(board_: Board, layout) -> list[str]:
    """Every piece of text `view.draw` renders for this board."""
    texts = []
    original = view._text

    def recording(text, size, colour):
        texts.append(text)
        return original(text, size, colour)

    view._text = recording
    try:
        view.draw(pygame.Surface(layout.window.size), board_, layout)
    finally:
        view._text = original
    return texts


# ---------------------------------------------------------------- languages

class TestLanguages:
    def test_every_language_has_every_message_with_the_same_fields(self):
        def fields(text):
            return sorted(name for _, name, _, _ in string.Formatter().parse(text) if name)

        english = WORDS["en"]
        assert set(WORDS) == set(LANGUAGES) == {"en", "de", "fr", "es"}
        for language, table in WORDS.items():
            assert table.keys() == english.keys(), language
            for message, text in table.items():
                assert fields(text) == fields(english[message]), (language, message)
                assert text.strip() == text and text, (language, message)

    def test_german_on_screen(self):
        pygame.font.init()
        layout = layout_for((800, 600))
        board_ = new_board(layout.canvas.size, language="de")
        texts = rendered_texts(board_, layout)
        assert {"Modell wird geladen…", "Schreib hier Ziffern", "Löschen", "Rückgängig", "Hineinschauen"} <= set(texts)
        board_.model_state, board_.kiosk, board_.show_help = "ready", True, True
        texts = rendered_texts(board_, layout)
        assert {"Schreib eine Zahl", "eine Zahl schreiben", "neu anfangen", "mit dem Finger"} <= set(texts)
        assert not any(text in WORDS["en"].values() for text in texts)

    def test_german_banners_and_tags(self, tmp_path):
        pygame.font.init()
        board_ = read_board(two_digit_board(), FakeRecognizer(not_digits={0}))
        board_.language = "de"
        type_label(board_, 3, tmp_path / "drawn", now=0.0, stamp="s")
        assert board_.banner.text == "gespeichert: 3 in drawn/3/"
        board_ = read_board(two_digit_board(), FakeRecognizer(not_digits={0}))
        board_.language = "de"
        texts = rendered_texts(board_, layout_for(board_.size))
        assert "keine Ziffer" in texts and "7  90 %" in texts


# ---------------------------------------------------------------- marks that are not digits

class TestNotADigit:
    def mark_and_digit(self) -> Board:
        """A scribble the model reads as no digit (left), and a 7 (right), on the canvas of an
        800 × 600 window."""
        board_ = new_board(layout_for((800, 600)).canvas.size)
        draw_line(board_, (80, 60), (80, 240))
        draw_line(board_, (250, 60), (320, 60))
        draw_line(board_, (320, 60), (270, 240))
        return read_board(board_, FakeRecognizer(not_digits={0}))

    def test_a_mark_is_left_out_of_the_number_and_the_labels(self, tmp_path):
        board_ = self.mark_and_digit()
        assert [r.digit for r in board_.readings] == [None, 7]
        assert number_text(board_.readings) == "7"
        written = type_label(board_, 7, tmp_path, now=0.0, stamp="s")  # one key: the one digit
        assert saved_files(tmp_path) == ["7/s.png", "7/s/canvas.png", "7/s/strokes.json"] and written

    def test_focus_prefers_a_digit(self):
        board_ = self.mark_and_digit()
        draw_line(board_, (80, 100), (90, 200))  # the newest ink is in the mark
        assert focus_reading(board_).digit == 7
        only_marks = read_board(two_digit_board(), FakeRecognizer(not_digits={0, 1}))
        assert focus_reading(only_marks).digit is None and number_text(only_marks.readings) == ""

    def test_a_mark_is_drawn_grey_with_a_quiet_tag(self):
        pygame.font.init()
        board_ = self.mark_and_digit()
        layout = layout_for((800, 600))
        surface = pygame.Surface(layout.window.size)
        texts = rendered_texts(board_, layout)
        view.draw(surface, board_, layout)
        assert "not a digit" in texts and "7  90%" in texts
        mark_ink = surface.get_at((layout.canvas.x + 80, layout.canvas.y + 150))[:3]
        digit_ink = surface.get_at((layout.canvas.x + 295, layout.canvas.y + 150))[:3]
        assert digit_ink == view.INK and mark_ink == view.MARK_INK
        assert "? 7" not in texts and "7 7" not in texts  # the header shows the digit alone

    def test_only_marks_say_so_in_the_header(self):
        pygame.font.init()
        board_ = read_board(two_digit_board(), FakeRecognizer(not_digits={0, 1}))
        assert "no digit yet" in rendered_texts(board_, layout_for(board_.size))


# ---------------------------------------------------------------- what used to run off the screen

def fake_readings(boxes, digit=4, confidence=0.95):
    probs = np.full(10, (1 - confidence) / 9, np.float32)
    probs[digit] = confidence
    return [Reading(digit, confidence, box, probs, None, (i,)) for i, box in enumerate(boxes)]


class TestFits:
    def test_a_long_number_shrinks_and_stays_clear_of_the_bars(self):
        pygame.font.init()
        for count, language in [(9, "en"), (14, "de"), (40, "en")]:
            layout = layout_for((1280, 800), kiosk=True)
            board_ = new_board(layout.canvas.size, kiosk=True, language=language)
            board_.model_state = "ready"
            board_.readings = fake_readings([(20 + 30 * i, 100, 20, 60) for i in range(count)])
            board_.strokes = [[(30.0 + 30 * i, 130.0)] for i in range(count)]
            surface = pygame.Surface(layout.window.size)
            view.draw_header(surface, board_, layout)
            pixels = pygame.surfarray.array3d(surface)  # (w, h, 3)
            bars_left = layout.header.right - round(24 * layout.type_scale) - min(
                layout.header.width // 2, round(360 * layout.type_scale))
            text = np.all(pixels == view.TEXT, axis=2)[:, :layout.header.bottom]
            columns = np.flatnonzero(text.any(axis=1))
            number_columns = columns[columns < bars_left]
            assert len(number_columns) and number_columns.max() < bars_left - 10  # a gap before the bars

    def test_tags_stay_on_the_canvas(self):
        canvas = pygame.Rect(0, 100, 800, 500)
        filling = [pygame.Rect(-6, 94, 812, 512).clip(canvas)]  # a digit as large as the canvas
        [tag] = place_tags(filling, [(90, 30)], canvas)
        assert canvas.contains(tag)
        at_edges = [pygame.Rect(760, 300, 40, 200), pygame.Rect(0, 100, 40, 500), pygame.Rect(400, 560, 40, 40)]
        tags = place_tags(at_edges, [(90, 30)] * 3, canvas)
        assert all(canvas.contains(t) for t in tags)

    def test_a_digit_filling_the_canvas_keeps_its_tag_in_view(self):
        pygame.font.init()
        layout = layout_for((800, 600))
        board_ = new_board(layout.canvas.size)
        board_.model_state = "ready"
        w, h = board_.size
        board_.readings = fake_readings([(0, 0, w, h)])
        surface = pygame.Surface(layout.window.size)
        surface.fill((1, 2, 3))
        view.draw_boxes(surface, board_, layout)
        pixels = pygame.surfarray.array3d(surface)
        sure = np.all(pixels == view.SURE, axis=2)
        assert sure[:, layout.canvas.top:layout.canvas.bottom].sum() > 1000  # box and tag, inside
        assert not sure[:, :layout.canvas.top].any() and not sure[:, layout.canvas.bottom:].any()

    def test_a_long_error_wraps_at_a_readable_size(self):
        pygame.font.init()
        message = ("not a Keras model: /home/someone/a/rather/long/folder/name/that/goes/on/models/notes.txt: "
                   "neither a .keras (zip) nor an .h5 file")
        lines = view.fit_lines(message, 26, view.ERROR, 300, max_lines=3)
        assert 1 < len(lines) <= 3 and all(line.get_width() <= 300 for line in lines)
        assert all(line.get_height() >= view._font(20).get_height() for line in lines)  # not 8 px
        one = view.fit_lines(message, 26, view.ERROR, 300, max_lines=1)
        assert len(one) == 1 and one[0].get_width() <= 300

    def test_the_operators_board_shows_a_bad_model_file_in_plain_words(self, tmp_path):
        layout = layout_for((640, 480))
        board_ = new_board(layout.canvas.size)
        pygame.font.init()
        model_failed(board_, f"not a Keras model: {tmp_path / 'notes.txt'}: neither a .keras (zip) nor an .h5 file")
        texts = rendered_texts(board_, layout)
        assert "no model" in texts and any("not a Keras model" in t for t in texts)
        assert board_.operator_log == []  # the screen says it all

    def test_a_size_larger_than_the_screen_is_capped_with_a_note(self, monkeypatch, capfd):
        assert board.fit_to_screen((800, 600), (1280, 800)) == ((800, 600), None)
        size, note = board.fit_to_screen((5000, 5000), (1280, 800))
        assert size == (1280, 800)
        assert note == "--size 5000x5000 is larger than the screen (1280x800): the window is 1280x800"
        monkeypatch.setattr(board.pygame.display, "get_driver", lambda: "x11")  # as on a real screen
        state, _ = board.run_board(BoardOptions(FakeRecognizer, window_size=(5000, 5000), fps=240, max_seconds=0.2))
        desktop = (1024, 768)  # SDL's dummy screen
        assert capfd.readouterr().err == f"--size 5000x5000 is larger than the screen (1024x768): " \
                                         f"the window is 1024x768\n"
        assert state.size == layout_for(desktop).canvas.size

    def test_the_layout_follows_the_window_however_it_changed(self):
        sizes = []

        def resize_without_an_event(board_, layout):
            sizes.append(layout.window.size)
            if len(sizes) == 2:
                pygame.display.set_mode((700, 500))  # as fullscreen without a window manager may
            return len(sizes) < 4

        state, _ = board.run_board(BoardOptions(FakeRecognizer, window_size=(640, 480), fps=240, max_seconds=30),
                                   on_frame=resize_without_an_event)
        assert sizes[0] == (640, 480) and sizes[-1] == (700, 500)
        assert state.size == layout_for((700, 500)).canvas.size


class TestLookInside:
    def test_the_panel_shows_what_the_network_sees_of_the_digit_last_drawn(self, tiny_model):
        """A real model's feature maps, drawn beside the ink (a pixel check), the canvas
        narrowed to make room, and gone again when Look inside is switched off."""
        pen = [PenDigit("1", [np.array([[0.0, 0.0], [0.0, 100.0]])]),
               PenDigit("7", [np.array([[0.0, 0.0], [60, 0], [20, 100]])])]
        shots = []

        def keep(state, layout):
            if settled(state) and state.strokes and state.insides:
                shots.append((pygame.surfarray.array3d(pygame.display.get_surface()).swapaxes(0, 1), layout))
            return True

        hook = board.replay_number(pen)
        state, _ = board.run_board(BoardOptions(lambda: Recognizer.load(tiny_model), "tiny", (800, 600), inside=True,
                                                max_seconds=30, headless=True),
                                   on_frame=lambda s, l: keep(s, l) and hook(s, l))
        assert shots and len(state.insides) == len(state.readings)
        maps = state.insides[0]
        assert [m.ndim for m in maps[:-1]] == [3] * (len(maps) - 1) and maps[-1].shape == state.readings[0].probs.shape
        pixels, layout = shots[-1]
        panel = pixels[layout.inside.top:layout.inside.bottom, layout.inside.left:layout.inside.right]
        ramp = {tuple(c) for c in inside.colour(np.linspace(0, 1, 33)).reshape(-1, 3)}
        coloured = sum(tuple(p) in ramp for p in panel[::3, ::3].reshape(-1, 3))
        assert coloured > 200  # the input and the maps, in the ramp's colours
        assert layout.canvas.right <= layout.inside.left  # nothing drawn hides under the panel

    def test_switching_it_off_gives_the_canvas_its_width_back(self):
        board_ = new_board(layout_for((800, 600)).canvas.size)
        assert layout_for((800, 600), inside=True).canvas.width < layout_for((800, 600)).canvas.width
        board_.show_inside = True
        board_.submitted_version = 5
        toggle_inside(board_)
        assert not board_.show_inside and board_.submitted_version == -1  # read again, without the maps
