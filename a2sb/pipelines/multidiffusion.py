"""Windows over frames: which frames the model sees at each step, and how outputs are joined.

Two schedules, both giving the model windows of W frames:

- "overlap", the released sampler (paper §3.6, Algorithm 1; docs/concepts.md, "MultiDiffusion:
  any length with a fixed window"): windows start every H frames and their outputs are averaged
  where they overlap, so every frame is evaluated W / H times (twice at W = 256, H = 128). The
  frames are padded cyclically (frame i of the padded tensor is frame i mod T) so that the
  windows tile the padded length exactly.
- "shifted" (SpotDiffusion; docs/concepts.md, "Shifted windows"): at step n, non-overlapping
  windows start at o_n + kW with o_n = (n H) mod W, so the seams move every step; the frames
  before the first and after the last full window get one extra window aligned to that edge,
  used only for the frames no other window covers. Every frame is evaluated once per step; no
  frame wraps around to the start.

A window's output counts only on its `used` frames, and each frame's output is the mean of the
windows that use it (`a2sb.pipelines.wavefront.OutputSums`); uncovered frames (all known, when
windows without missing content are skipped) get output 0, which the scheduler then overwrites.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import torch

from a2sb.names import WindowSchedule


@dataclass(frozen=True)
class Window:
    """One model window: frames `[start, start + W)`, whose output counts on `used`."""

    start: int
    used: slice


def padded_frames(
    frames: int, window_frames: int, hop_frames: int, schedule: WindowSchedule = "overlap"
) -> int:
    """Frames after cyclic padding, so that the schedule's windows fit.

    overlap: T ≤ W → W; else W + ⌈(T − W) / H⌉ · H (the released sampler's padding).
    shifted: max(T, W), since its edge windows need no padding past W.
    """
    if frames <= window_frames:
        return window_frames
    if schedule == "shifted":
        return frames
    return window_frames + math.ceil((frames - window_frames) / hop_frames) * hop_frames


def tile_frames(tensor: torch.Tensor, frames: int) -> torch.Tensor:
    """Cyclic padding along the last axis: frame i of the result is frame i mod T of `tensor`.

    Args:
        tensor: `[..., T]`.
        frames: length of the result, ≥ T.
    """
    repeats = math.ceil(frames / tensor.shape[-1])
    return tensor.repeat(*([1] * (tensor.ndim - 1)), repeats)[..., :frames]


def overlap_windows(frames: int, window_frames: int, hop_frames: int) -> list[Window]:
    """Windows at 0, H, 2H, …, frames − W over a padded length, each used whole."""
    return [
        Window(start, slice(start, start + window_frames))
        for start in range(0, frames - window_frames + 1, hop_frames)
    ]


def shifted_windows(
    frames: int, window_frames: int, hop_frames: int, step_index: int
) -> list[Window]:
    """Step `step_index`'s windows: W apart from o = (step_index · H) mod W, plus edge windows.

    The `used` slices partition `[0, frames)`: every frame is evaluated exactly once.

    Args:
        frames: length T ≥ W (`padded_frames(..., "shifted")`).
        window_frames: W.
        hop_frames: H, the shift of the seams from one step to the next.
        step_index: n, the index of the step in the sampling loop.
    """
    offset = (step_index * hop_frames) % window_frames
    starts = range(offset, frames - window_frames + 1, window_frames)
    windows = [Window(start, slice(start, start + window_frames)) for start in starts]
    if not windows:
        windows = [Window(0, slice(0, window_frames))]
    first, last = windows[0].used.start, windows[-1].used.stop
    if first > 0:
        windows.insert(0, Window(0, slice(0, first)))
    if last < frames:
        windows.append(Window(frames - window_frames, slice(last, frames)))
    return windows


def schedule_windows(
    schedule: WindowSchedule, frames: int, window_frames: int, hop_frames: int, step_index: int
) -> list[Window]:
    """The windows of step `step_index` under `schedule` (see the module docstring)."""
    if schedule == "shifted":
        return shifted_windows(frames, window_frames, hop_frames, step_index)
    return overlap_windows(frames, window_frames, hop_frames)


def needed_windows(
    windows: Sequence[Window], missing_frames: torch.Tensor
) -> list[tuple[int, Window]]:
    """Every (item, window) pair whose used frames hold missing content.

    A window over known frames only changes nothing: the scheduler re-imposes the known
    content there, whatever the model says. So inpainting evaluates only windows near gaps.

    Args:
        windows: the step's windows.
        missing_frames: `[items, frames]` bool, True where a frame has a missing entry.
    """
    return [
        (item, window)
        for window in windows
        for item in range(missing_frames.shape[0])
        if bool(missing_frames[item, window.used].any())
    ]
