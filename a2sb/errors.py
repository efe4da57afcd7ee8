"""Errors that a2sb raises for input a person can fix.

Every message names the problem and the fix, so that the command line can print it as one line
(`a2sb: <message>`) with no traceback.
"""


class A2SBInputError(ValueError):
    """Bad input that the user can fix: the message says what is wrong and what to do."""
