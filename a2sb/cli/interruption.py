"""Ctrl-C and SIGTERM: stop the command cleanly, with no traceback.

While a command runs, SIGINT and SIGTERM raise `Interrupted` in the main thread (between two
Python operations, so within a moment even inside a long restoration). Being a
`KeyboardInterrupt`, it passes every `except Exception` on its way out, and `finally` clauses
remove partial files; `a2sb.cli.main` turns it into one line and the shell's exit code,
128 + the signal's number (130 for Ctrl-C, 143 for SIGTERM). Signals arriving while the command
winds down are ignored, so that a second Ctrl-C cannot interrupt the clean-up.
"""

from __future__ import annotations

import signal
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from types import FrameType

STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM)


class Interrupted(KeyboardInterrupt):
    """The command received SIGINT or SIGTERM."""

    def __init__(self, signal_number: int):
        super().__init__(signal_number)
        self.signal_number = signal_number

    @property
    def exit_code(self) -> int:
        """128 + the signal's number, as a shell reports a process stopped by that signal."""
        return 128 + self.signal_number


@contextmanager
def signals_interrupt() -> Iterator[None]:
    """Inside, SIGINT and SIGTERM raise `Interrupted`; the previous handlers are restored on
    the way out. Outside the main thread (where Python cannot set handlers) it does nothing."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = {number: signal.getsignal(number) for number in STOP_SIGNALS}

    def interrupt(signal_number: int, frame: FrameType | None) -> None:
        for number in STOP_SIGNALS:
            signal.signal(number, signal.SIG_IGN)
        raise Interrupted(signal_number)

    for number in STOP_SIGNALS:
        signal.signal(number, interrupt)
    try:
        yield
    finally:
        for number, handler in previous.items():
            signal.signal(number, handler)
