"""Audio files in and out: load, save, resample, channel handling.

Waveforms are float32 numpy arrays shaped `[channels, samples]` with values in [-1, 1] (a
float file's peaks above full scale are kept until written: see `a2sb.io.full_scale`).
Everything a person can get wrong here (a missing file, a file that is not audio, an empty
file, NaN samples, an output that would overwrite its input) raises `A2SBInputError` with a
message that names the fix.
"""

from __future__ import annotations

import io
import os
import re
from pathlib import Path
from typing import Literal

import numpy as np
import soundfile
import soxr

from a2sb.errors import A2SBInputError
from a2sb.io.atomic_output import write_bytes_atomically
from a2sb.io.full_scale import ClipMode, fit_to_full_scale

AUDIO_EXTENSIONS = (".wav", ".flac", ".ogg", ".mp3")
"""File extensions that `load_audio` reads (and that folder inputs are searched for)."""

BitDepth = Literal["16", "24", "32f"]

_WAV_SUBTYPES = {"16": "PCM_16", "24": "PCM_24", "32f": "FLOAT"}
_FLAC_SUBTYPES = {"16": "PCM_16", "24": "PCM_24"}

UNREADABLE_AUDIO_ERRORS = (soundfile.LibsndfileError, RuntimeError, TypeError)
"""What soundfile raises for a file it cannot open or decode."""

_TRUNCATED_DATA = re.compile(r"^data : (\d+) \(should be (\d+)\)", re.MULTILINE)
"""libsndfile's log line for a WAV data chunk longer than the file: it then reports only the
frames present, so the header's promise is read from here."""

_BLOCK_ALIGN = re.compile(r"^\s*Block Align\s*: (\d+)", re.MULTILINE)
"""The log line of a WAV's bytes per frame (for sample formats with one frame per block)."""

_FRAME_PER_BLOCK_SUBTYPES = (
    "PCM_U8",
    "PCM_16",
    "PCM_24",
    "PCM_32",
    "FLOAT",
    "DOUBLE",
    "ULAW",
    "ALAW",
)


def load_audio(path: str | os.PathLike) -> tuple[np.ndarray, int]:
    """Read an audio file (wav, flac, ogg, mp3 and the other formats of libsndfile).

    Args:
        path: the file to read.

    Returns:
        `(waveform, sampling_rate)` with `waveform` float32 `[channels, samples]`.

    Raises:
        A2SBInputError: the file is missing, is not audio, is cut short, holds no samples,
            or holds NaN/Inf.
    """
    path = Path(path)
    check_audio_path(path)
    try:
        with soundfile.SoundFile(libsndfile_name(path)) as file:
            promised, sampling_rate = header_frames(file), int(file.samplerate)
            samples = file.read(dtype="float32", always_2d=True)
    except UNREADABLE_AUDIO_ERRORS as error:
        raise unreadable_audio_error(path, error) from error
    if len(samples) < promised:
        raise truncation_error(path, len(samples), promised, sampling_rate)
    waveform = np.ascontiguousarray(samples.T)
    check_waveform(waveform, str(path), sampling_rate)
    return waveform, sampling_rate


def truncation_error(
    path: Path, frames_read: int, frames_promised: int, sampling_rate: int, cause: str = ""
) -> A2SBInputError:
    """The error for a file that holds fewer frames than its header gives (cut short by a
    copy or a download that stopped)."""
    read_s, total_s = frames_read / sampling_rate, frames_promised / sampling_rate
    cause = f" ({cause})" if cause else ""
    return A2SBInputError(
        f"cannot read {path} to the end: it stops after {read_s:.1f} s of the "
        f"{total_s:.1f} s its header gives{cause}; re-export or repair the file"
    )


def header_frames(file: soundfile.SoundFile) -> int:
    """The frames the file's header promises: libsndfile's count, except for a WAV data chunk
    cut short, where libsndfile counts only the frames present."""
    log = file.extra_info if file.format in ("WAV", "WAVEX") else ""
    truncated = _TRUNCATED_DATA.search(log)
    if truncated is None:
        return file.frames
    promised_bytes, present_bytes = int(truncated[1]), int(truncated[2])
    if promised_bytes <= present_bytes or promised_bytes == 0xFFFFFFFF:
        return file.frames  # a placeholder size (a recorder that never wrote it) or a short header
    block_align = _BLOCK_ALIGN.search(log)
    if block_align and file.subtype in _FRAME_PER_BLOCK_SUBTYPES:
        return promised_bytes // int(block_align[1])
    return round(file.frames * promised_bytes / max(present_bytes, 1))  # compressed: about


def libsndfile_name(path: str | os.PathLike) -> str | bytes:
    """The name to open `path` by with soundfile: the file system's own bytes on POSIX, where a
    name that is not valid UTF-8 (copied from an old Windows or Mac disk) decodes to a `str`
    that soundfile cannot encode back."""
    return os.fspath(path) if os.name == "nt" else os.fsencode(path)


def check_audio_path(path: Path) -> None:
    """Refuse a path that does not exist or names a folder (before libsndfile tries it)."""
    if not path.exists():
        raise A2SBInputError(f"audio file {path} does not exist; check the path")
    if path.is_dir():
        raise A2SBInputError(f"{path} is a folder, not an audio file; pass a file inside it")


def unreadable_audio_error(path: Path, error: Exception) -> A2SBInputError:
    """The error for a file that libsndfile cannot open or decode (`error`, one of
    `UNREADABLE_AUDIO_ERRORS`); libsndfile's own reason, without soundfile's "Error opening
    <name>: " before it."""
    reason = getattr(error, "error_string", None) or error
    return A2SBInputError(
        f"cannot read {path} as audio ({reason}); pass a wav, flac, ogg or mp3 file"
    )


def check_waveform(
    waveform: np.ndarray,
    name: str = "the audio",
    sampling_rate: int | None = None,
    first_sample: int = 0,
) -> None:
    """Refuse a waveform with no samples or with NaN/Inf values.

    Args:
        waveform: `[channels, samples]`.
        name: how the message refers to the waveform (a file name, for instance).
        sampling_rate: its rate, when known: the message then says where (in seconds) the
            first NaN/Inf sample is.
        first_sample: the index of `waveform`'s first sample in the whole (a block of a file).
    """
    if waveform.ndim != 2:
        raise A2SBInputError(
            f"{name} has shape {tuple(waveform.shape)}; expected [channels, samples]"
        )
    if waveform.shape[0] == 0 or waveform.shape[1] == 0:
        raise empty_audio_error(name)
    finite = np.isfinite(waveform)
    if not finite.all():
        where = ""
        if sampling_rate:
            first_bad = first_sample + int(np.argmin(finite.all(axis=0)))
            where = f" (the first at {first_bad / sampling_rate:.3f} s)"
        raise A2SBInputError(
            f"{name} contains NaN or infinite samples{where}; repair or re-export the file"
        )


def empty_audio_error(name: str) -> A2SBInputError:
    """The error for audio that holds no samples (`name`: a file name, for instance)."""
    return A2SBInputError(f"{name} is empty (no samples); pass a file that holds audio")


def save_audio(
    path: str | os.PathLike,
    waveform: np.ndarray,
    sampling_rate: int,
    bit_depth: BitDepth = "16",
    clip_mode: ClipMode = "rescale",
) -> None:
    """Write a waveform as wav or flac, chosen by the file extension, atomically.

    The file is encoded in memory and written through a hidden partial file renamed once
    complete (`a2sb.io.atomic_output`), so a fault leaves no half-written file under `path`.
    Audio peaking above full scale is fitted to integer formats by `clip_mode`
    (`a2sb.io.full_scale`); 32-bit float keeps it. Missing parent folders are created.

    Args:
        path: `.wav` or `.flac` destination.
        waveform: float `[channels, samples]`.
        sampling_rate: samples per second.
        bit_depth: "16" or "24" (integer PCM), or "32f" (float, wav only).
        clip_mode: for integer formats, what to do with peaks above ±1: "rescale" the whole
            output by 1 / peak (the default), "clamp" them, or raise an "error".

    Raises:
        A2SBInputError: an unsupported extension or bit depth, empty or NaN audio, or
            `clip_mode="error"` with audio above full scale.
        A2SBWriteError: the file could not be written (full disk, read-only or forbidden
            folder, path too long).
    """
    path = Path(path)
    file_format, subtype = output_format(path, bit_depth)
    waveform = np.asarray(waveform, dtype=np.float32)
    check_waveform(waveform, name=f"the audio to write to {path}")
    waveform = fit_to_full_scale(waveform, bit_depth, clip_mode, name=str(path))
    encoded = io.BytesIO()  # libsndfile's own errors do not say why a write failed; Python's do
    soundfile.write(
        encoded,
        waveform.T,
        sampling_rate,
        subtype=subtype,
        format=file_format,
    )
    write_bytes_atomically(path, encoded.getbuffer())


def output_format(path: Path, bit_depth: str) -> tuple[str, str]:
    """libsndfile's `(format, subtype)` for writing `path` at `bit_depth`: `("WAV", "PCM_24")`.

    Raises:
        A2SBInputError: the extension is not .wav or .flac, or it cannot hold `bit_depth`.
    """
    extension = path.suffix.lower()
    if extension == ".wav":
        subtypes = _WAV_SUBTYPES
    elif extension == ".flac":
        subtypes = _FLAC_SUBTYPES
    else:
        raise A2SBInputError(
            f"cannot write {path}: a2sb writes .wav or .flac files; change the extension"
        )
    if bit_depth not in subtypes:
        raise A2SBInputError(
            f"cannot write {path} with bit depth {bit_depth}: {extension} supports "
            f"{', '.join(subtypes)}; choose one of those"
        )
    return extension.lstrip(".").upper(), subtypes[bit_depth]


def resample(waveform: np.ndarray, orig_rate: int, target_rate: int) -> np.ndarray:
    """Resample with soxr at high quality (band-limited, linear phase).

    Args:
        waveform: float32 `[channels, samples]`.
        orig_rate: its sampling rate.
        target_rate: the rate wanted.

    Returns:
        float32 `[channels, round(samples * target_rate / orig_rate)]`; the input itself when
        the rates are equal.
    """
    check_sampling_rates(orig_rate, target_rate)
    if orig_rate == target_rate:
        return waveform
    resampled = soxr.resample(waveform.T, orig_rate, target_rate, quality="HQ")
    return np.ascontiguousarray(resampled.T, dtype=np.float32)


def check_sampling_rates(orig_rate: int, target_rate: int) -> None:
    """Refuse a resampling between rates that are not both positive."""
    if orig_rate <= 0 or target_rate <= 0:
        raise A2SBInputError(
            f"sampling rates must be positive (got {orig_rate} → {target_rate} Hz)"
        )


def to_mono(waveform: np.ndarray) -> np.ndarray:
    """Average all channels: `[channels, samples]` → `[1, samples]`."""
    return waveform.mean(axis=0, keepdims=True)


def ensure_not_input(output_path: str | os.PathLike, input_paths: list[str | os.PathLike]) -> None:
    """Refuse an output path that names one of the input files (a2sb never overwrites input).

    Paths are compared after resolving links and relative parts.
    """
    output = Path(output_path).resolve()
    for input_path in input_paths:
        if Path(input_path).resolve() == output:
            raise A2SBInputError(
                f"output path {output_path} is the input file {input_path}; a2sb never "
                "overwrites its input: choose another output path or folder"
            )
