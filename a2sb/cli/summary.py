"""What happened to each file of an `a2sb restore` run, and the summary printed at its end."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from typing import Literal

from a2sb.cli.console import printable

FileStatus = Literal["restored", "skipped", "failed"]
STATUSES: tuple[FileStatus, ...] = ("restored", "skipped", "failed")


@dataclass(frozen=True)
class RestoreOutcome:
    """The outcome of one file.

    Attributes:
        input_path: the input as the user named it (or as found in a folder).
        output_path: where the result was (or would have been) written.
        status: "restored", "skipped" (the output existed) or "failed".
        detail: for restored files the cutoff and time taken; for the others, why.
        seed: the seed a restored file was sampled with (to reproduce it).
        cutoff_hz: the cutoff a restored file was extended from, or the recording's bandwidth
            its gaps were restored within.
        seconds: how long a restored file took.
    """

    input_path: str
    output_path: str
    status: FileStatus
    detail: str
    seed: int | None = None
    cutoff_hz: float | None = None
    seconds: float | None = None

    @classmethod
    def restored(
        cls,
        input_path: str,
        output_path: str,
        seed: int,
        cutoff_hz: float | None,
        seconds: float,
        inpainting: bool = False,
    ) -> RestoreOutcome:
        """A restored file; its detail says the cutoff (or band) and the time taken."""
        band = "within" if inpainting else "cutoff"
        cutoff = f"{band} {cutoff_hz:.0f} Hz, " if cutoff_hz else ""
        detail = f"{cutoff}{seconds:.1f} s"
        return cls(input_path, output_path, "restored", detail, seed, cutoff_hz, seconds)


def format_result(result: RestoreOutcome) -> str:
    """One line: `restored  in.wav → out.a2sb.wav (cutoff 8000 Hz, 12.3 s)` (names `printable`)."""
    if result.status == "restored":
        line = f"restored  {result.input_path} → {result.output_path} ({result.detail})"
    else:
        line = f"{result.status:<9} {result.input_path}: {result.detail}"
    return printable(line)


def format_summary(results: list[RestoreOutcome]) -> str:
    """A line per file, then the totals: `3 files: 1 restored, 1 skipped, 1 failed`."""
    counts = Counter(result.status for result in results)
    totals = ", ".join(f"{counts[status]} {status}" for status in STATUSES)
    noun = "file" if len(results) == 1 else "files"
    lines = [format_result(result) for result in results]
    return "\n".join([*lines, f"{len(results)} {noun}: {totals}"])


def any_failed(results: list[RestoreOutcome]) -> bool:
    """Whether the run must end with exit code 1."""
    return any(result.status == "failed" for result in results)


def format_interruption(results: list[RestoreOutcome], total: int) -> str:
    """`interrupted: 3 of 7 files restored; rerun to continue`, counting as restored the files
    whose result exists (restored now, or skipped as restored before)."""
    counts = Counter(result.status for result in results)
    failed = f", {counts['failed']} failed" if counts["failed"] else ""
    done = counts["restored"] + counts["skipped"]
    noun = "file" if total == 1 else "files"
    return f"interrupted: {done} of {total} {noun} restored{failed}; rerun to continue"
