"""Silencing TensorFlow's C++ start-up chatter, which no log level reaches."""

import os
from contextlib import contextmanager

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")  # before TensorFlow loads: only warnings and errors


@contextmanager
def quiet_stderr():
    """Send file descriptor 2 to /dev/null for the block (Python exceptions still propagate).

    TensorFlow 2.20+ prints INFO lines about oneDNN and CUDA probing ("failed call to
    cuInit" on every machine without a GPU) straight to stderr while it loads."""
    saved, devnull = os.dup(2), os.open(os.devnull, os.O_WRONLY)
    try:
        os.dup2(devnull, 2)
        yield
    finally:
        os.dup2(saved, 2)
        os.close(saved)
        os.close(devnull)


def import_keras():
    """Keras, imported with TensorFlow's start-up chatter silenced (seconds, the first time)."""
    with quiet_stderr():
        import keras
    return keras
