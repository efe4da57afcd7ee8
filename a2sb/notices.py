"""Notices that a process shows once: which model is used, under which licence; and warnings
that need saying only once."""

import functools
import logging


@functools.cache
def warn_once(logger_name: str, message: str) -> None:
    """Log `message` as a warning on the logger `logger_name`, the first time only.

    Once per process for each (logger, message) pair; `warn_once.cache_clear()` forgets what
    was shown.
    """
    logging.getLogger(logger_name).warning(message)


@functools.cache
def notice_once(logger_name: str, message: str) -> None:
    """Log `message`, a notice about the model in use (not about a result), as a warning
    marked `notice` (which a quiet command leaves out), the first time only."""
    logging.getLogger(logger_name).warning(message, extra={"notice": True})


def is_notice(record: logging.LogRecord) -> bool:
    """Whether a log record is a `notice_once` notice."""
    return getattr(record, "notice", False)
