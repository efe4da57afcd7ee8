"""Which files `a2sb restore` reads, and the name of the file it writes for each.

An input is a file, a folder (searched recursively for wav, flac, ogg and mp3) or a glob
pattern (`'album/**/*.flac'`, quoted so that a2sb expands it). Each audio file gives one
`RestoreJob` whose output is named `<stem>.a2sb.<ext>`:

- with an output folder, a file given by name goes straight into it, and a file found in a
  folder or by a glob keeps its subfolders relative to that folder (or to the glob's fixed
  leading folders), so an album tree is mirrored;
- without one, the output goes next to its input;
- `-o` naming a .wav or .flac file (not an existing folder) is the output of the one file
  given, as ffmpeg and sox read it.

Searches skip hidden files and a2sb's own results (`*.a2sb.*`), so running twice over a folder
does not restore the restored files. A file reached by two inputs is restored once. Two files
that would be written to the same output (`song.wav` and `song.flac` in one folder), or an
output that would replace an input, are refused up front.
"""

from __future__ import annotations

import glob
from dataclasses import dataclass
from pathlib import Path

from a2sb.errors import A2SBInputError
from a2sb.io.atomic_output import check_name_length
from a2sb.io.audio import AUDIO_EXTENSIONS, ensure_not_input
from a2sb.io.audio_files import audio_files_in

OUTPUT_TAG = ".a2sb"
"""Marks a2sb's results: `song.flac` is restored to `song.a2sb.wav`."""
OUTPUT_FORMATS = ("wav", "flac")
"""The formats a2sb writes, named by their extensions."""


def output_format_of(output: Path | None, output_format: str | None) -> str:
    """The format to write: `--output-format`, or the extension of an `-o` that names a file,
    or wav.

    Raises:
        A2SBInputError: an `-o` with another audio extension, or one whose extension
            contradicts `--output-format`.
    """
    if output is None or output.is_dir() or not output.suffix:
        return output_format or "wav"
    extension = output.suffix.lower().lstrip(".")
    if extension not in OUTPUT_FORMATS:
        raise A2SBInputError(
            f"-o {output} names a .{extension} file, but a2sb writes wav or flac; name a .wav "
            "or .flac file, or a folder"
        )
    if output_format is not None and output_format != extension:
        raise A2SBInputError(
            f"-o {output} names a {extension} file but --output-format is {output_format}; "
            "drop --output-format, or change the extension"
        )
    return extension


def names_output_file(output: Path | None) -> bool:
    """Whether `-o` names the result file itself (a .wav or .flac name, not a folder)."""
    return (
        output is not None
        and not output.is_dir()
        and output.suffix.lower().lstrip(".") in OUTPUT_FORMATS
    )


@dataclass(frozen=True)
class FoundFile:
    """An input audio file and the subfolder its output goes to under the output folder."""

    path: Path
    subfolder: Path


@dataclass(frozen=True)
class RestoreJob:
    """One file to restore and where to write the result."""

    input_path: Path
    output_path: Path


def plan_jobs(inputs: list[str], output_dir: Path | None, output_format: str) -> list[RestoreJob]:
    """The jobs for the given inputs, in the order given (folders and globs sorted by path).

    Args:
        inputs: files, folders or glob patterns.
        output_dir: where outputs go (subfolders mirrored); None writes next to each input;
            a .wav or .flac name that is not a folder is the output of the one input file.
        output_format: "wav" or "flac", the outputs' extension.

    Raises:
        A2SBInputError: an output folder that is a file, an input that does not exist or
            yields no audio file, two inputs with the same output, an output that would
            replace an input, or an output file named for more than one input.
        A2SBWriteError: an output name too long for its file system.
    """
    if names_output_file(output_dir):
        return [_single_output_job(inputs, output_dir)]
    if output_dir is not None and output_dir.exists() and not output_dir.is_dir():
        raise A2SBInputError(f"-o {output_dir} is a file; give a folder to write the results to")
    jobs: list[RestoreJob] = []
    seen_inputs: dict[Path, Path] = {}
    for spec in inputs:
        for found in find_input_files(spec):
            resolved = found.path.resolve()
            if resolved in seen_inputs:
                continue
            seen_inputs[resolved] = found.path
            folder = output_dir / found.subfolder if output_dir else found.path.parent
            jobs.append(RestoreJob(found.path, output_path(found.path, folder, output_format)))
    _refuse_shared_outputs(jobs)
    _refuse_outputs_over_inputs(jobs, seen_inputs)
    for job in jobs:
        check_name_length(job.output_path)
    return jobs


def _single_output_job(inputs: list[str], output_file: Path) -> RestoreJob:
    """The one job of an `-o` that names a file: one input file, given by name."""
    found = [found for spec in inputs for found in find_input_files(spec)]
    if len(inputs) != 1 or len(found) != 1 or not Path(inputs[0]).is_file():
        raise A2SBInputError(
            f"-o {output_file} names one file, but the inputs are {len(found)} audio files; "
            "give one input file, or a folder for -o"
        )
    ensure_not_input(output_file, [found[0].path])
    check_name_length(output_file)
    return RestoreJob(found[0].path, output_file)


def output_path(input_path: Path, folder: Path, output_format: str) -> Path:
    """`folder/<stem>.a2sb.<output_format>`."""
    return folder / f"{input_path.stem}{OUTPUT_TAG}.{output_format}"


def find_input_files(spec: str) -> list[FoundFile]:
    """The audio files an input names: itself, those in a folder tree, or a glob's matches.

    A file named directly is taken whatever its extension (libsndfile reads more formats than
    the searched ones); folders and globs yield only wav, flac, ogg and mp3 files.
    """
    path = Path(spec)
    if path.is_file():
        return [FoundFile(path, Path())]
    if path.is_dir():
        found = _search_folder(path)
        if not found:
            raise A2SBInputError(
                f"folder {spec} holds no {_extension_list()} files; pass another folder, "
                "or the files themselves"
            )
        return found
    if glob.has_magic(spec):
        found = _search_glob(spec)
        if not found:
            raise A2SBInputError(
                f"pattern {spec} matches no {_extension_list()} file; check the pattern"
            )
        return found
    raise A2SBInputError(f"{spec} does not exist; check the path")


def is_searched_audio(relative: Path) -> bool:
    """Whether a folder or glob search takes this file: a searched extension, no hidden
    part, and not an a2sb result."""
    return (
        relative.suffix.lower() in AUDIO_EXTENSIONS
        and not any(part.startswith(".") for part in relative.parts)
        and not relative.stem.endswith(OUTPUT_TAG)
    )


def _search_folder(folder: Path) -> list[FoundFile]:
    return [
        FoundFile(path, path.relative_to(folder).parent)
        for path in audio_files_in(folder)
        if not path.stem.endswith(OUTPUT_TAG)
    ]


def _search_glob(pattern: str) -> list[FoundFile]:
    base = _fixed_prefix(pattern)
    found = []
    for match in sorted(glob.glob(pattern, recursive=True)):
        path = Path(match)
        relative = path.relative_to(base)
        if path.is_file() and is_searched_audio(relative):
            found.append(FoundFile(path, relative.parent))
    return found


def _fixed_prefix(pattern: str) -> Path:
    """The leading folders of a glob pattern that hold no wildcard: `a/b/**/*.wav` → `a/b`."""
    prefix = Path()
    for part in Path(pattern).parent.parts:
        if glob.has_magic(part):
            break
        prefix /= part
    return prefix


def _extension_list() -> str:
    return ", ".join(extension.lstrip(".") for extension in AUDIO_EXTENSIONS)


def _refuse_shared_outputs(jobs: list[RestoreJob]) -> None:
    writers: dict[Path, RestoreJob] = {}
    for job in jobs:
        resolved = job.output_path.resolve()
        if resolved in writers:
            raise A2SBInputError(
                f"{writers[resolved].input_path} and {job.input_path} would both be written to "
                f"{job.output_path}; rename one of them, or restore them in separate runs with "
                "different -o folders"
            )
        writers[resolved] = job


def _refuse_outputs_over_inputs(jobs: list[RestoreJob], inputs: dict[Path, Path]) -> None:
    for job in jobs:
        clashing_input = inputs.get(job.output_path.resolve())
        if clashing_input is not None:
            ensure_not_input(job.output_path, [clashing_input])
