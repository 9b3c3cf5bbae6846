"""digitboard: draw digits with the mouse, a Keras CNN reads them live."""

import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")  # keep TensorFlow's C++ start-up chatter out of the CLIs

from .recognizer import Reading, Recognizer  # noqa: E402

__all__ = ["Reading", "Recognizer"]
