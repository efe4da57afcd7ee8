"""Option values as people write them: times `1:02.5`, gaps `START-END`, `8k` Hz, task names.

Only the syntax is checked here; ranges (a cutoff below Nyquist, a gap inside the file) are
checked where the audio is known (`a2sb.degradations`).
"""

from __future__ import annotations

import re

from a2sb.errors import A2SBInputError

_NUMBER = r"\d+(?:\.\d*)?|\.\d+"
_TIME = re.compile(rf"^(?:(?:(\d+):)?(\d+):)?({_NUMBER})$")
_GAP_EXAMPLES = "62.5-63 (seconds) or 1:02.5-1:03 (minutes:seconds)"
_FREQUENCY = re.compile(rf"^({_NUMBER})\s*(k?)(?:hz)?$", re.IGNORECASE)


def parse_time(text: str) -> float:
    """Seconds from `SS`, `M:SS` or `H:MM:SS`, each with optional decimals.

    `62.5`, `1:02.5` and `0:01:02.5` all give 62.5. Minutes and seconds after a colon must be
    below 60.

    Raises:
        A2SBInputError: the text is not a time in one of these forms.
    """
    match = _TIME.match(text.strip())
    if match is None:
        raise A2SBInputError(
            f"{text!r} is not a time; write seconds (62.5) or minutes:seconds (1:02.5)"
        )
    hours, minutes, seconds = match.groups()
    if minutes is not None and float(seconds) >= 60:
        raise A2SBInputError(f"{text!r} has {seconds} seconds after a colon; keep them below 60")
    if hours is not None and int(minutes) >= 60:
        raise A2SBInputError(f"{text!r} has {minutes} minutes after a colon; keep them below 60")
    return int(hours or 0) * 3600 + int(minutes or 0) * 60 + float(seconds)


def parse_gap(text: str) -> tuple[float, float]:
    """A gap `START-END` as `(start_s, end_s)`; both ends in the forms of `parse_time`.

    Order and overlap are checked later, with the other gaps and the file's duration
    (`a2sb.degradations.check_gaps`).

    Raises:
        A2SBInputError: not two times joined by one `-`.
    """
    parts = text.split("-")
    if len(parts) != 2:
        raise A2SBInputError(f"gap {text!r} is not START-END; write it like {_GAP_EXAMPLES}")
    try:
        return parse_time(parts[0]), parse_time(parts[1])
    except A2SBInputError as error:
        raise A2SBInputError(f"gap {text!r} is not START-END: {error}") from error


def parse_cutoff(text: str, option: str = "--cutoff") -> float | None:
    """A cutoff in Hz from `8000`, `8000Hz`, `8k` or `8kHz`; None for `auto` (detect it).

    Raises:
        A2SBInputError: neither `auto` nor a frequency.
    """
    if text.strip().lower() == "auto":
        return None
    match = _FREQUENCY.match(text.strip())
    if match is None:
        raise A2SBInputError(
            f"{option} {text!r} is not a frequency; give Hz (8000 or 8k) or auto to detect it"
        )
    number, kilo = match.groups()
    return float(number) * (1000 if kilo else 1)


MAX_SEED = 2**64 - 1
"""The largest seed a torch generator takes."""


def check_at_least(option: str, value: int, minimum: int) -> None:
    """Refuse an option's count below `minimum` (`--window-batch-size 0`)."""
    if value < minimum:
        raise A2SBInputError(f"{option} {value} is below {minimum}; give {minimum} or more")


def check_within(option: str, value: int, minimum: int, maximum: int) -> None:
    """Refuse an option's integer outside [`minimum`, `maximum`] (`--seed -1`, `--steps 10**9`)."""
    check_at_least(option, value, minimum)
    if value > maximum:
        raise A2SBInputError(f"{option} {value} is above {maximum}; give {maximum} or less")


DEFAULT_HOST = "127.0.0.1"
"""Where `a2sb app` listens unless told: this machine only."""

DEVICES = ("auto", "cuda", "mps", "cpu")
"""What `--device` accepts; "auto" takes this process's GPU, else MPS, else the CPU
(`a2sb.cli.devices.resolve_device_kind`)."""
