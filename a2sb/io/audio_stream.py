"""Audio files read and written in blocks, for files too long to hold in memory.

They are the first and last stages of a streamed restoration (docs/concepts.md, "Streaming: any
length in bounded memory").

`AudioReader` reads a file block by block and resamples it on the way (`StreamResampler`,
soxr's stream resampler): the blocks, put end to end, are `resample(*load_audio(path), rate)`
(to float rounding), and exactly `AudioReader.samples` long. `streamed_output` writes blocks as
they come into the hidden partial file of `a2sb.io.atomic_output`, renamed onto the final name when
the `with` block ends without error; the file is byte for byte the one `save_audio` writes
from the whole waveform, for every bit depth and clip mode (`a2sb.io.full_scale`). Only a few
blocks are ever in memory.

The errors are those of `a2sb.io.audio` (`A2SBInputError` for bad input, `A2SBWriteError` for a
file that cannot be written), plus one for a file that cannot be read to the end.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import BinaryIO

import numpy as np
import soundfile
import soxr

from a2sb.errors import A2SBInputError, A2SBWriteError
from a2sb.io.atomic_output import (
    TEMPORARY_TAG,
    own_partial_path,
    publish,
    remove_quietly,
    write_failure_message,
)
from a2sb.io.audio import (
    UNREADABLE_AUDIO_ERRORS,
    BitDepth,
    check_audio_path,
    check_sampling_rates,
    check_waveform,
    empty_audio_error,
    header_frames,
    libsndfile_name,
    output_format,
    truncation_error,
    unreadable_audio_error,
)
from a2sb.io.full_scale import (
    ClipMode,
    above_full_scale_error,
    check_clip_mode,
    log_clamped,
    log_rescaled,
    peak_of,
)

BLOCK_SAMPLES = 1 << 16
"""Frames read from a file, or from the rescale temporary, at a time (1.5 s at 44.1 kHz)."""


class StreamResampler:
    """soxr's stream resampler at high quality, cut to an exact length.

    The blocks it returns, put end to end, equal `a2sb.io.audio.resample` of the whole signal
    cropped or zero-padded to `output_samples` (as the pipeline fits a result to its input's
    duration). Equal rates pass blocks through unchanged.

    Args:
        input_rate: the rate of the blocks given.
        output_rate: the rate wanted.
        channels: channels of every block.
        output_samples: the total length to return, at `output_rate`.
    """

    def __init__(self, input_rate: int, output_rate: int, channels: int, output_samples: int):
        check_sampling_rates(input_rate, output_rate)
        self.channels = channels
        self._stream = (
            None
            if input_rate == output_rate
            else soxr.ResampleStream(
                input_rate, output_rate, channels, dtype="float32", quality="HQ"
            )
        )
        self._remaining = output_samples

    def process(self, block: np.ndarray) -> np.ndarray:
        """Resample one block.

        Args:
            block: float32 `[channels, n]`, the next samples at `input_rate`.

        Returns:
            float32 `[channels, m]`: the output samples that are ready (m may be 0; the filter's
            delay is returned by later calls and by `finish`).
        """
        if self._stream is None:
            return self._take(block)
        resampled = self._stream.resample_chunk(np.ascontiguousarray(block.T, dtype=np.float32))
        return self._take(resampled.T)

    def finish(self) -> np.ndarray:
        """Flush the filter: float32 `[channels, m]`, the rest of the `output_samples`
        (zeros past the end of the signal, when the resampler's rounding left it short)."""
        if self._stream is not None:
            tail = self._take(
                self._stream.resample_chunk(
                    np.zeros((0, self.channels), dtype=np.float32), last=True
                ).T
            )
        else:
            tail = np.zeros((self.channels, 0), dtype=np.float32)
        padding = np.zeros((self.channels, self._remaining), dtype=np.float32)
        self._remaining = 0
        return np.concatenate([tail, padding], axis=1)

    def _take(self, samples: np.ndarray) -> np.ndarray:
        samples = samples[:, : self._remaining]
        self._remaining -= samples.shape[1]
        return np.ascontiguousarray(samples, dtype=np.float32)


class AudioReader:
    """An audio file read in blocks at a chosen rate, never whole.

    Opening checks what `load_audio` checks (a missing path, a folder, a file that is not
    audio, an empty file); each block is checked for NaN/Inf as it is read.

    Args:
        path: the file to read (wav, flac, ogg, mp3 and the other formats of libsndfile).
        target_rate: the rate of the blocks returned by `blocks`; None: the file's own.
        block_samples: frames read from the file at a time, at its own rate.

    Attributes:
        channels: the file's channels.
        input_rate: the file's sampling rate.
        input_samples: the file's length in frames, as its header gives it.
        samples: the length at `target_rate`, `round(input_samples * target_rate / input_rate)`:
            what `blocks` returns in all.
    """

    def __init__(
        self,
        path: str | os.PathLike,
        target_rate: int | None,
        block_samples: int = BLOCK_SAMPLES,
    ):
        self.path = Path(path)
        check_audio_path(self.path)
        try:
            self._file = soundfile.SoundFile(libsndfile_name(self.path))
        except UNREADABLE_AUDIO_ERRORS as error:
            raise unreadable_audio_error(self.path, error) from error
        self.channels = self._file.channels
        self.input_rate = int(self._file.samplerate)
        self.input_samples = header_frames(self._file)
        target_rate = self.input_rate if target_rate is None else target_rate
        try:
            if self.input_samples == 0:
                raise empty_audio_error(str(self.path))
            check_sampling_rates(self.input_rate, target_rate)
        except A2SBInputError:
            self.close()
            raise
        self.target_rate = target_rate
        self.samples = round(self.input_samples * target_rate / self.input_rate)
        self.block_samples = block_samples

    def blocks(self) -> Iterator[np.ndarray]:
        """The file from its start, float32 `[channels, n]` blocks at `target_rate` (n varies;
        `samples` in all).

        Raises:
            A2SBInputError: NaN/Inf samples, or the file cannot be read to the end (libsndfile
                fails midway, or the file holds fewer frames than its header gives).
        """
        resampler = StreamResampler(self.input_rate, self.target_rate, self.channels, self.samples)
        self._file.seek(0)
        frames_read = 0
        while frames_read < self.input_samples:
            try:
                frames = self._file.read(self.block_samples, dtype="float32", always_2d=True)
            except UNREADABLE_AUDIO_ERRORS as error:
                raise self._truncation_error(frames_read, f"libsndfile: {error}") from error
            if len(frames) == 0:
                break
            block = np.ascontiguousarray(frames.T)
            check_waveform(block, str(self.path), self.input_rate, frames_read)
            frames_read += len(frames)
            resampled = resampler.process(block)
            if resampled.shape[1]:
                yield resampled
        if frames_read < self.input_samples:
            raise self._truncation_error(frames_read, "")
        if (tail := resampler.finish()).shape[1]:
            yield tail

    def close(self) -> None:
        """Close the file (`with AudioReader(...) as reader:` does it on leaving)."""
        self._file.close()

    def __enter__(self) -> AudioReader:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def _truncation_error(self, frames_read: int, cause: str) -> A2SBInputError:
        return truncation_error(self.path, frames_read, self.input_samples, self.input_rate, cause)


class StreamedAudioWriter:
    """Blocks of audio written to the partial file of `path` as they come (made by
    `streamed_output`, which renames the file when complete)."""

    def __init__(
        self,
        path: Path,
        sampling_rate: int,
        channels: int,
        bit_depth: BitDepth,
        clip_mode: ClipMode,
        replace: bool = True,
    ):
        self.path = path
        self.replace = replace
        self.sampling_rate = sampling_rate
        self.channels = channels
        self.bit_depth = bit_depth
        self.clip_mode = clip_mode
        self.samples = 0
        self._format, self._subtype = output_format(path, bit_depth)
        check_clip_mode(clip_mode)
        self._name = f"the audio to write to {path}"
        self._fit = "none" if bit_depth == "32f" else clip_mode
        self._peak = 0.0
        self._clipped = 0
        self.partial = own_partial_path(path)
        self.temporary = self.partial.with_name(self.partial.name + TEMPORARY_TAG)
        self._output: _ErrorKeepingFile | None = None
        self._sound: soundfile.SoundFile | None = None
        self._floats: BinaryIO | None = None
        try:
            with self._reporting_write_failures():
                path.parent.mkdir(parents=True, exist_ok=True)
                if self._fit == "rescale":
                    self._floats = open(self.temporary, "w+b")  # closed by close or abandon
                else:
                    self._open_output()
        except BaseException:
            self.abandon()
            raise

    def write(self, block: np.ndarray) -> None:
        """Append `block`, float `[channels, n]` (n may be 0).

        Raises:
            A2SBInputError: NaN/Inf samples, or (clip mode error, integer bit depth) samples
                above full scale.
            A2SBWriteError: the file could not be written (full disk, ...).
        """
        block = np.asarray(block, dtype=np.float32)
        if block.ndim != 2 or block.shape[0] != self.channels:
            raise ValueError(f"expected a block [{self.channels}, n], got {block.shape}")
        if block.shape[1] == 0:
            return
        check_waveform(block, name=self._name)
        peak = peak_of(block)
        self._peak = max(self._peak, peak)
        self.samples += block.shape[1]
        if self._fit == "error" and peak > 1.0:
            raise above_full_scale_error(str(self.path), peak, self.bit_depth)
        if self._fit == "clamp" and peak > 1.0:
            self._clipped += np.count_nonzero(np.abs(block) > 1.0)
            block = np.clip(block, -1.0, 1.0)
        with self._reporting_write_failures():
            if self._fit == "rescale":
                self._floats.write(np.ascontiguousarray(block.T).tobytes())
            else:
                self._write_output(block)

    def close(self) -> None:
        """Finish the file (rescale it if needed), sync it and rename it onto `path`."""
        if self.samples == 0:
            raise empty_audio_error(self._name)
        with self._reporting_write_failures():
            if self._fit == "rescale":
                self._convert_floats()
            self._sound.close()  # libsndfile writes the header's sizes now
            self._raise_kept_error()
            self._output.sync_and_close()
            publish(self.partial, self.path, self.replace)
        if self._fit == "clamp" and self._peak > 1.0:
            log_clamped(str(self.path), self._peak, self._clipped, self.bit_depth)

    def abandon(self) -> None:
        """Close whatever is open and remove the partial file and the temporary; never raises."""
        for handle in (self._sound, self._output, self._floats):
            if handle is not None:
                try:
                    handle.close()
                except (OSError, *UNREADABLE_AUDIO_ERRORS, AssertionError):
                    pass  # the write already failed; its error is the one reported
        remove_quietly(self.partial)
        remove_quietly(self.temporary)

    def _open_output(self) -> None:
        self._output = _ErrorKeepingFile(self.partial)
        self._sound = soundfile.SoundFile(
            self._output,
            "w",
            self.sampling_rate,
            self.channels,
            subtype=self._subtype,
            format=self._format,
        )
        self._raise_kept_error()

    def _write_output(self, block: np.ndarray) -> None:
        self._sound.write(block.T)
        self._raise_kept_error()

    def _convert_floats(self) -> None:
        """Write the float temporary into the output, scaled by 1 / peak if it peaks above
        full scale (as `fit_to_full_scale` scales a whole waveform), then remove it."""
        self._open_output()
        self._floats.seek(0)
        while chunk := self._floats.read(BLOCK_SAMPLES * self.channels * 4):
            block = np.frombuffer(chunk, dtype=np.float32).reshape(-1, self.channels).T
            self._write_output(block / np.float32(self._peak) if self._peak > 1.0 else block)
        self._floats.close()
        remove_quietly(self.temporary)
        if self._peak > 1.0:
            log_rescaled(str(self.path), self._peak, self.bit_depth)

    def _raise_kept_error(self) -> None:
        if self._output is not None and self._output.error is not None:
            raise self._output.error

    @contextmanager
    def _reporting_write_failures(self) -> Iterator[None]:
        """Turn a failed write into `A2SBWriteError` (the partial is removed by `abandon`)."""
        try:
            yield
        except A2SBWriteError:
            raise  # already one line (a result that may not replace a file there)
        except (OSError, soundfile.LibsndfileError, AssertionError) as error:
            # soundfile asserts when libsndfile writes short; the OSError kept says why
            cause = self._output.error if self._output and self._output.error else error
            raise A2SBWriteError(write_failure_message(self.path, cause)) from cause


class _ErrorKeepingFile:
    """An unbuffered file for libsndfile's virtual I/O that keeps the `OSError` of a failed
    write: libsndfile itself only says "System error.", and an exception raised inside its
    callback would print a traceback."""

    def __init__(self, path: Path):
        self._file = open(path, "w+b", buffering=0)
        self.error: OSError | None = None

    def write(self, data: bytes) -> int:
        view, written = memoryview(data), 0
        try:
            while written < len(view):
                written += self._file.write(view[written:])
        except OSError as error:
            self.error = error
        return written

    def read(self, size: int = -1) -> bytes:
        return self._file.read(size)

    def seek(self, offset: int, whence: int = os.SEEK_SET) -> int:
        return self._file.seek(offset, whence)

    def tell(self) -> int:
        return self._file.tell()

    def sync_and_close(self) -> None:
        os.fsync(self._file.fileno())
        self._file.close()

    def close(self) -> None:
        self._file.close()


@contextmanager
def streamed_output(
    path: str | os.PathLike,
    sampling_rate: int,
    channels: int,
    bit_depth: BitDepth = "16",
    clip_mode: ClipMode = "rescale",
    replace: bool = True,
) -> Iterator[StreamedAudioWriter]:
    """Write a wav or flac file block by block, atomically: the same file as `save_audio`.

    Blocks go to a hidden partial file of `path` of this writer's own
    (`a2sb.io.atomic_output.own_partial_path`), which is renamed onto `path` when the `with` block
    ends; if it raises (anything, Ctrl-C included), the partial file is removed and the
    exception goes on. The peak of the whole output is
    known only at the end, so the clip modes of integer formats work thus: "error" raises as
    soon as a block peaks above full scale; "clamp" clips each block and logs the count at the
    end; "rescale" keeps the samples as raw float32 in a hidden temporary beside the partial
    file, then writes them scaled by 1 / peak (unscaled when the peak is at most 1): the
    temporary takes 4 bytes a sample on disk meanwhile.

    Args:
        path: `.wav` or `.flac` destination (missing parent folders are created).
        sampling_rate: samples per second.
        channels: channels of every block.
        bit_depth: "16" or "24" (integer PCM), or "32f" (float, wav only).
        clip_mode: "rescale", "clamp" or "error" (`a2sb.io.full_scale`).
        replace: whether the finished file replaces a file that is under `path` by then
            (False keeps that file and raises `A2SBOutputExistsError`).

    Yields:
        The writer: `writer.write(block)` appends float `[channels, n]`.

    Raises:
        A2SBInputError: an unsupported extension or bit depth, NaN/Inf or no audio, or
            `clip_mode="error"` with audio above full scale.
        A2SBWriteError: the file could not be written (full disk, read-only or forbidden
            folder, path too long).
        A2SBOutputExistsError: `replace=False`, and a file appeared under `path` meanwhile.
    """
    writer = StreamedAudioWriter(Path(path), sampling_rate, channels, bit_depth, clip_mode, replace)
    try:
        yield writer
        writer.close()
    except BaseException:
        writer.abandon()
        raise
