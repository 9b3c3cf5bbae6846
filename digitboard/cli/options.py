"""What the click entry points share: one way to report bad input, and option types.

Every command is a `Command` (or a `Group`): a `UserError` raised anywhere in it, while
its options are read or while it runs, prints as the one line `Error: <message>` and exits
with 2. Click's usage block is kept for what it is good at: an unknown option, or a value
that is not of the option's type (a word for a number, a size that is not WxH).
"""

from __future__ import annotations

import math
import os
import signal
import sys
from contextlib import contextmanager
from pathlib import Path

import click

from ..common.errors import UserError


class OneLineError(click.ClickException):
    """Shown as `Error: <message>` alone, no usage block; exit code 2 as for any bad input."""

    exit_code = 2

    def __init__(self, message: str):
        super().__init__(" ".join(line.strip() for line in message.splitlines()))


@contextmanager
def _one_line_errors():
    try:
        yield
    except UserError as err:
        raise OneLineError(str(err)) from None


class Command(click.Command):
    """A click command whose UserErrors are one line (see the module's docstring)."""

    def parse_args(self, ctx, args):
        with _one_line_errors():
            return super().parse_args(ctx, args)

    def invoke(self, ctx):
        with _one_line_errors():
            return super().invoke(ctx)


class Group(Command, click.Group):
    """A click group whose UserErrors, and its commands', are one line."""

    command_class = Command


class ExistingPath(click.Path):
    """click.Path(exists=True): a path that is not there, or not of the right sort, is bad
    input like a broken file, so it is one `Error:` line naming the option."""

    def __init__(self, **kwargs):
        super().__init__(exists=True, **kwargs)

    def convert(self, value, param, ctx):
        sort = "file" if not self.dir_okay else "folder" if not self.file_okay else "file or folder"
        named = f"{param.opts[0]} {value}" if isinstance(param, click.Option) else str(value)
        if not os.path.exists(value):
            raise UserError(f"{named}: no such {sort}")
        if not (os.path.isfile(value) or os.path.isdir(value)):  # a device or a pipe: nothing to read whole
            raise UserError(f"{named}: not a {sort} (a device or a pipe)")
        return super().convert(value, param, ctx)

    def fail(self, message, param=None, ctx=None):
        raise UserError(f"{param.opts[0]}: {message}" if isinstance(param, click.Option) else message)


class Size(click.ParamType):
    """WIDTHxHEIGHT in pixels, e.g. 1024x720, as a (width, height) tuple; at least `smallest`,
    at most `largest` on either side and `most_pixels` in all when given."""

    name = "WxH"

    def __init__(self, smallest: tuple[int, int] = (16, 16), most_pixels: int | None = None,
                 largest: int | None = None):
        self.smallest = smallest
        self.most_pixels = most_pixels
        self.largest = largest

    def convert(self, value, param, ctx):
        if isinstance(value, tuple):
            return value
        try:
            width, height = (int(v) for v in str(value).lower().split("x"))
        except ValueError:
            self.fail(f"size must look like WIDTHxHEIGHT, e.g. 1024x720, got {value!r}", param, ctx)
        if width < self.smallest[0] or height < self.smallest[1]:
            self.fail(f"{value} is too small: at least {self.smallest[0]}x{self.smallest[1]}", param, ctx)
        if self.largest is not None and max(width, height) > self.largest:
            self.fail(f"{value} is too large: at most {self.largest} pixels a side", param, ctx)
        if self.most_pixels is not None and width * height > self.most_pixels:
            self.fail(f"{value} is too large: at most {self.most_pixels / 1e6:.1f} megapixels", param, ctx)
        return width, height


class Number(click.FloatRange):
    """A number in a range, and never NaN or infinite (which every comparison lets through)."""

    def convert(self, value, param, ctx):
        number = super().convert(value, param, ctx) if not isinstance(value, float) or math.isfinite(value) \
            else value
        if not math.isfinite(number):
            self.fail(f"{value} is not a finite number", param, ctx)
        return number


@contextmanager
def interrupt_on_terminate():
    """Within the block, SIGTERM (how the board stops a teach, and how `kill` stops a run)
    is Ctrl+C: the run keeps what it may keep and cleans up, instead of vanishing mid-write."""
    def interrupt(signum, frame):
        raise KeyboardInterrupt

    try:
        previous = signal.signal(signal.SIGTERM, interrupt)
    except ValueError:  # not the main thread (tests call commands from threads): leave it be
        yield
        return
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


def command_line() -> str:
    """How this process was started, as a command to run again (for the model card)."""
    return " ".join(["python", Path(sys.argv[0]).name, *sys.argv[1:]])
