"""common.quiet: TensorFlow's start-up chatter silenced, and nothing of ours with it (issue 27).
Each case runs in a fresh Python, where file descriptor 2 is the real stderr."""

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def python(code: str, *args: str, timeout: float = 120) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, *(["-c", code] if code else []), *args], cwd=ROOT,
                          capture_output=True, text=True, timeout=timeout)


def test_while_one_thread_is_quiet_another_threads_traceback_still_shows():
    """The board loads TensorFlow in its reader thread while the loop runs: a crash of the loop
    then (or a bad --demo file) printed nothing, its traceback sent to /dev/null with the chatter."""
    done = python("import os, sys, threading\n"
                  "from digitboard.common.quiet import quiet_stderr\n"
                  "inside, never = threading.Event(), threading.Event()\n"
                  "def load():\n"
                  "    with quiet_stderr():\n"
                  "        inside.set()\n"
                  "        never.wait()\n"
                  "threading.Thread(target=load, daemon=True).start()\n"
                  "inside.wait()\n"
                  "os.write(2, b'I0000 chatter from C++\\n')\n"
                  "print('Error: one line of ours', file=sys.stderr)\n"
                  "raise RuntimeError('the loop crashed')\n")
    assert done.returncode == 1
    assert "chatter" not in done.stderr
    assert done.stderr.startswith("Error: one line of ours\nTraceback (most recent call last):")
    assert done.stderr.rstrip().endswith("RuntimeError: the loop crashed")


def test_overlapping_quiet_blocks_never_leave_stderr_silenced():
    """A block that began while another was silenced, and ended after it, restored /dev/null."""
    done = python("import os, threading\n"
                  "from digitboard.common.quiet import quiet_stderr\n"
                  "first, second = quiet_stderr(), quiet_stderr()\n"
                  "first.__enter__()\n"
                  "threading.Thread(target=second.__enter__).start()\n"
                  "import time; time.sleep(0.2)\n"
                  "first.__exit__(None, None, None)\n"
                  "os.write(2, b'dropped: the other block is still on\\n')\n"
                  "second.__exit__(None, None, None)\n"
                  "os.write(2, b'after both\\n')\n")
    assert done.returncode == 0, done.stderr
    assert done.stderr == "after both\n"


def test_training_prints_no_chatter_and_a_bad_folder_its_one_line(tmp_path, plain_run):
    """`python train.py` printed TensorFlow's "WARNING: All log messages before
    absl::InitializeLog()", "oneDNN custom operations are on" and "Could not find cuda
    drivers" lines twice on stderr: its first import was not silenced. (conftest's plain_run:
    a short `python train.py` in a fresh Python.)"""
    done, _ = plain_run
    assert done.returncode == 0, done.stderr
    assert done.stderr == ""
    assert "best epoch 1/1" in done.stdout
    done = python("", "train.py", "--data", str(tmp_path / "no-such-folder"), "--out", str(tmp_path / "n.keras"))
    assert (done.returncode, done.stderr) == (2, f"Error: data path does not exist: {tmp_path / 'no-such-folder'}\n")


BOARD_CRASH = """
import os, sys
from digitboard.board import loop
from digitboard.cli.board import main

real_draw = loop.draw

def draw(*args, **kwargs):  # the loop crashes in the first frame after the reader starts importing TensorFlow
    if "tensorflow" in sys.modules:
        raise RuntimeError("a bug in the frame loop")
    return real_draw(*args, **kwargs)

loop.draw = draw
sys.argv = ["board.py", "--kiosk", "--model", sys.argv[1], "--log", sys.argv[2]]
main()
"""


def test_a_crash_of_the_kiosk_board_while_tensorflow_loads_leaves_its_traceback(tmp_path, tiny_model, monkeypatch):
    """The board as the kiosk's supervisor runs it (its stderr goes to the kiosk log): before,
    its traceback went to /dev/null with TensorFlow's chatter, and the process aborted (134)."""
    alone = tmp_path / "alone" / "m.keras"  # no companions: the reader loads it with Keras
    alone.parent.mkdir()
    alone.write_bytes(tiny_model.read_bytes())
    for name, value in (("SDL_VIDEODRIVER", "dummy"), ("SDL_AUDIODRIVER", "dummy"),
                        ("DIGITBOARD_HEARTBEAT", str(tmp_path / "heartbeat"))):
        monkeypatch.setenv(name, value)
    done = python(BOARD_CRASH, str(alone), str(tmp_path / "kiosk.log"), timeout=180)
    assert done.returncode == 1, done.stderr
    assert done.stderr.startswith("Traceback (most recent call last):"), done.stderr
    assert done.stderr.rstrip().endswith("RuntimeError: a bug in the frame loop")
    assert "absl" not in done.stderr and "oneDNN" not in done.stderr
