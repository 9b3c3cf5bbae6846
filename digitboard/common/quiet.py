"""Silencing TensorFlow's C++ start-up chatter, which no log level reaches, and nothing else."""

import os
import sys
import threading
from contextlib import contextmanager

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")  # before TensorFlow loads: only warnings and errors

_lock = threading.Lock()
_silenced = {"depth": 0, "saved": None, "stream": None, "python_stderr": None}


@contextmanager
def quiet_stderr():
    """Send file descriptor 2 to /dev/null for the block, where C++ libraries write their notes
    (TensorFlow 2.20+ prints "oneDNN custom operations are on" and "Could not find cuda drivers"
    while it loads; SDL its display probing), while Python's own stderr, from any thread, still
    reaches the terminal: tracebacks, click's `Error:` lines.

    Blocks that overlap, in one thread or several (the board's reader loading TensorFlow while
    the loop starts SDL), share one silence, lifted when the last ends: stderr is never left
    pointing at /dev/null by a block that ended after another began."""
    _silence()
    try:
        yield
    finally:
        _unsilence()


def _silence() -> None:
    with _lock:
        state = _silenced
        state["depth"] += 1
        if state["depth"] > 1:
            return
        _flush(sys.stderr)
        state["saved"] = os.dup(2)
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, 2)
        os.close(devnull)
        if _writes_to_fd_2(sys.stderr):  # not a stream a test runner swapped in
            state["python_stderr"] = sys.stderr
            state["stream"] = sys.stderr = open(state["saved"], "w", buffering=1, closefd=False,
                                                encoding=sys.stderr.encoding, errors=sys.stderr.errors)


def _unsilence() -> None:
    with _lock:
        state = _silenced
        state["depth"] -= 1
        if state["depth"] > 0:
            return
        if state["stream"] is not None:
            _flush(state["stream"])
            if sys.stderr is state["stream"]:
                sys.stderr = state["python_stderr"]
            state["stream"].close()
        os.dup2(state["saved"], 2)
        os.close(state["saved"])
        state.update(saved=None, stream=None, python_stderr=None)


def _writes_to_fd_2(stream) -> bool:
    try:
        return stream.fileno() == 2
    except (AttributeError, OSError, ValueError):
        return False


def _flush(stream) -> None:
    try:
        stream.flush()
    except (AttributeError, OSError, ValueError):
        pass


def import_tensorflow():
    """TensorFlow, imported with its start-up chatter silenced (seconds, the first time). Its
    notes come only while its libraries load, so only the first import is silenced."""
    if "tensorflow" not in sys.modules:
        with quiet_stderr():
            import tensorflow
    import tensorflow

    return tensorflow


def import_keras():
    """Keras (and so TensorFlow), imported with the start-up chatter silenced."""
    if "keras" not in sys.modules:
        with quiet_stderr():
            import keras
    import keras

    return keras
