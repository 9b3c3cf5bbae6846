"""digitboard: draw digits with the mouse, a Keras CNN reads them live."""

import os

from .quiet import quiet_stderr

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
with quiet_stderr():
    import keras  # noqa: F401
    import tensorflow  # noqa: F401

from .recognizer import Reading, Recognizer  # noqa: E402

__all__ = ["Reading", "Recognizer"]
