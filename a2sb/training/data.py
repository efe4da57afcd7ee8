"""Training audio: find the files, then stream random segments from them.

Nothing is preloaded: at start-up each file's header is read once (for its duration), and each
segment reads only its own frames (`soundfile` seek + read) — exactly the segment when the file
is at the model's rate, else a slightly larger region that is resampled (soxr) and cropped.

Every example is a pure function of (seed, rank, example index): example i of rank r draws its
file (weighted by duration, so every second of audio is equally likely), its position, its
channel and its gain from a generator seeded with (seed, r, i). Data workers split the stream
by batch index, so the batches are the same for any number of workers, and a run resumed at
step s streams exactly the batches the uninterrupted run would have.

Files shorter than one segment are skipped or zero-padded at the end (`data.short_files`);
unreadable files are skipped with a warning and counted, at start-up and while streaming.
"""

from __future__ import annotations

import csv
import itertools
import logging
import math
import os
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import soundfile
import torch
from torch.utils.data import IterableDataset, get_worker_info

from a2sb.errors import A2SBInputError
from a2sb.io.audio import check_waveform, libsndfile_name, resample, to_mono
from a2sb.io.audio_files import audio_files_in, file_suffixes
from a2sb.training.config import DataConfig
from a2sb.training.seeding import DATA_STREAM, numpy_generator

logger = logging.getLogger(__name__)

RESAMPLE_MARGIN_S = 0.01
"""Extra audio read on each side of a segment that is resampled, so that the resampler's edge
transients fall outside the crop."""


@dataclass(frozen=True)
class AudioFile:
    """One training file.

    Args:
        path: the file.
        duration_s: its length in seconds (from its header, or from the manifest).
        bandwidth_hz: its true bandwidth (manifest column `bandwidth_hz`), or None if unknown.
    """

    path: Path
    duration_s: float
    bandwidth_hz: float | None = None


@dataclass
class AudioFileScan:
    """The files found for training, and those left out.

    Args:
        files: usable files, in a fixed order (folders sorted, then the manifest's order).
        unreadable: `(path, reason)` of files that could not be opened as audio.
        too_short: files shorter than one segment (with `short_files="skip"`).
    """

    files: list[AudioFile] = field(default_factory=list)
    unreadable: list[tuple[Path, str]] = field(default_factory=list)
    too_short: list[Path] = field(default_factory=list)

    def summary(self) -> str:
        """One line: how many files are used and how many were left out, and why."""
        hours = sum(file.duration_s for file in self.files) / 3600
        line = f"{len(self.files)} audio files ({hours:.2f} h)"
        if self.unreadable:
            path, reason = self.unreadable[0]
            line += f"; skipped {len(self.unreadable)} unreadable (e.g. {path}: {reason})"
        if self.too_short:
            line += f"; skipped {len(self.too_short)} shorter than one segment (e.g. "
            line += f"{self.too_short[0]})"
        return line


@dataclass(frozen=True)
class ListedFile:
    """A file named by a folder search or a manifest row, with what the row tells about it."""

    path: Path
    duration_s: float | None = None
    bandwidth_hz: float | None = None


def scan_audio_files(
    folders: Sequence[str | os.PathLike],
    manifest: str | os.PathLike | None,
    extensions: Sequence[str],
    min_duration_s: float,
    what: str = "data",
) -> AudioFileScan:
    """Find the audio files of folders and a manifest and check that they can be read.

    Files with a manifest `duration` are not opened here (a fast start for large sets; one
    that turns out unreadable is skipped while streaming); the others' headers are read.

    Args:
        folders: searched recursively for `extensions`.
        manifest: CSV `path[,duration[,bandwidth_hz]]` (or with a header row naming them).
        extensions: file extensions to look for in `folders`, case-insensitive.
        min_duration_s: files shorter than this are listed in `too_short`, not used.
        what: the config group named in messages ("data", "validation").

    Raises:
        A2SBInputError: no folder or manifest is given, one does not exist, nothing is found,
            or none of the files found can be used.
    """
    listed = _list_files(folders, manifest, extensions, what)
    scan = AudioFileScan()
    for item in listed:
        duration_s = item.duration_s
        if duration_s is None:
            try:
                info = soundfile.info(libsndfile_name(item.path))
            except (soundfile.LibsndfileError, RuntimeError, OSError) as error:
                scan.unreadable.append((item.path, str(error)))
                continue
            duration_s = info.frames / info.samplerate if info.samplerate else 0.0
            if info.frames == 0:
                scan.unreadable.append((item.path, "no samples"))
                continue
        elif not item.path.is_file():
            scan.unreadable.append((item.path, "no such file"))
            continue
        if duration_s < min_duration_s or duration_s <= 0:
            scan.too_short.append(item.path)
            continue
        scan.files.append(AudioFile(item.path, duration_s, item.bandwidth_hz))
    if not scan.files:
        raise A2SBInputError(
            f"none of the {len(listed)} audio files of {what} can be used: {scan.summary()}; "
            f"fix or remove them"
            + (f", or set {what}.short_files=pad" if scan.too_short and what == "data" else "")
        )
    return scan


def read_manifest(path: str | os.PathLike) -> list[ListedFile]:
    """Rows of a manifest CSV: `path[,duration[,bandwidth_hz]]`, or a header naming columns.

    A first row with a cell `path` is a header: the column `path` is required, `duration`
    (seconds) and `bandwidth_hz` are optional, others are ignored. Relative paths are relative
    to the manifest's folder; empty cells mean unknown; blank lines are skipped.
    """
    path = Path(path)
    if not path.is_file():
        raise A2SBInputError(f"manifest {path} does not exist; check data.manifest")
    columns = ["path", "duration", "bandwidth_hz"]
    header_read = False
    listed = []
    with path.open(newline="") as handle:
        reader = csv.reader(handle)
        for row in reader:
            cells = [cell.strip() for cell in row]
            if not any(cells):
                continue
            if not (listed or header_read) and "path" in map(str.lower, cells):
                columns = [cell.lower() for cell in cells]
                header_read = True
                continue
            named = dict(zip(columns, cells, strict=False))
            if not named.get("path"):
                raise A2SBInputError(f"manifest {path}, line {reader.line_num}: no file path")
            file_path = Path(named["path"])
            if not file_path.is_absolute():
                file_path = path.parent / file_path
            listed.append(
                ListedFile(
                    file_path,
                    _optional_number(named.get("duration"), path, reader.line_num, "duration"),
                    _optional_number(
                        named.get("bandwidth_hz"), path, reader.line_num, "bandwidth_hz"
                    ),
                )
            )
    return listed


def read_segment(
    path: Path, fraction: float, segment_samples: int, sampling_rate: int
) -> np.ndarray:
    """Read one segment of a file at `sampling_rate`, starting at `fraction` of the free span.

    Args:
        path: the audio file.
        fraction: in [0, 1): where the segment starts, as a fraction of the positions it can
            start at.
        segment_samples: samples of the segment at `sampling_rate`.
        sampling_rate: the rate wanted.

    Returns:
        float32 `[channels, segment_samples]`; zero-padded at the end if the file is shorter.
    """
    with soundfile.SoundFile(libsndfile_name(path)) as sound:
        rate, frames = sound.samplerate, sound.frames
        margin = 0 if rate == sampling_rate else math.ceil(RESAMPLE_MARGIN_S * rate)
        needed = math.ceil(segment_samples * rate / sampling_rate) + 2 * margin + (margin > 0)
        if frames >= needed:
            sound.seek(int(fraction * (frames - needed + 1)))
            region = sound.read(needed, dtype="float32", always_2d=True).T
        else:
            region = sound.read(dtype="float32", always_2d=True).T
    check_waveform(region, name=str(path))
    waveform = resample(np.ascontiguousarray(region), rate, sampling_rate)
    if frames >= needed:
        start = round(margin * sampling_rate / rate)
    else:
        start = int(fraction * max(waveform.shape[-1] - segment_samples + 1, 1))
    segment = waveform[:, start : start + segment_samples]
    missing = segment_samples - segment.shape[-1]
    return np.pad(segment, ((0, 0), (0, missing))) if missing > 0 else segment


class SegmentStream(IterableDataset):
    """An endless stream of `{"waveform": [segment_samples], "bandwidth_hz": float}` examples.

    Batch b holds examples b · batch_size … (b + 1) · batch_size − 1; with W workers, worker w
    makes batches start_batch + w, start_batch + w + W, …, which is the order in which a
    `DataLoader` collects them.

    Args:
        files: the usable files (`AudioFileScan.files`).
        config: segment length, rate, channel handling and gain augmentation.
        seed: the run's seed.
        rank: the process index (each process streams different examples).
        batch_size: examples per batch.
        start_batch: the first batch to stream (the batches consumed before a resume).
    """

    def __init__(
        self,
        files: Sequence[AudioFile],
        config: DataConfig,
        seed: int,
        rank: int = 0,
        batch_size: int = 1,
        start_batch: int = 0,
    ):
        super().__init__()
        self.files = list(files)
        self.config = config
        self.seed = seed
        self.rank = rank
        self.batch_size = batch_size
        self.start_batch = start_batch
        durations = np.array([file.duration_s for file in self.files], dtype=np.float64)
        self._cumulative_share = _cumulative_share(durations)
        self.read_failures = 0

    def __iter__(self) -> Iterator[dict[str, torch.Tensor | float]]:
        worker = get_worker_info()
        worker_id, num_workers = (0, 1) if worker is None else (worker.id, worker.num_workers)
        for batch_index in itertools.count(self.start_batch + worker_id, num_workers):
            for offset in range(self.batch_size):
                yield self.example(batch_index * self.batch_size + offset)

    def example(self, index: int) -> dict[str, torch.Tensor | float]:
        """Example `index` of this rank's stream (the same on every call while every file
        stays readable; a file that fails to read is dropped from this worker's draws)."""
        generator = numpy_generator(self.seed, DATA_STREAM, self.rank, index)
        while True:
            file_draw, position, channel_draw, gain_draw = generator.random(4)
            file_index = int(np.searchsorted(self._cumulative_share, file_draw, "right"))
            file = self.files[file_index]
            try:
                segment = read_segment(
                    file.path, position, self.config.segment_samples, self.config.sampling_rate
                )
            except (soundfile.LibsndfileError, RuntimeError, OSError, A2SBInputError) as error:
                self._drop(file_index, error)
                continue
            waveform = self._to_mono(segment, channel_draw) * self._gain(gain_draw)
            bandwidth_hz = file.bandwidth_hz if file.bandwidth_hz is not None else math.inf
            return {"waveform": torch.from_numpy(waveform), "bandwidth_hz": bandwidth_hz}

    def _drop(self, file_index: int, error: Exception) -> None:
        """Stop drawing a file that cannot be read; refuse to go on when none is left."""
        self.read_failures += 1
        logger.warning(
            "skipping unreadable file %s (%s); %d file(s) skipped so far in this worker",
            self.files[file_index].path,
            error,
            self.read_failures,
        )
        durations = np.diff(self._cumulative_share, prepend=0.0)
        durations[file_index] = 0.0
        if durations.sum() <= 0:
            raise A2SBInputError(
                "none of the training files can be read any more (the last one: "
                f"{self.files[file_index].path}); check that the training files are still there"
            )
        self._cumulative_share = _cumulative_share(durations)

    def _to_mono(self, segment: np.ndarray, channel_draw: float) -> np.ndarray:
        """`[channels, samples]` → `[samples]`: the mix, or one channel chosen by the draw."""
        if self.config.channels == "random":
            return segment[int(channel_draw * segment.shape[0])]
        return to_mono(segment)[0]

    def _gain(self, gain_draw: float) -> np.float32:
        if self.config.gain_db_range is None:
            return np.float32(1.0)
        low, high = self.config.gain_db_range
        return np.float32(10 ** ((low + (high - low) * gain_draw) / 20))


def _cumulative_share(durations: np.ndarray) -> np.ndarray:
    """Where each file's share of [0, 1) ends; a draw u picks the first file ending above u.

    The last file with a share ends exactly at 1.0, so no rounding can draw past it.
    """
    cumulative = np.cumsum(durations) / durations.sum()
    cumulative[cumulative >= cumulative[-1]] = 1.0
    return cumulative


def _list_files(
    folders: Sequence[str | os.PathLike],
    manifest: str | os.PathLike | None,
    extensions: Sequence[str],
    what: str,
) -> list[ListedFile]:
    if not folders and manifest is None:
        raise A2SBInputError(
            f"no audio given for {what}: set {what}.folders (folders of audio files) or "
            f"{what}.manifest (a CSV of file paths)"
        )
    listed = []
    for folder in map(Path, folders):
        if not folder.is_dir():
            raise A2SBInputError(f"{what} folder {folder} does not exist; check {what}.folders")
        found = audio_files_in(folder, extensions)
        if not found:
            searched = ", ".join(sorted(file_suffixes(extensions)))
            raise A2SBInputError(
                f"no audio files ({searched}) in {what} folder {folder}; "
                f"check {what}.folders and data.extensions"
            )
        listed.extend(ListedFile(path) for path in found)
    if manifest is not None:
        rows = read_manifest(manifest)
        if not rows:
            raise A2SBInputError(f"manifest {manifest} lists no files; add rows path[,duration]")
        listed.extend(rows)
    unique = {}
    for item in listed:
        unique.setdefault(item.path.resolve(), item)
    return list(unique.values())


def _optional_number(text: str | None, manifest: Path, line: int, column: str) -> float | None:
    if text is None or text == "":
        return None
    try:
        value = float(text)
    except ValueError:
        value = math.nan
    if not (math.isfinite(value) and value > 0):
        raise A2SBInputError(
            f"manifest {manifest}, line {line}: {column} {text!r} is not a positive number"
        )
    return value
