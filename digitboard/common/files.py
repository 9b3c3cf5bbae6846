"""Writing files in one step: a reader (or a crash) never sees half a file.

Everything the project saves goes through `replacing`: the data is written to a temporary
file of a unique name in the target's folder, then renamed over the target (a rename within
one folder is atomic). The name is unique so that two processes writing the same file, say
two trainings that both fetch MNIST into datasets/mnist.npz, never write into each other's
half-written file.
"""

from __future__ import annotations

import functools
import os
import tempfile
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator


@contextmanager
def replacing(path: Path) -> Iterator[Path]:
    """A new, unique temporary path beside `path` for the block to write; when the block ends
    normally it replaces `path`, and when it raises it is removed and `path` stays as it was.

    The temporary name keeps `path`'s suffix (writers such as numpy, pygame and Keras pick the
    format by it) and contains ".partial" (`.gitignore` and the tests look for that)."""
    path = Path(path)
    handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=f"{path.stem}.",
                                         suffix=f".partial{path.suffix}")
    os.close(handle)
    temporary = Path(temporary)
    os.chmod(temporary, 0o666 & ~_umask())  # mkstemp makes it private; the file is not
    try:
        yield temporary
        os.replace(temporary, path)
    finally:
        temporary.unlink(missing_ok=True)  # gone already after the rename


def write_text(path: Path, text: str) -> None:
    """Write `text` to `path` in one step."""
    with replacing(path) as temporary:
        temporary.write_text(text)


def write_bytes(path: Path, data: bytes) -> None:
    """Write `data` to `path` in one step."""
    with replacing(path) as temporary:
        temporary.write_bytes(data)


@functools.cache
def _umask() -> int:
    mask = os.umask(0o022)  # the only way to read it is to set it: put it straight back
    os.umask(mask)
    return mask
