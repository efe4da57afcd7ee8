"""The machine's faults, for the tests: small file systems as the kernel makes them (a full disk,
a read-only folder), and the same faults injected into `os.fsync`.

Mounting needs root (CI runs as root); elsewhere the tests that mount are skipped with the
reason, and the same faults are covered by injected errors.
"""

import os
import subprocess
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest


@contextmanager
def tmpfs(folder: Path, size: str = "64k", read_only: bool = False) -> Iterator[Path]:
    """Mount a tmpfs of `size` on `folder` (created) while inside; skip the test if this
    machine does not let us mount."""
    folder.mkdir(parents=True, exist_ok=True)
    options = f"size={size}" + (",ro" if read_only else "")
    try:
        mounted = subprocess.run(
            ["mount", "-t", "tmpfs", "-o", options, "tmpfs", str(folder)],
            capture_output=True,
            text=True,
        )
    except FileNotFoundError:
        pytest.skip("cannot mount a tmpfs here: no mount command")
    if mounted.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here (needs root): {mounted.stderr.strip()}")
    try:
        yield folder
    finally:
        subprocess.run(["umount", "-l", str(folder)], check=True)


def fail_fsync_with(code: int) -> Callable[[int], None]:
    """An `os.fsync` that fails with the OS error `code` (e.g. `errno.ENOSPC`), to patch into
    `a2sb.io.atomic_output.os`."""

    def fsync(descriptor: int) -> None:
        raise OSError(code, os.strerror(code))

    return fsync


def no_space_message(path: Path) -> str:
    """What a2sb says when `path` cannot be written for lack of space."""
    return (
        f"cannot write {path}: no space left on the device; free some space there, or write "
        "elsewhere"
    )
