"""Writing files in one step: a reader (or a crash) never sees half a file.

Everything the project saves goes through `replacing`: the data is written to a temporary
file of a unique name in the target's folder, then renamed over the target (a rename within
one folder is atomic). The name is unique so that two processes writing the same file, say
two trainings that both fetch MNIST into datasets/mnist.npz, never write into each other's
half-written file; it holds ".partial-<pid>-" so that what a killed process left behind is
known as such and swept up later (sweep_partials).
"""

from __future__ import annotations

import functools
import os
import re
import shutil
import uuid
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

PARTIAL = re.compile(r"\.partial-(\d+)-[0-9a-f]{8}")


def partial_name(stem: str, suffix: str) -> str:
    """A unique name for something this process is writing, `stem.partial-<pid>-<random><suffix>`."""
    return f"{stem}.partial-{os.getpid()}-{uuid.uuid4().hex[:8]}{suffix}"


@contextmanager
def replacing(path: Path) -> Iterator[Path]:
    """A new, unique temporary path beside `path` for the block to write; when the block ends
    normally it replaces `path`, and when it raises it is removed and `path` stays as it was.

    The temporary name keeps `path`'s suffix (writers such as numpy, pygame and Keras pick the
    format by it) and contains ".partial" (`.gitignore` and the tests look for that)."""
    path = Path(path)
    temporary = path.parent / partial_name(path.stem, path.suffix)
    fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666 & ~_umask())
    os.close(fd)
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


def sweep_partials(folder: Path) -> list[Path]:
    """Remove the partial files and folders in `folder` whose writing process has gone (a
    kill, a crash, a full disk); those of live processes stay. Returns what was removed."""
    removed = []
    try:
        entries = list(Path(folder).iterdir())
    except OSError:
        return removed
    for entry in entries:
        found = PARTIAL.search(entry.name)
        if found is None or _alive(int(found.group(1))):
            continue
        try:
            shutil.rmtree(entry) if entry.is_dir() and not entry.is_symlink() else entry.unlink()
        except OSError:
            continue
        removed.append(entry)
    return removed


def _alive(pid: int) -> bool:
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # another user's live process
        return True
    return True


@functools.cache
def _umask() -> int:
    mask = os.umask(0o022)  # the only way to read it is to set it: put it straight back
    os.umask(mask)
    return mask
