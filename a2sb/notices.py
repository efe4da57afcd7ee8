"""Notices that a process shows once: which model is used, under which licence."""

import functools
import logging


@functools.cache
def warn_once(logger_name: str, message: str) -> None:
    """Log `message` as a warning on the logger `logger_name`, the first time only.

    Once per process for each (logger, message) pair; `warn_once.cache_clear()` forgets what
    was shown.
    """
    logging.getLogger(logger_name).warning(message)
