"""digitboard: draw digits with the mouse, a Keras CNN reads them live.

`from digitboard import Recognizer` loads TensorFlow on first use, not at import, so the
board's window can open before the model's libraries have loaded.
"""

__all__ = ["Reading", "Recognizer"]


def __getattr__(name):
    if name in __all__:
        from .read import recognizer
        return getattr(recognizer, name)
    raise AttributeError(f"module 'digitboard' has no attribute {name!r}")
