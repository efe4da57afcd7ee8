"""Restoration of a batch held in memory: the whole spectrogram at once (`A2SBPipeline.__call__`).

    waveforms ─ spectrum ─ endpoint fill (x1) ─ WavefrontSampler ─ decode with the DC row ─▶

The whole x1 is the sampler's one source. The streamed counterpart,
`a2sb.pipelines.streamed_restoration`, runs the same stages block by block, the same sampler
included, and gives the same result for the same `KeyedNoise`.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch

from a2sb.pipelines.bridge_sampling import BridgeParts, SamplingPlan
from a2sb.pipelines.keyed_noise import FILL_STEP, KeyedNoise
from a2sb.pipelines.missing_region import MissingRegion
from a2sb.pipelines.wavefront import StepEnd, WavefrontSampler, sampled


def restore_whole(
    parts: BridgeParts,
    waveforms: np.ndarray,
    region: MissingRegion,
    plan: SamplingPlan,
    noise: KeyedNoise,
    progress: Any,
    callback: StepEnd | None = None,
    decode: bool = True,
) -> torch.Tensor:
    """Restore a batch of waveforms at the representation's rate.

    Args:
        parts: the pipeline's representation, fill, sampler and network.
        waveforms: float32 `[items, channels, samples]` at the representation's rate.
        region: what is missing (`MissingRegion` of items · channels rows).
        plan: the loop's settings.
        noise: the keyed noise of the restoration.
        progress: a progress bar, counted in model windows (`total` is set here).
        callback: `fn(step_index, timestep, tensors)` after each step over the whole state
            (`a2sb.pipelines.wavefront.StepEnd`).
        decode: False returns the restored spectrogram instead of the waveform.

    Returns:
        `[items, channels, samples]` float32 waveforms, or with `decode=False` the restored
        spectrogram `[items, channels, C, F, frames]`.
    """
    representation = parts.representation
    items, channels, samples = waveforms.shape
    spectrum = representation.spectrum(torch.from_numpy(waveforms.reshape(items * channels, -1)))
    spectrum = region.above_band_from_neighbours(spectrum, 0)
    known = representation.encode_spectrum(spectrum)
    frames = known.shape[-1]
    mask = region.mask(0, frames)
    dc_row = spectrum[:, 0] * (1 - mask[:, 0, 0])
    degraded = parts.endpoint_fill.endpoint(  # paper eq. 8: x1, the missing region filled
        known,
        mask,
        spectrum,
        representation,
        noise=noise.draw(FILL_STEP, 0, frames),
        batch_shape=(items, channels),
    )
    del known, spectrum

    def model_fn(windows: torch.Tensor, timesteps: torch.Tensor) -> torch.Tensor:
        output = parts.model_fn(windows, timesteps)
        progress.update(windows.shape[0])
        return output

    frame_shape = (representation.channels, representation.freq_bins)
    sampler = WavefrontSampler(
        parts.scheduler, model_fn, region, plan, noise, frame_shape, step_end=callback
    )
    progress.total = sampler.windows
    restored = torch.cat(list(sampled(sampler, [degraded])), dim=-1)
    del degraded
    if not decode:
        return restored.unflatten(0, (items, channels))
    waveform = representation.decode(restored, samples, dc_row=dc_row)
    return waveform.reshape(items, channels, samples)
