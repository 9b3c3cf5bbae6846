"""The one error type for problems with what a user gave us (a path, a file, a value)."""


class UserError(Exception):
    """A problem with the user's input; entry points print it as one line and exit 2."""
