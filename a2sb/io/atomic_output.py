"""Writing results so that a fault never leaves half of one under its final name.

A result is written to a hidden partial file (or folder) beside it,
`.song.a2sb.partial-1f3a9c0e.wav` for `song.a2sb.wav`, and renamed onto its final name once
complete: a full disk, a kill or a Ctrl-C leaves either the previous version or nothing, never
a truncated file. Each writer's partial file has its own random tag, so two runs writing the
same result at once never write into one file; the rename can be told not to replace a file
that appeared meanwhile (`publish`). A failure to write is raised as `A2SBWriteError`, one line
naming the file, the cause and the fix; removing the partial file on the way out never raises
(on a read-only file system it cannot be removed, and there is nothing to remove).
"""

from __future__ import annotations

import errno
import os
import secrets
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from a2sb.errors import A2SBOutputExistsError, A2SBWriteError

PARTIAL_TAG = ".partial"

OWN_TAG_HEX_DIGITS = 8
"""Random hex digits that make a writer's partial file its own (`own_partial_path`)."""

TEMPORARY_TAG = ".float32"
"""Appended to the partial name for a temporary kept beside it until the result is complete
(the raw float32 samples that clip mode rescale keeps until the peak is known:
`.song.partial-1f3a9c0e.wav.float32`): the longest name a result's writing creates."""

DEFAULT_NAME_MAX = 255
"""Bytes in a file name, where the file system does not say (Linux, macOS and Windows allow 255)."""

FULL_DEVICE_BYTES = 1 << 20
"""Below 1 MiB free, a failed write without an errno is taken for a full device."""

_WRITE_FAULTS = {  # errno → (the cause, the fix)
    errno.ENOSPC: ("no space left on the device", "free some space there, or write elsewhere"),
    errno.EDQUOT: ("the disk quota is exhausted", "free some space there, or write elsewhere"),
    errno.EROFS: ("the file system is read-only", "write to another folder"),
    errno.EACCES: (
        "permission denied",
        "write to a folder you may write to, or change the folder's permissions",
    ),
    errno.EPERM: (
        "operation not permitted",
        "write to a folder you may write to, or change the folder's permissions",
    ),
    errno.ENAMETOOLONG: (
        "the path is too long for the file system",
        "use a shorter file name or folder",
    ),
    errno.ENOTDIR: ("a part of the path is a file, not a folder", "choose another folder"),
}

_FOLDER_GONE = (
    "its folder was removed while it was being written",
    "leave the output folder in place, and run again",
)
"""What a write that fails with ENOENT means when the result's folder is gone: it existed when
the writing began (it is created first)."""


def partial_path(path: str | os.PathLike, tag: str = "") -> Path:
    """The hidden partial name a result is written under: `out/song.wav` → `out/.song.partial.wav`,
    `checkpoints/step-00000100` → `checkpoints/.step-00000100.partial`; with a `tag`,
    `out/.song.partial-TAG.wav`. A training checkpoint's name has no tag: every rank writes into
    the same partial folder."""
    path = Path(path)
    tag = f"-{tag}" if tag else ""
    return path.with_name(f".{path.stem}{PARTIAL_TAG}{tag}{path.suffix}")


def own_partial_path(path: str | os.PathLike) -> Path:
    """A partial name for `path` that no other writer uses: `out/.song.partial-1f3a9c0e.wav`
    (a random tag), so that two runs writing the same result at once never share a file."""
    return partial_path(path, secrets.token_hex(OWN_TAG_HEX_DIGITS // 2))


def publish(partial: Path, path: Path, replace: bool = True) -> None:
    """Rename the complete `partial` onto `path`. With `replace=False`, a file that appeared
    under `path` meanwhile is kept, and `partial` is removed.

    The no-replace rename is a hard link, which fails if the name is taken, then the removal
    of the partial name; where the file system has no hard links (FAT, some network shares),
    the name is checked just before the rename instead, which leaves a moment for a race.

    Raises:
        A2SBOutputExistsError: `replace=False` and `path` exists.
        OSError: the rename failed (the caller reports it as a failed write).
    """
    if replace:
        os.replace(partial, path)
        return
    try:
        os.link(partial, path)
    except FileExistsError:
        remove_quietly(partial)
        raise _taken_error(path) from None
    except OSError as error:
        if error.errno not in (errno.EPERM, errno.ENOTSUP, errno.EOPNOTSUPP, errno.EMLINK):
            raise
        if path.exists():
            remove_quietly(partial)
            raise _taken_error(path) from None
        os.replace(partial, path)
        return
    remove_quietly(partial)


def refuse_existing(path: str | os.PathLike) -> None:
    """Refuse to start a result whose name is taken, when replacing was not asked for.

    Raises:
        A2SBOutputExistsError: `path` exists.
    """
    if os.path.lexists(path):
        raise A2SBOutputExistsError(f"{path} exists; pass overwrite=True to replace it")


def _taken_error(path: Path) -> A2SBOutputExistsError:
    return A2SBOutputExistsError(
        f"{path} was written by another run while this one ran (that result is kept, this "
        "one dropped); pass overwrite=True to replace it"
    )


def write_failure_message(path: str | os.PathLike, error: BaseException) -> str:
    """`cannot write PATH: CAUSE; FIX`.

    The cause is read from the error's errno when it has one. Savers that lose the errno
    (torch: `RuntimeError: ... unexpected pos`) are told apart by the free space left: for
    them, a device with less than `FULL_DEVICE_BYTES` free is reported as full. Call this before
    removing the partial file, while the space it took is still taken.
    """
    error_number = error.errno if isinstance(error, OSError) else None
    if error_number in _WRITE_FAULTS:
        cause, fix = _WRITE_FAULTS[error_number]
    elif error_number == errno.ENOENT and folder_gone(path):
        cause, fix = _FOLDER_GONE
    elif (
        error_number is None and (free := free_bytes(path)) is not None and free < FULL_DEVICE_BYTES
    ):
        cause, fix = _WRITE_FAULTS[errno.ENOSPC]
        cause = f"{cause} ({free // 1024} KiB free)"
    elif isinstance(error, OSError) and error.strerror:
        cause, fix = error.strerror, "check the folder, its permissions and its free space"
    else:
        first_line = str(error).strip().splitlines()[0] if str(error).strip() else ""
        cause = f"{type(error).__name__}: {first_line}" if first_line else type(error).__name__
        fix = "check the folder, its permissions and its free space"
    return f"cannot write {path}: {cause}; {fix}"


def os_error_message(error: OSError) -> str:
    """`PATH: CAUSE; FIX` for a file system error met outside a write (a name too long to look
    up, a folder that cannot be listed)."""
    cause, fix = _WRITE_FAULTS.get(
        error.errno, (error.strerror or type(error).__name__, "check the path and its folders")
    )
    return f"{error.filename}: {cause}; {fix}" if error.filename else f"{cause}; {fix}"


def folder_gone(path: str | os.PathLike) -> bool:
    """Whether the folder of `path` no longer exists (a folder that exists yet answers ENOENT to
    a new file is a special one, such as /proc)."""
    return not Path(path).absolute().parent.is_dir()


def free_bytes(path: str | os.PathLike) -> int | None:
    """The free space of the device that holds `path` (or its nearest existing folder); None
    if it cannot be read."""
    try:
        return shutil.disk_usage(nearest_existing_folder(path)).free
    except OSError:
        return None


def check_name_length(path: str | os.PathLike) -> None:
    """Refuse a result whose partial file's temporary (`TEMPORARY_TAG`) would have a name longer
    than its file system allows, before any work: the temporary is created late, and Python
    cannot even ask whether so long a name exists.

    Raises:
        A2SBWriteError: the name is too long; the message gives its length and the limit.
    """
    path = Path(path)
    longest = os.fsencode(partial_path(path, "0" * OWN_TAG_HEX_DIGITS).name + TEMPORARY_TAG)
    limit = name_max(nearest_existing_folder(path.parent))
    if len(longest) > limit:
        raise A2SBWriteError(
            f"cannot write {path}: its name is {len(os.fsencode(path.name))} bytes, and the "
            f"temporary written beside it first needs {len(longest)}, over the {limit} this "
            "file system allows; use a shorter file name"
        )


def nearest_existing_folder(path: str | os.PathLike) -> Path:
    """`path` itself if it exists, else its nearest existing parent (absolute): where a file
    system can be asked about a path not created yet."""
    folder = Path(path).absolute()
    while not folder.exists() and folder != folder.parent:
        folder = folder.parent
    return folder


def name_max(folder: Path) -> int:
    """The longest file name in bytes that the file system of an existing `folder` allows."""
    try:
        return os.pathconf(folder, "PC_NAME_MAX")
    except (OSError, ValueError, AttributeError):  # no pathconf (Windows), or no answer
        return DEFAULT_NAME_MAX


def check_writable(path: str | os.PathLike) -> None:
    """Create (and remove) the partial file of `path`, so that a result that cannot be written
    fails before the work that makes it.

    Raises:
        A2SBWriteError: the name is too long (`check_name_length`), the folder cannot be
            created, or the file cannot be created in it.
    """
    path = Path(path)
    check_name_length(path)
    partial = own_partial_path(path)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        partial.touch()
    except OSError as error:
        raise A2SBWriteError(write_failure_message(path, error)) from error
    remove_quietly(partial)


def write_bytes_atomically(path: str | os.PathLike, data: bytes | memoryview) -> None:
    """Write `data` to `path` through its partial file, synced to disk, then renamed.

    Missing parent folders are created. On any failure or interruption the partial file is
    removed (when it can be) and the previous content of `path`, if any, is left as it was.

    Raises:
        A2SBWriteError: the file could not be written; the message says why and what to do.
    """
    path = Path(path)
    partial = own_partial_path(path)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        with open(partial, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(partial, path)
    except OSError as error:
        message = write_failure_message(path, error)
        remove_quietly(partial)
        raise A2SBWriteError(message) from error
    except BaseException:  # an interruption: no partial file is left behind
        remove_quietly(partial)
        raise


@contextmanager
def folder_written_atomically(
    path: str | os.PathLike,
    other_write_errors: tuple[type[Exception], ...] = (),
    failure_note: str = "",
) -> Iterator[Path]:
    """Yield the partial folder of `path` to write into; when the block ends, it is renamed
    onto `path` (replacing an earlier folder of that name), and if the block fails it is
    removed, leaving an earlier `path` as it was.

    Args:
        path: the folder's final name.
        other_write_errors: besides `OSError`, the exceptions that mean a write failed
            (torch raises a `RuntimeError`, safetensors a `SafetensorError`).
        failure_note: appended to the message of a failed write (what is still usable).

    Raises:
        A2SBWriteError: the block raised an `OSError` or one of `other_write_errors`, or the
            rename failed.
    """
    path = Path(path)
    partial = partial_path(path)
    try:
        yield partial
        if path.exists():
            shutil.rmtree(path)
        os.replace(partial, path)
    except (OSError, *other_write_errors) as error:
        message = write_failure_message(path, error) + failure_note
        remove_quietly(partial)
        raise A2SBWriteError(message) from error
    except BaseException:  # another failure, or an interruption: no partial folder is left
        remove_quietly(partial)
        raise


def missing_folders(paths: list[Path]) -> list[Path]:
    """The folders that writing `paths` would create (those that do not exist yet), deepest
    first."""
    missing = set()
    for path in paths:
        folder = Path(path).absolute().parent
        while not folder.exists() and folder != folder.parent:
            missing.add(folder)
            folder = folder.parent
    return sorted(missing, key=lambda folder: len(folder.parts), reverse=True)


def remove_empty_folders(folders: list[Path]) -> None:
    """Remove each of `folders` (deepest first) that is there and empty; never raises."""
    for folder in folders:
        try:
            folder.rmdir()
        except OSError:
            pass  # not empty, gone, or not ours to remove: leave it


def remove_quietly(path: str | os.PathLike) -> None:
    """Remove a partial file or folder if it is there and can be removed; never raises."""
    path = Path(path)
    try:
        if path.is_dir() and not path.is_symlink():
            shutil.rmtree(path, ignore_errors=True)
        else:
            path.unlink(missing_ok=True)
    except OSError:
        pass  # a read-only or vanished folder: nothing to remove, nothing to report
