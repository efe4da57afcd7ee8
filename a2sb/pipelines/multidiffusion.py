"""MultiDiffusion over frames: one model evaluation per overlapping window, averaged.

The released sampler (paper §3.6, Algorithm 1) runs the network on windows of 256 frames that
start every 128 frames, averages the outputs where windows overlap, and takes one global
scheduler step on the full-length tensor. The frames are first padded cyclically (frame i of
the padded tensor is frame i mod T) so that the windows tile the padded length exactly; the
result is cropped back to T frames.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator

import torch


def padded_frames(frames: int, window_frames: int, hop_frames: int) -> int:
    """Frames after padding so that windows of `window_frames` every `hop_frames` tile exactly.

    T ≤ W → W; else W + ⌈(T − W) / H⌉ · H.
    """
    if frames <= window_frames:
        return window_frames
    return window_frames + math.ceil((frames - window_frames) / hop_frames) * hop_frames


def tile_frames(tensor: torch.Tensor, frames: int) -> torch.Tensor:
    """Cyclic padding along the last axis: frame i of the result is frame i mod T of `tensor`.

    Args:
        tensor: `[..., T]`.
        frames: length of the result, ≥ T.
    """
    repeats = math.ceil(frames / tensor.shape[-1])
    return tensor.repeat(*([1] * (tensor.ndim - 1)), repeats)[..., :frames]


def window_starts(frames: int, window_frames: int, hop_frames: int) -> list[int]:
    """First frame of each window over a padded length: 0, H, 2H, …, frames − W."""
    return list(range(0, frames - window_frames + 1, hop_frames))


def window_batches(
    num_items: int, starts: list[int], window_batch_size: int
) -> Iterator[list[tuple[int, int]]]:
    """Every (item, window start) pair, in groups of at most `window_batch_size`."""
    pairs = [(item, start) for start in starts for item in range(num_items)]
    for first in range(0, len(pairs), window_batch_size):
        yield pairs[first : first + window_batch_size]


def averaged_model_output(
    model_fn: Callable[[torch.Tensor], torch.Tensor],
    sample: torch.Tensor,
    window_frames: int,
    hop_frames: int,
    window_batch_size: int,
    out: torch.Tensor | None = None,
    on_batch_done: Callable[[], None] | None = None,
) -> torch.Tensor:
    """The model output over the whole sample, averaged uniformly where windows overlap.

    Args:
        model_fn: maps a batch of windows `[n, channels, freq, window_frames]` (on the state's
            device and dtype) to outputs of the same shape.
        sample: full-length state `[items, channels, freq, frames]`, frames already padded so
            that the windows tile it (`padded_frames`).
        window_frames: W.
        hop_frames: H.
        window_batch_size: windows per call of `model_fn`; the only size that the model sees.
        out: float32 tensor shaped like `sample` to write the result into (a new one if None).
        on_batch_done: called after each call of `model_fn` (progress bars).

    Returns:
        `[items, channels, freq, frames]`, float32.
    """
    starts = window_starts(sample.shape[-1], window_frames, hop_frames)
    total = torch.zeros_like(sample, dtype=torch.float32) if out is None else out.zero_()
    coverage = torch.zeros(sample.shape[-1], dtype=torch.float32, device=sample.device)
    for start in starts:
        coverage[start : start + window_frames] += 1
    for batch in window_batches(sample.shape[0], starts, window_batch_size):
        windows = torch.stack(
            [sample[item, ..., start : start + window_frames] for item, start in batch]
        )
        outputs = model_fn(windows).to(device=sample.device, dtype=torch.float32)
        for (item, start), output in zip(batch, outputs, strict=True):
            total[item, ..., start : start + window_frames] += output
        if on_batch_done is not None:
            on_batch_done()
    return total.div_(coverage)
