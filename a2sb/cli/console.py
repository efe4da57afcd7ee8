"""Messages and progress bars of a long command, on stderr.

The library reports through `logging` (e.g. the detected cutoff); `Console` shows the `a2sb`
loggers' records and the command's own lines between the tqdm bars, each line prefixed by the
process (`[1/2] `) when several processes share the terminal.
"""

from __future__ import annotations

import logging
import sys
import unicodedata
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from tqdm.auto import tqdm

from a2sb.notices import is_notice

UNPRINTABLE_CATEGORIES = frozenset({"Cc", "Cs", "Zl", "Zp"})
"""Unicode categories shown escaped: controls (a newline in a file name), surrogates (the bytes
of a name that is not valid UTF-8, as Python decodes them) and line/paragraph separators."""


def printable(line: str) -> str:
    """`line` as one line that any terminal prints: a name's bytes that are not UTF-8 as `\\xe9`,
    control characters as `\\n`, `\\t`, `\\x1b`; everything else as it is.

    The command line's messages and result lines go through here, so that a file name cannot
    split one into two lines, or make printing it fail.
    """
    if line.isprintable():
        return line
    return "".join(_printable_character(character) for character in line)


def _printable_character(character: str) -> str:
    if unicodedata.category(character) not in UNPRINTABLE_CATEGORIES:
        return character
    if 0xDC80 <= ord(character) <= 0xDCFF:  # os.fsdecode's escape of an undecodable byte
        return f"\\x{ord(character) - 0xDC00:02x}"
    return repr(character)[1:-1]


@dataclass(frozen=True)
class Console:
    """Where one process of a command writes its messages.

    Attributes:
        quiet: no progress bars, no information lines and no notices of which model is in
            use; warnings about a result and errors still show.
        process_index: this process among `num_processes`.
        num_processes: with more than one, lines and bars start with `[index/count] `.
    """

    quiet: bool = False
    process_index: int = 0
    num_processes: int = 1

    @property
    def prefix(self) -> str:
        """`[index/count] ` for several processes, else empty."""
        if self.num_processes == 1:
            return ""
        return f"[{self.process_index + 1}/{self.num_processes}] "

    def say(self, message: str) -> None:
        """One information line on stderr (nothing if quiet)."""
        if not self.quiet:
            self.write(message)

    def write(self, message: str) -> None:
        """One line on stderr, between the progress bars, even if quiet."""
        tqdm.write(printable(f"{self.prefix}{message}"), file=sys.stderr)

    @contextmanager
    def library_logs(self) -> Iterator[None]:
        """Show the `a2sb` loggers' records here while inside: info and above, or warnings
        only if quiet. The loggers are left as they were on the way out."""
        logger = logging.getLogger("a2sb")
        handler = _ConsoleHandler(self)
        level = logger.level
        logger.addHandler(handler)
        logger.setLevel(logging.WARNING if self.quiet else logging.INFO)
        try:
            yield
        finally:
            logger.removeHandler(handler)
            logger.setLevel(level)


class _ConsoleHandler(logging.Handler):
    def __init__(self, console: Console):
        super().__init__()
        self.console = console

    def emit(self, record: logging.LogRecord) -> None:
        if self.console.quiet and is_notice(record):
            return  # quiet: the results and what went wrong, not which model is in use
        self.console.write(self.format(record))
