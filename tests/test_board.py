"""The board, headless: state updates, event routing, the reader thread, and board.py end to end.

Pygame runs on SDL's dummy video driver (set here), so no display is needed. Most tests use a
fake recognizer (no TensorFlow); the `--replay` tests use conftest's `tiny_model`.
"""

from __future__ import annotations

import errno
import json
import os
import subprocess
import sys
import time
from functools import partial
from pathlib import Path

import cv2
import numpy as np
import pygame
import pytest
from click.testing import CliRunner

from digitboard.board import loop as board
from digitboard.board.loop import BoardOptions
from digitboard.cli import board as board_command
from digitboard.board.state import (Board, check_label, clear, focus_reading, load_demo_digits, model_ready, new_board, note_input, number_text, pen_down, pen_move, pen_up, read_submitted, receive_reading, resize, settled, stroke_arrays, switch_model, type_label, undo, update_kiosk, want_read)
from digitboard.board.view import layout_for, place_tags
from digitboard.common.errors import UserError
from digitboard.common.paths import DEFAULT_MODEL, DEMO_DIR, ROOT
from digitboard.read.image import normalize_digit
from digitboard.read.ink import find_digits
from digitboard.board.reader import exchange_with_reader, start_reader, stop_reader
from digitboard.read.reading import Reading
from digitboard.data.pen import draw_strokes, PenDigit, read_drawing, read_strokes, stroke_json

from conftest import assert_one_line_error


@pytest.fixture(autouse=True)
def headless(monkeypatch):
    monkeypatch.setenv("SDL_VIDEODRIVER", "dummy")
    monkeypatch.setenv("SDL_AUDIODRIVER", "dummy")


class FakeRecognizer:
    """Reads every digit on the canvas as `digit`, or raises when `fail` is set; keeps each
    canvas and the strokes it was given in `canvases` and `strokes`."""

    device = "CPU (fake)"

    def __init__(self, digit: int = 7, confidence: float = 0.9, fail: bool = False):
        self.digit, self.confidence, self.fail = digit, confidence, fail
        self.canvases, self.strokes = [], []

    def read(self, canvas, strokes=None):
        self.canvases.append(canvas)
        self.strokes.append(strokes)
        if self.fail:
            raise RuntimeError("the model fell over")
        probs = np.full(10, (1 - self.confidence) / 9, np.float32)
        probs[self.digit] = self.confidence
        return [Reading(self.digit, self.confidence, (x0, y0, x1 - x0, y1 - y0), probs, normalize_digit(blob.ink))
                for blob in find_digits(canvas) for x0, y0, x1, y1 in [blob.box]]


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
        receive_reading(board_, stale_version, FakeRecognizer().read(np.full((9, 9), 255, np.uint8)), 1.0)
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
        reader = start_reader(load)
        reader.thread.join(5)
        exchange_with_reader(board_, reader, 0.0)
        assert board_.model_state == "failed" and "python train.py" in board_.model_message
        assert settled(board_)


# ---------------------------------------------------------------- label and save

def read_board(board_: Board, recognizer) -> Board:
    """The board as the loop leaves it once the reader has read its ink with `recognizer`."""
    model_ready(board_, getattr(recognizer, "device", ""))
    read_submitted(board_, 0.0)
    receive_reading(board_, board_.ink_version,
                    recognizer.read(board_.canvas, strokes=stroke_arrays(board_)), 1.0)
    return board_


def saved_files(folder: Path) -> list[str]:
    return sorted(p.relative_to(folder).as_posix() for p in folder.rglob("*") if p.is_file())


def press(board_: Board, k: int, unicode: str = "", drawn_dir: Path = Path("unused")):
    """Key `k` pressed, as the loop routes it."""
    event = pygame.event.Event(pygame.KEYDOWN, key=k, mod=0, unicode=unicode)
    return board.handle_event(board_, event, layout_for(board_.size), 0.0, drawn_dir)


class TestLabelAndSave:
    def test_one_digit_is_saved_at_once_for_train_py(self, tmp_path, shipped):
        board_ = new_board((400, 300))
        draw_line(board_, (200, 50), (200, 250))
        strokes = [list(s) for s in board_.strokes]
        written = type_label(read_board(board_, shipped), 1, tmp_path, now=0.0, stamp="s1")
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

    def test_a_number_is_labelled_digit_by_digit_each_with_its_own_strokes(self, tmp_path, shipped):
        board_ = read_board(two_digit_board(), shipped)
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
        assert shipped.classify(seven_input[None]).argmax() == 7  # the 7's own image, not the 1's
        assert not board_.has_ink and board_.banner.text.startswith("saved 1 7")

    def test_one_key_on_a_number_saves_nothing_and_esc_cancels(self, tmp_path, shipped):
        board_ = read_board(two_digit_board(), shipped)
        press(board_, pygame.K_7, "7", tmp_path)
        assert board_.typed == "7" and saved_files(tmp_path) == []
        assert press(board_, pygame.K_ESCAPE) is None  # cancels the label; does not quit
        assert board_.typed == "" and "cancelled" in board_.banner.text and board_.has_ink
        press(board_, pygame.K_1, "1", tmp_path)
        press(board_, pygame.K_RETURN, "\r")
        assert "1 of 2 digits typed" in board_.banner.text and saved_files(tmp_path) == []

    def test_changing_the_drawing_cancels_the_label(self, tmp_path, shipped):
        board_ = read_board(two_digit_board(), shipped)
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

    def test_a_kiosk_labels_nothing_unless_allowed(self, tmp_path, shipped):
        board_ = read_board(two_digit_board(), shipped)
        board_.teach_allowed = False
        for digit in (1, 7):
            type_label(board_, digit, tmp_path, now=0.0)
        assert saved_files(tmp_path) == [] and board_.banner is None  # visitors: nothing happens, nothing said

    @pytest.mark.skipif(os.name != "posix" or os.geteuid() == 0, reason="root writes anywhere")
    def test_a_read_only_folder_is_a_banner(self, tmp_path, shipped):
        tmp_path.chmod(0o500)
        try:
            board_ = new_board((400, 300))
            draw_line(board_, (200, 50), (200, 250))
            assert type_label(read_board(board_, shipped), 1, tmp_path / "drawn", now=0.0) == []
        finally:
            tmp_path.chmod(0o700)
        assert board_.banner.error and "could not save" in board_.banner.text and board_.has_ink

    def test_a_read_only_disk_is_a_banner(self, tmp_path, monkeypatch, shipped):
        def refuse(*args, **kwargs):
            raise OSError(errno.EROFS, os.strerror(errno.EROFS))

        monkeypatch.setattr(Path, "write_bytes", refuse)  # what a read-only mount does, even to root
        board_ = new_board((400, 300))
        draw_line(board_, (200, 50), (200, 250))
        assert type_label(read_board(board_, shipped), 1, tmp_path, now=0.0) == []
        assert board_.banner.error and "Read-only file system" in board_.banner.text

    def test_an_unwritable_path_is_a_banner(self, tmp_path, shipped):
        blocker = tmp_path / "drawn"
        blocker.write_text("a file where the folder should be")
        board_ = new_board((400, 300))
        draw_line(board_, (200, 50), (200, 250))
        assert type_label(read_board(board_, shipped), 1, blocker, now=0.0) == []
        assert board_.banner.error and "could not save" in board_.banner.text
        assert board_.has_ink  # nothing lost: fix the disk and press the key again


# ---------------------------------------------------------------- kiosk

class TestKiosk:
    def test_idle_clears_then_plays_demo_numbers(self):
        board_ = new_board((640, 400), now=0.0, kiosk=True, idle_seconds=5, demo_digits=demo_digits(), seed=1)
        draw_line(board_, (100, 100), (100, 300))
        update_kiosk(board_, 4.9)
        assert board_.attract is None and board_.strokes[0][0] == (100.0, 100.0)
        update_kiosk(board_, 5.0)
        assert board_.attract is not None and not board_.has_ink  # the visitor's ink is gone
        update_kiosk(board_, 5.3)
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

    def test_a_visitor_stops_the_demo(self):
        board_ = new_board((640, 400), now=0.0, kiosk=True, idle_seconds=1, demo_digits=demo_digits())
        update_kiosk(board_, 1.0), update_kiosk(board_, 1.5)
        assert board_.has_ink
        note_input(board_, 2.0)
        assert board_.attract is None and not board_.canvas.any()
        update_kiosk(board_, 2.5)
        assert board_.attract is None

    def test_without_demo_digits_idle_only_clears(self):
        board_ = new_board((640, 400), now=0.0, kiosk=True, idle_seconds=2)
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


class TestEvents:
    @pytest.fixture
    def setup(self, tmp_path):
        layout = layout_for((800, 600))
        board_ = new_board(layout.canvas.size)

        def send(*events, kiosk=False):
            board_.kiosk = kiosk
            return [board.handle_event(board_, e, layout, 1.0, tmp_path) for e in events]

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

    def test_keys_clear_undo_and_save(self, setup, tmp_path, shipped):
        board_, layout, send, stroke = setup
        stroke(200), stroke(400)
        send(key(pygame.K_BACKSPACE))
        assert len(board_.strokes) == 1
        stroke(400)
        send(key(pygame.K_z, pygame.KMOD_LCTRL))
        assert len(board_.strokes) == 1
        read_board(board_, shipped)
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

def write_demo_number(path: Path, count: int = 3) -> Path:
    path.write_text(stroke_json(demo_digits(count)))
    return path


def tight_number(path: Path) -> Path:
    """A saved drawing of 4 1 7 written with touching digits, as the board saves strokes."""
    four = [np.array([[255.0, 200], [200, 330], [300, 330]]), np.array([[275.0, 260], [275, 400]])]
    one = [np.array([[310.0, 200], [310, 400]])]
    seven = [np.array([[315.0, 200], [415, 200], [355, 400]])]
    digits = [PenDigit("4", four), PenDigit("1", one), PenDigit("7", seven)]
    path.write_text(stroke_json(digits, canvas_size=(800, 600)))
    return path


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
                                                idle_seconds=0.3, demo_digits=tuple(demo_digits(10)),
                                                max_seconds=0.8))
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


class TestCommand:
    def test_replay_prints_the_number_and_saves_the_window(self, tiny_model, tmp_path):
        replay = write_demo_number(tmp_path / "number.json", 3)
        snapshot = tmp_path / "out.png"
        result = CliRunner().invoke(board_command.main, ["--model", str(tiny_model), "--replay", str(replay),
                                                 "--snapshot", str(snapshot), "--stats",
                                                 "--size", "640x480", "--fps", "240"])
        assert result.exit_code == 0, result.output
        lines = result.output.strip().splitlines()
        stats = json.loads(lines[-1])
        assert {"frames", "fps_mean", "frame_ms_p99", "read_ms_p50"} <= stats.keys()
        assert stats["frames"] > 0 and stats["read_ms_p50"] > 0
        digits = lines[-2].removeprefix("read: ").split()
        assert lines[-2].startswith("read: ") and len(digits) == 3 and all(d in "0123456789" for d in digits)
        assert cv2.imread(str(snapshot)).shape == (480, 640, 3)

    def test_replay_of_touching_digits_reads_them_apart(self, tmp_path):
        if not DEFAULT_MODEL.exists():
            pytest.skip("no shipped model")
        result = CliRunner().invoke(board_command.main, ["--replay", str(tight_number(tmp_path / "417.json")),
                                                 "--size", "800x720", "--fps", "240"])
        assert result.exit_code == 0, result.output
        assert result.output.strip().splitlines()[-1] == "read: 4 1 7"

    def test_replay_of_unipen(self, tiny_model, tmp_path, make_unipen):
        result = CliRunner().invoke(board_command.main, ["--model", str(tiny_model), "--replay", str(make_unipen()),
                                                 "--size", "640x480", "--fps", "240"])
        assert result.exit_code == 0, result.output
        assert len(result.output.strip().splitlines()[-1].split()) == 4  # "read:" and three digits

    def test_missing_model_is_plain_words(self, tmp_path):
        replay = write_demo_number(tmp_path / "number.json", 1)
        result = CliRunner().invoke(board_command.main, ["--model", str(tmp_path / "none.keras"), "--replay",
                                                 str(replay), "--snapshot", str(tmp_path / "s.png"),
                                                 "--size", "640x480", "--fps", "240"])
        assert_one_line_error(result, f"no model at {tmp_path / 'none.keras'}: train one with `python train.py`")
        assert (tmp_path / "s.png").is_file()

    @pytest.mark.parametrize("content", ["{not json", '{"digits": []}', ".PEN_DOWN\n1 2\n"])
    def test_an_unreadable_demo_file_is_one_line(self, tmp_path, content):
        demo = tmp_path / "demo.json" if content.startswith("{") else tmp_path / "demo.txt"
        demo.write_text(content)
        result = CliRunner().invoke(board_command.main, ["--kiosk", "--demo", str(demo)])
        assert_one_line_error(result, f"--demo: {demo}")

    def test_a_missing_demo_file(self, tmp_path):
        result = CliRunner().invoke(board_command.main, ["--demo", str(tmp_path / "nope.json")])
        assert_one_line_error(result, f"--demo {tmp_path / 'nope.json'}: no such file")

    def test_a_replay_of_too_many_digits(self, tmp_path):
        replay = tmp_path / "long.json"
        replay.write_text(stroke_json(demo_digits(10) + demo_digits(3)))
        result = CliRunner().invoke(board_command.main, ["--replay", str(replay)])
        assert_one_line_error(result, f"--replay {replay} holds 13 digits; a replay draws at most 12")

    @pytest.mark.parametrize("size", ["big", "100x100", "800"])
    def test_bad_sizes(self, size):
        result = CliRunner().invoke(board_command.main, ["--size", size])
        assert result.exit_code == 2 and "--size" in result.output

    def test_help_shows_every_option_with_its_default(self):
        result = CliRunner().invoke(board_command.main, ["--help"])
        assert result.exit_code == 0
        for option in ["--model", "--kiosk", "--idle", "--demo", "--replay", "--snapshot", "--stats",
                       "--size", "--fps"]:
            assert option in result.output
        assert "[default: 1024x720]" in result.output and "Ctrl+Shift+Q" in result.output


def test_tags_of_digits_that_touch_do_not_hide_each_other():
    boxes = [pygame.Rect(100, 200, 60, 200), pygame.Rect(130, 210, 80, 190), pygame.Rect(200, 200, 80, 200)]
    tags = place_tags(boxes, [(70, 30)] * 3, top=100)
    assert all(tag.bottom <= box.top for tag, box in zip(tags, boxes))  # above their boxes
    assert all(a.collidelist([b for b in tags if b is not a]) == -1 for a in tags)
    near_top = place_tags([pygame.Rect(100, 110, 60, 200), pygame.Rect(120, 110, 60, 200)], [(70, 30)] * 2, top=100)
    assert all(tag.top >= 310 for tag in near_top) and not near_top[0].colliderect(near_top[1])  # below, apart
