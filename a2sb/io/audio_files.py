"""The one search for audio files in a folder tree, shared by restoring, evaluation and training."""

from __future__ import annotations

import os
from collections.abc import Iterable
from pathlib import Path

from a2sb.io.audio import AUDIO_EXTENSIONS


def file_suffixes(extensions: Iterable[str]) -> set[str]:
    """Extensions as lower-case suffixes with their dot: `["WAV", ".flac"]` → {".wav", ".flac"}."""
    return {"." + extension.lstrip(".").lower() for extension in extensions}


def audio_files_in(
    folder: str | os.PathLike, extensions: Iterable[str] = AUDIO_EXTENSIONS
) -> list[Path]:
    """The audio files in `folder` and its subfolders, sorted by path.

    Hidden files and folders (a name starting with ".", below `folder`) are not searched: they
    hold editor, sync and macOS resource-fork copies (`._song.wav`), not music.

    Args:
        folder: the folder to search (an empty list if it holds no audio file).
        extensions: file extensions to take, with or without the dot, case-insensitive.
    """
    folder = Path(folder)
    suffixes = file_suffixes(extensions)
    return sorted(
        path
        for path in folder.rglob("*")
        if path.suffix.lower() in suffixes
        and not any(part.startswith(".") for part in path.relative_to(folder).parts)
        and path.is_file()
    )
