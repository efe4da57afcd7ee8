"""Restoration of a batch held in memory: the whole spectrogram at once (`A2SBPipeline.__call__`).

    waveforms ─ spectrum ─ endpoint fill (x1) ─ sample_whole_state ─ decode with the DC row ─▶

The streamed counterpart, `a2sb.pipelines.streamed_restoration`, runs the same stages block by
block and gives the same result for the same `KeyedNoise`.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch

from a2sb.pipelines.bridge_sampling import (
    BridgeParts,
    SamplingPlan,
    StepCallback,
    sample_whole_state,
)
from a2sb.pipelines.keyed_noise import FILL_STEP, KeyedNoise
from a2sb.pipelines.missing_region import MissingRegion
from a2sb.pipelines.multidiffusion import tile_frames


def restore_whole(
    parts: BridgeParts,
    waveforms: np.ndarray,
    region: MissingRegion,
    plan: SamplingPlan,
    noise: KeyedNoise,
    progress: Any,
    callback: StepCallback | None = None,
    decode: bool = True,
) -> torch.Tensor:
    """Restore a batch of waveforms at the representation's rate.

    Args:
        parts: the pipeline's representation, fill, sampler and network.
        waveforms: float32 `[items, channels, samples]` at the representation's rate.
        region: what is missing (`MissingRegion` of items · channels rows).
        plan: the loop's settings.
        noise: the keyed noise of the restoration.
        progress: the progress bar of `sample_whole_state`.
        callback: `fn(step_index, timestep, tensors)` after each step (see
            `sample_whole_state`).
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
    padded_frames = plan.padded_frames(frames)
    restored = sample_whole_state(
        parts.scheduler,
        parts.model_fn,
        tile_frames(degraded, padded_frames),
        region.mask(0, padded_frames).bool(),
        region.missing_frames(0, padded_frames),
        plan,
        noise,
        progress,
        callback,
    )[..., :frames]
    del degraded
    if not decode:
        return restored.unflatten(0, (items, channels))
    waveform = representation.decode(restored, samples, dc_row=dc_row)
    return waveform.reshape(items, channels, samples)
