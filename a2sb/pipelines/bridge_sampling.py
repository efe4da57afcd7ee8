"""What a restoration runs on and the plan of its bridge loop (paper Algorithm 1).

The parts (`BridgeParts`), the loop's settings (`SamplingPlan`) and how a batch of windows is
sent to the model (`ModelFn`), shared by the in-memory call and the streamed file; both run
the loop itself in `a2sb.pipelines.wavefront`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import torch

from a2sb.degradations import EndpointFill
from a2sb.pipelines.multidiffusion import WindowSchedule, padded_frames
from a2sb.representations import STFTRepresentation
from a2sb.schedulers import BridgeScheduler

ModelFn = Callable[[torch.Tensor, torch.Tensor], torch.Tensor]
"""`model_fn(windows, timesteps)`: windows `[n, C, F, window_frames]` at times `[n]` (all in
one partition of the scheduler) → the network's outputs, same shape, float32 on the CPU."""


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
