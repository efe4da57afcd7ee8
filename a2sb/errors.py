"""Errors that a2sb raises for input a person can fix.

Every message names the problem and the fix, so that the command line can print it as one line
(`a2sb: <message>`) with no traceback.
"""


class A2SBInputError(ValueError):
    """Bad input that the user can fix: the message says what is wrong and what to do."""


class A2SBWriteError(OSError):
    """A result could not be written (full disk, read-only or forbidden folder, path too long):
    the message names the file, the cause and the fix. Nothing is left under the file's final
    name. An `OSError`, so that code catching the file system's own errors still catches it."""


class A2SBOutputExistsError(A2SBWriteError):
    """A result was not kept because its name was taken while it was being made (another run
    wrote the same output meanwhile) and replacing was not asked for: the file there is
    complete, and it is not this run's."""


def first_line(error: BaseException) -> str:
    """The first line of an error's message, for a one-line report; the error's type name when
    the message is empty."""
    message = str(error).strip()
    return message.splitlines()[0] if message else type(error).__name__
