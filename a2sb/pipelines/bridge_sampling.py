"""The bridge loop over the whole state at once: x1 (t = 1) down to t_min (paper Algorithm 1).

What both samplers of the pipeline share is here too: the parts a restoration runs on
(`BridgeParts`), the plan of a loop (`SamplingPlan`), how a batch of windows is sent to the
model (`ModelFn`), and one scheduler step over a range of frames (`step_frames`).
`sample_whole_state` keeps the full-length state in memory (so a callback can see every step);
`a2sb.pipelines.wavefront` walks the same loop over frame blocks in bounded memory. Both draw
their noise from `KeyedNoise`, so they give the same result.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import torch

from a2sb.degradations import EndpointFill
from a2sb.pipelines.keyed_noise import KeyedNoise
from a2sb.pipelines.multidiffusion import (
    WindowSchedule,
    joined_model_output,
    needed_windows,
    padded_frames,
    schedule_windows,
)
from a2sb.representations import STFTRepresentation
from a2sb.schedulers import BridgeScheduler

STEP_CHUNK_FRAMES = 1024
"""Frames per scheduler step call: the step is elementwise, so stepping in chunks keeps its
temporaries small however long the audio is."""

ModelFn = Callable[[torch.Tensor, torch.Tensor], torch.Tensor]
"""`model_fn(windows, timesteps)`: windows `[n, C, F, window_frames]` at times `[n]` (all in
one partition of the scheduler) → the network's outputs, same shape, float32 on the CPU."""

StepCallback = Callable[..., dict[str, Any] | None]


@dataclass(frozen=True)
class BridgeParts:
    """What a restoration runs on: the pipeline's representation, fill, sampler and network."""

    representation: STFTRepresentation
    endpoint_fill: EndpointFill
    scheduler: BridgeScheduler
    model_fn: ModelFn


@dataclass(frozen=True)
class SamplingPlan:
    """The fixed settings of one sampling loop."""

    items: int
    noise_channels: int
    num_inference_steps: int
    window_schedule: WindowSchedule
    window_frames: int
    hop_frames: int
    window_batch_size: int
    condition_on_degraded: bool = False
    """The network also sees x1: each window of x_t goes with x1's, channels concatenated."""

    def padded_frames(self, frames: int) -> int:
        """P, the frames the windows tile for audio of `frames` frames (`padded_frames`)."""
        return padded_frames(frames, self.window_frames, self.hop_frames, self.window_schedule)


def step_frames(
    scheduler: BridgeScheduler,
    model_output: torch.Tensor,
    timestep: torch.Tensor,
    sample: torch.Tensor,
    degraded: torch.Tensor,
    mask: torch.Tensor,
    noise: torch.Tensor | None,
    items: int,
) -> tuple[torch.Tensor, torch.Tensor]:
    """One scheduler step on a range of frames of every row (paper eq. 19, or DBIM's).

    Args:
        scheduler: the bridge sampler, its timesteps set.
        model_output: `[rows, C, F, n]`, rows = items · channels.
        timestep: the step's t.
        sample: x_t, `[rows, C, F, n]`.
        degraded: x1, `[rows, C, F, n]`.
        mask: bool `[rows, 1, F, n]`, True = missing.
        noise: `[items, noise_channels, C, F, n]` (shared by an item's channels when
            noise_channels is 1), or None when the step draws none.
        items: how the rows split into items.

    Returns:
        `(x_s, x0_hat)`, each `[rows, C, F, n]`.
    """
    prev_sample, pred_original_sample = scheduler.step(
        model_output.unflatten(0, (items, -1)),
        timestep,
        sample.unflatten(0, (items, -1)),
        return_dict=False,
        mask=mask.unflatten(0, (items, -1)),
        degraded_samples=degraded.unflatten(0, (items, -1)),
        noise=noise,
    )
    return prev_sample.flatten(0, 1), pred_original_sample.flatten(0, 1)


def sample_whole_state(
    scheduler: BridgeScheduler,
    model_fn: ModelFn,
    degraded: torch.Tensor,
    mask: torch.Tensor,
    missing_frames: torch.Tensor,
    plan: SamplingPlan,
    noise: KeyedNoise,
    progress: Any,
    callback: Callable[[int, torch.Tensor, dict[str, torch.Tensor]], dict | None] | None = None,
) -> torch.Tensor:
    """The bridge loop with the full-length state in memory; returns the last x0 estimate.

    The state (x1, x_t, the joined model output and x0_hat, each `[rows, C, F, frames]`) stays
    on the CPU and is updated in place; only windows of `window_batch_size` travel to the
    model, and the scheduler steps `STEP_CHUNK_FRAMES` frames at a time. Windows without
    missing content are skipped (`needed_windows`).

    Args:
        scheduler: the bridge sampler (its timesteps are set here).
        model_fn: the network on batches of windows.
        degraded: x1, `[rows, C, F, frames]` (frames padded for the window schedule).
        mask: bool `[rows, 1, F, frames]`, True = missing.
        missing_frames: bool `[rows, frames]`, True where a frame has a missing entry.
        plan: the loop's settings.
        noise: the keyed step noise.
        progress: a progress bar (`total` is set here, `update()` after each model call).
        callback: `fn(step_index, timestep, tensors)` after each step with
            `tensors = {"sample", "pred_original_sample"}`; may return a replacement "sample".

    Returns:
        x0_hat, `[rows, C, F, frames]`.
    """
    scheduler.set_timesteps(plan.num_inference_steps)
    frames = degraded.shape[-1]
    pairs_per_step = [
        needed_windows(
            schedule_windows(
                plan.window_schedule, frames, plan.window_frames, plan.hop_frames, step_index
            ),
            missing_frames,
        )
        for step_index in range(plan.num_inference_steps)
    ]
    progress.total = sum(math.ceil(len(p) / plan.window_batch_size) for p in pairs_per_step)
    sample = degraded.clone()
    model_output = torch.empty_like(sample)
    pred_original_sample = torch.empty_like(sample)
    for step_index, timestep in enumerate(scheduler.timesteps):
        joined_model_output(
            lambda windows, t=timestep: model_fn(windows, t.expand(windows.shape[0])),
            sample,
            pairs_per_step[step_index],
            plan.window_frames,
            plan.window_batch_size,
            out=model_output,
            on_batch_done=progress.update,
            condition=degraded if plan.condition_on_degraded else None,
        )
        for start in range(0, frames, STEP_CHUNK_FRAMES):
            chunk = slice(start, min(start + STEP_CHUNK_FRAMES, frames))
            step_noise = None
            if scheduler.needs_noise(timestep):
                step_noise = noise.draw(step_index, chunk.start, chunk.stop)
            sample[..., chunk], pred_original_sample[..., chunk] = step_frames(
                scheduler,
                model_output[..., chunk],
                timestep,
                sample[..., chunk],
                degraded[..., chunk],
                mask[..., chunk],
                step_noise,
                plan.items,
            )
        if callback is not None:
            tensors = {"sample": sample, "pred_original_sample": pred_original_sample}
            replaced = callback(step_index, timestep, tensors) or {}
            sample.copy_(replaced.get("sample", sample))
    return pred_original_sample
