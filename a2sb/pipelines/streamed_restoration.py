"""Restoration of a stream of audio blocks: any length, memory set by the sampler's band.

Why the result is exact: docs/concepts.md, "Streaming: any length in bounded memory".

The stages each hold a few blocks, and hand on what is finished:

    waveform blocks ─ StreamedSpectrum ─ EndpointStream ─ WavefrontSampler ─ OverlapAddDecoder ─▶
      (44.1 kHz)       (STFT, margins)     (x1, DC row)     (the bridge loop)   (waveform blocks)

Each stage gives exactly what its whole-signal counterpart gives on those frames (the STFT, the
endpoint fill with `KeyedNoise`, the inverse STFT with the input's DC row), and the sampler is
the one `A2SBPipeline.__call__` runs, so the streamed result is `__call__`'s on the whole file.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
from tqdm.auto import tqdm

from a2sb.allocator import return_excess_freed_memory
from a2sb.io.audio import BitDepth
from a2sb.io.audio_stream import AudioReader, StreamResampler, streamed_output
from a2sb.io.full_scale import ClipMode
from a2sb.pipelines.bridge_sampling import BridgeParts, SamplingPlan
from a2sb.pipelines.keyed_noise import FILL_STEP, KeyedNoise
from a2sb.pipelines.missing_region import MissingRegion
from a2sb.pipelines.wavefront import FrameQueue, WavefrontSampler, sampled
from a2sb.representations import OverlapAddDecoder, StreamedSpectrum


class EndpointStream:
    """Spectrum frames in, the bridge's x1 and the DC row out (paper eq. 8, or the prior fill of
    docs/concepts.md, "The prior fill").

    The noise fill is frame by frame. The prior fill of a gap, and a gap above the recording's
    band (`MissingRegion.above_band_from_neighbours`), read its neighbours, up to one gap
    length on each side: x1 is given back only up to where every started gap's right
    neighbours are in, and the spectrum is kept for one widest gap before that.

    Args:
        parts: the representation and the fill.
        region: what is missing.
        noise: the keyed noise (its `FILL_STEP` draws).
        channels: audio channels (rows) of the one item.
    """

    def __init__(
        self, parts: BridgeParts, region: MissingRegion, noise: KeyedNoise, channels: int
    ) -> None:
        self.parts = parts
        self.region = region
        self.noise = noise
        self.channels = channels
        prior_fill = parts.endpoint_fill.fill == "prior" and bool(region.gap_frames)
        self.reads_neighbours = prior_fill or region.reads_neighbours
        self.kept: list[torch.Tensor] = []
        self.kept_from = 0
        self.available = 0
        self.emitted = 0

    def push(self, spectrum: torch.Tensor, last: bool = False) -> list[tuple[torch.Tensor, ...]]:
        """Take the next spectrum frames `[rows, bins, k]` (with the DC row).

        Returns:
            `(x1, dc_row)` pairs, `[rows, C, F, n]` and complex `[rows, n]`, in frame order.
        """
        if spectrum.shape[-1]:
            self.kept.append(spectrum)
            self.available += spectrum.shape[-1]
        ready = self.available
        if self.reads_neighbours and not last:
            ready = self.region.prior_ready_frames(self.available)
        if ready <= self.emitted:
            return []
        span = torch.cat(self.kept, dim=-1)
        x1, dc_row = self._endpoint(span, ready)
        self.emitted = ready
        keep_from = ready - self.region.widest_gap() if self.reads_neighbours else ready
        keep_from = max(keep_from, 0)
        self.kept = [span[..., keep_from - self.kept_from :]]
        self.kept_from = keep_from
        return [(x1, dc_row)]

    def _endpoint(self, span: torch.Tensor, ready: int) -> tuple[torch.Tensor, torch.Tensor]:
        """x1 and the DC row of frames `[emitted, ready)`, computed over the kept span
        `[kept_from, available)`."""
        start, stop = self.kept_from, self.available
        representation = self.parts.representation
        span = self.region.above_band_from_neighbours(span, start)
        mask = self.region.mask(start, stop)
        x1 = self.parts.endpoint_fill.endpoint(
            representation.encode_spectrum(span),
            mask,
            span,
            representation,
            noise=self.noise.draw(FILL_STEP, start, stop),
            batch_shape=(1, self.channels),
        )
        emitted = slice(self.emitted - start, ready - start)
        dc_row = span[:, 0, emitted] * (1 - mask[:, 0, 0, emitted])
        return x1[..., emitted], dc_row


def restore_stream(
    parts: BridgeParts,
    blocks: Iterable[np.ndarray],
    samples: int,
    channels: int,
    region: MissingRegion,
    plan: SamplingPlan,
    noise: KeyedNoise,
    write: Callable[[np.ndarray], None],
) -> None:
    """Restore waveform blocks at the model's rate and hand the restored blocks to `write`.

    Args:
        parts: the pipeline's representation, fill, sampler and network.
        blocks: float32 `[channels, n]` blocks at the representation's rate, `samples` in all.
        samples: N, the length of the audio.
        channels: channels of the audio (one item).
        region: what is missing (`MissingRegion` of N samples, `channels` rows).
        plan: the loop's settings (one item).
        noise: the keyed noise of the restoration.
        write: receives the restored float32 `[channels, m]` blocks in order, N samples in all.
    """
    representation = parts.representation
    spectra = StreamedSpectrum(representation, samples, channels)
    endpoints = EndpointStream(parts, region, noise, channels)
    sampler = WavefrontSampler(
        parts.scheduler,
        parts.model_fn,
        region,
        plan,
        noise,
        (representation.channels, representation.freq_bins),
    )
    decoder = OverlapAddDecoder(representation, samples, channels)
    dc_rows = FrameQueue()

    def endpoint_blocks() -> Iterator[tuple[torch.Tensor, torch.Tensor]]:
        for block in blocks:
            yield from endpoints.push(spectra.push(torch.from_numpy(block)))
        yield from endpoints.push(spectra.finish(), last=True)

    def degraded() -> Iterator[torch.Tensor]:
        """x1 as the blocks are read, their DC rows queued for the decoder."""
        for x1, dc_row in endpoint_blocks():
            dc_rows.put(dc_row)
            yield x1

    for x0 in sampled(sampler, degraded()):
        write(decoder.push(x0, dc_rows.take(x0.shape[-1])).numpy())
        return_excess_freed_memory()  # blocks are freed out of order: a2sb/allocator.py
    write(decoder.finish().numpy())


@dataclass(frozen=True)
class StreamedOutput:
    """Where and how a streamed restoration is written."""

    path: str | os.PathLike
    sampling_rate: int
    bit_depth: BitDepth = "16"
    clip_mode: ClipMode = "rescale"
    replace: bool = True
    """Whether the result replaces a file that is under `path` when it is complete."""


def restore_file_stream(
    parts: BridgeParts,
    reader: AudioReader,
    output: StreamedOutput,
    region: MissingRegion,
    plan: SamplingPlan,
    noise: KeyedNoise,
    progress_options: dict[str, Any],
) -> None:
    """Restore the file of `reader` into `output`: read, restore, resample to the output's rate
    and write block by block, through the partial file renamed at the end (`streamed_output`).

    Args:
        parts: the pipeline's representation, fill, sampler and network.
        reader: the input, read at the representation's rate.
        output: the result's path, rate, bit depth, clip mode and whether it may replace a file.
        region: what is missing.
        plan: the loop's settings (one item).
        noise: the keyed noise of the restoration.
        progress_options: the pipeline's progress bar configuration.
    """
    model_rate = parts.representation.sampling_rate
    channels = reader.channels
    output_samples = round(reader.input_samples * output.sampling_rate / reader.input_rate)
    resampler = StreamResampler(model_rate, output.sampling_rate, channels, output_samples)
    writing = streamed_output(
        output.path,
        output.sampling_rate,
        channels,
        output.bit_depth,
        output.clip_mode,
        output.replace,
    )
    with writing as writer, AudioProgress(reader.samples / model_rate, **progress_options) as bar:

        def write(block: np.ndarray) -> None:
            writer.write(resampler.process(block))
            bar.advance(block.shape[-1] / model_rate)

        restore_stream(
            parts,
            reader.blocks(),
            reader.samples,
            channels,
            region,
            plan,
            noise,
            write,
        )
        writer.write(resampler.finish())


class AudioProgress:
    """`restored 12:30 / 61:07 at 0.9× real time`: progress in seconds of audio.

    The bar is created with a description that does not move (`restoring 61:07 of audio`), the
    one a front end that tracks tqdm bars by their first description (Gradio's page) keeps
    beside its own percentage; the moving line replaces it at once in a terminal.

    Args:
        total_seconds: the duration of the audio.
        **tqdm_options: the pipeline's progress bar configuration (`disable`, `position`, …);
            its `desc` prefixes the line.
    """

    def __init__(self, total_seconds: float, **tqdm_options: Any) -> None:
        self.prefix = tqdm_options.pop("desc", "") or ""
        self.total_seconds = total_seconds
        self.done_seconds = 0.0
        self.started = time.monotonic()
        options = {"bar_format": "{desc} {percentage:3.0f}%|{bar}|", **tqdm_options}
        still = f"{self.prefix}restoring {_clock(total_seconds)} of audio"
        self.bar = tqdm(total=total_seconds, desc=still, **options)
        self.bar.set_description_str(self._line(), refresh=False)

    def advance(self, seconds: float) -> None:
        """Count `seconds` more of restored audio."""
        self.done_seconds += seconds
        self.bar.set_description_str(self._line(), refresh=False)
        self.bar.update(seconds)

    def _line(self) -> str:
        line = f"{self.prefix}restored {_clock(self.done_seconds)} / {_clock(self.total_seconds)}"
        if self.done_seconds:
            speed = self.done_seconds / max(time.monotonic() - self.started, 1e-9)
            line += f" at {speed:.2g}× real time"
        return line

    def __enter__(self) -> AudioProgress:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.bar.close()


def _clock(seconds: float) -> str:
    """`mm:ss`, or `h:mm:ss` from an hour."""
    whole = int(seconds)
    hours, rest = divmod(whole, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes:02d}:{secs:02d}"
